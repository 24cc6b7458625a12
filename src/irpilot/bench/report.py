"""Benchmark outputs: summary.json, summary.md (the papers' table) and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["write_outputs", "markdown_table"]

COLUMNS = (
    ("psnr", "PSNR", "{:.2f}"),
    ("ssim", "SSIM", "{:.4f}"),
    ("ms_ssim", "MS-SSIM", "{:.4f}"),
    ("gmsd", "GMSD", "{:.4f}"),
    ("niqe", "NIQE", "{:.2f}"),
    ("calls_per_image", "calls/img", "{:.2f}"),
    ("executions_per_image", "exec/img", "{:.2f}"),
    ("calls_per_degradation", "calls/deg", "{:.2f}"),
    ("seconds_per_image", "s/img", "{:.2f}"),
)


def _cell(v: Any, fmt: str) -> str:
    return fmt.format(v) if isinstance(v, (int, float)) else "-"


def markdown_table(summary: list[dict[str, Any]]) -> str:
    head = ["group", "policy", "n"] + [c[1] for c in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    groups = sorted({s["group"] for s in summary}, key=lambda g: (len(g) > 1, g))
    for g in groups:
        rows = [s for s in summary if s["group"] == g]
        if rows and rows[0].get("input_psnr") is not None:
            inp = rows[0]
            lines.append("| " + " | ".join([g, "(input)", str(inp["n"])] + [
                _cell(inp.get(f"input_{k}"), f) if k in ("psnr", "ssim", "ms_ssim", "gmsd", "niqe") else "-"
                for k, _, f in COLUMNS]) + " |")
        for s in rows:
            lines.append("| " + " | ".join([g, s["policy"], str(s["n"])] + [_cell(s.get(k), f) for k, _, f in COLUMNS]) + " |")
    return "\n".join(lines) + "\n"


def _plots(out: Path, summary: list[dict[str, Any]]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    policies = sorted({s["policy"] for s in summary})
    groups = sorted({s["group"] for s in summary}, key=lambda g: (len(g) > 1, g))
    fig, ax = plt.subplots(figsize=(6, 4))
    for p in policies:
        rows = [s for s in summary if s["policy"] == p and s.get("psnr") is not None]
        ax.scatter([r["calls_per_image"] for r in rows], [r["psnr"] for r in rows], label=p, s=40)
        for r in rows:
            ax.annotate(r["group"], (r["calls_per_image"], r["psnr"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("tool calls per image")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title("Quality against tool calls")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "psnr_vs_calls.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(1, len(policies) + 1)
    for j, g in enumerate(groups):
        rows = {s["policy"]: s for s in summary if s["group"] == g}
        first = next(iter(rows.values()), {})
        ax.bar(j, first.get("input_psnr") or 0, width, color="lightgrey", label="input" if j == 0 else None)
        for i, p in enumerate(policies):
            v = rows.get(p, {}).get("psnr")
            if v is not None:
                ax.bar(j + (i + 1) * width, v, width, color=f"C{i}", label=p if j == 0 else None)
    ax.set_xticks([j + 0.4 for j in range(len(groups))])
    ax.set_xticklabels(groups)
    ax.set_ylabel("PSNR (dB)")
    lo = min((s.get("input_psnr") or 99) for s in summary) - 2
    ax.set_ylim(bottom=max(0, lo))
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "psnr_by_group.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def write_outputs(out: Path, summary: list[dict[str, Any]], cfg: Any = None) -> list[dict[str, Any]]:
    from ..io import atomic_write_bytes

    atomic_write_bytes(out / "summary.json", json.dumps(summary, indent=1).encode())
    note = ""
    if cfg is not None and getattr(cfg, "crop", None):
        note = f"\nClean photos centre-cropped to {cfg.crop}x{cfg.crop} before degrading.\n"
    atomic_write_bytes(out / "summary.md", (markdown_table(summary) + note).encode())
    if summary:
        _plots(out, summary)
    return summary
