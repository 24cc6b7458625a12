#!/usr/bin/env python
"""How much each degradation costs a photo, protocol vs realistic model: mean input PSNR of
each of the eight kinds alone, at default severity, on training photos (the first ``--n``
photos of CSet14, centre 320 px crops, ``--seeds`` draws each; low-resolution inputs upscaled
x4 with the protocol's bicubic before scoring).  Used to set the realistic defaults on the
protocol's scale; never run on the test sets.

    python benchmarks/realistic_calibration.py --n 10 --seeds 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from irpilot.config import settings
from irpilot.degrade import PROTOCOL_DEGRADATIONS, REALISTIC, degrade, upscale_to
from irpilot.imaging.convert import from_uint8 as from_u8
from irpilot.imaging.convert import to_uint8 as to_u8
from irpilot.io import list_images, read_image
from irpilot.quality import score


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="CSet14", help="a training set under the data folder")
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=2)
    args = ap.parse_args(argv)
    from irpilot.data import TEST_SETS

    if args.set in TEST_SETS:
        print(f"{args.set} is a test set: calibrate on training photos", file=sys.stderr)
        return 1
    if settings.data_dir is None:
        print("no data directory (set IRPILOT_DATA_DIR)", file=sys.stderr)
        return 1
    imgs = []
    for p in list_images(Path(settings.data_dir) / args.set)[: args.n]:
        im = from_u8(to_u8(read_image(p)))
        h, w = im.shape[1:]
        c = min(320, h, w)
        imgs.append(np.ascontiguousarray(im[:, (h - c) // 2 : (h - c) // 2 + c, (w - c) // 2 : (w - c) // 2 + c]))
    print("| degradation | protocol input PSNR | realistic input PSNR |\n| --- | --- | --- |")
    for kind in PROTOCOL_DEGRADATIONS:
        means = []
        for name in (kind, REALISTIC[kind]):
            ps = []
            for i, im in enumerate(imgs):
                for s in range(args.seeds):
                    lq, _ = degrade(im, [name], seed=100 * i + s)
                    lq = upscale_to(lq, im.shape[1:]) if lq.shape != im.shape else lq
                    ps.append(score(lq, im, ["psnr"])["psnr"])
            means.append(float(np.mean(ps)))
        print(f"| {kind} | {means[0]:.2f} | {means[1]:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
