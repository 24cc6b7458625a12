"""What the deblurring tools' no-blur check does: each tool with the check (as shipped) against
the same tool deconvolving with its estimated kernel whatever the fit (as before the check), on
crops of the training photos with and without the blur it removes.

Noisy crops are denoised first (FFDNet), as an agent would do before deblurring; rows marked
"after DnCNN-3" have their JPEG artifacts removed first (``dncnn3_dejpeg``), the order the
agents take.  For every
combination: the mean PSNR gain of each tool over its input, the worst crop, and how many crops
the check declined (returned unchanged).

    OMP_NUM_THREADS=1 python benchmarks/deblur_check.py --family defocus --n 16 --seed 100
    OMP_NUM_THREADS=1 python benchmarks/deblur_check.py --family motion --n 16 --seed 100
    OMP_NUM_THREADS=1 python benchmarks/deblur_check.py --family motion --n 16 --seed 99 --ratios 1.0,0.8,0.6,0.5,0.4,0.3

``--realistic`` adds the realistic family's camera shake (alone, with sensor noise, with JPEG), to
see whether a misfit ratio tells the protocol's line kernel from shake.
"""

from __future__ import annotations

import argparse

import numpy as np

COMBOS: dict[str, dict[str, list[str]]] = {
    "defocus": {
        "defocus": ["defocus_blur"],
        "defocus+noise": ["defocus_blur", "noise"],
        "motion+defocus+noise": ["motion_blur", "defocus_blur", "noise"],
        "noise": ["noise"],
        "motion": ["motion_blur"],
        "defocus+jpeg": ["defocus_blur", "jpeg"],
    },
    "motion": {
        "motion": ["motion_blur"],
        "motion+noise": ["motion_blur", "noise"],
        "motion+jpeg": ["motion_blur", "jpeg"],
        "noise": ["noise"],
        "defocus": ["defocus_blur"],
        "jpeg": ["jpeg"],
        "motion+jpeg after DnCNN-3": ["motion_blur", "jpeg"],
        "jpeg after DnCNN-3": ["jpeg"],
        "haze": ["haze"],
    },
}
#: ``--realistic``: camera shake (generated trajectories) in place of the protocol's line kernel
REALISTIC_MOTION: dict[str, list[str]] = {
    "shake": ["real_motion_blur"],
    "shake+noise": ["real_motion_blur", "real_noise"],
    "shake+jpeg after DnCNN-3": ["real_motion_blur", "real_jpeg"],
}
TOOLS_CHECKED = {"defocus": ("defocus_deblur_wiener", "defocus_deblur_hqs"), "motion": ("motion_deblur_wiener", "motion_deblur_hqs")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=tuple(COMBOS), default="defocus")
    ap.add_argument("--n", type=int, default=16, help="crops per combination")
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--ratios", default="", help="also tabulate, per misfit ratio in this comma-separated "
                    "list, the mean gain if the tools deconvolved only below it (e.g. 1.0,0.8,0.6,0.5)")
    ap.add_argument("--realistic", action="store_true", help="also camera shake from the realistic family (motion)")
    args = ap.parse_args()
    ratios = [float(r) for r in args.ratios.split(",") if r.strip()]

    from irpilot.quality import score
    from irpilot.tools import get_tool
    from irpilot.tools.classical.deblur import FIT_RATIO, estimate_defocus_radius, estimate_motion_kernel
    from irpilot.train.data import make_case, training_photos

    photos = training_photos()
    denoise = get_tool("ffdnet_color")
    dejpeg = get_tool("dncnn3_dejpeg")
    checked = TOOLS_CHECKED[args.family]
    tools = {t: get_tool(t) for t in checked}

    def psnr(img: np.ndarray, ref: np.ndarray) -> float:
        return float(score(img, ref, ["psnr"])["psnr"])

    print(f"{args.n} crops of {args.size} px per combination, training photos, seed {args.seed}; "
          f"check: deconvolve when the kernel's misfit < {FIT_RATIO} x the no-blur misfit\n")
    head = " | ".join(f"{t} {k}" for t in checked for k in ("without check", "with check"))
    print(f"| crops | declined | {head} |")
    print("|---|---|" + "---|" * (2 * len(checked)))
    fits: dict[str, list[float]] = {}  # per combination: each crop's misfit ratio
    plain: dict[str, dict[str, list[float]]] = {}  # per combination and tool: gains without the check
    combos = dict(COMBOS[args.family])
    if args.realistic and args.family == "motion":
        combos.update(REALISTIC_MOTION)
    for label, names in combos.items():
        gains: dict[tuple[str, bool], list[float]] = {(t, c): [] for t in checked for c in (False, True)}
        declined = 0
        fits[label] = []
        crops = label.removesuffix(" after DnCNN-3")  # the same crops as the row without it
        for i in range(args.n):
            case = make_case(np.random.default_rng([args.seed, i, len(crops)]), photos, size=(args.size, args.size), names=names)
            x = denoise(case.degraded) if any(n.endswith("noise") for n in names) else case.degraded
            if label.endswith("after DnCNN-3"):
                x = dejpeg(x)
            base = psnr(x, case.clean)
            if args.family == "defocus":
                _, info = estimate_defocus_radius(x)
                kernel = {"radius": info["radius"]}  # given: the tool skips the check
            else:
                _, info = estimate_motion_kernel(x)
                kernel = {"angle": info["angle"], "sigma": info["sigma"]}
            declined += info["score"] >= FIT_RATIO * info["sharp_score"]
            fits[label].append(info["score"] / max(info["sharp_score"], 1e-12))
            for t, tool in tools.items():
                gains[(t, False)].append(psnr(tool(x, **kernel), case.clean) - base)
                gains[(t, True)].append(psnr(tool(x), case.clean) - base)
        cells = " | ".join(
            f"{np.mean(gains[(t, c)]):+.2f} (worst {min(gains[(t, c)]):+.2f})" for t in checked for c in (False, True)
        )
        print(f"| {label} | {declined} / {args.n} | {cells} |", flush=True)
        plain[label] = {t: gains[(t, False)] for t in checked}
    for t in checked if ratios else ():
        print(f"\n{t}: mean gain if it deconvolved only below each misfit ratio (the mean over combinations last)\n")
        print("| ratio below | " + " | ".join(plain) + " | mean |")
        print("|---|" + "---|" * (len(plain) + 1))
        for r in ratios:
            row = [float(np.mean(np.where(np.array(fits[c]) < r, plain[c][t], 0.0))) for c in plain]
            print(f"| {r} | " + " | ".join(f"{v:+.2f}" for v in row) + f" | {np.mean(row):+.2f} |")


if __name__ == "__main__":
    main()
