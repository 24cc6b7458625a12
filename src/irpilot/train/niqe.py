"""Fit irpilot's NIQE pristine model on training photos and write ``assets/niqe_irpilot.npz``.

    irpilot train niqe [--out PATH] [--data-dir DIR]

Follows the original recipe (Mittal et al. 2013, ``estimatemodelparam``): 96x96 blocks
without overlap; per photo keep the blocks whose sharpness (mean local standard deviation of
the luma) exceeds 0.75 of that photo's sharpest block; the 36 two-scale features of all kept
blocks give the mean and covariance of the pristine multivariate Gaussian.

Pristine photos: training sets only - T91, CSet14, LIVE1 and classic5 under the data
directory (``settings.data_dir``) and scikit-image's bundled photographs.  The benchmark
test sets (Kodak24, CBSD68, McMaster) are never used; LIVE1's Kodak photographs are excluded
(see :mod:`irpilot.data`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..config import settings
from ..data import LIVE1_KODAK_DUPLICATES, TRAINING_SETS, training_photo_paths
from ..imaging.color import y_channel
from ..imaging.photos import NIQE_PHOTOS, bundled_photo
from ..io import read_image

if TYPE_CHECKING:  # pragma: no cover
    from ..quality.niqe import NiqeModel

__all__ = ["fit_niqe", "pristine_photos", "LIVE1_KODAK_DUPLICATES", "TRAINING_SETS", "add_arguments", "run"]

#: Where the shipped model lives.
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "niqe_irpilot.npz"

SHARPNESS_THRESHOLD = 0.75


def pristine_photos(data_dir: Path | None = None, *, verbose: bool = False) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (label, image) for every pristine training photo available."""
    root = Path(data_dir) if data_dir else settings.data_dir
    if root is not None:
        for p in training_photo_paths(root, TRAINING_SETS):
            yield f"{p.parent.name}/{p.name}", read_image(p)
    for name in NIQE_PHOTOS:
        yield f"skimage/{name}", bundled_photo(name)


def fit_niqe(
    photos: Iterator[tuple[str, np.ndarray]], *, threshold: float = SHARPNESS_THRESHOLD, verbose: bool = False
) -> NiqeModel:
    """Fit the pristine model on ``photos`` ((label, canonical image) pairs)."""
    from ..quality.niqe import BLOCK, NiqeModel, gaussian_window, niqe_features

    window = gaussian_window()
    kept, labels = [], []
    for label, img in photos:
        if min(img.shape[-2:]) < BLOCK:
            continue  # NIQE's model is defined on whole 96x96 blocks
        y255 = np.round(y_channel(img) * 255.0)
        feats, sharp = niqe_features(y255, BLOCK, window)
        sel = feats[(sharp > threshold * sharp.max()) & ~np.isnan(feats).any(axis=1)]
        kept.append(sel)
        labels.append(label)
        if verbose:
            print(f"{label}: {len(sel)}/{len(feats)} blocks", file=sys.stderr)
    if not kept:
        raise ValueError("no pristine photo of at least 96x96 pixels was found")
    allf = np.concatenate(kept)
    if len(allf) < 37:
        raise ValueError(f"only {len(allf)} pristine blocks: too few for a 36x36 covariance")
    return NiqeModel(
        allf.mean(axis=0),
        np.cov(allf, rowvar=False),
        window,
        n_blocks=len(allf),
        n_photos=len(labels),
        sources=",".join(sorted({lab.split("/")[0] for lab in labels})),
        sharpness_threshold=threshold,
    )


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of ``irpilot train niqe``."""
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output npz (default {DEFAULT_OUT.name} in the package's assets)")
    ap.add_argument("--data-dir", type=Path, default=None, help="folder holding T91/CSet14/LIVE1/classic5")


def run(args: argparse.Namespace) -> int:
    """``irpilot train niqe``."""
    model = fit_niqe(pristine_photos(args.data_dir, verbose=args.verbose), verbose=args.verbose)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"wrote {args.out}: {int(model.meta['n_blocks'])} blocks from {int(model.meta['n_photos'])} photos "
          f"({model.meta['sources']})")
    return 0
