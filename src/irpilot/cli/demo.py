"""``irpilot demo``: the main job on a bundled photo.

A real public-domain photo that ships inside scikit-image's wheel is degraded by irpilot's own
synthesis (seeded, with the benchmark protocol's recipe), then restored by the agent; the clean,
degraded and restored images, the trace and an HTML report are written to the output folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="degrade a bundled photo and restore it with the agent")
    p.add_argument("-o", "--out", default="out/demo", help="output folder (default: out/demo)")
    p.add_argument("--photo", default="astronaut", help="scikit-image bundled photo (astronaut, chelsea, coffee, ...)")
    p.add_argument("--degradations", default="noise,jpeg", help="degradations applied in order (default: noise,jpeg)")
    p.add_argument("--policy", default=None, help="policy (default: learned when available, else fixed)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    from ..quality import align_to_reference, compute_metric

    return compute_metric("psnr", align_to_reference(a, b), b)


def run(args: argparse.Namespace) -> int:
    from ..agent import Agent, AgentConfig
    from ..degrade import degrade
    from ..io import write_image
    from ..policies.common import default_policy_name
    from ..pool import Pool
    from .report import write_report

    out = Path(args.out)
    from ..imaging.photos import bundled_photo

    try:
        clean = bundled_photo(args.photo)
    except KeyError as exc:
        raise SystemExit(f"irpilot: {exc.args[0]}") from None
    names = [n.strip() for n in args.degradations.split(",") if n.strip()]
    degraded, records = degrade(clean, names, seed=args.seed)
    clean_path = write_image(out / "clean.png", clean)
    degraded_path = write_image(out / "degraded.png", degraded)
    (out / "degradations.json").write_text(json.dumps([r.to_dict() for r in records], indent=1))
    policy = args.policy or default_policy_name()
    with Pool(backend="local") as pool:
        traj = Agent(pool=pool, config=AgentConfig(keep_images=True, seed=args.seed)).run(
            degraded, policy, source=str(degraded_path)
        )
        restored_path = write_image(out / "restored.png", traj.output)
        trace_path = traj.save(out / "restored.trace.json")
        report = write_report(out, [("degraded", degraded_path, traj, clean)])
    detected = [k for k, v in traj.perception.get("probs", {}).items() if v >= 0.5]
    print(f"photo: scikit-image '{args.photo}', degraded with {' -> '.join(names)} (seed {args.seed})")
    print(f"perceived: {', '.join(detected) or 'n/a'}")
    print(f"policy {policy}: {' -> '.join(c['name'] for c in traj.chain) or 'no tool'} "
          f"({traj.tool_calls} calls, {traj.wall_seconds:.1f} s)")
    print(f"PSNR degraded {_psnr(degraded, clean):.2f} dB -> restored {_psnr(traj.output, clean):.2f} dB")
    print(f"clean:    {clean_path}\ndegraded: {degraded_path}\nrestored: {restored_path}\ntrace:    {trace_path}\nreport:   {report}")
    return 0
