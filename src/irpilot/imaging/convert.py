"""Pixel-array conversions: uint8 and other integer arrays to and from irpilot's float32 RGB
(3, H, W) in [0, 1], the 8-bit grid, and channel order (H, W, C) <-> (C, H, W).

Files, PIL and OpenCV are handled by :mod:`irpilot.io`, which builds on these.

>>> to_uint8(from_uint8(np.full((2, 2, 3), 7, np.uint8)))[0, 0].tolist()
[7, 7, 7]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_image", "to_float_rgb", "to_uint8", "from_uint8", "on_8bit_grid", "quantize", "to_hwc", "to_chw"]


def to_float_rgb(arr: np.ndarray) -> np.ndarray:
    """(H, W[, C]) integer or float array -> float32 (3, H, W) in [0, 1].  Alpha is dropped
    by compositing on white only when it is not fully opaque (what a viewer shows)."""
    if arr.dtype == np.uint8:
        scale = 255.0
    elif arr.dtype == np.uint16:
        scale = 65535.0
    elif arr.dtype in (np.int32, np.uint32):
        scale = 65535.0 if arr.max(initial=0) > 255 else 255.0
    else:
        scale = 1.0
    f = arr.astype(np.float32) / np.float32(scale)
    if f.ndim == 2:
        f = np.repeat(f[:, :, None], 3, axis=2)
    elif f.shape[2] == 1:
        f = np.repeat(f, 3, axis=2)
    elif f.shape[2] == 2:  # grey + alpha
        grey, alpha = f[:, :, :1], f[:, :, 1:]
        f = np.repeat(grey * alpha + (1.0 - alpha), 3, axis=2)
    elif f.shape[2] == 4:
        rgb, alpha = f[:, :, :3], f[:, :, 3:]
        f = rgb * alpha + (1.0 - alpha) if float(alpha.min()) < 1.0 else rgb
    elif f.shape[2] > 4:
        f = f[:, :, :3]
    return np.ascontiguousarray(np.clip(f, 0.0, 1.0).transpose(2, 0, 1), dtype=np.float32)


def as_image(img: Any) -> np.ndarray:
    """Validate/convert to the canonical float32 (3, H, W) [0, 1] form (accepts grey (H, W),
    (1, H, W), torch tensors, and uint8 HWC arrays from OpenCV/PIL)."""
    if hasattr(img, "detach"):
        img = img.detach().cpu().numpy()
    arr = np.asarray(img)
    if arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
        return to_float_rgb(arr)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"expected an image of shape (C, H, W), got shape {arr.shape}")
    if arr.shape[0] == 1:
        arr = np.repeat(arr, 3, axis=0)
    if arr.shape[0] != 3:
        raise ValueError(f"expected 1 or 3 channels first (C, H, W), got shape {arr.shape}")
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(f"image has zero size: {arr.shape}")
    return np.ascontiguousarray(np.clip(arr, 0.0, 1.0), dtype=np.float32)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """float32 (3, H, W) [0, 1] -> uint8 (H, W, 3) RGB, rounded half-up to the 8-bit grid."""
    arr = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
    return np.ascontiguousarray((arr * 255.0 + 0.5).astype(np.uint8).transpose(1, 2, 0))


def from_uint8(arr: np.ndarray) -> np.ndarray:
    """uint8 (H, W[, C]) -> float32 (3, H, W) [0, 1]."""
    return to_float_rgb(np.asarray(arr))


def on_8bit_grid(img: Any) -> np.ndarray:
    """``img`` (anything :func:`as_image` takes) rounded to the 8-bit grid: float32
    (3, H, W) with values k/255, the way the benchmark protocol stores every image."""
    return from_uint8(to_uint8(as_image(img)))


def quantize(values: np.ndarray) -> np.ndarray:
    """Float values on the 0-255 scale -> uint8, clipped and rounded half up."""
    return np.floor(np.clip(values, 0.0, 255.0) + 0.5).astype(np.uint8)


def to_hwc(img: np.ndarray) -> np.ndarray:
    """(C, H, W) -> contiguous (H, W, C), dtype kept (the layout OpenCV and scikit-image use)."""
    return np.ascontiguousarray(np.transpose(img, (1, 2, 0)))


def to_chw(arr: np.ndarray) -> np.ndarray:
    """(H, W, C) -> contiguous float32 (C, H, W)."""
    return np.ascontiguousarray(np.transpose(arr, (2, 0, 1)), dtype=np.float32)
