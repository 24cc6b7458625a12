"""Camera shake: can anything the tools compute pick a better kernel than they do today?

`shake_kernel_probe.py` shows that a perfect kernel would add about +3.5 dB to `shake_deblur_pnp`
and that the estimator's settings are at their best.  This script measures three ways of choosing
between kernels the tools can already compute.  Training photos only (CSet14 / LIVE1 centre crops,
`shake_deblur.photos`, and random crops of every training photo, `line_or_general.cases`):

- ``--part space``: `shake_deblur_pnp` with ``space`` forced to ``srgb`` and to ``linear``, against
  its own choice (``auto``), on generated shake alone: what a perfect choice of the space the blur
  happened in would add.
- ``--part ensemble``: the similarity to the true kernel of the default estimate and of averages
  of estimates (other gradient weights, other kernel sides, four corner crops of 80 %), estimated
  in the space the blur happened in, as ``shake_kernel_probe.py --scan`` does.
- ``--part line``: where the motion tools' line kernel passes its check, the line kernel and the
  blind general kernel deconvolved by the same plug-and-play step (FFDNet prior): does the latent's
  gradient sparsity (l1 / l2, Krishnan et al. 2011) or its re-blur residual tell which kernel's tool
  gains more?  (The two tools' own outputs cannot be compared that way: FFDNet's smoothing makes
  the blind tool's output the sparser on every case.)
- ``--part guide``: the blind kernel against the kernel found from MAXIM's output
  (`shake_deblur_pnp`'s ``guide``, :func:`~irpilot.tools.classical.blind_deblur.kernel_from_latent`),
  each deconvolved and refined as the tool does (its checks not applied), with what could choose
  between them: their spreads (the tool keeps the blind kernel where the guided one is under
  ``GUIDE_MIN_SPREAD_RATIO`` of its spread) and the blind estimator's objective (L0 latent re-blurred
  plus its edge count).  ``--condition`` shake, shake+noise or shake+jpeg; ``--held-out``: the 13
  photos no network trains on.

    OMP_NUM_THREADS=1 python benchmarks/shake_selection_probe.py --part space --n 16 --seed 11
    OMP_NUM_THREADS=1 python benchmarks/shake_selection_probe.py --part ensemble --n 16 --seed 7
    OMP_NUM_THREADS=1 python benchmarks/shake_selection_probe.py --part line --random 24 --seed 93
    OMP_NUM_THREADS=1 python benchmarks/shake_selection_probe.py --part guide --n 16 --seed 11

Each case is printed as one JSON line (``--out FILE`` appends them), then a summary (``--table FILE``
prints it again from the JSON lines).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def sparsity(img: np.ndarray) -> float:
    """l1 / l2 of the luma's horizontal and vertical differences, over sqrt(n): lower is sparser."""
    from irpilot.imaging.color import luma

    y = luma(img)
    g = np.concatenate([np.diff(y, axis=1).ravel(), np.diff(y, axis=0).ravel()])
    return float(np.abs(g).sum() / max(np.sqrt((g**2).sum() * g.size), 1e-12))


