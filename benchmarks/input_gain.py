#!/usr/bin/env python
"""Gain over doing nothing, from ``irpilot bench`` results: per policy and group (and with
``--by-combination`` per degradation chain), the mean PSNR of the input and of the output, the
mean gain, and the share of images whose output scores *below* its input (worse than doing
nothing), plus the mean over the groups.

    python benchmarks/input_gain.py runs/real_base/bench --by-combination

Each argument is a bench ``--out`` folder (or its ``results.jsonl``); rows of several folders are
pooled, the last one read winning for the same policy and image.  Failed runs are left out.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def load_rows(paths: Iterable[str]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for p in paths:
        f = Path(p)
        f = f / "results.jsonl" if f.is_dir() else f
        for line in f.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                rows[r["key"]] = r
    return [r for r in rows.values() if r.get("ok") and isinstance(r.get("psnr"), (int, float))]


def gains(rows: Sequence[dict[str, Any]], by_combination: bool = False, metric: str = "psnr") -> list[dict[str, Any]]:
    """One summary per (policy, group[, chain]): n, input, output, gain, worse share."""
    cells: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        key = (r["policy"], r["group"]) + (("+".join(r.get("kinds") or r["degradations"]),) if by_combination else ())
        cells.setdefault(key, []).append(r)
    out = []
    for key, rs in sorted(cells.items()):
        ins = [r["input"][metric] for r in rs]
        outs = [r[metric] for r in rs]
        out.append({"policy": key[0], "group": key[1], **({"chain": key[2]} if by_combination else {}),
                    "n": len(rs), "input": sum(ins) / len(rs), "output": sum(outs) / len(rs),
                    "gain": sum(o - i for o, i in zip(outs, ins)) / len(rs),
                    "worse": sum(o < i for o, i in zip(outs, ins)) / len(rs)})
    return out


def markdown(summary: Sequence[dict[str, Any]], by_combination: bool) -> str:
    head = "| policy | group | " + ("chain | " if by_combination else "") + "images | input PSNR | output PSNR | gain | worse than input |"
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for s in summary:
        chain = f"{s['chain']} | " if by_combination else ""
        lines.append(f"| {s['policy']} | {s['group']} | {chain}{s['n']} | {s['input']:.2f} | {s['output']:.2f} | "
                     f"{s['gain']:+.2f} | {100 * s['worse']:.0f} % |")
    if not by_combination:
        for policy in sorted({s["policy"] for s in summary}):
            mine = [s for s in summary if s["policy"] == policy]
            n = sum(s["n"] for s in mine)
            lines.append(f"| {policy} | mean of the groups | {n} | {sum(s['input'] for s in mine) / len(mine):.2f} | "
                         f"{sum(s['output'] for s in mine) / len(mine):.2f} | {sum(s['gain'] for s in mine) / len(mine):+.2f} | "
                         f"{100 * sum(s['worse'] * s['n'] for s in mine) / n:.0f} % (of all) |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="bench --out folders or results.jsonl files")
    ap.add_argument("--by-combination", action="store_true", help="also one line per degradation chain")
    ap.add_argument("--json", help="write the summaries here")
    args = ap.parse_args(argv)
    rows = load_rows(args.runs)
    if not rows:
        print("no finished runs", file=sys.stderr)
        return 1
    result = {"groups": gains(rows)}
    print(markdown(result["groups"], False))
    if args.by_combination:
        result["combinations"] = gains(rows, by_combination=True)
        print(markdown(result["combinations"], True))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
