"""Camera shake: is ``shake_deblur_pnp`` limited by its kernel estimate or by its non-blind step?

Photos irpilot's networks never train on (``shake_deblur.photos``, ``--held-out`` by default) or
CSet14 / LIVE1 training photos, centre-cropped, are shaken by the realistic family's
``real_motion_blur`` alone (seeded per photo, ``shake_deblur.generated_case``).  Each case is
deconvolved by the tool's own non-blind step (:func:`deconv_pnp` with the FFDNet prior, the result
kept within the input's range) with

- the tool as shipped (its kernel, its noise floor, its checks and its refinement network),
- the kernel the tool estimates, at several noise floors, without the refinement network,
- the **true** kernel (flipped: the degradation convolves, the tool's Fourier model correlates),
  in the space the blur happened in, at the same floors.

The tool's checks are skipped in the last two rows (every case is deconvolved), so these say what a
kernel is worth, not what the tool does.  Each case also records the two halves' agreement the tool
checks (``consistency``) and the similarity of the estimated kernel to the true one, so a rule that
picks a floor per photo can be judged on them (``--table`` prints the table again from the JSON lines).

    OMP_NUM_THREADS=2 python benchmarks/shake_kernel_probe.py --n 13 --size 320 --out runs/shake_probe

``--scan`` judges settings of the kernel estimate itself (:func:`estimate_shake_kernel`'s keyword
arguments, one JSON object each, today's defaults first) by the similarity of its kernel to the true
one, on shaken CSet14 / LIVE1 training crops, estimated in the space the blur happened in:

    OMP_NUM_THREADS=1 python benchmarks/shake_kernel_probe.py --scan '{"iters": 10}' '{"lam": 0.008}' --n 16 --seed 7
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

FLOORS = (3, 6, 12)  # noise floors the non-blind step assumes at least, 0-255 scale


def run_case(tool, img: np.ndarray, x: np.ndarray, record: dict, floors: tuple[int, ...]) -> dict:
    from irpilot.degrade.real_optics import shake_kernel
    from irpilot.quality.full_reference import psnr
    from irpilot.tools.classical.blind_deblur import (
        _noise_and_blocks,
        deconv_pnp,
        kernel_similarity,
        within_input_range,
    )

    pb = record["real_motion_blur"]
    true_k = shake_kernel(pb)[::-1, ::-1].astype(np.float32)
    tool.ensure_setup()
    den = tool._denoiser("auto")
    if den is None:
        raise SystemExit("the probe needs FFDNet's weights (irpilot tools says where they are looked for)")
    choice = tool.estimate_kernel(x)
    noise = _noise_and_blocks(x)
    row = {
        "path_px": round(float(pb["length"] * pb["exposure"]), 1),
        "space": pb["space"],
        "input": psnr(x, img),
        "consistency": round(float(choice.consistency), 3),
        "estimated_space": choice.space,
        "similarity": round(kernel_similarity(choice.kernel, true_k), 3),
        "noise_read": round(noise * 255, 2),
        "shipped": psnr(tool(x), img),
    }
    for name, k, linear in (("estimated", choice.kernel, choice.space == "linear"),
                            ("true", true_k, pb["space"] == "linear")):
        for f in floors:
            y = deconv_pnp(x, k, max(noise, f / 255.0), den, linear=linear)
            row[f"{name}_{f}"] = psnr(within_input_range(y, x), img)
    return row


def scan(settings: list[dict], n: int, size: int, seed: int) -> None:
    """Print, per setting, the mean / median similarity of the estimated kernel to the true one."""
    from shake_deblur import generated_case, photos

    from irpilot.degrade.real_optics import shake_kernel
    from irpilot.imaging.color import luma, srgb_to_linear
    from irpilot.tools.classical.blind_deblur import estimate_shake_kernel, kernel_similarity

    cases = []
    for i, (_, img) in enumerate(photos(n, size)):
        x, record = generated_case(img, "shake", [seed, i])
        pb = record["real_motion_blur"]
        y = luma(srgb_to_linear(x, np.float32) if pb["space"] == "linear" else x)
        cases.append((y, shake_kernel(pb)[::-1, ::-1]))
    for setting in [{}, *settings]:
        sims = [kernel_similarity(estimate_shake_kernel(y, **setting), k) for y, k in cases]
        print(f"{json.dumps(setting)}: similarity mean {np.mean(sims):.3f}, median {np.median(sims):.3f}, "
              f"under 0.7 on {sum(v < 0.7 for v in sims)} of {len(sims)}", flush=True)


def table(rows: list[dict], floors: tuple[int, ...]) -> str:
    """Markdown: mean gain over the input per variant, the cases it made worse, and the gain of the
    best floor chosen per case (an oracle no tool has)."""
    inp = np.array([r["input"] for r in rows])

    def line(label: str, vals: np.ndarray) -> str:
        gain = vals - inp
        return f"| {label} | {gain.mean():+.2f} | {int((gain < -0.05).sum())} |"

    lines = [f"{len(rows)} cases; gain over the input, dB", "",
             "| variant | mean gain | worse |", "| --- | --- | --- |",
             line("`shake_deblur_pnp` as shipped", np.array([r["shipped"] for r in rows]))]
    for name in ("estimated", "true"):
        for f in floors:
            lines.append(line(f"{name} kernel, floor {f}/255", np.array([r[f"{name}_{f}"] for r in rows])))
        best = np.array([max(r[f"{name}_{f}"] for f in floors) for r in rows])
        lines.append(line(f"{name} kernel, the best floor per case (oracle)", best))
    lines += ["", "| photo | path px | blurred in / estimated in | consistency | similarity | best floor, estimated kernel |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        best = max(floors, key=lambda f: r[f"estimated_{f}"])
        lines.append(f"| {r['photo']} | {r['path_px']} | {r['space']} / {r['estimated_space']} | {r['consistency']:.2f} "
                     f"| {r['similarity']:.2f} | {best} |")
    right = sum(r["space"] == r["estimated_space"] for r in rows)
    lines.append(f"\nthe space the tool estimates in is the one the blur happened in on {right} of {len(rows)}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=13)
    ap.add_argument("--size", type=int, default=320, help="centre crop side")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--training", action="store_true", help="CSet14 / LIVE1 training photos instead of held-out ones")
    ap.add_argument("--floors", default=",".join(map(str, FLOORS)), help="noise floors, 0-255 scale")
    ap.add_argument("--out", default="", help="folder for cases.jsonl")
    ap.add_argument("--table", default="", metavar="CASES_JSONL", help="only print the table of this file")
    ap.add_argument("--scan", nargs="*", default=None, metavar="JSON",
                    help="only scan settings of the kernel estimate on training crops (see above)")
    args = ap.parse_args()
    floors = tuple(int(f) for f in args.floors.split(","))
    if args.scan is not None:
        scan([json.loads(a) for a in args.scan], args.n, args.size, args.seed)
        return
    if args.table:
        rows = [json.loads(line) for line in Path(args.table).read_text().splitlines() if line]
        print(table(rows, floors))
        return

    from shake_deblur import generated_case, photos

    from irpilot.tools import get_tool

    tool = get_tool("shake_deblur_pnp")
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "cases.jsonl").write_text("")
    rows = []
    for i, (name, img) in enumerate(photos(args.n, args.size, held_out=not args.training)):
        x, record = generated_case(img, "shake", [args.seed, i])
        row = {"photo": name, **run_case(tool, img, x, record, floors)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if out:
            with open(out / "cases.jsonl", "a") as f:
                f.write(json.dumps(row) + "\n")
    print(table(rows, floors))


if __name__ == "__main__":
    main()
