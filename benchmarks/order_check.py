"""Which order of restoration steps wins on training photos: for one combination of
degradations (protocol levels), the PSNR gain of each given tool chain on synthetic crops of
the *training* photos, and how often each chain is the best.

    OMP_NUM_THREADS=1 python benchmarks/order_check.py --degradations rain,dark --n 16 \\
        --chains hsv_value_inverse+prenet_rain100l,prenet_rain100l+hsv_value_inverse
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--degradations", required=True, help="comma-separated, in the order they are applied")
    ap.add_argument("--chains", required=True, help="comma-separated tool chains, tools joined by +")
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
                for tool in chain:
                    img = pool.run(tool, img).unwrap()
                gains[i, j] = fidelity(img, c.clean)[0] - base
            print(i, c.photo, " ".join(f"{g:+.2f}" for g in gains[i]), file=sys.stderr, flush=True)
    best = gains.argmax(axis=1)
    out = {"+".join(ch): {"mean_gain_db": float(gains[:, j].mean()), "best_on": int((best == j).sum())}
           for j, ch in enumerate(chains)}
    out["_setup"] = {"degradations": names, "n": args.n, "size": args.size, "seed": args.seed}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
