"""Helpers shared by the realistic degradation family (``real_*``): the sRGB transfer
curve, linear-light filtering, sub-pixel splatting and the label bookkeeping.

The realistic models work where the physics happens: blur and haze in linear light, sensor
noise before the tone curve.  Every function here is deterministic; randomness stays in the
degradations' ``sample`` methods or in seeds stored in their params.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..imaging.color import linear_to_srgb, srgb_to_linear
from .base import level_of

__all__ = [
    "finish",
    "log_uniform",
    "splat",
    "filter_image",
    "to_unit",
    "from_unit",
    "in_space",
    "out_space",
    "scene_depth",
]


def to_unit(arr: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) -> float64 in [0, 1]."""
    return arr.astype(np.float64) / 255.0


def from_unit(x: np.ndarray) -> np.ndarray:
    """float values in [0, 1] -> uint8, clipped and rounded half up (the 8-bit grid)."""
    return np.floor(np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def finish(params: dict[str, Any], severity: float, level: str | None) -> dict[str, Any]:
    """Add the perception label (``severity`` in [0, 1], ``level``) to sampled params."""
    params["severity"] = round(float(np.clip(severity, 0.0, 1.0)), 4)
    params["level"] = level if level is not None else level_of(severity)
    return params


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A value whose logarithm is uniform in [log lo, log hi)."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def splat(ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int], weights: np.ndarray | None = None) -> np.ndarray:
    """Bilinear splatting of sub-pixel points onto a (H, W) canvas (each point spreads its
    weight over its four neighbours); points outside the canvas are dropped."""
    h, w = shape
    wts = np.ones_like(ys, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    fy, fx = ys - y0, xs - x0
    out = np.zeros((h, w), dtype=np.float64)
    for dy, dx, wt in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        np.add.at(out, (yy[ok], xx[ok]), (wt * wts)[ok])
    return out


def filter_image(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve a float (H, W[, C]) image with a 2-D PSF (true convolution: the kernel is
    flipped for OpenCV's correlation), borders reflected."""
    import cv2

    k = np.ascontiguousarray(kernel[::-1, ::-1], dtype=np.float64)
    return cv2.filter2D(np.ascontiguousarray(img, dtype=np.float64), -1, k, borderType=cv2.BORDER_REFLECT_101)


def in_space(x: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """Values in [0, 1] -> the working space of ``params["space"]`` (``linear`` or ``srgb``)."""
    return srgb_to_linear(x) if params.get("space", "linear") == "linear" else x


def out_space(x: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
    """Inverse of :func:`in_space`."""
    return linear_to_srgb(x) if params.get("space", "linear") == "linear" else np.clip(x, 0.0, 1.0)


def scene_depth(arr: np.ndarray, horizon: float, tilt: float, sky_weight: float) -> np.ndarray:
    """A relative depth map in [0, 1] (1 = farthest) computed from the image alone, for
    depth-varying haze and defocus.

    Ground-plane perspective: below a horizon line (``horizon`` = its height as a fraction
    of the frame from the top, tilted by ``tilt`` x the frame height across the width), the
    depth of a ground point seen at row ``y`` goes as ``1 / (y - y_horizon)`` (softened
    near the horizon: ``n / (y - y_horizon + n)``), so
    it grows fast towards the horizon; everything above the horizon is far.  Bright,
    colourless regions (sky, distant haze-prone background) are pushed farther by
    ``sky_weight``.  The map is smoothed at 1/4 size so that edges stay soft, as a real
    depth map seen through haze would.  ``arr`` is uint8 (H, W, 3) RGB.
    """
    import cv2

    h, w = arr.shape[:2]
    sh, sw = max(h // 4, 1), max(w // 4, 1)
    small = cv2.resize(arr, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0
    yy = (np.arange(sh, dtype=np.float64)[:, None] + 0.5) / sh
    xx = (np.arange(sw, dtype=np.float64)[None, :] + 0.5) / sw
    y_h = horizon + tilt * (xx - 0.5)
    below = np.maximum(yy - y_h, 1e-6)
    near = 0.06  # the ground just below the frame is ~1/16 of the farthest depth
    ground = np.where(yy > y_h, near / (below + near), 1.0)
    mx, mn = small.max(axis=2), small.min(axis=2)
    sky = small.mean(axis=2) * (1.0 - (mx - mn) / (mx + 1e-6))
    sigma = max(0.04 * min(sh, sw), 0.5)
    sky = cv2.GaussianBlur(sky, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)
    rel = (1.0 - sky_weight) * ground + sky_weight * sky
    rel = cv2.GaussianBlur(rel, (0, 0), sigmaX=2.0 * sigma, borderType=cv2.BORDER_REFLECT_101)
    lo, hi = float(rel.min()), float(rel.max())
    rel = (rel - lo) / (hi - lo) if hi - lo > 1e-9 else np.full_like(rel, 0.5)
    return np.clip(cv2.resize(rel, (w, h), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
