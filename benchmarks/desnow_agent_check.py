"""The agent on snowy test crops with each desnow tool as the task's default.

Crops of the test photos (``tools_bench.test_crops``) get ``real_snow`` or ``snow`` (seed 1000 + i)
and go through ``irpilot.restore`` with each policy, once with the toolbox as shipped and once with
``desnow_median`` put first for desnow (``PREFERRED_TOOLS`` switched in this process only), so the
two rows differ only in the default desnow tool.  Reported: mean PSNR gain over the input, crops
worse than the input, the tools called.

    OMP_NUM_THREADS=1 python benchmarks/desnow_agent_check.py --crops 8 --size 320 --policies fixed,learned
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tools_bench import test_crops  # noqa: E402

import irpilot  # noqa: E402
from irpilot.degrade import degrade  # noqa: E402
from irpilot.policies import common  # noqa: E402
from irpilot.quality.full_reference import psnr  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crops", type=int, default=8)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--seed", type=int, default=3, help="crop positions")
    ap.add_argument("--policies", default="fixed,learned")
    ap.add_argument("--models", default="real_snow,snow")
    args = ap.parse_args()

    shipped = common.PREFERRED_TOOLS["desnow"]
    arms = {"shipped": shipped, "median_first": ("desnow_median",) + tuple(t for t in shipped if t != "desnow_median")}
    crops = test_crops(args.crops, args.size, seed=args.seed)
    for model in args.models.split(","):
        items = [(c, degrade(c, [model], seed=1000 + i)[0]) for i, (_, c) in enumerate(crops)]
        for policy in args.policies.split(","):
            for arm, order in arms.items():
                common.PREFERRED_TOOLS["desnow"] = order
                gains, calls = [], collections.Counter()
                for clean, lq in items:
                    traj = irpilot.restore(lq, policy)
                    gains.append(psnr(traj.output, clean) - psnr(lq, clean))
                    calls.update(c["name"] for c in traj.chain)
                print(json.dumps({"model": model, "policy": policy, "desnow_order": arm, "first": order[0],
                                  "gain": round(float(np.mean(gains)), 2), "worst": round(float(np.min(gains)), 2),
                                  "worse": int(sum(g < -0.05 for g in gains)), "calls": dict(calls)}), flush=True)
    common.PREFERRED_TOOLS["desnow"] = shipped
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
