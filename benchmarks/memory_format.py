"""Speed of the network tools with channels-last (NHWC, the default) against the NCHW layout.

Both layouts of a tool run in the same process, alternating call by call on the same crops of
the training photos, so machine noise hits both alike.  Reported per tool: the median seconds
per call of each layout, their ratio (NCHW / NHWC: above 1 means channels-last is faster) and
the largest absolute difference between the two outputs.

    OMP_NUM_THREADS=1 python benchmarks/memory_format.py --size 320 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

#: the agent's network tools (``irpilot.policies.common.PREFERRED_TOOLS``) and the other torch tools
DEFAULT_TOOLS = (
    "dncnn_color_blind", "ffdnet_color", "dncnn3_dejpeg", "dncnn3_sr_x4", "prenet_rain100l",
    "prenet_rain100h", "aod_net", "sci_easy", "zero_dce", "dncnn_gray_blind", "dncnn_kair_s25",
)


def crops(size: int, n: int) -> list[np.ndarray]:
    from irpilot.train.data import training_photos

    out = []
    for _, photo in training_photos():
        _, h, w = photo.shape
        if h >= size and w >= size:
            top, left = (h - size) // 2, (w - size) // 2
            out.append(np.ascontiguousarray(photo[:, top : top + size, left : left + size]))
        if len(out) == n:
            break
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=320, help="crop side (x4 tools get a quarter of it)")
    ap.add_argument("--crops", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per crop and layout")
    ap.add_argument("--tools", nargs="*", default=list(DEFAULT_TOOLS))
    args = ap.parse_args(argv)

    import torch

    from irpilot.tools import TOOLS, get_tool

    images = crops(args.size, args.crops)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {len(images)} crops of {args.size} px")
    print("| tool | NCHW s/call | channels-last s/call | ratio | max abs diff |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.tools:
        if name not in TOOLS or not TOOLS.get(name).available():
            print(f"| {name} | unavailable | | | |")
            continue
        tools = {True: get_tool(name, channels_last=True), False: get_tool(name, channels_last=False)}
        times: dict[bool, list[float]] = {True: [], False: []}
        diff = 0.0
        for img in images:
            x = np.ascontiguousarray(img[:, ::4, ::4]) if TOOLS.get(name).card.scale > 1 else img
            outs = {layout: tool(x) for layout, tool in tools.items()}  # loads the model, warms up
            diff = max(diff, float(np.abs(outs[True] - outs[False]).max()))
            for _ in range(args.repeats):
                for layout, tool in tools.items():
                    t0 = time.perf_counter()
                    tool(x)
                    times[layout].append(time.perf_counter() - t0)
        nchw, nhwc = statistics.median(times[False]), statistics.median(times[True])
        print(f"| {name} | {nchw:.3f} | {nhwc:.3f} | {nchw / nhwc:.2f} | {diff:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
