"""``irpilot demo``: restore a bundled degraded photo end to end."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="degrade a bundled photo and restore it (the main job on a default image)")
    p.add_argument("-o", "--out", default="out/demo", help="output folder (default: out/demo)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def bundled_photo(name: str = "astronaut"):
    """A real public-domain photo that ships inside scikit-image's wheel, as float32 (3, H, W)."""
    import skimage.data

    from ..io import from_uint8

    return from_uint8(getattr(skimage.data, name)())


def run(args: argparse.Namespace) -> int:
    from ..io import write_image

    out = Path(args.out)
    clean = bundled_photo()
    path = write_image(out / "clean.png", clean)
    print(f"clean photo: {path}")
    return 0
