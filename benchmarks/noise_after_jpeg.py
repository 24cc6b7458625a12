"""FFDNet's noise level after a JPEG step: PSNR of ``ffdnet_color`` with the level estimated by
patch PCA at full size (``--method pca``, version 1) and by :func:`irpilot.noise.multiscale_sigma`
(version 2), on 256 px crops: the denoiser alone on Gaussian noise (15, 25, 50) and on the
protocol's noise, ``dncnn3_dejpeg`` then the denoiser on noise -> JPEG, JPEG -> noise and JPEG
alone, and the denoiser on the clean crop (what a false noise label costs).  Crops of the
training photos, and Kodak24's first three photos (centre crops) reported apart, for evaluation.
``--sweep`` adds the best of a fixed set of levels per crop; ``--demo`` the demo photo (noise ->
JPEG on scikit-image's astronaut, seed 0); ``--real`` the real photos whose reading changes.

    OMP_NUM_THREADS=1 python benchmarks/noise_after_jpeg.py --train 8 --kodak 3 --out noise_after_jpeg.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SWEEP = (0, 3, 6, 10, 15, 20, 25, 30, 35, 40, 50, 60)
REAL_SETS = ("real_lowlight_SCI", "real_hazy_AODNet", "AgenticIR_samples")
CONDITIONS = ("gauss15", "gauss25", "gauss50", "noise", "noise+jpeg", "jpeg+noise", "jpeg", "clean")
METHODS = ("pca", "multiscale")


def _crops(n_train: int, n_kodak: int, size: int) -> list[tuple[str, str, np.ndarray]]:
    sys.path.insert(0, str(Path(__file__).parent))
    from tools_bench import test_crops

    from irpilot.config import settings
    from irpilot.io import read_image

    out = [("train", name, img) for name, img in test_crops(n_train, size, photos="training")]
    for i in range(n_kodak):
        img = read_image(Path(settings.data_dir) / "Kodak24" / f"kodim{i + 1:02d}.png")
        _, h, w = img.shape
        y, x = (h - size) // 2, (w - size) // 2
        out.append(("kodak", f"kodim{i + 1:02d}", np.ascontiguousarray(img[:, y : y + size, x : x + size])))
    return out


def _gaussian(clean: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    noisy = np.round(clean * 255 + np.random.default_rng(seed).normal(0, sigma, clean.shape)) / 255
    return np.clip(noisy, 0, 1).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", type=int, default=8, help="crops of the training photos")
    ap.add_argument("--kodak", type=int, default=3, help="Kodak24 photos (evaluation only)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--out", help="write the JSON here")
    ap.add_argument("--sweep", action="store_true", help=f"also the best of the fixed levels {SWEEP} per crop")
    ap.add_argument("--demo", action="store_true", help="only the demo photo")
    ap.add_argument("--real", action="store_true", help="only the readings of the real photos (up to 1024 px)")
    args = ap.parse_args(argv)
    if args.demo:
        return _demo()
    if args.real:
        return _real()

    from irpilot.degrade import degrade
    from irpilot.noise import estimate_noise_sigma
    from irpilot.quality import compute_metric
    from irpilot.tools import TOOLS

    dejpeg, ffdnet = TOOLS.get("dncnn3_dejpeg")(), TOOLS.get("ffdnet_color")()
    rows = []
    for i, (group, name, clean) in enumerate(_crops(args.train, args.kodak, args.size)):
        for cond in CONDITIONS:
            if cond.startswith("gauss"):
                lq = _gaussian(clean, float(cond[5:]), 100 + i)
            elif cond == "clean":
                lq = clean
            else:
                lq, _ = degrade(clean, cond.split("+"), seed=2000 + i)
            x = dejpeg(lq) if "jpeg" in cond else lq
            row = {"group": group, "crop": name, "condition": cond, "psnr_in": compute_metric("psnr", lq, clean)}
            for method in METHODS:
                sigma = estimate_noise_sigma(x, method=method)
                row[f"sigma_{method}"] = sigma
                row[f"psnr_{method}"] = compute_metric("psnr", ffdnet(x, sigma=sigma), clean)
            if args.sweep:
                row["psnr_best_fixed"] = max(compute_metric("psnr", ffdnet(x, sigma=s) if s else x, clean) for s in SWEEP)
            rows.append(row)
            print(json.dumps(row), flush=True)
    extra = (" best fixed level |", " --- |") if args.sweep else ("", "")
    print("\n| photos | condition | n | PSNR in | sigma v1 -> v2 | PSNR v1 | PSNR v2 | change (worst) |" + extra[0])
    print("| --- | --- | --- | --- | --- | --- | --- | --- |" + extra[1])
    for group in ("train", "kodak"):
        for cond in CONDITIONS:
            rs = [r for r in rows if r["group"] == group and r["condition"] == cond]
            if not rs:
                continue
            d = [r["psnr_multiscale"] - r["psnr_pca"] for r in rs]
            m = {k: float(np.mean([r[k] for r in rs])) for k in rs[0] if k.startswith(("psnr", "sigma"))}
            print(f"| {group} | {cond} | {len(rs)} | {m['psnr_in']:.2f} | {m['sigma_pca']:.1f} -> "
                  f"{m['sigma_multiscale']:.1f} | {m['psnr_pca']:.2f} | {m['psnr_multiscale']:.2f} | "
                  f"{np.mean(d):+.2f} ({min(d):+.2f}) |" + (f" {m['psnr_best_fixed']:.2f} |" if args.sweep else ""))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return 0


def _demo() -> int:
    from irpilot.degrade import degrade
    from irpilot.imaging.photos import bundled_photo
    from irpilot.noise import estimate_noise_sigma
    from irpilot.quality import compute_metric
    from irpilot.tools import TOOLS

    clean = bundled_photo("astronaut")
    lq, _ = degrade(clean, ["noise", "jpeg"], seed=0)
    x = TOOLS.get("dncnn3_dejpeg")()(lq)
    ffdnet = TOOLS.get("ffdnet_color")()
    print(f"after dncnn3_dejpeg: PSNR {compute_metric('psnr', x, clean):.2f}, std of (image - clean) "
          f"{np.std(x - clean) * 255:.1f}")
    for method in METHODS:
        sigma = estimate_noise_sigma(x, method=method)
        print(f"{method}: sigma {sigma:.2f}, PSNR {compute_metric('psnr', ffdnet(x, sigma=sigma), clean):.2f}")
    for s in SWEEP[1:]:
        print(f"fixed sigma {s}: PSNR {compute_metric('psnr', ffdnet(x, sigma=s), clean):.2f}")
    return 0


def _real() -> int:
    from irpilot.config import settings
    from irpilot.io import list_images, read_image
    from irpilot.noise import estimate_noise_sigma

    n, changed = 0, []
    for name in REAL_SETS:
        folder = Path(settings.data_dir) / name
        for path in list_images(folder, recursive=True) if folder.is_dir() else []:
            img = read_image(path)
            if max(img.shape[1:]) > 1024:
                continue
            n += 1
            a, b = (estimate_noise_sigma(img, method=m) for m in METHODS)
            if a != b:
                changed.append(f"{path.relative_to(settings.data_dir)}: {a:.1f} -> {b:.1f}")
    print(f"{n} photos, {len(changed)} read differently", *changed, sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
