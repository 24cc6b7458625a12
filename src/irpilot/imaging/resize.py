"""MATLAB-style bicubic ``imresize`` (with antialiasing when shrinking), in numpy.

The benchmark protocol makes low-resolution inputs with MATLAB's ``imresize(img, 1/4,
'bicubic')`` and upscales outputs with the same function before scoring.  MATLAB's rule:

* cubic convolution kernel (Keys, a = -0.5), support 4;
* when shrinking by ``scale < 1`` with antialiasing, the kernel is stretched:
  ``h(x) = scale * cubic(scale * x)``, support ``4 / scale``;
* output pixel ``u`` (1-based) samples input position ``u / scale + 0.5 * (1 - 1 / scale)``;
* weights are normalised per output pixel; out-of-range taps mirror the border
  (symmetric, edge pixel repeated);
* output size ``ceil(scale * size)`` (so 1/4 of 510 is 128 rows).

Each axis is a (out, in) weight matrix; the resize is two matrix products in float64.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["imresize", "imresize_bicubic", "imresize_u8", "upscale_to", "cubic", "resize_weights", "shrink"]


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB/Pillow bicubic)."""
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


@lru_cache(maxsize=64)
def resize_weights(in_len: int, out_len: int, scale: float, antialias: bool = True) -> np.ndarray:
    """Dense (out_len, in_len) float64 weight matrix of one axis."""
    if in_len <= 0 or out_len <= 0:
        raise ValueError(f"resize lengths must be positive, got {in_len} -> {out_len}")
    width = 4.0
    if scale < 1 and antialias:
        def kernel(x: np.ndarray) -> np.ndarray:
            return scale * cubic(scale * x)

        width = width / scale
    else:
        kernel = cubic
    u = np.arange(1, out_len + 1, dtype=np.float64) / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based input positions
    w = kernel(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    # symmetric border: positions 1..n, n..1 repeating
    aux = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    src = aux[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    mat = np.zeros((out_len, in_len), dtype=np.float64)
    rows = np.repeat(np.arange(out_len), taps)
    np.add.at(mat, (rows, src.ravel()), w.ravel())
    mat.setflags(write=False)
    return mat


def _plan(shape: tuple[int, int], scale: float | None, output_shape: tuple[int, int] | None):
    h, w = shape
    if output_shape is not None:
        oh, ow = int(output_shape[0]), int(output_shape[1])
        return (oh, ow), (oh / h, ow / w)
    if scale is None or scale <= 0:
        raise ValueError("imresize needs a positive scale or an output_shape")
    return (int(math.ceil(scale * h - 1e-9)), int(math.ceil(scale * w - 1e-9))), (scale, scale)


def imresize(
    img: np.ndarray,
    scale: float | None = None,
    *,
    output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """Resize a float image (C, H, W) or (H, W) like MATLAB ``imresize(..., 'bicubic')``.

    Returns float64 values (no clipping or rounding), so callers decide the grid.

    >>> x = np.random.default_rng(0).random((3, 64, 48))
    >>> imresize(x, 0.25).shape
    (3, 16, 12)
    """
    arr = np.asarray(img, dtype=np.float64)
    squeeze = arr.ndim == 2
    if squeeze:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"imresize expects (C, H, W) or (H, W), got shape {arr.shape}")
    (oh, ow), (sh, sw) = _plan(arr.shape[1:], scale, output_shape)
    wh = resize_weights(arr.shape[1], oh, float(sh), antialias)
    ww = resize_weights(arr.shape[2], ow, float(sw), antialias)
    out = np.einsum("oh,chw->cow", wh, arr, optimize=True)
    out = np.einsum("cow,pw->cop", out, ww, optimize=True)
    return out[0] if squeeze else out


def imresize_u8(
    arr: np.ndarray, scale: float | None = None, *, output_shape: tuple[int, int] | None = None
) -> np.ndarray:
    """uint8 (H, W, C) -> uint8 (h, w, C): MATLAB bicubic on the 0-255 scale, then rounded
    half up and saturated, as MATLAB does for uint8 images."""
    chw = np.asarray(arr, dtype=np.float64).transpose(2, 0, 1)
    out = imresize(chw, scale, output_shape=output_shape)
    return np.ascontiguousarray(np.floor(np.clip(out, 0.0, 255.0) + 0.5).astype(np.uint8).transpose(1, 2, 0))


def upscale_to(img: np.ndarray, shape: tuple[int, int], factor: int = 4) -> np.ndarray:
    """Upscale a low-resolution float image (C, h, w) by exactly ``factor`` with MATLAB
    bicubic and crop to ``shape`` (H, W): how a still-small output is compared with its
    clean reference.  Scaling by exactly ``factor`` (not by H / h) keeps the pixel grids
    aligned when H is not a multiple of ``factor`` (the low-resolution image then covers
    ``factor * ceil(H / factor)`` rows).  Returns float32 clipped to [0, 1]."""
    h, w = int(shape[0]), int(shape[1])
    up = imresize(img, float(factor))
    if up.shape[-2] < h or up.shape[-1] < w:
        raise ValueError(f"x{factor} of {img.shape[-2:]} is smaller than the reference {(h, w)}")
    return np.clip(up[..., :h, :w], 0.0, 1.0).astype(np.float32)


def imresize_bicubic(
    img: np.ndarray,
    scale: float | None = None,
    *,
    size: tuple[int, int] | None = None,
    antialias: bool = True,
) -> np.ndarray:
    """:func:`imresize` keeping a floating dtype (other dtypes give float64), with the output
    size as a keyword: ``ceil(H*scale)`` or ``size``; not clipped.

    >>> imresize_bicubic(np.ones((3, 8, 8), np.float32), 0.5).shape
    (3, 4, 4)
    """
    arr = np.asarray(img)
    if size is not None and (int(size[0]) <= 0 or int(size[1]) <= 0):
        raise ValueError(f"output size must be positive, got {size}")
    out = imresize(arr, scale, output_shape=size, antialias=antialias)
    return out.astype(arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64, copy=False)


def shrink(image: np.ndarray, max_side: int | None) -> np.ndarray:
    """``image`` resized (area filter) so that its longest side is at most ``max_side`` (0 or
    None: unchanged)."""
    import cv2

    h, w = image.shape[1:]
    if not max_side or max(h, w) <= max_side:
        return image
    k = max_side / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    out = cv2.resize(np.ascontiguousarray(image.transpose(1, 2, 0)), size, interpolation=cv2.INTER_AREA)
    return np.clip(out.transpose(2, 0, 1), 0.0, 1.0).astype(np.float32)