def average_kernel(kernels: list[np.ndarray]) -> np.ndarray:
    """The mean of kernels centred on their centres of mass (padded to the largest side), cleaned
    as the estimator cleans its own."""
    from irpilot.tools.classical.blind_deblur import _clean_kernel, centre_kernel

    side = max(k.shape[0] for k in kernels)
    mean = np.mean([centre_kernel(np.pad(k, (side - k.shape[0]) // 2)) for k in kernels], axis=0)
    return centre_kernel(_clean_kernel(mean))


def space_part(args: argparse.Namespace) -> list[dict]:
    from shake_deblur import generated_case, photos

    from irpilot.quality.full_reference import psnr
    from irpilot.tools import get_tool

    tool = get_tool("shake_deblur_pnp")
    rows = []
    for i, (name, img) in enumerate(photos(args.n, args.size)):
        x, record = generated_case(img, "shake", [args.seed, i])
        base = psnr(x, img)
        row = {"photo": name, "space": record["real_motion_blur"]["space"]}
        for space in ("auto", "srgb", "linear"):
            row[space] = round(psnr(tool(x, space=space), img) - base, 3)
        rows.append(emit(row, args))
    return rows


def ensemble_part(args: argparse.Namespace) -> list[dict]:
    from shake_deblur import generated_case, photos

    from irpilot.degrade.real_optics import shake_kernel
    from irpilot.imaging.color import luma, srgb_to_linear
    from irpilot.tools.classical.blind_deblur import estimate_shake_kernel, kernel_similarity

    rows = []
    for i, (name, img) in enumerate(photos(args.n, args.size)):
        x, record = generated_case(img, "shake", [args.seed, i])
        pb = record["real_motion_blur"]
        y = luma(srgb_to_linear(x, np.float32) if pb["space"] == "linear" else x)
        true_k = shake_kernel(pb)[::-1, ::-1]
        k0 = estimate_shake_kernel(y)
        side = k0.shape[0]
        lams = [estimate_shake_kernel(y, lam=v) for v in (0.003, 0.006, 0.008)]
        sides = [estimate_shake_kernel(y, s) for s in (side - 2, side + 2)]
        h, w = y.shape
        c = int(0.8 * min(h, w))
        corners = [estimate_shake_kernel(y[a : a + c, b : b + c], side) for a in (0, h - c) for b in (0, w - c)]
        variants = {"default": [k0], "weights": [k0, *lams], "sides": [k0, *sides],
                    "weights+sides": [k0, *lams, *sides], "corners": [k0, *corners],
                    "all": [k0, *lams, *sides, *corners]}
        row = {"photo": name, **{key: round(kernel_similarity(average_kernel(ks), true_k), 3)
                                 for key, ks in variants.items()}}
        rows.append(emit(row, args))
    return rows


def line_part(args: argparse.Namespace) -> list[dict]:
    from line_or_general import blurred, cases

    from irpilot.quality.full_reference import psnr
    from irpilot.tools import get_tool
    from irpilot.tools.classical.blind_deblur import (
        _noise_and_blocks,
        apply_kernel,
        centre_kernel,
        deconv_pnp,
        general_kernel,
    )
    from irpilot.tools.classical.deblur import MOTION_FIT_RATIO, estimate_motion_kernel, motion_kernel

    hqs, pnp = get_tool("motion_deblur_hqs"), get_tool("shake_deblur_pnp")
    pnp.ensure_setup()
    den = pnp._denoiser("auto")
    if den is None:
        raise SystemExit("--part line needs FFDNet's weights (irpilot tools says where they are looked for)")
    rows = []
    for i, (name, img) in enumerate(cases(args)):
        for cond in args.conditions.split(","):
            x = blurred(img, cond, i, args.seed)
            _, info = estimate_motion_kernel(x)
            if not info["score"] / info["sharp_score"] < MOTION_FIT_RATIO:
                continue  # the line tools decline on their own
            base = psnr(x, img)
            row = {"photo": name, "condition": cond,
                   "gain_line_tool": round(psnr(hqs(x, angle=info["angle"], sigma=info["sigma"]), img) - base, 3),
                   "gain_blind_tool": round(psnr(pnp(x), img) - base, 3), "sparsity_input": round(sparsity(x), 4)}
            level = max(_noise_and_blocks(x), 3.0 / 255.0)
            kernels = {"line": centre_kernel(motion_kernel(info["sigma"], info["angle"]).astype(np.float32)),
                       "general": general_kernel(x, denoiser=den).kernel}
            for tag, k in kernels.items():
                latent = deconv_pnp(x, k, level, den)
                row[f"sparsity_{tag}"] = round(sparsity(latent), 4)
                row[f"residual_{tag}"] = round(float(np.sqrt(((apply_kernel(latent, k) - x) ** 2).mean())) * 255, 3)
            rows.append(emit(row, args))
    return rows


def l0_objective(y: np.ndarray, k: np.ndarray, lam: float) -> float:
    """The blind estimator's objective for ``k`` at its L0 latent of ``y``: the squared re-blur
    residual plus ``lam`` times the gradients the L0 step leaves (away from the padded border)."""
    from irpilot.tools.classical._common import psf2otf
    from irpilot.tools.classical.blind_deblur import _fft2, _grads, _ifft2r, _latent_l0

    pad = k.shape[0] + 4
    yp = np.pad(np.asarray(y, np.float32), pad, mode="reflect")
    x = _latent_l0(yp, k, lam)
    r = (_ifft2r(_fft2(x) * psf2otf(k, yp.shape)) - yp)[pad:-pad, pad:-pad]
    hx, vy = _grads(x)
    return float((r**2).sum()) + lam * int(np.count_nonzero((hx**2 + vy**2)[pad:-pad, pad:-pad] > 1e-8))


def guide_part(args: argparse.Namespace) -> list[dict]:
    from shake_deblur import generated_case, photos

    from irpilot.degrade.real_optics import shake_kernel
    from irpilot.quality.full_reference import psnr
    from irpilot.tools import get_tool
    from irpilot.tools.classical import blind_deblur as bd

    tool = get_tool("shake_deblur_pnp")
    tool.ensure_setup()
    den, maxim = tool._denoiser("auto"), tool._maxim_tool(required=True, why="--part guide")
    if den is None or tool._refiner is None:
        raise SystemExit("--part guide needs FFDNet's weights and the refinement network (irpilot tools)")
    rows = []
    for i, (name, img) in enumerate(photos(args.n, args.size, held_out=args.held_out)):
        x, record = generated_case(img, args.condition, [args.seed, i])
        true_k = shake_kernel(record["real_motion_blur"])[::-1, ::-1]
        choice = tool.estimate_kernel(x)
        found = choice.estimate._replace(kernel=choice.kernel)
        kernels = {"blind": found.kernel, "guided": tool.network_kernel(found, maxim, args.alternations)}
        base = psnr(x, img)
        level = max(bd._noise_and_blocks(x), bd._SIGMA_FLOOR)
        row = {"photo": name, "condition": args.condition, "space": found.space, "noise": round(found.sigma * 255, 2)}
        for tag, k in kernels.items():
            out = bd.within_input_range(bd.deconv_pnp(x, k, level, den, linear=found.space == "linear"), x)
            row[f"gain_{tag}"] = round(psnr(bd.refine_deconvolution(tool._refiner, x, out), img) - base, 3)
            row[f"similarity_{tag}"] = round(bd.kernel_similarity(k, true_k), 3)
            row[f"spread_{tag}"] = round(bd.kernel_spread(k), 3)
            row[f"objective_{tag}"] = round(l0_objective(found.luma, k, bd.GUIDE_LAM), 3)
        rows.append(emit(row, args))
    return rows


def emit(row: dict, args: argparse.Namespace) -> dict:
    print(json.dumps(row), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
    return row


def summary(part: str, rows: list[dict]) -> str:
    if not rows:
        return "no cases"
    if part == "space":
        best = [max(r["srgb"], r["linear"]) for r in rows]
        return (f"{len(rows)} cases, gain over the input: auto {np.mean([r['auto'] for r in rows]):+.2f} dB, "
                f"srgb {np.mean([r['srgb'] for r in rows]):+.2f}, linear {np.mean([r['linear'] for r in rows]):+.2f}, "
                f"the better of the two per case (an oracle) {np.mean(best):+.2f}")
    if part == "ensemble":
        keys = [k for k in rows[0] if k != "photo"]
        return f"{len(rows)} cases, similarity to the true kernel, mean (median): " + ", ".join(
            f"{k} {np.mean([r[k] for r in rows]):.3f} ({np.median([r[k] for r in rows]):.3f})" for k in keys)
    if part == "guide":
        def chosen(rule) -> str:
            gains = [r["gain_guided"] if rule(r) else r["gain_blind"] for r in rows]
            right = sum(rule(r) == (r["gain_guided"] >= r["gain_blind"]) for r in rows)
            return f"{np.mean(gains):+.2f} dB (right on {right}, {sum(g < -0.05 for g in gains)} worse)"

        ratios = ", ".join(f"{t}: {chosen(lambda r, t=t: r['spread_guided'] >= t * r['spread_blind'])}"
                           for t in (0.6, 0.7, 0.8, 0.9))
        return (f"{len(rows)} cases, gain over the input: blind kernel {np.mean([r['gain_blind'] for r in rows]):+.2f} dB, "
                f"guided {np.mean([r['gain_guided'] for r in rows]):+.2f}, the better per case (an oracle) "
                f"{np.mean([max(r['gain_blind'], r['gain_guided']) for r in rows]):+.2f}; similarity to the true kernel "
                f"{np.mean([r['similarity_blind'] for r in rows]):.3f} / {np.mean([r['similarity_guided'] for r in rows]):.3f}\n"
                f"guided where its spread is at least this share of the blind kernel's: {ratios}\n"
                f"guided where its objective is lower: {chosen(lambda r: r['objective_guided'] < r['objective_blind'])}")
    lines = ["| condition | cases | line tool / blind tool gain | the sparser latent's kernel right | "
             "the smaller residual's kernel right |", "| --- | --- | --- | --- | --- |"]
    for cond in dict.fromkeys(r["condition"] for r in rows):
        rs = [r for r in rows if r["condition"] == cond]
        line_right = [r["gain_line_tool"] >= r["gain_blind_tool"] for r in rs]
        by_sparsity = sum((r["sparsity_line"] <= r["sparsity_general"]) == ok for r, ok in zip(rs, line_right))
        by_residual = sum((r["residual_line"] <= r["residual_general"]) == ok for r, ok in zip(rs, line_right))
        lines.append(f"| {cond} | {len(rs)} | {np.mean([r['gain_line_tool'] for r in rs]):+.2f} / "
                     f"{np.mean([r['gain_blind_tool'] for r in rs]):+.2f} dB | {by_sparsity} | {by_residual} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=("space", "ensemble", "line", "guide"), required=True)
    ap.add_argument("--n", type=int, default=None,
                    help="CSet14 / LIVE1 centre crops (default 16; line: 0, its random crops instead)")
    ap.add_argument("--size", type=int, default=320, help="their side")
    ap.add_argument("--random", type=int, default=24, help="line: random crops of every training photo")
    ap.add_argument("--random-size", type=int, default=288)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--conditions", default="protocol,shake,protocol+jpeg+dejpeg,shake+jpeg+dejpeg",
                    help="line: line_or_general.py's conditions")
    ap.add_argument("--condition", default="shake", help="guide: shake, shake+noise or shake+jpeg")
    ap.add_argument("--held-out", action="store_true", help="guide: the held-out photos (shake_deblur.photos)")
    ap.add_argument("--alternations", type=int, default=None,
                    help="guide: blind alternations after the kernel step from MAXIM's output (default the tool's)")
    ap.add_argument("--out", default="", help="JSON-lines file the cases are appended to")
    ap.add_argument("--table", default="", metavar="JSONL", help="only summarise this file's cases of --part")
    args = ap.parse_args()
    if args.table:
        print(summary(args.part, [json.loads(line) for line in Path(args.table).read_text().splitlines() if line]))
        return
    if args.alternations is None:
        from irpilot.tools.classical.blind_deblur import GUIDE_ALTERNATIONS

        args.alternations = GUIDE_ALTERNATIONS
    if args.n is None:
        args.n = 0 if args.part == "line" else 16
    rows = {"space": space_part, "ensemble": ensemble_part, "line": line_part, "guide": guide_part}[args.part](args)
    print(summary(args.part, rows))


if __name__ == "__main__":
    main()
