"""Which photos irpilot may learn from.

Kodak24, CBSD68 and McMaster are the benchmark's test sets: nothing is ever trained, fitted or
tuned on them.  Training photos come from T91, CSet14, LIVE1 and classic5 (under
``settings.data_dir``) and scikit-image's bundled photos.  LIVE1's reference images were built
from Kodak photographs: 19 of them *are* Kodak24 photos, so they are excluded by name, and every
candidate is also compared with thumbnails of the test sets (either orientation) and dropped
when it matches.  Every learned component (perception, the learned policy, NIQE, the explore
policy's experience) takes its photos from :func:`training_photo_paths`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "TRAINING_SETS",
    "TEST_SETS",
    "LIVE1_KODAK_DUPLICATES",
    "training_photo_paths",
    "check_training_sets",
    "is_test_photo",
]

log = logging.getLogger(__name__)

TRAINING_SETS: tuple[str, ...] = ("T91", "CSet14", "LIVE1", "classic5")
TEST_SETS: tuple[str, ...] = ("Kodak24", "CBSD68", "McMaster")
#: LIVE1 reference images that are Kodak24 photographs (same content, same or rotated frame).
LIVE1_KODAK_DUPLICATES = frozenset(
    "bikes buildings caps house lighthouse2 lighthouse3 ocean paintedhouse parrots plane rapids "
    "sailing1 sailing2 sailing3 sailing4 statue stream woman womanhat".split()
)


def _thumb(img: np.ndarray) -> np.ndarray:
    import cv2

    g = img.mean(axis=0)
    if g.shape[0] > g.shape[1]:
        g = g.T
    t = cv2.resize(g, (96, 64), interpolation=cv2.INTER_AREA).astype(np.float64)
    t -= t.mean()
    return t / (np.linalg.norm(t) + 1e-12)


@functools.lru_cache(maxsize=4)
def _test_thumbs(root: str) -> tuple[np.ndarray, ...]:
    from .io import list_images, read_image

    thumbs: list[np.ndarray] = []
    for name in TEST_SETS:
        folder = Path(root) / name
        if folder.is_dir():
            for p in list_images(folder):
                t = _thumb(read_image(p))
                thumbs.extend([t, t[::-1, ::-1]])
    return tuple(thumbs)


def is_test_photo(img: np.ndarray, data_dir: str | Path | None = None, threshold: float = 0.95) -> bool:
    """Whether ``img`` is (a copy of) a test-set photo, by thumbnail correlation."""
    from .config import settings

    root = Path(data_dir) if data_dir is not None else settings.data_dir
    if root is None:
        return False
    t = _thumb(img)
    return any(float((t * k).sum()) > threshold for k in _test_thumbs(str(root)))


def check_training_sets(sets: Sequence[str]) -> None:
    """Raise ``ValueError`` when ``sets`` names a benchmark test set: the one guard every
    training job goes through."""
    bad = [s for s in sets if s in TEST_SETS]
    if bad:
        raise ValueError(f"{bad} are benchmark test sets and must never be used for training")


def training_photo_paths(data_dir: str | Path | None = None, sets: Sequence[str] = TRAINING_SETS) -> list[Path]:
    """Training photo files under the data folder, test-set duplicates removed."""
    from .config import settings
    from .io import list_images, read_image

    check_training_sets(sets)
    root = Path(data_dir) if data_dir is not None else settings.data_dir
    out: list[Path] = []
    for name in sets:
        folder = None if root is None else Path(root) / name
        if folder is None or not folder.is_dir():
            log.info("training folder %s not found; skipped", name)
            continue
        for p in list_images(folder):
            if name == "LIVE1" and p.stem in LIVE1_KODAK_DUPLICATES:
                continue
            if is_test_photo(read_image(p), root):
                log.info("skip %s/%s: duplicates a test-set photo", name, p.name)
                continue
            out.append(p)
    return out
