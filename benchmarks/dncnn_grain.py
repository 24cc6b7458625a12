"""``dncnn_color_blind``'s grain check (version 2): the tool as shipped against ``grain=false``
(CDnCNN-B alone, version 1), on crops of the training photos degraded with the protocol's and
the realistic family's noise, with and without a JPEG step (removed first by ``dncnn3_dejpeg``,
the order the agents take), JPEG alone (a false noise call after the dejpeg step), and noise
with darkness or haze.  Per condition: mean PSNR gain of each over its input, the worst
per-crop difference, and how many crops the check sent to FFDNet.

    OMP_NUM_THREADS=1 python benchmarks/dncnn_grain.py --n 8 --seed 5
    OMP_NUM_THREADS=1 python benchmarks/dncnn_grain.py --n 8 --seed 5 --grain-min 8     # a lower threshold
    OMP_NUM_THREADS=1 python benchmarks/dncnn_grain.py --n 8 --seed 5 --size 96 --min-side 0  # small crops
"""

from __future__ import annotations

import argparse

import numpy as np

CONDITIONS: dict[str, list[str]] = {
    "noise": ["noise"],
    "real_noise": ["real_noise"],
    "noise+jpeg": ["noise", "jpeg"],
    "real_noise+real_jpeg": ["real_noise", "real_jpeg"],
    "jpeg": ["jpeg"],
    "real_dark+real_noise": ["real_dark", "real_noise"],
    "real_haze+real_noise": ["real_haze", "real_noise"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=8, help="crops per condition")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--grain-min", type=float, default=None, help="the check's threshold (default: the tool's GRAIN_MIN)")
    ap.add_argument("--min-side", type=int, default=None, help="the check's smallest side (default: GRAIN_MIN_SIDE)")
    args = ap.parse_args()

    from irpilot.tools.networks import dncnn

    if args.grain_min is not None:
        dncnn.GRAIN_MIN = args.grain_min
    if args.min_side is not None:
        dncnn.GRAIN_MIN_SIDE = args.min_side

    from irpilot.quality import score
    from irpilot.tools import get_tool
    from irpilot.train.data import make_case, training_photos

    photos = training_photos()
    tool, dejpeg = get_tool("dncnn_color_blind"), get_tool("dncnn3_dejpeg")

    def psnr(img: np.ndarray, ref: np.ndarray) -> float:
        return float(score(img, ref, ["psnr"])["psnr"])

    print(f"{args.n} crops of {args.size} px per condition, training photos, seed {args.seed}; "
          f"grain check at {dncnn.GRAIN_MIN} / 255 on images of {dncnn.GRAIN_MIN_SIDE} px a side or more\n")
    print("| condition | CDnCNN-B alone | version 2 (grain check) | worst difference | crops sent to FFDNet |")
    print("|---|---|---|---|---|")
    for label, names in CONDITIONS.items():
        rng = np.random.default_rng(args.seed)
        plain, checked = [], []
        for i in range(args.n):
            case = make_case(rng, photos, size=(args.size, args.size), names=names, case_id=f"{label}{i}")
            x = dejpeg(case.degraded) if any("jpeg" in n for n in names) else case.degraded
            base = psnr(x, case.clean)
            plain.append(psnr(tool(x, grain=False), case.clean) - base)
            checked.append(psnr(tool(x), case.clean) - base)
        diff = np.array(checked) - np.array(plain)
        print(f"| {label} | {np.mean(plain):+.2f} | {np.mean(checked):+.2f} | {diff.min():+.2f} | "
              f"{int((diff != 0).sum())} / {args.n} |", flush=True)


if __name__ == "__main__":
    main()
