"""Run policies on the benchmark's degraded sets (built by ``irpilot bench`` / ``build_set``),
scoring like ``irpilot bench`` but recording an output that cannot be compared with the
reference (e.g. x4 super-resolution of an image that was not low-resolution) as a failed row
instead of stopping the run.  Rows are flushed one by one (resumable); the format matches
``results.jsonl`` of ``irpilot bench`` so ``benchmarks/learned_compare.py`` reads both.

    OMP_NUM_THREADS=1 python benchmarks/learned_bench.py --sets runs/bench/sets --limit-photos 1 \
        --policies learned,learned_sft,fixed,random,explore --out runs/bench_lp/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", required=True, help="folder holding <set>/<group>/manifest.jsonl")
    ap.add_argument("--policies", required=True)
    ap.add_argument("--groups", default="A,B,C")
    ap.add_argument("--limit-photos", type=int, default=None, help="clean photos per set")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default=None, help="comma-separated set names to run (default: all)")
    ap.add_argument("--perceiver", default=None, help="perception weights file (default: the shipped one)")
    args = ap.parse_args(argv)

    import irpilot.policies.learned  # noqa: F401 - registers the learned policies
    from irpilot.agent import Agent, AgentConfig
    from irpilot.io import read_image
    from irpilot.pool import Pool
    from irpilot.quality import align_to_reference, score

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {json.loads(l)["key"] for l in out.read_text().splitlines() if l.strip()}
    work = []
    only = set(args.only.split(",")) if args.only else None
    for set_dir in sorted(Path(args.sets).iterdir()):
        if only is not None and set_dir.name not in only:
            continue
        for group in args.groups.split(","):
            man = set_dir / group / "manifest.jsonl"
            if not man.is_file():
                continue
            entries = [json.loads(l) for l in man.read_text().splitlines() if l.strip()]
            photos = sorted({e.get("source", e.get("clean")) for e in entries})
            if args.limit_photos:
                keep = set(photos[: args.limit_photos])
                entries = [e for e in entries if e.get("source", e.get("clean")) in keep]
            for e in entries:
                work.append((set_dir.name, group, set_dir / group, e))
    pool = Pool(workers=args.workers)
    perceiver = "default"
    if args.perceiver:
        from irpilot.perceive import Perceiver

        perceiver = Perceiver.load(args.perceiver)
    agent = Agent(pool=pool, perceiver=perceiver, config=AgentConfig(max_calls=12))
    fr, nr = ["psnr", "ssim", "ms_ssim", "gmsd"], ["niqe"]
    with out.open("a") as f:
        for policy in [p for p in args.policies.split(",") if p]:
            for set_name, group, gdir, e in work:
                deg_path = gdir / e["degraded"]
                key = f"{policy}|{set_name}/{group}/{e['degraded']}"
                if key in done:
                    continue
                deg = read_image(deg_path)
                ref = read_image(gdir / e.get("reference", e["clean"]))
                row = {"key": key, "policy": policy, "set": set_name, "group": group, "image": Path(e["degraded"]).name,
                       "degradations": e["degradations"]}
                t0 = time.perf_counter()
                try:
                    traj = agent.run(deg, policy, reference=ref if policy == "oracle" else None)
                    secs = time.perf_counter() - t0
                    row.update(chain=[c["name"] for c in traj.chain], calls=traj.tool_calls, executions=traj.tool_executions,
                               seconds=secs)
                    a_in = align_to_reference(deg, ref)
                    row["input"] = {**score(a_in, ref, fr), **score(a_in, None, nr)}
                    a_out = align_to_reference(traj.output, ref)
                    row.update({**score(a_out, ref, fr), **score(a_out, None, nr)}, ok=True)
                except Exception as exc:  # noqa: BLE001 - recorded per image
                    row.update(ok=False, error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0)
                f.write(json.dumps(row) + "\n")
                f.flush()
                print(policy, set_name, group, "+".join(e["degradations"]), row.get("chain"), row.get("ok"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
