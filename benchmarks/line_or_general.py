"""Line blur or camera shake: how well a line kernel and a general (blind) kernel explain a
blurred photo's spectrum, and what each deblurring tool gains.

The motion tools (`motion_deblur_wiener`, `motion_deblur_hqs`) fit a one-sided line kernel, the
protocol's.  Their own check (the line's misfit ratio under ``MOTION_FIT_RATIO``) also passes on
some camera shake, which they then deconvolve into ghosts.  Version 4 of those tools also
estimates a general kernel blind (``blind_deblur.general_kernel``) and declines when its misfit
ratio is under ``LINE_OVER_GENERAL`` times the line's.  This script gives, per case, both ratios
and the gains of the line kernel deconvolved (``motion_deblur_hqs`` given its angle and length, as
version 3 ran it where the line passed), of ``motion_deblur_hqs`` as it is and of
``shake_deblur_pnp`` on their own, for the protocol's
``motion_blur`` and the realistic family's generated shake (``real_motion_blur``), optionally
followed by JPEG.  Training photos only: the centre crops of CSet14 / LIVE1 of
``shake_deblur.py`` (``--n``, ``--size``) and random crops of every training photo
(``--random N``, ``--random-size``, ``--seed``).

    OMP_NUM_THREADS=1 python benchmarks/line_or_general.py --n 18 --size 320 --conditions protocol,shake,protocol+jpeg,shake+jpeg
    OMP_NUM_THREADS=1 python benchmarks/line_or_general.py --n 0 --random 30 --random-size 288 --seed 77
    python benchmarks/line_or_general.py --table runs/line_or_general/*.jsonl

Every case is one JSON line (``--out FILE`` appends them); ``--table`` summarises JSON-line files,
and adds, for cases with the fields, the motion step as the agent runs it, with the residual rule
(``--residual-threshold``: decline where a general kernel of the line deconvolution's output has
less axis mass) and with the two tools' outputs averaged where the line is kept.  ``--dejpeg``
names the JPEG step of the ``+dejpeg`` conditions.  Each case also records the learned line
check's reading (``shake_probability``), and the table compares the motion step by version 4 of the
motion tools and by version 5, which also declines where the check reads camera shake;
``--held-out`` draws the random crops from the held-out training photos only (every 10th, as
``irpilot.train.compact.split_photos`` holds them out), which the check does not train on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

CONDITIONS = ("protocol", "shake", "protocol+jpeg", "shake+jpeg", "protocol+jpeg+dejpeg", "shake+jpeg+dejpeg")


def cases(args: argparse.Namespace) -> Iterator[tuple[str, np.ndarray]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from shake_deblur import photos

    yield from photos(args.n, args.size) if args.n else []
    if args.random:
        from irpilot.imaging.convert import on_8bit_grid
        from irpilot.train.compact import random_crop, split_photos

        train, val, _ = split_photos()
        pool = [p for p in (val if args.held_out else train + val) if min(p.shape[1:]) >= args.random_size]
        rng = np.random.default_rng(args.seed)
        for j in range(args.random):
            yield f"random{args.seed}_{j}", on_8bit_grid(random_crop(pool[int(rng.integers(len(pool)))], args.random_size, rng))


def blurred(img: np.ndarray, cond: str, i: int, seed: int, dejpeg: str = "dncnn3_dejpeg") -> np.ndarray:
    """The blurred input of a condition; ``+dejpeg``: as the agent's motion tools see it after
    the policy's JPEG step (``dejpeg``)."""
    from irpilot.degrade import degrade, get_degradation

    jpeg = "+jpeg" in cond
    if cond.startswith("protocol"):
        x = degrade(img, ["motion_blur", "jpeg"] if jpeg else ["motion_blur"], seed=seed * 1000 + i)[0]
    else:
        shake = get_degradation("real_motion_blur")
        x = shake.apply(img, shake.sample(np.random.default_rng([seed, i, 0])))
        if jpeg:
            real_jpeg = get_degradation("real_jpeg")
            x = real_jpeg.apply(x, real_jpeg.sample(np.random.default_rng([seed, i, 1])))
    if cond.endswith("+dejpeg"):
        from irpilot.tools import get_tool

        x = get_tool(dejpeg)(x)
    return x


