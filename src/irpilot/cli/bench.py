"""``irpilot bench``: the papers' table for every policy on real photos."""

from __future__ import annotations

import argparse
import json


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark policies on groups A/B/C and out-of-domain sets",
        description="Builds (or reuses) degraded sets with the benchmark protocol, runs each policy through the "
        "pool, and writes per-image results, summary.json, summary.md and plots to --out. Resumable.",
    )
    p.add_argument("--sets", default="kodak24,cbsd68,mcmaster", help="kodak24,cbsd68,mcmaster or folders of clean photos")
    p.add_argument(
        "--groups", default="A,B,C",
        help="A,B,C,ood_d2,ood_d3plus,single (the protocol) or realistic_a,realistic_b,realistic_c,realistic_mix,"
        "realistic_single (the same combinations with the camera-like models of irpilot.degrade.real_*)",
    )
    p.add_argument("--policies", default="fixed,random,explore,learned,oracle",
                   help="comma-separated [label=]name[:key=value...], e.g. learned:finish_agenda=0 or "
                   "rl320=learned:weights=runs/rl/policy.pt (the label names the variant in the tables)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/bench")
    p.add_argument("--limit", type=int, help="clean photos per set (quick runs)")
    p.add_argument("--crop", type=int, default=320, help="centre crop size of clean photos; 0 = whole photos (default 320)")
    p.add_argument("--max-calls", type=int, help="limit on tool calls per image")
    p.add_argument("--merge", help="only merge the results of earlier runs (comma-separated --out folders, e.g. "
                   "runs split by set over several processes) into --out, and summarise them")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    from ..pool import add_pool_arguments

    add_pool_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bench import BenchConfig, run_bench
    from ..bench.report import markdown_table
    from ..pool import pool_from_args
    from .outputs import prepare_output_dir

    prepare_output_dir(args.out, "--out")
    if args.merge:
        from pathlib import Path

        from ..bench import summarise
        from ..bench.report import write_outputs
        from ..bench.runner import read_results
        from ..errors import IrpilotError
        from ..io import atomic_write_bytes

        lines = []
        for folder in _csv(args.merge):
            results = Path(folder) / "results.jsonl"
            if not results.is_file():
                raise IrpilotError(f"--merge {folder}: no results.jsonl there")
            lines += [json.dumps(row) for row in read_results(results)]
        out = Path(args.out)
        atomic_write_bytes(out / "results.jsonl", ("\n".join(lines) + "\n").encode())
        summary = write_outputs(out, summarise(out / "results.jsonl"))
        print(markdown_table(summary))
        return 0

    cfg = BenchConfig(
        sets=_csv(args.sets), groups=_csv(args.groups), policies=_csv(args.policies), seed=args.seed,
        out=args.out, limit=args.limit, crop=args.crop or None, max_calls=args.max_calls,
    )
    with pool_from_args(args) as pool:
        summary = run_bench(cfg, pool=pool, progress=not args.quiet)
    print(markdown_table(summary))
    print(f"results in {args.out} (summary.json, summary.md, results.jsonl, *.png)")
    return 0
