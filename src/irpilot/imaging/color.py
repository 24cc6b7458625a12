"""Colour spaces: BT.601 luma and YCbCr (full range, the JPEG/OpenCV convention, and studio
range, MATLAB's ``rgb2ycbcr``), and the sRGB transfer curve (sRGB values <-> linear light).
Images are (3, H, W) RGB in [0, 1].

>>> float(luma(np.ones((3, 2, 2), np.float32))[0, 0])
1.0
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["luma", "y_channel", "rgb_to_ycbcr", "ycbcr_to_rgb", "srgb_to_linear", "linear_to_srgb"]


def luma(img: np.ndarray, dtype: DTypeLike = np.float32) -> np.ndarray:
    """ITU-R BT.601 luma (H, W): 0.299 R + 0.587 G + 0.114 B, computed in the image's dtype
    and returned as ``dtype``."""
    return (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).astype(dtype)


def y_channel(img: np.ndarray) -> np.ndarray:
    """Studio-swing BT.601 Y of YCbCr (MATLAB ``rgb2ycbcr``), (H, W) float64 scaled to [0, 1]
    by /255.

    Y = 16 + 65.481 R + 128.553 G + 24.966 B on the 0-255 scale: the channel super-resolution
    papers report PSNR-Y on.
    """
    y = 16.0 + 65.481 * img[0].astype(np.float64) + 128.553 * img[1] + 24.966 * img[2]
    return y / 255.0


# ITU-R BT.601.  ``studio=True`` is MATLAB's rgb2ycbcr (Y in [16, 235]/255), the colour
# space DnCNN-3 was trained in; ``studio=False`` is the full-range JPEG/OpenCV variant.
_FULL = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)
_STUDIO = (np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255.0)
# The inverses as the tools were tuned with: full range inverted in float32, studio in float64.
_FULL_INV = np.linalg.inv(_FULL).astype(np.float32)
_STUDIO_INV = np.linalg.inv(_STUDIO).astype(np.float32)
_OFFSET = {False: np.array([0.0, 0.5, 0.5], np.float32), True: (np.array([16.0, 128.0, 128.0]) / 255.0).astype(np.float32)}


def rgb_to_ycbcr(img: np.ndarray, *, studio: bool = False) -> np.ndarray:
    """(3, H, W) RGB in [0, 1] -> float32 (3, H, W) YCbCr in [0, 1] (Y first, chroma centred
    on 0.5)."""
    m = _STUDIO.astype(np.float32) if studio else _FULL
    out = np.tensordot(m, img.astype(np.float32), axes=1)
    return (out + _OFFSET[studio][:, None, None]).astype(np.float32)


def ycbcr_to_rgb(ycc: np.ndarray, *, studio: bool = False) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycbcr`."""
    inv = _STUDIO_INV if studio else _FULL_INV
    return np.tensordot(inv, ycc.astype(np.float32) - _OFFSET[studio][:, None, None], axes=1).astype(np.float32)


def srgb_to_linear(x: np.ndarray, dtype: DTypeLike | None = None) -> np.ndarray:
    """sRGB values -> linear light (IEC 61966-2-1), clipped to [0, 1] first; computed in the
    input's dtype and returned as ``dtype`` (default: that dtype). Tools pass float32; the
    realistic degradations compute in float64."""
    x = np.clip(x, 0.0, 1.0)
    out = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    return out if dtype is None else out.astype(dtype)


def linear_to_srgb(x: np.ndarray, dtype: DTypeLike | None = None) -> np.ndarray:
    """Linear light -> sRGB values (IEC 61966-2-1), clipped to [0, 1] first; dtypes as in
    :func:`srgb_to_linear`."""
    x = np.clip(x, 0.0, 1.0)
    out = np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1.0 / 2.4) - 0.055)
    return out if dtype is None else out.astype(dtype)
