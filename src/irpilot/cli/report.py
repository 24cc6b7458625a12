"""The HTML report of ``irpilot restore --report``: each step's image, tool and scores."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any


def _fmt(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in metrics.items() if isinstance(v, (int, float)))


def write_report(out: Path, records: list[tuple[str, Path, Any]]) -> Path:
    """Write ``out/report.html`` (step images go to ``out/<stem>_steps/``)."""
    from ..io import atomic_write_bytes, read_image, write_image

    rows = []
    for stem, src, traj in records:
        step_dir = out / f"{stem}_steps"
        inp = write_image(step_dir / "00_input.png", read_image(src))
        cells = [f'<figure><img src="{html.escape(str(inp.relative_to(out)))}"><figcaption>input</figcaption></figure>']
        for s in traj.steps:
            name = s.action.get("name")
            if name == "stop":
                continue
            status = "kept" if s.accepted else ("failed: " + html.escape(s.error or "")) if not s.ok else "discarded"
            img_html = ""
            if s.image is not None:
                p = write_image(step_dir / f"{s.index + 1:02d}_{name}.png", s.image)
                img_html = f'<img src="{html.escape(str(p.relative_to(out)))}">'
            cached = " (cached)" if s.cached else ""
            choices = ", ".join(f"{k} {v:.2f}" for k, v in s.choices.items())
            cells.append(
                f'<figure class="{"kept" if s.accepted else "other"}">{img_html}<figcaption>'
                f"{s.index + 1}. <b>{html.escape(str(name))}</b> [{html.escape(str(s.task))}]<br>"
                f"{status}, {s.seconds:.2f} s{cached}<br>{html.escape(_fmt(s.metrics))}"
                + (f"<br>policy: {html.escape(choices)}" if choices else "")
                + "</figcaption></figure>"
            )
        perception = ", ".join(
            f"{k} {v:.2f}" for k, v in sorted(traj.perception.get("probs", {}).items(), key=lambda kv: -kv[1]) if v >= 0.05
        )
        rows.append(
            f"<section><h2>{html.escape(str(src))}</h2>"
            f"<p>policy <b>{html.escape(traj.policy)}</b>; perception: {html.escape(perception or 'n/a')}; "
            f"chain: {html.escape(' -> '.join(c['name'] for c in traj.chain) or 'nothing')}; "
            f"{traj.tool_calls} calls ({traj.tool_executions} executed), {traj.wall_seconds:.1f} s</p>"
            f'<div class="steps">{"".join(cells)}</div></section>'
        )
    page = (
        "<!doctype html><meta charset='utf-8'><title>irpilot report</title><style>"
        "body{font-family:sans-serif;margin:1em}.steps{display:flex;flex-wrap:wrap;gap:8px}"
        "figure{margin:0;width:220px;font-size:12px}figure img{width:220px}"
        "figure.kept{outline:3px solid #2a2}figure.other{opacity:.7}</style>"
        "<h1>irpilot restoration report</h1>" + "".join(rows)
    )
    return atomic_write_bytes(out / "report.html", page.encode())
