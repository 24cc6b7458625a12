"""The agent on degraded test crops with a task's default tool switched: does a new tool help the agent?

Crops of the test photos (``tools_bench.test_crops``) get each model of ``--models`` (seed 1000 + i)
and go through ``irpilot.restore`` with each policy of
``--policies`` (``[label=]name[:key=value...]`` as in ``irpilot bench``), once with the toolbox's
order of the task's tools (``PREFERRED_TOOLS``) as shipped and once with ``--first`` put first (in
this process only), so the two rows of ``fixed`` differ only in the task's default tool; a learned
policy picks its own tools, so give it a policy that has the tool (``irpilot train grow``).
Reported per model, policy and order (outputs aligned to the clean crop as ``irpilot bench`` does): mean
PSNR gain over the input, crops worse than the input,
the tools called.

    OMP_NUM_THREADS=1 python benchmarks/tool_agent_check.py --task dehaze --first dehaze_net \\
        --models real_haze,haze --crops 12 --size 320 --policies fixed
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
from irpilot.bench.runner import align_output  # noqa: E402
from irpilot.degrade import degrade  # noqa: E402
from irpilot.policies import common  # noqa: E402
from irpilot.quality.full_reference import psnr  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", required=True, help="the task whose default tool is switched, e.g. dehaze")
    ap.add_argument("--first", required=True, help="the tool put first for the task, e.g. dehaze_net")
    ap.add_argument("--models", required=True, help="comma-separated degradation models, e.g. real_haze,haze")
    ap.add_argument("--crops", type=int, default=12)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--seed", type=int, default=3, help="crop positions")
    ap.add_argument("--policies", default="fixed")
    args = ap.parse_args()

    shipped = tuple(common.PREFERRED_TOOLS[args.task])
    arms = {"shipped": shipped, "first": (args.first,) + tuple(t for t in shipped if t != args.first)}
    crops = test_crops(args.crops, args.size, seed=args.seed)
    for model in args.models.split(","):
        items = [(c, degrade(c, [model], seed=1000 + i)[0]) for i, (_, c) in enumerate(crops)]
        for spec in args.policies.split(","):
            head = spec.split(":")[0]
            label = head.split("=")[0] if "=" in head else head
            for arm, order in arms.items():
                common.PREFERRED_TOOLS[args.task] = order
                gains, calls = [], collections.Counter()
                for clean, lq in items:
                    traj = irpilot.restore(lq, spec)
                    gains.append(psnr(align_output(traj.output, clean), clean) - psnr(lq, clean))
                    calls.update(c["name"] for c in traj.chain)
                print(json.dumps({"model": model, "policy": label, "order": arm, "first": order[0],
                                  "gain": round(float(np.mean(gains)), 2), "worst": round(float(np.min(gains)), 2),
                                  "worse": int(sum(g < -0.05 for g in gains)), "calls": dict(calls)}), flush=True)
    common.PREFERRED_TOOLS[args.task] = shipped
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
