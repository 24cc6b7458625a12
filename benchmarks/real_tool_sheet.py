"""Tools of one task on real degraded photos, which have no ground truth: NIQE, BRISQUE and a sheet.

Runs each tool of ``--tools`` (``name`` or ``name:arg=value``) on every photo of ``--sets`` (the
``real_*`` folders of the data folder, as ``real_photos.py`` finds them), each shrunk to
``--max-side`` px, scores input and outputs with NIQE and BRISQUE (lower is better for both; a
guide, not a verdict), prints a table of the means per set and tool, and writes one sheet (JPEG)
with a row per photo of ``--sheet-photos``: the input and each tool's output, labelled.  Where a
synthetic benchmark ranks a tool, this shows what it does to real photos; look at the sheet.

    OMP_NUM_THREADS=1 python benchmarks/real_tool_sheet.py --sets real_hazy_AODNet \\
        --tools dark_channel_prior dehaze_aod_net dehaze_net --sheet docs/dehaze_net_real.jpg \\
        --sheet-photos test10.jpg test11.jpg test9.jpg
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from real_photos import _panel, _scores, find_photos, load_photo, nr_scores  # noqa: E402


def parse_tool(spec: str) -> tuple[str, dict[str, object]]:
    """``name:arg=value,arg=value`` -> (name, arguments); values are read as JSON when they parse."""
    name, _, rest = spec.partition(":")
    args: dict[str, object] = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            args[key] = json.loads(value)
        except json.JSONDecodeError:
            args[key] = value
    return name, args


def main(argv: Sequence[str] | None = None) -> int:
    from irpilot.config import settings
    from irpilot.tools import get_tool

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="data folder (default: the configured one)")
    ap.add_argument("--sets", nargs="+", required=True, help="real_* folders of the data folder")
    ap.add_argument("--tools", nargs="+", required=True, help="name or name:arg=value,...")
    ap.add_argument("--max-side", type=int, default=512, help="photos are shrunk to this longest side")
    ap.add_argument("--sheet", type=Path, default=None, help="JPEG sheet to write")
    ap.add_argument("--sheet-photos", nargs="*", default=(), help="photo names (inside their set) on the sheet")
    ap.add_argument("--json", type=Path, default=None, help="per-photo scores as JSON")
    args = ap.parse_args(argv)

    photos = find_photos(args.data or settings.data_dir, args.sets)
    tools = [(spec, *parse_tool(spec)) for spec in args.tools]
    rows, sheet_rows = [], []
    for photo in photos:
        img = load_photo(photo, args.max_side)
        row = {"photo": photo.key, "input": nr_scores(img)}
        outs = []
        for spec, name, targs in tools:
            out = get_tool(name)(img, **targs)
            row[spec] = nr_scores(out)
            outs.append((spec, out))
        rows.append(row)
        print(json.dumps(row), flush=True)
        if photo.name in args.sheet_photos:
            sheet_rows.append([_panel(img, ["input", _scores(row["input"])])]
                              + [_panel(o, [spec, _scores(row[spec])]) for spec, o in outs])

    print("\n| set | photos | " + " | ".join(["input", *args.tools]) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in range(len(args.tools) + 1)) + " |")
    for s in args.sets:
        rs = [r for r in rows if r["photo"].startswith(s + "/")]
        cells = [f"{np.mean([r[k]['niqe'] for r in rs]):.2f} / {np.mean([r[k]['brisque'] for r in rs]):.1f}"
                 for k in ["input", *args.tools]]
        print(f"| {s} | {len(rs)} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.sheet and sheet_rows:
        from PIL import Image

        gap = 6
        width = max(sum(p.width for p in r) + gap * (len(r) - 1) for r in sheet_rows)
        height = sum(max(p.height for p in r) for r in sheet_rows) + gap * (len(sheet_rows) - 1)
        sheet = Image.new("RGB", (width, height), "white")
        y = 0
        for r in sheet_rows:
            x = 0
            for p in r:
                sheet.paste(p, (x, y))
                x += p.width + gap
            y += max(p.height for p in r) + gap
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(args.sheet, quality=80, optimize=True)
        print(f"sheet: {args.sheet}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
