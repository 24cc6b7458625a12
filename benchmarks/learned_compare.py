"""Compare policies from one or more ``irpilot bench`` result files on the *same* images.

Bench runs of different policies may cover different subsets (a slow policy stops early, or
runs with a smaller ``--limit``); this script keeps, per group, only the images every listed
policy finished, and prints the papers' table (PSNR, SSIM, NIQE, calls per image and per
degradation present, seconds per image) plus the input's scores.

    python benchmarks/learned_compare.py runs/bench_a/results.jsonl runs/bench_b/results.jsonl \
        --policies learned,fixed,random,explore [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+")
    ap.add_argument("--policies", required=True)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    policies = [p for p in args.policies.split(",") if p]
    rows: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for path in args.results:
        for line in open(path):
            if not line.strip():
                continue
            d = json.loads(line)
            if d["policy"] not in policies:
                continue
            img = (d["set"], d["group"], "+".join(d["degradations"]), d["image"])
            rows[img][d["policy"]] = d
    # a failed run (e.g. an output that cannot be compared with the reference) counts as
    # returning the input unchanged; the number of failures is reported
    failures: dict[str, int] = defaultdict(int)
    for v in rows.values():
        inp = next((r["input"] for r in v.values() if r.get("ok") and "input" in r), None)
        for p, r in list(v.items()):
            if not r.get("ok"):
                if inp is None:
                    del v[p]
                    continue
                failures[p] += 1
                v[p] = {**r, **inp, "input": inp, "calls": r.get("calls", 0), "seconds": r.get("seconds", 0.0)}
    common = {k: v for k, v in rows.items() if all(p in v for p in policies)}
    out: dict[str, dict] = {}
    lines = ["| group | policy | n | PSNR | SSIM | NIQE | calls/img | calls/deg | s/img |", "|---|---|---|---|---|---|---|---|---|"]
    for group in sorted({k[1] for k in common}):
        keys = [k for k in common if k[1] == group]
        n = len(keys)
        inp = [common[k][policies[0]]["input"] for k in keys]
        lines.append(
            f"| {group} | (input) | {n} | {sum(i['psnr'] for i in inp) / n:.2f} | {sum(i['ssim'] for i in inp) / n:.4f} | "
            f"{sum(i['niqe'] for i in inp) / n:.2f} | - | - | - |"
        )
        for p in policies:
            rs = [common[k][p] for k in keys]
            ndeg = [len(r["degradations"]) for r in rs]
            m = {
                "n": n,
                "psnr": sum(r["psnr"] for r in rs) / n,
                "ssim": sum(r["ssim"] for r in rs) / n,
                "niqe": sum(r["niqe"] for r in rs) / n,
                "calls_per_image": sum(r["calls"] for r in rs) / n,
                "calls_per_degradation": sum(r["calls"] / d for r, d in zip(rs, ndeg)) / n,
                "seconds_per_image": sum(r["seconds"] for r in rs) / n,
            }
            out[f"{group}/{p}"] = m
            lines.append(
                f"| {group} | {p} | {n} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['niqe']:.2f} | {m['calls_per_image']:.2f} | "
                f"{m['calls_per_degradation']:.2f} | {m['seconds_per_image']:.2f} |"
            )
    print("\n".join(lines))
    print("failed runs counted as the input:", dict(failures) or "none")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
