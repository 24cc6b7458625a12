"""What doing nothing scores: PSNR/SSIM of the degraded *input* per group (protocol check).

The benchmark protocol says an independent implementation of its recipe, on Kodak24 +
CBSD68 + McMaster + 25 other photos, scores 18.9 / 19.5 / 17.2 dB PSNR and 0.54 / 0.52 /
0.41 SSIM (scikit-image) for groups A / B / C, low-resolution inputs upscaled x4 with the
same bicubic before scoring (by exactly x4, then cropped to the clean size, so the grids stay
aligned when a side is not a multiple of 4).  This script re-measures that for irpilot's synthesis, with
exactly the per-image seeds ``irpilot degrade`` uses (``derive_seed(seed, file name,
combination)``).

    python benchmarks/degrade_check.py --seeds 0 [--sets Kodak24 CBSD68 McMaster CSet14 LIVE1:11]
        [--json results.json]

``NAME:N`` takes the first N images of a set.  Needs the shared data folder (settings.data_dir).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

PROTOCOL = {"A": (18.9, 0.54), "B": (19.5, 0.52), "C": (17.2, 0.41)}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a.transpose(1, 2, 0), b.transpose(1, 2, 0), channel_axis=2, data_range=1.0))


def main(argv: list[str] | None = None) -> int:
    from irpilot.config import settings
    from irpilot.degrade import PRESETS, degrade, derive_seed, upscale_to
    from irpilot.imaging.convert import on_8bit_grid
    from irpilot.io import list_images, read_image

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=["Kodak24", "CBSD68", "McMaster", "CSet14", "LIVE1:11"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--json", help="write all per-image scores here")
    args = ap.parse_args(argv)
    if settings.data_dir is None:
        print("no data folder (set IRPILOT_DATA_DIR)", file=sys.stderr)
        return 2

    files: list[Path] = []
    for spec in args.sets:
        name, _, n = spec.partition(":")
        found = list_images(Path(settings.data_dir) / name)
        files += found[: int(n)] if n else found
    combos = PRESETS["agenticir"].combinations()
    rows = []
    t0 = time.time()
    for k, path in enumerate(files, 1):
        clean = on_8bit_grid(read_image(path))
        for seed in args.seeds:
            for group, names in combos:
                lq, recs = degrade(clean, names, derive_seed(seed, path.name, names))
                if lq.shape != clean.shape:  # low resolution: upscale x4 with the same bicubic
                    lq = on_8bit_grid(upscale_to(lq, clean.shape[1:], 4))
                rows.append({
                    "image": f"{path.parent.name}/{path.name}", "seed": seed, "group": group,
                    "combo": "+".join(names), "psnr": psnr(lq, clean), "ssim": ssim(lq, clean),
                })
        if k % 10 == 0 or k == len(files):
            print(f"[{k}/{len(files)}] {time.time() - t0:.0f} s", file=sys.stderr, flush=True)

    by_group: dict[str, list[dict]] = defaultdict(list)
    by_combo: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_group[r["group"]].append(r)
        by_combo[f'{r["group"]} {r["combo"]}'].append(r)
    print(f"{len(files)} images x {len(args.seeds)} seed(s) x 16 combinations = {len(rows)} degraded inputs")
    print("| group | PSNR (dB) | protocol | diff | SSIM | protocol | n |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for g in ("A", "B", "C"):
        p = float(np.mean([r["psnr"] for r in by_group[g]]))
        s = float(np.mean([r["ssim"] for r in by_group[g]]))
        pp, ps = PROTOCOL[g]
        print(f"| {g} | {p:.2f} | {pp} | {p - pp:+.2f} | {s:.3f} | {ps} | {len(by_group[g])} |")
    print()
    print("| combination | PSNR (dB) | SSIM |")
    print("| --- | --- | --- |")
    for key, rs in by_combo.items():
        print(f"| {key} | {np.mean([r['psnr'] for r in rs]):.2f} | {np.mean([r['ssim'] for r in rs]):.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
