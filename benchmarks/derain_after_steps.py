"""The rain networks where the agent calls them: after the steps the default policy takes first.

Crops of the held-out training photos (``compact_bench.heldout_crops``: the photos irpilot's networks
never train on) are degraded by a combination with rain (the protocol's ``rain`` or the realistic
``real_rain``), then restored by the steps the default policy takes before its deraining step (the
x4 network, a denoiser first, brightening, dehazing, or none; ``STEPS``), then each rain network.  Reported per
row: the mean PSNR of the image the rain networks are given, and each network's mean gain over it
(worst crop, crops made worse).  Seeds ``--seed`` + i per crop, the same cases for every network.

    OMP_NUM_THREADS=2 python benchmarks/derain_after_steps.py --crops 12 --size 256 --out runs/derain_after_steps.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: (degradations, the steps taken before deraining)
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rain+low_resolution", ("sr_net_x4",)),
    ("real_rain+real_low_resolution", ("sr_net_x4",)),
    ("rain+noise+low_resolution", ("ffdnet_color", "sr_net_x4")),
    ("real_rain+real_noise+real_low_resolution", ("ffdnet_color", "sr_net_x4")),
    ("rain+dark", ("hsv_value_inverse",)),
    ("real_rain+real_dark", ("hsv_value_inverse",)),
    ("rain+haze", ("dehaze_net",)),
    ("real_rain+real_haze", ("dehaze_net",)),
    ("rain", ()),
    ("real_rain", ()),
    # the rain network first on a hazy photo (the default policy's order on the protocol's rain + haze)
    ("rain+haze", ()),
    ("real_rain+real_haze", ()),
)
NETWORKS = ("prenet_rain100l", "prenet_rain100h", "derain_net")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crops", type=int, default=12, help="crops per row")
    ap.add_argument("--size", type=int, default=256, help="clean crop side")
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--rows", default="", help="comma-separated degradations of STEPS to run (default: all)")
    ap.add_argument("--out", default="", help="JSON lines, one per case")
    args = ap.parse_args()

    from compact_bench import heldout_crops

    from irpilot.degrade import degrade
    from irpilot.quality.full_reference import psnr
    from irpilot.tools import get_tool

    networks = [n for n in args.networks.split(",") if n]
    wanted = [r for r in args.rows.split(",") if r]
    rows = [s for s in STEPS if not wanted or s[0] in wanted]
    tools: dict = {}

    def tool(name: str):
        if name not in tools:
            tools[name] = get_tool(name)
        return tools[name]

    crops = heldout_crops(args.crops, args.size, args.seed)
    out = open(args.out, "w") if args.out else None  # noqa: SIM115
    lines = ["| degradations | steps before deraining | given (dB) | " + " | ".join(networks) + " |",
             "| --- | --- | --- |" + " --- |" * len(networks)]
    for combo, before in rows:
        given, gains = [], {n: [] for n in networks}
        for i, (name, clean) in enumerate(crops):
            x, _ = degrade(clean, combo.split("+"), args.seed + i)
            for step in before:
                x = tool(step)(x)
            given.append(psnr(x, clean))
            case = {"degradations": combo, "steps": list(before), "crop": name, "given": given[-1]}
            for n in networks:
                case[n] = psnr(tool(n)(x), clean)
                gains[n].append(case[n] - given[-1])
            if out:
                out.write(json.dumps(case) + "\n")
                out.flush()
        cells = []
        for n in networks:
            g = np.array(gains[n])
            cells.append(f"{g.mean():+.2f} (worst {g.min():+.2f}, {int((g < -0.05).sum())} worse)")
        lines.append(f"| {combo} | {', '.join(f'`{s}`' for s in before) or '-'} | {np.mean(given):.2f} | "
                     + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
