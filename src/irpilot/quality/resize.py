"""MATLAB-style bicubic resizing for the quality metrics.

One implementation serves the whole project: :mod:`irpilot.degrade.resize` (the benchmark's
own resampler).  This module keeps the metrics' calling convention (dtype preserved, ``size``
keyword)."""

from __future__ import annotations

import numpy as np

from ..degrade.resize import imresize

__all__ = ["imresize_bicubic"]


def imresize_bicubic(
    img: np.ndarray,
    scale: float | None = None,
    *,
    size: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """Resize the last two axes of ``img`` ((H, W) or (C, H, W)) like MATLAB ``imresize``;
    output size ``ceil(H*scale)`` or ``size``; not clipped; floating dtypes are kept.

    >>> imresize_bicubic(np.ones((3, 8, 8), np.float32), 0.5).shape
    (3, 4, 4)
    """
    arr = np.asarray(img)
    if size is not None and (int(size[0]) <= 0 or int(size[1]) <= 0):
        raise ValueError(f"output size must be positive, got {size}")
    out = imresize(arr, scale, output_shape=size, antialias=antialias)
    return out.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64, copy=False)