def measure(args: argparse.Namespace) -> None:
    from irpilot.quality.full_reference import psnr
    from irpilot.tools import get_tool
    from irpilot.tools.classical.blind_deblur import general_kernel, kernel_axis_mass, kernel_similarity
    from irpilot.tools.classical.deblur import (
        MOTION_FIT_RATIO,
        estimate_motion_kernel,
        kernel_misfit_ratio,
        motion_kernel,
        shake_not_line,
    )
    from irpilot.tools.classical.line_check import shake_probability

    hqs, pnp = get_tool("motion_deblur_hqs"), get_tool("shake_deblur_pnp")
    out = open(args.out, "a") if args.out else None
    for i, (name, img) in enumerate(cases(args)):
        for cond in args.conditions.split(","):
            x = blurred(img, cond, i, args.seed, args.dejpeg)
            t0 = time.perf_counter()
            _, info = estimate_motion_kernel(x)
            estimate_seconds = time.perf_counter() - t0
            line = info["score"] / info["sharp_score"]
            k = general_kernel(x).kernel
            general, axis = kernel_misfit_ratio(x, k), kernel_axis_mass(k)
            # how alike the general kernel and the fitted line kernel are (1: the same up to a shift)
            similarity = kernel_similarity(motion_kernel(info["sigma"], info["angle"]), k)
            base = psnr(x, img)
            # the line kernel deconvolved whatever the checks say (version 3's output where the line passes)
            t0 = time.perf_counter()
            by_line = hqs(x, angle=info["angle"], sigma=info["sigma"])
            line_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            by_tool = hqs(x)
            tool_seconds = time.perf_counter() - t0
            by_pnp = pnp(x)
            passes = bool(line < MOTION_FIT_RATIO)
            # the blur the line deconvolution leaves: a general kernel estimated blind on its
            # output, near a delta or a short line on the same axis if the line was right, bent
            # (the ghosts) if the blur was camera shake
            residual = kernel_axis_mass(general_kernel(by_line).kernel) if passes else None
            row = {
                "photo": name, "condition": cond, "line_ratio": round(line, 3), "general_ratio": round(general, 3),
                "axis_mass": round(axis, 3), "line_similarity": round(similarity, 3), "line_passes": passes,
                "declined": bool(not passes or shake_not_line(line, general, axis)),
                "gain_line": round(psnr(by_line, img) - base, 2),
                "gain_hqs": round(psnr(by_tool, img) - base, 2), "gain_pnp": round(psnr(by_pnp, img) - base, 2),
                # the two deblurrings averaged, where the line passes (the agent's motion step as a
                # hedge between the two kernels; where it declines, its fallback's output alone)
                "gain_average": round(psnr(0.5 * (by_line + by_pnp) if passes else by_pnp, img) - base, 2),
                "residual_axis_mass": None if residual is None else round(residual, 3),
                # the learned line check's reading (version 5 of the motion tools declines at
                # LINE_CHECK_THRESHOLD or more where the line passes)
                "shake_probability": None if (p := shake_probability(x)) is None else round(p, 3),
                # motion_deblur_hqs as it is, and version 3's work (the line estimate, and its
                # deconvolution where the line passes), timed in the same run
                "seconds_hqs": round(tool_seconds, 3),
                "seconds_v3": round(estimate_seconds + (line_seconds if passes else 0.0), 3),
            }
            print(json.dumps(row), flush=True)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()


