"""Quality metrics: NIQE (irpilot's and the original pristine model) and BRISQUE on clean vs
degraded photos, and the time of every available metric on a 512x512 image.

    OMP_NUM_THREADS=1 python benchmarks/quality_bench.py [--data-dir DIR] [--out benchmarks/results/quality.json]

Photos: Kodak24 under the data directory (evaluation only; NIQE was fitted on other photos),
or scikit-image's bundled photos when it is absent.  Degradations (seeded): Gaussian noise
sigma 25, Gaussian blur sigma 2, JPEG quality 20, a haze-like veil (0.6 * img + 0.35).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from irpilot.config import settings
from irpilot.io import from_uint8, list_images, read_image
from irpilot.quality import METRICS, compute_metric, get_metric


def _jpeg(img: np.ndarray, q: int = 20) -> np.ndarray:
    hwc = (img.transpose(1, 2, 0)[:, :, ::-1] * 255 + 0.5).astype(np.uint8)
    _, buf = cv2.imencode(".jpg", hwc, [cv2.IMWRITE_JPEG_QUALITY, q])
    return from_uint8(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


def degradations(img: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "clean": img,
        "noise25": np.clip(img + rng.normal(0, 25 / 255, img.shape), 0, 1).astype(np.float32),
        "blur2": ndimage.gaussian_filter(img, (0, 2, 2)).astype(np.float32),
        "jpeg20": _jpeg(img),
        "haze": (0.6 * img + 0.35).astype(np.float32),
    }


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=settings.data_dir)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/quality.json"))
    args = ap.parse_args()
    kodak = args.data_dir / "Kodak24" if args.data_dir else None
    if kodak and kodak.is_dir():
        photos = {p.stem: read_image(p) for p in list_images(kodak)}
        source = "Kodak24"
    else:
        import skimage.data

        photos = {n: from_uint8(getattr(skimage.data, n)()) for n in ("astronaut", "coffee", "chelsea", "rocket")}
        source = "scikit-image photos"
    rng = np.random.default_rng(0)
    nr = [m for m in ("niqe", "niqe_basicsr", "brisque") if get_metric(m).available()]
    values: dict[str, dict[str, list[float]]] = {}
    for img in photos.values():
        for cond, d in degradations(img, rng).items():
            for m in nr:
                values.setdefault(m, {}).setdefault(cond, []).append(compute_metric(m, d))
    means = {m: {c: float(np.mean(v)) for c, v in per.items()} for m, per in values.items()}
    print(f"No-reference metrics on {source} ({len(photos)} photos), mean (lower is better):")
    conds = list(next(iter(means.values())))
    print(f"{'metric':<14}" + "".join(f"{c:>10}" for c in conds))
    for m, per in means.items():
        print(f"{m:<14}" + "".join(f"{per[c]:>10.3f}" for c in conds))
    # ranking agreement: share of photos where the clean image scores better than each degradation
    for m in nr:
        wins = {c: float(np.mean([a < b for a, b in zip(values[m]["clean"], values[m][c])])) for c in conds[1:]}
        print(f"{m}: clean ranked better than degraded in " + ", ".join(f"{c} {v:.0%}" for c, v in wins.items()))

    # speed at 512x512
    base = next(iter(photos.values()))
    img = np.ascontiguousarray(base[:, :512, :512])
    deg = degradations(img, np.random.default_rng(1))["noise25"]
    timings = {}
    for name in METRICS.names():
        metric = get_metric(name)
        if not metric.available():
            continue
        ref = img if metric.needs_reference else None
        metric(deg, ref)  # warm-up (imports, parameter loading)
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            metric(deg, ref)
            runs.append(time.perf_counter() - t)
        timings[name] = statistics.median(runs)
    print(f"\nSeconds per call on {img.shape[2]}x{img.shape[1]} (median of 3, 1 thread):")
    for name, t in sorted(timings.items(), key=lambda kv: kv[1]):
        print(f"  {name:<14} {t:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"source": source, "means": means, "seconds_512": timings}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
