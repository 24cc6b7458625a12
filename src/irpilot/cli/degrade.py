"""``irpilot degrade``: make a degraded set from a folder of clean photos.

    irpilot degrade CLEAN_DIR OUT_DIR --preset agenticir_c --seed 0 [--limit N] [--contact-sheet F.png]

Writes 8-bit PNGs and ``OUT_DIR/manifest.jsonl`` (one JSON object per degraded image with
every sampled value); the same seed gives the same bytes; re-running resumes.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ..degrade.pipeline import PRESETS

    p = sub.add_parser(
        "degrade",
        help="synthesise degraded images (benchmark protocol or realistic presets), with a replayable manifest",
        description="Degrade every image of SRC_DIR with the combinations of a preset; writes PNGs and "
        "OUT_DIR/manifest.jsonl. Presets: "
        + "; ".join(f"{k}: {v.description}" for k, v in PRESETS.items()),
    )
    p.add_argument("src_dir", help="folder of clean images (or one image file)")
    p.add_argument("out_dir", help="output folder (must differ from SRC_DIR)")
    p.add_argument("--preset", default="agenticir_c", help="combination preset (default: agenticir_c)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--limit", type=int, help="only the first N clean images (sorted by name)")
    p.add_argument("--crop", type=int, help="centre-crop clean images to at most CROP x CROP first")
    p.add_argument(
        "--level",
        action="append",
        default=[],
        metavar="NAME=LEVEL",
        help="severity level for a degradation (mild, moderate, severe, extreme), e.g. noise=mild; repeatable",
    )
    p.add_argument("--contact-sheet", metavar="FILE.png", help="also write a grid of examples to look at")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --contact-sheet file (degraded images are never rewritten: an "
                   "existing one with other content is reported as an error)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..degrade.base import LEVELS
    from ..degrade.dataset import ERRORS_NAME, build_set, contact_sheet, read_manifest
    from ..errors import IrpilotError

    levels = {}
    for item in args.level:
        name, _, level = item.partition("=")
        if not level or level not in LEVELS:
            raise IrpilotError(f"--level expects NAME=LEVEL with LEVEL in {', '.join(LEVELS)}, got {item!r}")
        levels[name.strip()] = level
    from .outputs import check_output_file, prepare_output_dir

    prepare_output_dir(args.out_dir, "OUT_DIR")
    if args.contact_sheet:
        sheet = Path(args.contact_sheet)
        if sheet.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
            from .outputs import UsageError

            raise UsageError(f"--contact-sheet {sheet}: give an image file name, e.g. sheet.png")
        check_output_file(sheet, overwrite=args.overwrite, option="--contact-sheet")
    manifest = build_set(
        args.src_dir,
        args.out_dir,
        args.preset,
        args.seed,
        limit=args.limit,
        crop=args.crop,
        progress=not args.quiet,
        levels=levels or None,
    )
    entries = read_manifest(manifest)
    print(f"{len(entries)} entries in {manifest}")
    if args.contact_sheet:
        path = contact_sheet(entries, Path(args.out_dir), args.contact_sheet)
        print(f"contact sheet: {path}")
    errors = Path(args.out_dir) / ERRORS_NAME
    return 1 if errors.exists() and errors.stat().st_size else 0
