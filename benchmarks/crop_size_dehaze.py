"""How crop size changes what dehazing does: PSNR gain of the dehazing tools on haze-only
synthetic crops of the *training* photos, at several crop sizes (why GRPO trains on larger
crops than the expert search; docs/learned_policy.md).

    OMP_NUM_THREADS=1 python benchmarks/crop_size_dehaze.py --n 12 --sizes 128,320
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=12, help="haze-only crops per size")
    ap.add_argument("--sizes", default="128,320", help="crop sides in pixels")
    ap.add_argument("--tools", default="dark_channel_prior,color_attenuation_prior")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)

    from irpilot.pool import Pool
    from irpilot.train.data import make_case, training_photos
    from irpilot.train.scoring import fidelity

    photos = training_photos()
    tools = [t for t in args.tools.split(",") if t]
    out: dict[str, dict[str, dict[str, float]]] = {}
    with Pool(workers=1) as pool:
        for size in (int(s) for s in args.sizes.split(",")):
            gains: dict[str, list[float]] = {t: [] for t in tools}
            for i in range(args.n):
                c = make_case(np.random.default_rng([args.seed, i]), photos, size=(size, size), names=["haze"])
                base = fidelity(c.degraded, c.clean)[0]
                for t in tools:
                    r = pool.run(t, c.degraded)
                    if r.ok:
                        gains[t].append(fidelity(r.image, c.clean)[0] - base)
            out[str(size)] = {
                t: {"mean_gain_db": float(np.mean(g)), "share_worse": float(np.mean(np.array(g) < 0)), "n": len(g)}
                for t, g in gains.items()
            }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
