"""What a policy left undone, from on-policy expert labels (``irpilot train expert --on-policy``):
per case, the record of the last state the policy reached (where it stopped) and the score of
the search's best continuation from there (0 when stopping was best).  Prints the cases where at
least ``--min`` was left, their count and the mean left over all cases.

    python benchmarks/on_policy_left.py runs/onp_12 --min 0.5
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="an on-policy expert dataset folder (or its expert.jsonl)")
    ap.add_argument("--min", type=float, default=0.5, help="score left (about dB) that counts as stopping early")
    args = ap.parse_args(argv)

    from irpilot.train.expert import load_expert

    by_case: dict[str, list[dict]] = defaultdict(list)
    for rec in load_expert(args.data):
        if "start" in rec:
            by_case[rec["case"]].append(rec)
    if not by_case:
        print(f"{args.data}: no on-policy records", file=sys.stderr)
        return 1
    left = []
    for cid, recs in by_case.items():
        last = max(recs, key=lambda r: r["start"])
        policy, rest = last["best"][: last["start"]], last["best"][last["start"] :]
        scores = {tuple(n["seq"]): n["score"] for n in last["nodes"]}
        gain = scores.get(tuple(last["best"]), 0.0) if rest else 0.0
        left.append(gain)
        if gain >= args.min:
            print(f"{cid} {'+'.join(last['names'])}: policy {' > '.join(policy) or '(none)'}, "
                  f"then {' > '.join(rest)} {gain:+.2f}")
    early = sum(g >= args.min for g in left)
    print(f"{len(left)} cases, {sum(len(r) for r in by_case.values())} states; stopped with >= {args.min} left: "
          f"{early}; mean left {sum(left) / len(left):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
