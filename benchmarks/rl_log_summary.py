"""Summary of GRPO training logs (the ``<out>.log.jsonl`` that ``irpilot train rl`` writes, one
row per update): mean of each reward component and exploration statistic over the first and
the last quarter of the updates, and the final reward weights, as a Markdown table row per log.

    python benchmarks/rl_log_summary.py runs/rl/policy_rl_adaptive.log.jsonl runs/rl/policy_rl_static.log.jsonl

Crops are fresh every update, so single updates are noisy; quarters average 50-100 of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

COLUMNS = ("c_d_psnr", "c_d_ssim", "c_d_niqe", "c_seconds", "calls", "identical_groups", "distinct_seqs", "entropy", "kl")


def summarise(path: str | Path, upto: int | None = None) -> dict[str, object]:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    if upto is not None:  # e.g. the last checkpoint of a run stopped between checkpoints
        rows = [r for r in rows if r.get("update", 0) <= upto]
    if not rows:
        raise ValueError(f"{path}: no updates logged")
    q = max(1, len(rows) // 4)
    first, last = rows[:q], rows[-q:]

    def mean(rs: list[dict], key: str) -> float:
        vals = [r[key] for r in rs if isinstance(r.get(key), (int, float))]
        return float(np.mean(vals)) if vals else float("nan")

    return {
        "log": str(path),
        "updates": len(rows),
        "quarter": q,
        "minutes": rows[-1].get("seconds", 0.0) / 60.0,
        **{k: (mean(first, k), mean(last, k)) for k in COLUMNS},
        "weights": rows[-1].get("weights", {}),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logs", nargs="+", help="LOG or LOG:N (only the updates up to N, e.g. the last checkpoint)")
    args = ap.parse_args(argv)
    print("| log | updates (quarter) | minutes | " + " | ".join(COLUMNS) + " | final weights |")
    print("|---" * (len(COLUMNS) + 4) + "|")
    for spec in args.logs:
        path, _, upto = spec.partition(":")
        s = summarise(path, int(upto) if upto else None)
        cells = []
        for k in COLUMNS:
            a, b = s[k]
            cells.append("-" if np.isnan(a) else f"{a:.3g} -> {b:.3g}")
        w = ", ".join(f"{v:.2f}" for v in s["weights"].values())
        print(f"| {s['log']} | {s['updates']} ({s['quarter']}) | {s['minutes']:.0f} | " + " | ".join(cells) + f" | {w} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
