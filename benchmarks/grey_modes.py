"""How a greyscale network (DnCNN-3) should treat a colour image: PSNR and seconds of each
mode of ``irpilot.tools.networks.dncnn`` (per RGB channel, luma only, or luma at full size
and chroma at half size) on JPEG-only synthetic crops of the *training* photos.  Seconds are
ratios measured in the same run.

    OMP_NUM_THREADS=1 python benchmarks/grey_modes.py --n 16 --size 320 --out modes.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=16, help="crops (half at the protocol's JPEG level, half at random levels)")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--tool", default="dncnn3_dejpeg")
    ap.add_argument("--seed", type=int, default=99)
    ap.add_argument("--out", help="write the JSON here")
    args = ap.parse_args(argv)

    from irpilot.degrade import degrade
    from irpilot.tools import TOOLS
    from irpilot.tools.networks.dncnn import GREY_MODES
    from irpilot.train.data import make_case, training_photos
    from irpilot.train.scoring import fidelity

    photos = training_photos()
    tool = TOOLS.get(args.tool)()
    tool(np.zeros((3, 32, 32), np.float32))  # load the weights before timing
    gains: dict[str, list[float]] = {m: [] for m in GREY_MODES}
    seconds: dict[str, float] = {m: 0.0 for m in GREY_MODES}
    for i in range(args.n):
        c = make_case(np.random.default_rng([args.seed, i]), photos, size=(args.size, args.size), names=["jpeg"])
        degraded = degrade(c.clean, ["jpeg"], c.seed)[0] if i % 2 == 0 else c.degraded
        base = fidelity(degraded, c.clean)[0]
        for m in GREY_MODES:
            t = time.perf_counter()
            out = np.clip(tool(degraded, mode=m), 0.0, 1.0)
            seconds[m] += time.perf_counter() - t
            gains[m].append(fidelity(out, c.clean)[0] - base)
        print(i, " ".join(f"{m}={gains[m][-1]:+.2f}" for m in GREY_MODES), file=sys.stderr, flush=True)
    ref = seconds["channels"]
    res = {
        m: {"mean_gain_db": float(np.mean(gains[m])), "better_than_channels": int(np.sum(np.array(gains[m]) > np.array(gains["channels"]) + 0.01)),
            "seconds_per_image": seconds[m] / args.n, "time_vs_channels": seconds[m] / ref}
        for m in GREY_MODES
    }
    res["_setup"] = {"tool": args.tool, "n": args.n, "size": args.size}
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        from pathlib import Path

        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
