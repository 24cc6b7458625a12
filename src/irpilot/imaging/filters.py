"""Morphological helpers: the windowed minimum and He et al.'s dark channel.

>>> img = np.ones((3, 4, 4), np.float32); img[1, 0, 0] = 0.25
>>> float(dark_channel(img, 3)[1, 1]), float(dark_channel(img, 3)[3, 3])
(0.25, 1.0)
"""

from __future__ import annotations

import numpy as np

__all__ = ["min_filter", "dark_channel"]


def min_filter(x: np.ndarray, size: int) -> np.ndarray:
    """Minimum over a ``size`` x ``size`` window centred on each pixel of (H, W) ``x`` (the
    window is cut at the border; dtype kept)."""
    import cv2

    return cv2.erode(np.ascontiguousarray(x), np.ones((size, size), np.uint8))


def dark_channel(img: np.ndarray, patch: int = 15, *, fit: bool = False) -> np.ndarray:
    """He et al.'s dark channel (H, W): minimum over RGB, then over a ``patch`` x ``patch``
    window.  ``fit=True`` shrinks the window to the image's shorter side for small images."""
    size = max(1, min(patch, *img.shape[-2:])) if fit else patch
    return min_filter(img.min(axis=0), size)
