"""The story of a restoration as HTML: what perception saw, each step with a before/after
comparison and a full-resolution detail crop, the alternatives the policy weighed, timings,
and per-step PSNR/SSIM when a clean reference exists.

One renderer serves the static report (``irpilot restore --report``, ``irpilot demo``: one
self-contained page, images inlined, readable offline) and the web app (``irpilot app``).

>>> from irpilot.report import story_html, page_html                      # doctest: +SKIP
>>> html = page_html([story_html(traj, degraded, reference=clean, name="photo.png")])   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import dataclasses
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["STYLE", "ReportItem", "reference_scores", "detail_box", "resize_image", "story_html", "page_html", "write_report"]

#: Longest side of the overview images in a comparison (the detail crop is at full resolution).
VIEW_SIDE = 560
#: Images smaller than this are shown enlarged by a whole factor.
MIN_VIEW_SIDE = 320
#: Side of the full-resolution detail crop (shown enlarged x2, pixels kept sharp).
DETAIL_SIDE = 128
#: Probability from which perception calls a degradation present.
PRESENT = 0.5
_LEVELS = ("mild", "moderate", "severe", "extreme")

STYLE = """
.irp{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;background:#fff;
  line-height:1.4;font-size:14px}
.irp h2{font-size:20px;margin:.2em 0 .1em}.irp h3{font-size:15px;margin:1.1em 0 .4em;color:#39424e}
.irp .meta{color:#5a6472;margin:.2em 0 .8em}.irp .chain b{color:#1d2330}
.irp .card{border:1px solid #dde2e8;border-radius:10px;padding:12px 14px;margin:12px 0;background:#fbfcfd}
.irp .card.kept{border-left:5px solid #2f9e44}.irp .card.dropped{border-left:5px solid #adb5bd}
.irp .card.failed{border-left:5px solid #e03131}.irp .card.stop{border-left:5px solid #4263eb}
.irp .head{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline;margin-bottom:8px}
.irp .head .tool{font-weight:600;font-size:16px}.irp .tag{font-size:12px;padding:1px 8px;border-radius:9px;
  background:#e9ecef;color:#343a40}.irp .tag.kept{background:#d3f9d8;color:#1b6e2e}
.irp .tag.failed{background:#ffe3e3;color:#a61e1e}.irp .tag.stop{background:#dbe4ff;color:#2b3fa0}
.irp .time{color:#5a6472;font-size:13px}
.irp .bars{display:grid;grid-template-columns:max-content minmax(120px,320px) max-content;gap:3px 10px;
  align-items:center;margin:4px 0}
.irp .bar{height:12px;background:#eef1f4;border-radius:6px;overflow:hidden}
.irp .bar i{display:block;height:100%;background:#adb5bd;border-radius:6px}
.irp .bar.on i{background:#f08c00}.irp .bar.pick i{background:#4263eb}
.irp .num{font-variant-numeric:tabular-nums;font-size:13px;color:#39424e}
.irp .sev{font-size:12px;color:#a05a00}
.irp .row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.irp figure{margin:0}.irp figcaption{font-size:12px;color:#5a6472;margin-top:3px}
.irp .cmp{position:relative;display:inline-block;--pos:50%;user-select:none;line-height:0;
  border-radius:6px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.25)}
.irp .cmp img{display:block;max-width:100%}
.irp .cmp img.before{position:absolute;inset:0;width:100%;height:100%;clip-path:inset(0 calc(100% - var(--pos)) 0 0)}
.irp .cmp::after{content:"";position:absolute;top:0;bottom:0;left:var(--pos);width:2px;margin-left:-1px;
  background:#fff;box-shadow:0 0 4px rgba(0,0,0,.7);pointer-events:none}
.irp .cmp input{position:absolute;inset:0;width:100%;height:100%;margin:0;opacity:0;cursor:ew-resize}
.irp .cmp .lab{position:absolute;top:6px;font-size:12px;line-height:1.2;padding:2px 6px;border-radius:4px;
  background:rgba(0,0,0,.55);color:#fff;pointer-events:none}
.irp .cmp .lab.l{left:6px}.irp .cmp .lab.r{right:6px}
.irp .detail{display:flex;gap:6px}.irp .detail img{width:256px;height:256px;image-rendering:pixelated;
  border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.25)}
.irp table.m{border-collapse:collapse;font-size:13px;margin-top:6px}
.irp table.m td,.irp table.m th{padding:2px 10px 2px 0;text-align:left;font-variant-numeric:tabular-nums;
  border:none;background:none}
.irp .up{color:#2f9e44}.irp .down{color:#e03131}.irp .err{color:#a61e1e}
"""


@dataclasses.dataclass
class ReportItem:
    """One restored photo of a report: its name, its input image and trajectory (run with
    ``keep_images=True``), and the clean reference when one exists."""

    name: str
    image: np.ndarray
    traj: Any
    reference: np.ndarray | None = None


# -- images --------------------------------------------------------------------------------
def resize_image(img: np.ndarray, h: int, w: int, *, nearest: bool = False) -> np.ndarray:
    """``img`` at ``h`` x ``w`` (area filter to shrink, bicubic to enlarge, or nearest pixels)."""
    import cv2

    if img.shape[1:] == (h, w):
        return img
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if h < img.shape[1] else cv2.INTER_CUBIC)
    out = cv2.resize(np.ascontiguousarray(img.transpose(1, 2, 0)), (w, h), interpolation=interp)
    return np.clip(out.transpose(2, 0, 1), 0.0, 1.0).astype(np.float32)


def _view(img: np.ndarray, side: int = VIEW_SIDE) -> np.ndarray:
    """``img`` shrunk so that its longest side is at most ``side``."""
    h, w = img.shape[1:]
    k = min(1.0, side / max(h, w))
    return resize_image(img, max(1, round(h * k)), max(1, round(w * k)))


def _uri(img: np.ndarray, fmt: str = ".jpg") -> str:
    from .io import encode_image

    mime = "image/png" if fmt == ".png" else "image/jpeg"
    data = encode_image(img, fmt, quality=90) if fmt != ".png" else encode_image(img, fmt)
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def detail_box(before: np.ndarray, after: np.ndarray, side: int = DETAIL_SIDE) -> tuple[int, int, int]:
    """``(top, left, side)`` of the square of ``after`` where the step changed the most (the
    most textured square when nothing changed); ``before`` may be smaller (super-resolution)."""
    import cv2

    h, w = after.shape[1:]
    side = max(1, min(side, h, w))
    b = resize_image(before, h, w, nearest=True)
    diff = np.abs(after - b).mean(axis=0)
    if float(diff.max(initial=0.0)) <= 1e-6:
        grey = after.mean(axis=0)
        diff = np.abs(np.diff(grey, axis=0, prepend=grey[:1])) + np.abs(np.diff(grey, axis=1, prepend=grey[:, :1]))
    # mean over every side x side window, via a box filter anchored at the window's centre
    score = cv2.boxFilter(diff.astype(np.float32), -1, (side, side), normalize=True, borderType=cv2.BORDER_REFLECT)
    half = side // 2
    valid = score[half:h - side + half + 1, half:w - side + half + 1]
    top, left = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(top), int(left), side


def _crop(img: np.ndarray, box: tuple[int, int, int], shape: tuple[int, int]) -> np.ndarray:
    """The part of ``img`` under ``box`` (given in an image of size ``shape``), at ``box``'s size."""
    top, left, side = box
    h, w = img.shape[1:]
    sy, sx = h / shape[0], w / shape[1]
    y0, x0 = int(top * sy), int(left * sx)
    y1, x1 = max(y0 + 1, int(round((top + side) * sy))), max(x0 + 1, int(round((left + side) * sx)))
    return resize_image(img[:, y0:y1, x0:x1], side, side, nearest=True)


def _comparison(before: np.ndarray, after: np.ndarray, left: str = "before", right: str = "after") -> str:
    """A before/after slider (drag across the image; without script it stays split in half)
    and the full-resolution detail crop of both."""
    a = _view(after)
    b = resize_image(before, *a.shape[1:]) if before.shape != after.shape else _view(before)
    box = detail_box(before, after)
    scale = after.shape[1] / before.shape[1]
    note = f" (input {scale:g}x smaller, enlarged)" if abs(scale - 1.0) > 1e-6 else ""
    top, lft, side = box
    # small images are shown enlarged (pixels kept sharp) so that a person can see them
    zoom = max(1, MIN_VIEW_SIDE // max(a.shape[1:]))
    size = f' style="width:{a.shape[2] * zoom}px;image-rendering:pixelated"' if zoom > 1 else ""
    return (
        '<div class="row"><figure><div class="cmp">'
        f'<img class="after" src="{_uri(a)}" alt="{html.escape(right)}"{size}>'
        f'<img class="before" src="{_uri(b)}" alt="{html.escape(left)}"{size}>'
        '<input type="range" min="0" max="100" value="50" aria-label="before/after" '
        "oninput=\"this.parentNode.style.setProperty('--pos',this.value+'%')\">"
        f'<span class="lab l">{html.escape(left)}</span><span class="lab r">{html.escape(right)}</span></div>'
        f"<figcaption>drag across the image to compare ({after.shape[2]}x{after.shape[1]} px)</figcaption></figure>"
        '<figure><div class="detail">'
        f'<img src="{_uri(_crop(before, box, after.shape[1:]), ".png")}" alt="{html.escape(left)} detail">'
        f'<img src="{_uri(_crop(after, box, after.shape[1:]), ".png")}" alt="{html.escape(right)} detail"></div>'
        f"<figcaption>detail at full resolution, {side}x{side} px at ({lft}, {top}), enlarged 2x: "
        f"{html.escape(left)}{note} | {html.escape(right)}</figcaption></figure></div>"
    )


# -- numbers -------------------------------------------------------------------------------
def reference_scores(img: np.ndarray, reference: np.ndarray, metrics: Sequence[str] = ("psnr", "ssim")) -> dict[str, float]:
    """Full-reference scores of ``img`` against ``reference``, aligned as the benchmark does
    (x4 bicubic for a still-small image; any other size resized to the reference)."""
    from .imaging.resize import imresize
    from .quality import MetricError, align_to_reference, score

    try:
        aligned = align_to_reference(img, reference)
    except MetricError:
        aligned = np.clip(imresize(img, output_shape=reference.shape[1:]), 0.0, 1.0).astype(np.float32)
    return {k: float(v) for k, v in score(aligned, reference, list(metrics)).items()}


def _bars(values: dict[str, float], *, highlight: str | None = None, severity: dict[str, float] | None = None) -> str:
    rows = []
    for name, p in sorted(values.items(), key=lambda kv: -kv[1]):
        on = p >= PRESENT
        cls = "pick" if name == highlight else ("on" if on and severity is not None else "")
        extra = ""
        if severity is not None and on and name in severity:
            s = float(severity[name])
            extra = f'<span class="sev">severity {s:.2f} ({_LEVELS[min(3, int(s * 4))]})</span>'
        rows.append(
            f'<span>{html.escape(name)}</span><div class="bar {cls}"><i style="width:{max(0.0, min(1.0, p)) * 100:.1f}%"></i></div>'
            f'<span class="num">{p * 100:.0f}% {extra}</span>'
        )
    return f'<div class="bars">{"".join(rows)}</div>'


def _metrics_table(before: dict[str, float], after: dict[str, float], title: str = "") -> str:
    if not after:
        return ""
    cells = [f'<tr><td colspan="3" class="meta">{html.escape(title)}</td></tr>'] if title else []
    for k, v in after.items():
        b = before.get(k)
        if b is None or not np.isfinite(b) or not np.isfinite(v):
            cells.append(f"<tr><th>{html.escape(k)}</th><td>{v:.4g}</td></tr>")
            continue
        higher_better = k not in ("niqe", "brisque", "lpips", "gmsd")
        good = (v >= b) if higher_better else (v <= b)
        cells.append(f'<tr><th>{html.escape(k)}</th><td>{b:.4g} &rarr; {v:.4g}</td>'
                     f'<td class="{"up" if good else "down"}">{v - b:+.3g}</td></tr>')
    return f'<table class="m">{"".join(cells)}</table>'


# -- the story -----------------------------------------------------------------------------
def story_html(traj: Any, image: np.ndarray, *, reference: np.ndarray | None = None, name: str = "") -> str:
    """One photo's restoration as an HTML fragment (style: :data:`STYLE`, inside ``.irp``).

    ``traj`` must have been run with ``keep_images=True`` for the step images to show."""
    from .io import as_image, image_hash

    image = as_image(image)
    images: dict[str, np.ndarray] = {image_hash(image): image, traj.input_hash: image}
    for s in traj.steps:
        if s.output_hash and s.image is not None:
            images[s.output_hash] = s.image
    ref_cache: dict[str, dict[str, float]] = {}

    def ref_scores(h: str) -> dict[str, float]:
        if reference is None or h not in images:
            return {}
        if h not in ref_cache:
            ref_cache[h] = reference_scores(images[h], reference)
        return ref_cache[h]

    perception = traj.perception or {}
    chain = " &rarr; ".join(f"<b>{html.escape(c['name'])}</b>" for c in traj.chain) or "no tool"
    h, w = image.shape[1:]
    parts = [
        f'<section class="irp"><h2>{html.escape(name or traj.source or "photo")}</h2>',
        f'<p class="meta">{w}x{h} px &middot; policy <b>{html.escape(traj.policy)}</b> &middot; '
        f"{traj.tool_calls} tool calls ({traj.tool_executions} run) &middot; {traj.wall_seconds:.1f} s in all, "
        f'perception {traj.perception_seconds:.2f} s</p><p class="chain">chain: {chain}</p>',
    ]
    if perception.get("probs"):
        parts.append("<h3>What perception sees</h3>" + _bars(perception["probs"], severity=perception.get("severity", {})))
    else:
        parts.append('<h3>What perception sees</h3><p class="meta">no perception model was used</p>')
    parts.append("<h3>Steps</h3>")
    shown = 0
    for s in traj.steps:
        tool = str(s.action.get("name"))
        alts = ("<div><span class='meta'>the policy's top choices</span>" + _bars(s.choices, highlight=tool) + "</div>") if s.choices else ""
        timing = f'<span class="time">decision {s.decision_seconds:.2f} s</span>'
        if tool == "stop":
            parts.append(f'<div class="card stop"><div class="head"><span class="tool">stop</span>'
                         f'<span class="tag stop">done</span>{timing}</div>{alts}</div>')
            continue
        shown += 1
        if not s.ok:
            status, cls = "failed", "failed"
        elif s.accepted:
            status, cls = "kept", "kept"
        else:
            status, cls = (s.note or "not kept").strip(), "dropped"
        timing = (f'<span class="time">tool {s.seconds:.2f} s{" (cached)" if s.cached else ""} &middot; '
                  f"decision {s.decision_seconds:.2f} s</span>")
        head = (f'<div class="head"><span class="num">{shown}.</span><span class="tool">{html.escape(tool)}</span>'
                f'<span class="tag">{html.escape(str(s.task or ""))}</span>'
                f'<span class="tag {cls}">{html.escape(status)}</span>{timing}</div>')
        body = f'<p class="meta">{html.escape(s.note)}</p>' if s.note and s.accepted else ""
        if s.error:
            body += f'<p class="err">{html.escape(s.error)}</p>'
        before, after = images.get(s.input_hash), images.get(s.output_hash or "")
        if before is not None and after is not None:
            body += _comparison(before, after)
        metrics = _metrics_table(ref_scores(s.input_hash), ref_scores(s.output_hash or ""), "against the clean photo")
        metrics += _metrics_table({}, s.metrics, "no-reference") if s.metrics else ""
        parts.append(f'<div class="card {cls}">{head}{body}<div class="row">{alts}<div>{metrics}</div></div></div>')
    if shown == 0:
        parts.append('<p class="meta">no tool was called: the photo is returned as it came</p>')
    if traj.output is not None:
        parts.append("<h3>Input and result</h3>" + _comparison(image, as_image(traj.output), "input", "result"))
        if reference is not None:
            parts.append(_metrics_table(ref_scores(traj.input_hash), reference_scores(as_image(traj.output), reference),
                                        "against the clean photo"))
    parts.append("</section>")
    return "".join(parts)


def page_html(sections: Sequence[str], title: str = "irpilot restoration report") -> str:
    """A complete, self-contained HTML page of story sections."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>body{{margin:0;background:#fff}}"
        f".page{{max-width:1200px;margin:0 auto;padding:16px 20px}}{STYLE}</style></head><body>"
        f'<div class="page irp"><h1 style="font-size:24px">{html.escape(title)}</h1>'
        '<p class="meta">Drag across an image to compare before and after; the detail crops are at full '
        "resolution.</p>" + "<hr>".join(sections) + "</div></body></html>"
    )


def write_report(out: str | Path, items: Sequence[ReportItem | tuple[Any, ...]]) -> Path:
    """Write ``out/report.html``, one self-contained page (every image inlined).

    ``items`` are :class:`ReportItem` or tuples ``(name, source_path, traj[, reference])``
    (the input image is then read from ``source_path``)."""
    from .io import atomic_write_bytes, read_image

    sections = []
    for item in items:
        if not isinstance(item, ReportItem):
            _, src, traj, *rest = item
            src = Path(src)
            name = str(src) if not src.is_absolute() else src.name  # as the user gave it, or its name
            item = ReportItem(name=name, image=read_image(src), traj=traj, reference=rest[0] if rest else None)
        sections.append(story_html(item.traj, item.image, reference=item.reference, name=item.name))
    return atomic_write_bytes(Path(out) / "report.html", page_html(sections).encode())
