"""Dehazing by the atmospheric scattering model I = J t + A (1 - t): dark channel prior and
colour attenuation prior.  (Plain CLAHE was tried as a baseline and lowered PSNR on
synthetic haze, so it is not offered for this task.)"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...imaging.filters import dark_channel
from ..base import Tool, ToolCard
from ._common import register

__all__ = ["DarkChannelPrior", "ColorAttenuationPrior", "estimate_airlight"]


def estimate_airlight(img: np.ndarray, dark: np.ndarray, top: float = 0.001) -> np.ndarray:
    """Airlight (3,) as the mean colour of the brightest pixels among the ``top`` fraction
    of the haziest (largest dark channel) pixels (He et al.)."""
    flat = dark.ravel()
    n = max(1, int(flat.size * top))
    idx = np.argpartition(flat, -n)[-n:]
    pix = img.reshape(3, -1)[:, idx]
    bright = pix.sum(axis=0)
    keep = bright >= np.quantile(bright, 0.5)
    return np.clip(pix[:, keep].mean(axis=1), 0.05, 1.0).astype(np.float32)


def _guided(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    import cv2

    try:
        return cv2.ximgproc.guidedFilter(guide.astype(np.float32), src.astype(np.float32), radius, eps)
    except AttributeError:  # plain OpenCV without contrib: box-filter implementation
        k = (2 * radius + 1, 2 * radius + 1)
        mean = lambda a: cv2.boxFilter(a, -1, k)  # noqa: E731
        mi, mp = mean(guide), mean(src)
        cov = mean(guide * src) - mi * mp
        var = mean(guide * guide) - mi * mi
        a = cov / (var + eps)
        b = mp - a * mi
        return mean(a) * guide + mean(b)


def _recover(img: np.ndarray, t: np.ndarray, airlight: np.ndarray, t_min: float) -> np.ndarray:
    t = np.maximum(t, t_min)[None]
    a = airlight[:, None, None]
    return (img - a) / t + a


@register
class DarkChannelPrior(Tool):
    card = ToolCard(
        id="dark_channel_prior",
        task="dehaze",
        description=(
            "Dark channel prior dehazing: airlight from the haziest pixels, transmission from the "
            "dark channel refined with a guided filter, lower-bounded, then scene radiance recovered. "
            "Global (airlight) so it does not tile."
        ),
        tiling=False,
        cpu_seconds_512=0.02,
        reference="He, Sun & Tang, Single image haze removal using dark channel prior, CVPR 2009 / TPAMI 2011",
        version="2",  # omega 0.9 -> 0.7
        arguments={
            # 0.7 rather than He et al.'s 0.95: on training photos with the protocol's haze the
            # larger values over-darken bright scenes (BENCHMARKS.md, "Learned policy", "Current
            # numbers", and "Toolbox on training photos")
            "omega": {"type": "number", "minimum": 0.5, "maximum": 1.0, "default": 0.7,
                      "description": "fraction of haze removed"},
            "t_min": {"type": "number", "minimum": 0.05, "maximum": 0.5, "default": 0.15},
            "patch": {"type": "integer", "minimum": 3, "maximum": 31, "default": 15},
        },
    )

    def _run(self, img: np.ndarray, omega: float = 0.7, t_min: float = 0.15, patch: int = 15,
             **args: Any) -> np.ndarray:
        _, h, w = img.shape
        scale = max(h, w) / 512.0
        p = max(3, int(round(patch * max(scale, 0.25))) | 1)
        a = estimate_airlight(img, dark_channel(img, p))
        norm = img / a[:, None, None]
        t = 1.0 - float(omega) * dark_channel(norm, p)
        gray = img.mean(axis=0).astype(np.float32)
        t = _guided(gray, t.astype(np.float32), max(4, int(4 * p)), 1e-3)
        return _recover(img, t, a, float(t_min))


@register
class ColorAttenuationPrior(Tool):
    card = ToolCard(
        id="color_attenuation_prior",
        task="dehaze",
        description=(
            "Colour attenuation prior dehazing: scene depth as a linear function of HSV value and "
            "saturation (published coefficients), min-filtered and guided-filter refined; "
            "airlight from the farthest pixels.  Global, so it does not tile."
        ),
        tiling=False,
        cpu_seconds_512=0.02,
        reference="Zhu, Mai & Shao, A fast single image haze removal algorithm using color attenuation prior, TIP 2015",
        arguments={
            "beta": {"type": "number", "minimum": 0.3, "maximum": 3.0, "default": 1.0,
                     "description": "scattering coefficient"},
            "t_min": {"type": "number", "minimum": 0.05, "maximum": 0.5, "default": 0.2},
        },
    )

    def _run(self, img: np.ndarray, beta: float = 1.0, t_min: float = 0.2, **args: Any) -> np.ndarray:
        import cv2

        v = img.max(axis=0)
        s = (v - img.min(axis=0)) / np.maximum(v, 1e-4)
        depth = 0.121779 + 0.959710 * v - 0.780245 * s
        _, h, w = img.shape
        r = max(3, int(round(15 * max(h, w) / 512.0)) | 1)
        depth = cv2.erode(depth.astype(np.float32), cv2.getStructuringElement(cv2.MORPH_RECT, (r, r)))
        depth = _guided(img.mean(axis=0).astype(np.float32), depth, max(4, 4 * r), 1e-3)
        flat = depth.ravel()
        n = max(1, flat.size // 1000)
        idx = np.argpartition(flat, -n)[-n:]
        pix = img.reshape(3, -1)[:, idx]
        a = pix[:, np.argmax(pix.sum(axis=0))]
        a = np.clip(a, 0.05, 1.0).astype(np.float32)
        t = np.exp(-float(beta) * np.clip(depth, 0.0, None))
        return _recover(img, t, a, float(t_min))
