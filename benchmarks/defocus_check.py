"""What the defocus tools' no-blur check does: each defocus tool with the check (as shipped)
against the same tool deconvolving at the estimated radius whatever the fit (as before the check),
on crops of the training photos with and without defocus blur.

Noisy crops are denoised first (FFDNet), as an agent would do before deblurring.  For every
combination: the mean PSNR gain of each tool over its input, the worst crop, and how many crops
the check declined (returned unchanged).

    OMP_NUM_THREADS=1 python benchmarks/defocus_check.py --n 16 --seed 100
"""

from __future__ import annotations

import argparse

import numpy as np

COMBOS: dict[str, list[str]] = {
    "defocus": ["defocus_blur"],
    "defocus+noise": ["defocus_blur", "noise"],
    "motion+defocus+noise": ["motion_blur", "defocus_blur", "noise"],
    "noise": ["noise"],
    "motion": ["motion_blur"],
    "defocus+jpeg": ["defocus_blur", "jpeg"],
}
TOOLS_CHECKED = ("defocus_deblur_wiener", "defocus_deblur_hqs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=16, help="crops per combination")
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()

    from irpilot.quality import score
    from irpilot.tools import get_tool
    from irpilot.tools.classical.deblur import DEFOCUS_FIT_RATIO, estimate_defocus_radius
    from irpilot.train.data import make_case, training_photos

    photos = training_photos()
    denoise = get_tool("ffdnet_color")
    tools = {t: get_tool(t) for t in TOOLS_CHECKED}

    def psnr(img: np.ndarray, ref: np.ndarray) -> float:
        return float(score(img, ref, ["psnr"])["psnr"])

    print(f"{args.n} crops of {args.size} px per combination, training photos, seed {args.seed}; "
          f"check: deconvolve when the disk's misfit < {DEFOCUS_FIT_RATIO} x the no-blur misfit\n")
    head = " | ".join(f"{t} {k}" for t in TOOLS_CHECKED for k in ("without check", "with check"))
    print(f"| crops | declined | {head} |")
    print("|---|---|" + "---|" * (2 * len(TOOLS_CHECKED)))
    for label, names in COMBOS.items():
        gains: dict[tuple[str, bool], list[float]] = {(t, c): [] for t in TOOLS_CHECKED for c in (False, True)}
        declined = 0
        for i in range(args.n):
            case = make_case(np.random.default_rng([args.seed, i, len(label)]), photos, size=(args.size, args.size), names=names)
            x = denoise(case.degraded) if "noise" in names else case.degraded
            base = psnr(x, case.clean)
            _, info = estimate_defocus_radius(x)
            declined += info["score"] >= DEFOCUS_FIT_RATIO * info["sharp_score"]
            for t, tool in tools.items():
                gains[(t, False)].append(psnr(tool(x, radius=info["radius"]), case.clean) - base)
                gains[(t, True)].append(psnr(tool(x), case.clean) - base)
        cells = " | ".join(
            f"{np.mean(gains[(t, c)]):+.2f} (worst {min(gains[(t, c)]):+.2f})" for t in TOOLS_CHECKED for c in (False, True)
        )
        print(f"| {label} | {declined} / {args.n} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
