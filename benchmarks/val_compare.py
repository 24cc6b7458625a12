"""Paired comparison of validation results (the JSON files ``benchmarks/learned_val.py --details
--out`` writes): each policy's mean PSNR gain, and its difference from a reference policy on
the same crops with the standard error of that paired difference.  Results of several runs on
the same crops (same ``--n`` and ``--seed``) can be pooled.

    python benchmarks/val_compare.py runs/val/a.json runs/val/b.json --against learned [--by-count]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def load(paths: list[str]) -> dict[str, dict]:
    """label -> result (with per-case ``cases``); a later file wins for the same label."""
    out: dict[str, dict] = {}
    for p in paths:
        for label, res in json.loads(Path(p).read_text()).items():
            if "cases" not in res:
                raise ValueError(f"{p}: {label} has no per-case results (run learned_val.py with --details)")
            out[label] = res
    return out


def paired(results: dict[str, dict], against: str) -> list[dict]:
    """One row per policy: mean gain, paired difference from ``against`` and its standard error."""
    ref = {c["id"]: c["d_psnr"] for c in results[against]["cases"]}
    rows = []
    for label, res in results.items():
        common = [c for c in res["cases"] if c["id"] in ref]
        if len(common) != len(ref):
            raise ValueError(f"{label} was not run on the same crops as {against}")
        d = np.array([c["d_psnr"] - ref[c["id"]] for c in common])
        k = np.array([min(len(c["degradations"]), 3) for c in common])
        rows.append({"policy": label, "d_psnr": res["d_psnr"], "worse_share": res["worse_share"],
                     "diff": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan"),
                     "by_count": {n: (float(d[k == n].mean()), int((k == n).sum())) for n in (1, 2, 3) if (k == n).any()}})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", help="learned_val.py --details --out files")
    ap.add_argument("--against", default="learned", help="reference policy label")
    ap.add_argument("--by-count", action="store_true",
                    help="also the mean difference on crops with 1, 2 and 3 or more degradations")
    args = ap.parse_args(argv)
    results = load(args.results)
    if args.against not in results:
        print(f"no {args.against!r} in the results; labels: {', '.join(results)}", file=sys.stderr)
        return 1
    rows = paired(results, args.against)
    counts = sorted({n for r in rows for n in r["by_count"]}) if args.by_count else []
    names = {1: "1", 2: "2", 3: "3+"}
    head = "".join(f" {names[n]} deg. (n={rows[0]['by_count'][n][1]}) |" for n in counts)
    print(f"| policy | PSNR gain | vs `{args.against}` (paired SE) | worse |{head}")
    print("| --- | --- | --- | --- |" + " --- |" * len(counts))
    for r in rows:
        vs = "-" if r["policy"] == args.against else f"{r['diff']:+.2f} ({r['se']:.2f})"
        extra = "".join(f" {r['by_count'][n][0]:+.2f} |" for n in counts)
        print(f"| {r['policy']} | {r['d_psnr']:+.2f} | {vs} | {100 * r['worse_share']:.1f} % |{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