def table(paths: list[str], residual_threshold: float = 0.7) -> str:
    """Per condition: cases, those whose line passes its own check, their general / line ratios
    and axis masses, and for those the gains of the line kernel (``motion_deblur_hqs`` given it:
    version 3's output) and of ``shake_deblur_pnp``, split by version 4's rule; and the mean
    seconds of ``motion_deblur_hqs`` against version 3's work where the line passes."""
    from irpilot.tools.classical.deblur import LINE_AXIS_MASS, LINE_OVER_GENERAL, shake_not_line

    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    lines = [
        "| condition | cases | line passes | general / line ratio (min-max) | axis mass (min-max) | "
        f"declined (ratio < {LINE_OVER_GENERAL}, axis mass < {LINE_AXIS_MASS}): line / pnp gain | kept: line / pnp gain "
        "| seconds where the line passes: tool / version 3 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cond in CONDITIONS:
        rs = [r for r in rows if r["condition"] == cond]
        if not rs:
            continue
        ps = [r for r in rs if r["line_passes"]]
        dec = [r for r in ps if shake_not_line(r["line_ratio"], r["general_ratio"], r["axis_mass"])]
        kept = [r for r in ps if r not in dec]

        def gains(sel: list[dict]) -> str:
            if not sel:
                return "-"
            return (f"{len(sel)}: {np.mean([r['gain_line'] for r in sel]):+.2f} / "
                    f"{np.mean([r['gain_pnp'] for r in sel]):+.2f} dB")

        def span(values: list[float]) -> str:
            return f"{min(values):.2f}-{max(values):.2f}" if values else "-"

        timed = [r for r in ps if "seconds_hqs" in r]
        seconds = (f"{np.mean([r['seconds_hqs'] for r in timed]):.2f} / {np.mean([r['seconds_v3'] for r in timed]):.2f}"
                   if timed else "-")
        ratios = span([r["general_ratio"] / r["line_ratio"] for r in ps])
        axes = span([r["axis_mass"] for r in ps])
        lines.append(f"| {cond} | {len(rs)} | {len(ps)} | {ratios} | {axes} | {gains(dec)} | {gains(kept)} | {seconds} |")
    lines += ["", residual_table(rows, residual_threshold), "", check_table(rows)]
    return "\n".join(lines)


def check_table(rows: list[dict]) -> str:
    """Per condition, the agent's motion step (``motion_deblur_hqs``, and its fallback
    ``shake_deblur_pnp`` where it declines) by version 4 of the motion tools and by version 5,
    which also declines where the learned line check reads camera shake."""
    from irpilot.tools.classical.deblur import LINE_CHECK_THRESHOLD

    lines = [
        f"| condition | cases | line kept (version 4) | of those, the check reads shake (p >= {LINE_CHECK_THRESHOLD}): "
        "cases, line / pnp gain | motion step, version 4 (worse) | version 5 (worse) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for cond in CONDITIONS:
        rs = [r for r in rows if r["condition"] == cond and r.get("shake_probability") is not None]
        if not rs:
            continue

        def kept(r: dict) -> bool:
            return r["line_passes"] and not r["declined"]

        def checked(r: dict) -> bool:
            return kept(r) and r["shake_probability"] >= LINE_CHECK_THRESHOLD

        def step(values: list[float]) -> str:
            return f"{np.mean(values):+.2f} ({sum(v < -0.05 for v in values)})"

        v4 = [r["gain_line"] if kept(r) else r["gain_pnp"] for r in rs]
        v5 = [r["gain_line"] if kept(r) and not checked(r) else r["gain_pnp"] for r in rs]
        sel = [r for r in rs if checked(r)]
        moved = (f"{len(sel)}: {np.mean([r['gain_line'] for r in sel]):+.2f} / {np.mean([r['gain_pnp'] for r in sel]):+.2f} dB"
                 if sel else "0")
        lines.append(f"| {cond} | {len(rs)} | {sum(map(kept, rs))} | {moved} | {step(v4)} | {step(v5)} |")
    return "\n".join(lines)


def residual_table(rows: list[dict], threshold: float) -> str:
    """Per condition, the agent's motion step (``motion_deblur_hqs``, and its fallback
    ``shake_deblur_pnp`` where it declines) against two changes where the line kernel is kept:
    declining when the blur its deconvolution leaves is bent (residual axis mass under
    ``threshold``), and the average of the two tools' outputs (a hedge)."""
    lines = [
        f"| condition | cases | line kept | residual under {threshold}: cases, line / pnp gain | "
        "motion step today (worse) | with the residual rule (worse) | averaged where kept (worse) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cond in CONDITIONS:
        rs = [r for r in rows if r["condition"] == cond and "gain_average" in r]
        if not rs:
            continue

        def kept(r: dict) -> bool:
            return r["line_passes"] and not r["declined"]

        def bent(r: dict) -> bool:
            return kept(r) and r.get("residual_axis_mass") is not None and r["residual_axis_mass"] < threshold

        def step(values: list[float]) -> str:
            return f"{np.mean(values):+.2f} ({sum(v < -0.05 for v in values)})"

        today = [r["gain_line"] if kept(r) else r["gain_pnp"] for r in rs]
        rule = [r["gain_line"] if kept(r) and not bent(r) else r["gain_pnp"] for r in rs]
        hedge = [r["gain_average"] if kept(r) else r["gain_pnp"] for r in rs]
        sel = [r for r in rs if bent(r)]
        moved = (f"{len(sel)}: {np.mean([r['gain_line'] for r in sel]):+.2f} / {np.mean([r['gain_pnp'] for r in sel]):+.2f} dB"
                 if sel else "0")
        lines.append(f"| {cond} | {len(rs)} | {sum(map(kept, rs))} | {moved} | {step(today)} | {step(rule)} | {step(hedge)} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=18, help="centre crops of CSet14 / LIVE1 (shake_deblur.py's photos)")
    ap.add_argument("--size", type=int, default=320, help="their side")
    ap.add_argument("--random", type=int, default=0, help="random crops of every training photo")
    ap.add_argument("--random-size", type=int, default=288)
    ap.add_argument("--held-out", action="store_true",
                    help="random crops of the held-out training photos only (the line check does not train on them)")
    ap.add_argument("--seed", type=int, default=5, help="seeds the blur, the JPEG and the random crops")
    ap.add_argument("--conditions", default="protocol,shake", help=f"of {', '.join(CONDITIONS)}")
    ap.add_argument("--dejpeg", default="dncnn3_dejpeg", help="the JPEG tool of the +dejpeg conditions")
    ap.add_argument("--residual-threshold", type=float, default=0.7,
                    help="--table: the residual rule's axis mass (the line tool declines under it)")
    ap.add_argument("--out", default="", help="JSON-lines file the cases are appended to")
    ap.add_argument("--table", nargs="*", default=None, metavar="JSONL", help="summarise these files and exit")
    args = ap.parse_args()
    if args.table is not None:
        print(table(args.table, args.residual_threshold))
        return
    unknown = set(args.conditions.split(",")) - set(CONDITIONS)
    if unknown:
        raise SystemExit(f"unknown condition(s) {sorted(unknown)}; choose from {CONDITIONS}")
    measure(args)


if __name__ == "__main__":
    main()
