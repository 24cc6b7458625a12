"""The network tools in bfloat16 against float32: speed, agreement and restoration quality.

Each tool restores crops of the training photos that carry its own task's degradation
(protocol recipe, one seed per crop).  Both arithmetics of a tool run in the same process,
alternating call by call on the same crops, so machine noise hits both alike.  Reported per
tool: the median seconds per call of each, their ratio (float32 / bfloat16: above 1 means
bfloat16 is faster), the PSNR of the bfloat16 output against the float32 one (agreement), and
the mean PSNR of each against the clean crop with their paired difference (bfloat16 - float32)
and its largest size on one crop.

    OMP_NUM_THREADS=1 python benchmarks/precision.py --size 320 --crops 8 --repeats 1

The ``precision`` setting's "auto" uses bfloat16 only on a CPU with native bfloat16
instructions; this script forces both, so on other CPUs it measures the emulated speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from memory_format import crops  # noqa: E402

#: the torch network tools (``irpilot.tools.networks``); others run in other runtimes
DEFAULT_TOOLS = (
    "dncnn_color_blind", "ffdnet_color", "dncnn3_dejpeg", "dncnn3_sr_x4", "prenet_rain100l",
    "prenet_rain100h", "prenet_real", "aod_net", "sci_easy", "sci_medium", "sci_difficult",
    "zero_dce", "ruas_lol", "dncnn_gray_blind", "dncnn_kair_s25",
)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    from irpilot.quality.base import align_to_reference
    from irpilot.quality.full_reference import psnr

    return float(psnr(align_to_reference(np.clip(a, 0, 1), b), b))


def bench_tool(name: str, images: list[np.ndarray], repeats: int) -> dict[str, float] | str:
    from irpilot.degrade import degrade
    from irpilot.tools import TOOLS, get_tool
    from irpilot.vocab import TASK_TO_DEGRADATION

    if name not in TOOLS or not TOOLS.get(name).available():
        return "unavailable"
    degradation = TASK_TO_DEGRADATION[TOOLS.get(name).card.task]
    tools = {p: get_tool(name, precision=p) for p in ("float32", "bfloat16")}
    times: dict[str, list[float]] = {p: [] for p in tools}
    agree, quality = [], {p: [] for p in tools}
    for i, clean in enumerate(images):
        lq, _ = degrade(clean, [degradation], seed=2000 + i)
        outs = {p: tool(lq) for p, tool in tools.items()}  # loads the model, warms up
        agree.append(_psnr(outs["bfloat16"], outs["float32"]))
        for p, out in outs.items():
            quality[p].append(_psnr(out, clean))
        for _ in range(repeats):
            for p, tool in tools.items():
                t0 = time.perf_counter()
                tool(lq)
                times[p].append(time.perf_counter() - t0)
    diff = np.array(quality["bfloat16"]) - np.array(quality["float32"])
    f32, b16 = statistics.median(times["float32"]), statistics.median(times["bfloat16"])
    return {
        "degradation": degradation, "s_float32": f32, "s_bfloat16": b16, "ratio": f32 / b16,
        "agreement_db": float(np.mean(agree)), "psnr_float32": float(np.mean(quality["float32"])),
        "psnr_bfloat16": float(np.mean(quality["bfloat16"])), "diff_db": float(diff.mean()),
        "max_abs_diff_db": float(np.abs(diff).max()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=320, help="crop side (low-resolution inputs are a quarter of it)")
    ap.add_argument("--crops", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=1, help="timed calls per crop and arithmetic")
    ap.add_argument("--tools", nargs="*", default=list(DEFAULT_TOOLS))
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args(argv)

    import torch

    from irpilot.config import cpu_has_native_bf16

    images = crops(args.size, args.crops)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {len(images)} crops of "
          f"{args.size} px, native bfloat16: {cpu_has_native_bf16()}")
    print("| tool | degradation | float32 s/call | bfloat16 s/call | ratio | agreement dB | PSNR float32 | "
          "PSNR bfloat16 | difference (max) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = {}
    for name in args.tools:
        row = bench_tool(name, images, args.repeats)
        rows[name] = row
        if isinstance(row, str):
            print(f"| {name} | {row} | | | | | | | |", flush=True)
            continue
        print(f"| {name} | {row['degradation']} | {row['s_float32']:.3f} | {row['s_bfloat16']:.3f} | "
              f"{row['ratio']:.2f} | {row['agreement_db']:.1f} | {row['psnr_float32']:.2f} | "
              f"{row['psnr_bfloat16']:.2f} | {row['diff_db']:+.3f} ({row['max_abs_diff_db']:.3f}) |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
