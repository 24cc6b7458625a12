"""Per-image comparison of two policies from ``irpilot bench`` results: on how many images of
each group one is better, worse or level (within ``--tie`` dB of PSNR), the mean difference, and
the images with the largest differences (with both tool chains).

    python benchmarks/compare_policies.py runs/bench/all --a fixed --b learned
    python benchmarks/compare_policies.py runs/b1/all runs/b2/all --a fixed --b rl320 --top 5 --json cmp.json

Each argument is a bench ``--out`` folder (or its ``results.jsonl``); rows of several folders
are pooled, the last one read winning for the same policy and image.  ``--b-from`` reads policy
``b`` from other folders instead, so that one policy can be compared with itself across two
runs (e.g. before and after a tool change):

    python benchmarks/compare_policies.py runs/old/all --a learned --b learned --b-from runs/new/all
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def load_rows(paths: list[str]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """``(policy, set, group, image|degradations) -> row`` of every successful run."""
    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for p in paths:
        path = Path(p)
        path = path / "results.jsonl" if path.is_dir() else path
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("ok") and isinstance(r.get("psnr"), (int, float)):
                # the same degraded image under any run folder
                image = f"{r['image']}|{'+'.join(r['degradations'])}"
                rows[(r["policy"], r["set"], r["group"], image)] = r
    return rows


def compare(rows: dict[tuple[str, str, str, str], dict[str, Any]], a: str, b: str, tie: float = 0.05) -> dict[str, Any]:
    """Per group: images where ``b`` beats ``a`` by more than ``tie`` dB, loses, or ties."""
    pairs: dict[str, list[tuple[float, dict[str, Any], dict[str, Any]]]] = {}
    for (pol, s, g, image), ra in rows.items():
        rb = rows.get((b, s, g, image))
        if pol != a or rb is None:
            continue
        pairs.setdefault(g, []).append((rb["psnr"] - ra["psnr"], ra, rb))
    out: dict[str, Any] = {}
    for g, items in sorted(pairs.items()):
        diffs = [d for d, _, _ in items]
        out[g] = {
            "n": len(items),
            "b_better": sum(d > tie for d in diffs),
            "b_worse": sum(d < -tie for d in diffs),
            "level": sum(abs(d) <= tie for d in diffs),
            "mean_diff": sum(diffs) / len(diffs),
            "images": sorted(
                ({"set": ra["set"], "degradations": ra["degradations"], "diff": d, "a": ra["psnr"], "b": rb["psnr"],
                  "a_chain": ra.get("chain"), "b_chain": rb.get("chain")} for d, ra, rb in items),
                key=lambda x: abs(x["diff"]), reverse=True,
            ),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", help="bench --out folders or results.jsonl files")
    ap.add_argument("--a", required=True, help="policy label (the reference)")
    ap.add_argument("--b", required=True, help="policy label compared with it")
    ap.add_argument("--tie", type=float, default=0.05, help="PSNR differences within this many dB count as level")
    ap.add_argument("--top", type=int, default=3, help="largest differences listed per group")
    ap.add_argument("--json", help="also write the comparison here")
    ap.add_argument("--b-from", nargs="+", metavar="RESULTS", help="read policy b from these folders instead")
    args = ap.parse_args(argv)

    rows = load_rows(args.results)
    b = args.b
    if args.b_from:
        b = f"{args.b} (--b-from)"
        rows = {k: v for k, v in rows.items() if k[0] != b}
        rows.update({(b, *k[1:]): v for k, v in load_rows(args.b_from).items() if k[0] == args.b})
    res = compare(rows, args.a, b, args.tie)
    if not res:
        labels = sorted({k[0] for k in rows})
        print(f"no image has results for both {args.a!r} and {args.b!r}; policies present: {', '.join(labels)}", file=sys.stderr)
        return 1
    print(f"| group | n | {args.b} better | worse | level (±{args.tie} dB) | mean PSNR difference |")
    print("|---|---|---|---|---|---|")
    for g, r in res.items():
        print(f"| {g} | {r['n']} | {r['b_better']} | {r['b_worse']} | {r['level']} | {r['mean_diff']:+.2f} |")
    for g, r in res.items():
        for x in r["images"][: args.top]:
            print(f"{g} {x['set']} {'+'.join(x['degradations'])}: {x['diff']:+.2f} dB "
                  f"({args.a} {x['a']:.2f} {x['a_chain']}, {args.b} {x['b']:.2f} {x['b_chain']})")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
