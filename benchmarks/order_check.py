"""Which order of restoration steps wins on training photos: for one combination of
degradations (protocol levels), the PSNR gain of each given tool chain on synthetic crops of
the *training* photos, and how often each chain is the best.

    OMP_NUM_THREADS=1 python benchmarks/order_check.py --degradations rain,dark --n 16 \\
        --chains hsv_value_inverse+prenet_rain100l,prenet_rain100l+hsv_value_inverse

A step may set tool arguments, ``tool:key=value[:key=value]``, e.g. to compare settings of one
tool: ``--degradations haze --chains dark_channel_prior:omega=0.9,dark_channel_prior:omega=0.7``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np


def _step(step: str) -> tuple[str, dict[str, Any]]:
    """``tool:key=value:key=value`` -> (tool, arguments), values parsed as ``irpilot tools run --arg`` does."""
    from irpilot.cli.tools import parse_args_kv

    tool, *pairs = step.split(":")
    return tool, parse_args_kv(pairs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--degradations", required=True, help="comma-separated, in the order they are applied")
    ap.add_argument("--chains", required=True,
                    help="comma-separated tool chains, tools joined by +; a tool may take arguments as tool:key=value")
    ap.add_argument("--n", type=int, default=16, help="crops")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--seed", type=int, default=4242)
    args = ap.parse_args(argv)

    from irpilot.degrade import degrade
    from irpilot.pool import Pool
    from irpilot.train.data import make_case, training_photos
    from irpilot.train.scoring import fidelity

    names = [d for d in args.degradations.split(",") if d]
    chains = [tuple(c.split("+")) for c in args.chains.split(",") if c]
    photos = training_photos()
    gains = np.zeros((args.n, len(chains)))
    with Pool(workers=1) as pool:
        for i in range(args.n):
            c = make_case(np.random.default_rng([args.seed, i]), photos, size=(args.size, args.size), names=names)
            degraded = degrade(c.clean, names, c.seed)[0]  # the protocol's levels
            base = fidelity(degraded, c.clean)[0]
            for j, chain in enumerate(chains):
                img = degraded
                for step in chain:
                    tool, tool_args = _step(step)
                    img = pool.run(tool, img, tool_args).unwrap()
                gains[i, j] = fidelity(img, c.clean)[0] - base
            print(i, c.photo, " ".join(f"{g:+.2f}" for g in gains[i]), file=sys.stderr, flush=True)
    best = gains.argmax(axis=1)
    out = {"+".join(ch): {"mean_gain_db": float(gains[:, j].mean()), "worst_gain_db": float(gains[:, j].min()),
                          "best_on": int((best == j).sum())}
           for j, ch in enumerate(chains)}
    out["_setup"] = {"degradations": names, "n": args.n, "size": args.size, "seed": args.seed}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
