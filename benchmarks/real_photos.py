"""The agent on real degraded photos, which have no ground truth: chains, times, NIQE and BRISQUE.

Runs every policy of ``--policies`` on every photo of the real degraded sets in the data folder
(``real_*`` folders: SCI's real low-light photos, AOD-Net's hazy photos; AgenticIR's sample
inputs), scores input and output with the no-reference metrics NIQE (irpilot's pristine model)
and BRISQUE (lower is better for both), and writes:

- ``--out``: ``results.jsonl`` (one row per photo and policy; the run resumes from it) and each
  output as ``images/<photo>.<policy>.png``;
- ``--sheets``: one small before/after sheet per photo (JPEG, downscaled), each panel labelled
  with its policy, chain and scores.  Sets whose licence does not allow redistribution
  (``NO_SHEET_SETS``: AgenticIR's samples) get no sheet; their rows are still in the table;
- ``--page``: a Markdown page with the table and the sheets.

No-reference scores are a guide, not a verdict: NIQE rewards texture (noise can lower it), and
neither metric knows a photo's colours.  Look at the sheets.

    OMP_NUM_THREADS=1 python benchmarks/real_photos.py --policies fixed,learned,explore \\
        --out runs/real_photos --sheets docs/real_photos --page docs/real_photos.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Sets of AgenticIR's repository: no licence, so kept out of committed sheets.
NO_SHEET_SETS = frozenset({"AgenticIR_samples"})
#: Sub-folders of AgenticIR's samples that hold degraded photos (the others are a clean photo and a depth map).
AGENTICIR_DEGRADED = ("test_tool_input", "dataset_LQ_example")
METRICS = ("niqe", "brisque")
PANEL_SIDE = 300  #: longest side of a sheet panel (px)


@dataclass(frozen=True)
class Photo:
    set: str
    name: str  #: path inside the set, e.g. ``difficult/372.png``
    path: Path

    @property
    def key(self) -> str:
        return f"{self.set}/{self.name}"

    @property
    def slug(self) -> str:
        """A file-name-safe id: ``real_lowlight_SCI-difficult-372``."""
        stem = self.name.rsplit(".", 1)[0]
        return f"{self.set}-{stem}".replace("/", "-").replace(" ", "_")


def _image_path(out: Path, photo: Photo, policy: str) -> Path:
    """Where the output of ``policy`` (a name, or a spec such as ``ft=learned:weights=runs/x.pt``:
    its label, else the spec made file-name-safe) on ``photo`` is written."""
    label, sep, _ = policy.partition("=")
    if not sep or ":" in label:
        label = policy
    return out / "images" / f"{photo.slug}.{re.sub(r'[^A-Za-z0-9_.+-]+', '_', label)}.png"


def find_photos(data: Path, sets: Sequence[str] | None = None) -> list[Photo]:
    """The real degraded photos under ``data``: every image of the ``real_*`` folders and of
    AgenticIR's degraded sample folders (or only of ``sets``), sorted by set and name."""
    from irpilot.io import list_images

    names = sets or sorted(p.name for p in data.iterdir() if p.is_dir() and (p.name.startswith("real_") or p.name == "AgenticIR_samples"))
    photos = []
    for s in names:
        root = data / s
        if not root.is_dir():
            raise SystemExit(f"no folder {root}: --data must hold the set {s!r}")
        folders = [root / f for f in AGENTICIR_DEGRADED] if s == "AgenticIR_samples" else [root]
        for folder in folders:
            for p in list_images(folder, recursive=True) if folder.is_dir() else []:
                photos.append(Photo(s, p.relative_to(root).as_posix(), p))
    return sorted(photos, key=lambda p: (p.set, p.name))


def load_rows(path: Path) -> dict[tuple[str, str], dict]:
    """Rows of ``results.jsonl`` by (photo key, policy); a later row replaces an earlier one."""
    rows: dict[tuple[str, str], dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                rows[(r["photo"], r["policy"])] = r
    return rows


def nr_scores(img: np.ndarray) -> dict[str, float]:
    from irpilot.quality import score

    return {k: round(float(v), 3) for k, v in score(img, None, list(METRICS)).items()}


def load_photo(photo: Photo, max_side: int) -> np.ndarray:
    """The photo as restored: shrunk (area filter) to ``max_side`` px on its longest side, as the app does."""
    import irpilot
    from irpilot.imaging.resize import shrink

    return shrink(irpilot.read_image(photo.path), max_side)


def run(photos: Sequence[Photo], policies: Sequence[str], out: Path, overwrite: bool = False,
        max_side: int = 0) -> dict[tuple[str, str], dict]:
    """Restore every photo with every policy (skipping pairs already in ``out/results.jsonl``)."""
    import irpilot
    from irpilot.agent import Agent

    out.mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir(exist_ok=True)
    results = out / "results.jsonl"
    rows = {} if overwrite else load_rows(results)
    agent = Agent()
    for photo in photos:
        todo = [p for p in policies if (photo.key, p) not in rows]
        if not todo:
            continue
        img = load_photo(photo, max_side)
        before = next((r["before"] for (k, _), r in rows.items() if k == photo.key), None) or nr_scores(img)
        for policy in todo:
            agent.pool.clear_cache()  # each policy pays for its own calls (tool results are cached by input)
            t0 = time.perf_counter()
            traj = agent.run(img, policy, source=photo.key)
            seconds = time.perf_counter() - t0
            irpilot.write_image(_image_path(out, photo, policy), traj.output)
            probs = (traj.perception or {}).get("probs", {})
            row = {
                "photo": photo.key, "set": photo.set, "policy": policy, "shape": list(img.shape),
                "chain": [c["name"] if isinstance(c, dict) else c.name for c in traj.chain],
                "calls": traj.tool_calls, "seconds": round(seconds, 2),
                "perceived": {k: round(float(v), 2) for k, v in sorted(probs.items(), key=lambda kv: -kv[1]) if v >= 0.3},
                "before": before, "after": nr_scores(traj.output),
            }
            rows[(photo.key, policy)] = row
            with results.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{photo.key:45s} {policy:8s} {'+'.join(row['chain']) or '-':45s} "
                  f"NIQE {before['niqe']:.2f}->{row['after']['niqe']:.2f} BRISQUE {before['brisque']:.1f}->{row['after']['brisque']:.1f} "
                  f"{seconds:.1f}s", flush=True)
    return rows


