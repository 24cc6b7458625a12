#!/usr/bin/env python
"""A contact sheet of the realistic degradation family (``real_*``) for people to look at.

Each row is one degradation: the clean photo, then ``--samples`` draws at default severity
(seeded), each labelled with its variant.  The astronaut rows show a ``--thumb``-pixel crop
of the degraded 256 px photo at 1:1 (the pixels as a restoration tool sees them);
camera-shake tiles carry their kernel in the corner (enlarged x2).  The last row shows
depth-varying haze on a whole photo with a horizon, scaled down to the tile.  The photos are
scikit-image's public-domain *astronaut* and *rocket* (training photos, never test sets).

    python scripts/realistic_sheet.py --out docs/realistic_degradations.png --thumb 120 --colors 96

The committed sheet is quantised to 96 colours (dithered) to stay under 300 KB: the fine grain
in its flat areas is dithering; run without ``--colors`` to see the true pixels.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

from irpilot.degrade import REALISTIC, get_degradation, kind_of
from irpilot.imaging.convert import from_uint8 as from_u8, to_uint8 as to_u8

ROWS = ("motion_blur", "defocus_blur", "noise", "dark", "haze", "jpeg", "low_resolution", "rain", "snow")


def variant(name: str, p: dict) -> str:
    """A short label of what was drawn."""
    k = kind_of(name)
    if k == "motion_blur":
        return f"path {p['length'] * p['exposure']:.0f}px exp {p['exposure']:.2f}"
    if k == "defocus_blur":
        return f"{p['shape']} r{p['radius']:.1f} {p['spatial']}"
    if k == "noise":
        return f"{p['model']} s{p['sigma_mid']:.0f}"
    if k == "dark":
        return f"{p['curve']} x{p['exposure']:.2f}"
    if k == "haze":
        return f"{p['mode']} {p['space']}"
    if k == "jpeg":
        first = p.get("first")
        return f"q{p['quality']} {p['subsampling']}" + (f" after q{first['quality']}" if first else "")
    if k == "low_resolution":
        return f"{p['kernel']}" + (" sharpened" if p.get("sharpen") else "")
    if k == "rain":
        return f"{len(p['layers'])} layers {p['angle']:.0f}deg"
    return f"motion {p['motion']:.2f} {p['angle']:.0f}deg"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/realistic_degradations.png")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--size", type=int, default=256, help="side of the degraded photos")
    ap.add_argument("--thumb", type=int, default=150, help="side of a tile in the sheet")
    ap.add_argument("--colors", type=int, default=0, help="quantise the sheet to this many colours (0: no)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import skimage.data
    from PIL import Image, ImageDraw

    astro = skimage.data.astronaut()
    s = args.size
    photo = from_u8(np.asarray(Image.fromarray(astro[:400, 50:450]).resize((s, s), Image.Resampling.LANCZOS)))
    rocket = skimage.data.rocket()  # 427 x 640: sky, horizon and ground
    land = from_u8(np.asarray(Image.fromarray(rocket[:, 120:547]).resize((s, s), Image.Resampling.LANCZOS)))

    t = args.thumb
    label_h = 24
    rows = [(n, photo) for n in ROWS] + [("haze", land)]
    sheet = Image.new("RGB", ((args.samples + 1) * t, len(rows) * (t + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (kind, clean) in enumerate(rows):
        name = REALISTIC[kind]
        deg = get_degradation(name)
        y = r * (t + label_h)
        tiles = [(clean, "clean", "")]
        for i in range(args.samples):
            rng = np.random.default_rng([args.seed, r, i])
            params = deg.sample(rng)
            if r == len(rows) - 1:  # the horizon row: depth-varying haze only
                while params["mode"] != "depth":
                    params = deg.sample(rng)
            out = deg.apply(clean, params)
            tiles.append((out, name, variant(name, params)))
        for c, (img, l1, l2) in enumerate(tiles):
            im = Image.fromarray(to_u8(img))
            if im.size != (clean.shape[2], clean.shape[1]):  # low resolution: shown enlarged, blocky
                im = im.resize((clean.shape[2], clean.shape[1]), Image.Resampling.NEAREST)
            if r == len(rows) - 1:
                im = im.resize((t, t), Image.Resampling.LANCZOS)
            else:  # 1:1 around the face
                left, top = (s - t) // 2, max(s // 16 - 8, 0)
                im = im.crop((left, top, left + t, top + t))
            sheet.paste(im, (c * t, y))
            draw.text((c * t + 2, y + t + 1), l1[:26], fill=(0, 0, 0))
            draw.text((c * t + 2, y + t + 12), l2[:26], fill=(80, 80, 80))
            if kind == "motion_blur" and c > 0:
                from irpilot.degrade.real_optics import shake_kernel

                rng = np.random.default_rng([args.seed, r, c - 1])
                k = shake_kernel(deg.sample(rng))
                k = (255 * np.sqrt(k / k.max())).astype(np.uint8)
                kim = Image.fromarray(k).resize((2 * k.shape[1], 2 * k.shape[0]), Image.Resampling.NEAREST)
                sheet.paste(kim.convert("RGB"), (c * t + t - kim.size[0], y))
    if args.colors:
        sheet = sheet.quantize(colors=args.colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(buf.getvalue())
    print(f"{args.out}: {sheet.size[0]} x {sheet.size[1]}, {len(buf.getvalue()) // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