# -- sheets ---------------------------------------------------------------------------------------
def _panel(img: np.ndarray, lines: Iterable[str], side: int = PANEL_SIDE):  # noqa: ANN202 (PIL image)
    """One labelled panel: ``img`` (float32 (3,H,W)) shrunk to ``side`` px on its longest side,
    with the text ``lines`` on a white strip below."""
    from PIL import Image, ImageDraw, ImageFont

    from irpilot.imaging.convert import to_uint8

    pic = Image.fromarray(to_uint8(img))
    k = side / max(pic.size)
    pic = pic.resize((max(1, round(pic.width * k)), max(1, round(pic.height * k))), Image.Resampling.LANCZOS)
    font = ImageFont.load_default(size=12)
    wrapped = [w for line in lines for w in _wrap(line, max(8, pic.width // 7))]
    strip = 4 + 15 * len(wrapped)
    panel = Image.new("RGB", (pic.width, pic.height + strip), "white")
    panel.paste(pic, (0, 0))
    draw = ImageDraw.Draw(panel)
    for i, line in enumerate(wrapped):
        draw.text((3, pic.height + 2 + 15 * i), line, fill="black", font=font)
    return panel


def _wrap(text: str, width: int) -> list[str]:
    """``text`` broken at ``+`` or spaces into lines of at most ~``width`` characters."""
    out, line = [], ""
    for piece in text.replace("+", "+\u0000").replace(" ", " \u0000").split("\u0000"):
        if line and len(line) + len(piece) > width:
            out.append(line.rstrip())
            line = ""
        line += piece
    return out + [line.rstrip()] if line.strip() else out


def _scores(s: dict[str, float]) -> str:
    return f"NIQE {s['niqe']:.2f}  BRISQUE {s['brisque']:.1f}"


def write_sheet(photo: Photo, rows: dict[tuple[str, str], dict], policies: Sequence[str], out: Path, dest: Path,
                max_side: int = 0) -> Path:
    """The before/after sheet of ``photo``: its input and the output of each policy that ran on it, side by side."""
    from PIL import Image

    import irpilot

    ran = [p for p in policies if (photo.key, p) in rows]
    first = rows[(photo.key, ran[0])]
    panels = [_panel(load_photo(photo, max_side), ["input", _scores(first["before"])])]
    for p in ran:
        r = rows[(photo.key, p)]
        img = irpilot.read_image(_image_path(out, photo, p))
        panels.append(_panel(img, [f"{p}: {' + '.join(r['chain']) or 'no call'}", _scores(r["after"])]))
    gap = 6
    sheet = Image.new("RGB", (sum(x.width for x in panels) + gap * (len(panels) - 1), max(x.height for x in panels)), "white")
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + gap
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{photo.slug}.jpg"
    sheet.save(path, quality=82, optimize=True)
    return path


# -- the page -------------------------------------------------------------------------------------
def _arrow(before: float, after: float, digits: int) -> str:
    return f"{before:.{digits}f} → {after:.{digits}f}"


def table(photos: Sequence[Photo], rows: dict[tuple[str, str], dict], policies: Sequence[str]) -> list[str]:
    """Markdown table: one row per photo and policy."""
    lines = ["| photo | size | policy | chain | NIQE before → after | BRISQUE before → after | s |",
             "| --- | --- | --- | --- | --- | --- | ---: |"]
    for photo in photos:
        for p in policies:
            r = rows.get((photo.key, p))
            if r is None:
                continue
            b, a = r["before"], r["after"]
            size = f"{r['shape'][2]}x{r['shape'][1]}"
            lines.append(f"| {photo.key} | {size} | {p} | {' + '.join(f'`{c}`' for c in r['chain']) or '(none)'} | "
                         f"{_arrow(b['niqe'], a['niqe'], 2)} | {_arrow(b['brisque'], a['brisque'], 1)} | {r['seconds']:.1f} |")
    return lines


def summary(photos: Sequence[Photo], rows: dict[tuple[str, str], dict], policies: Sequence[str]) -> list[str]:
    """Markdown table: per set and policy, mean scores before and after, calls and seconds."""
    lines = ["| set | policy | photos | mean calls in the chain | no call | NIQE before → after | BRISQUE before → after | mean s |",
             "| --- | --- | ---: | ---: | ---: | --- | --- | ---: |"]
    for s in sorted({p.set for p in photos}):
        for p in policies:
            rs = [rows[(ph.key, p)] for ph in photos if ph.set == s and (ph.key, p) in rows]
            if not rs:
                continue
            def mean(f: Callable[[dict], float], rs: list[dict] = rs) -> float:
                return float(np.mean([f(r) for r in rs]))

            lines.append(
                f"| {s} | {p} | {len(rs)} | {mean(lambda r: len(r['chain'])):.2f} | {sum(not r['chain'] for r in rs)} | "
                f"{_arrow(mean(lambda r: r['before']['niqe']), mean(lambda r: r['after']['niqe']), 2)} | "
                f"{_arrow(mean(lambda r: r['before']['brisque']), mean(lambda r: r['after']['brisque']), 1)} | "
                f"{mean(lambda r: r['seconds']):.1f} |")
    return lines


def write_page(path: Path, photos: Sequence[Photo], rows: dict[tuple[str, str], dict], policies: Sequence[str],
               sheets: dict[str, Path], command: str) -> None:
    def rel(p: Path) -> str:
        return Path(os.path.relpath(p.resolve(), path.parent.resolve())).as_posix()

    text = [
        "# Real photos, without ground truth",
        "",
        "The agent on real degraded photos: SCI's real low-light photos (`real_lowlight_SCI`, MIT), the",
        "hazy photos of AOD-Net's PyTorch re-implementation (`real_hazy_AODNet`, MIT; classic hazy photos of",
        "the dehazing literature and two NYU2-based synthetic ones) and AgenticIR's sample inputs (no licence:",
        "scored, but no sheet here).  No ground truth exists, so the scores are the no-reference NIQE",
        "(irpilot's pristine model) and BRISQUE, both lower-is-better, before and after; they are a guide,",
        "not a verdict (NIQE likes texture, noise included; neither sees colour casts).  Each sheet shows the",
        "input and every policy's output, downscaled, labelled with the chain and the scores.",
        "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d')} ({platform.machine()}, {platform.system()}; "
        "time per photo on a shared 2-core machine, one thread).",
        "",
        "## Summary",
        "",
        *summary(photos, rows, policies),
        "",
        "## Every photo",
        "",
        *table(photos, rows, policies),
        "",
        "## Sheets",
        "",
    ]
    for photo in photos:
        if photo.key in sheets:
            text += [f"**{photo.key}**", "", f"![{photo.key}]({rel(sheets[photo.key])})", ""]
    path.write_text("\n".join(text))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="the data folder (default: irpilot's settings.data_dir)")
    ap.add_argument("--sets", default=None, help="comma-separated set folders (default: real_* and AgenticIR_samples)")
    ap.add_argument("--policies", default="fixed,learned,explore")
    ap.add_argument("--out", default="runs/real_photos", help="results.jsonl and output images (resumes)")
    ap.add_argument("--overwrite", action="store_true", help="run every pair again instead of resuming")
    ap.add_argument("--max-side", type=int, default=1024, help="shrink photos to this longest side first, as the app does (0: no limit)")
    ap.add_argument("--report-only", action="store_true", help="write sheets and page from the results so far, run nothing")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos (a quick check)")
    ap.add_argument("--sheets", default=None, help="folder for the before/after sheets (e.g. docs/real_photos)")
    ap.add_argument("--page", default=None, help="Markdown page to write (e.g. docs/real_photos.md)")
    args = ap.parse_args(argv)

    if args.data is None:
        from irpilot.config import settings

        if settings.data_dir is None:
            raise SystemExit("no data folder: pass --data")
        data = Path(settings.data_dir)
    else:
        data = Path(args.data)
    photos = find_photos(data, args.sets.split(",") if args.sets else None)
    if args.limit:
        photos = photos[: args.limit]
    if not photos:
        print(f"no real degraded photos under {data}", file=sys.stderr)
        return 1
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    out = Path(args.out)
    rows = run(photos, policies, out, args.overwrite, args.max_side) if not args.report_only else load_rows(out / "results.jsonl")
    sheets: dict[str, Path] = {}
    if args.sheets:
        for photo in photos:
            if photo.set not in NO_SHEET_SETS and any((photo.key, p) in rows for p in policies):
                sheets[photo.key] = write_sheet(photo, rows, policies, out, Path(args.sheets), args.max_side)
    if args.page:
        # the command that runs and reports (a --report-only pass only rewrites what it measured)
        cmd = "python benchmarks/real_photos.py " + " ".join(a for a in (argv if argv is not None else sys.argv[1:]) if a != "--report-only")
        write_page(Path(args.page), photos, rows, policies, sheets, cmd)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
