"""Dehazing by the atmospheric scattering model I = J t + A (1 - t): dark channel prior and
colour attenuation prior.  (Plain CLAHE was tried as a baseline and lowered PSNR on
synthetic haze, so it is not offered for this task.)"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...imaging.filters import dark_channel
from ..base import Tool, ToolCard
from ._common import register

__all__ = ["DarkChannelPrior", "ColorAttenuationPrior", "estimate_airlight", "sky_mask"]


#: An airlight estimate this bright in every channel (254/255) is clipped: its colour is lost.
CLIPPED = 254.0 / 255.0


def estimate_airlight(img: np.ndarray, dark: np.ndarray, top: float = 0.001, bright_limit: float = 1.0) -> np.ndarray:
    """Airlight (3,) as the mean colour of the brightest pixels among the ``top`` fraction
    of the haziest (largest dark channel) pixels (He et al.).

    When those pixels are clipped in every channel (:data:`CLIPPED`: an overexposed sky or
    white clouds, brighter than the haze), their colour says nothing about the haze's; taking
    them as a white airlight makes the recovery amplify a tinted haze instead of removing it
    (a canyon photo under an overcast sky came out bluer and darker than its input).  With
    ``bright_limit`` < 1 the airlight then keeps their brightness but takes its colour from
    the haziest pixels whose brightest channel is below ``bright_limit`` (when at least ten
    times ``top`` of the image is).  The benchmark protocol's grey airlight (at most 1.0,
    mixed with the scene) is not clipped in every channel, so its estimate is unchanged.
    """
    flat = dark.ravel()
    n = max(1, int(flat.size * top))
    airlight = _brightest_mean(img, flat, n)
    if bright_limit < 1.0 and float(airlight.min()) >= CLIPPED:
        below = img.max(axis=0).ravel() < bright_limit
        if int(below.sum()) >= 10 * n:
            tint = _brightest_mean(img, np.where(below, flat, -1.0), n)
            airlight = float(airlight.max()) * tint / max(float(tint.max()), 1e-3)
    return np.clip(airlight, 0.05, 1.0).astype(np.float32)


def _brightest_mean(img: np.ndarray, flat_dark: np.ndarray, n: int) -> np.ndarray:
    """Mean colour of the brighter half of the ``n`` pixels with the largest ``flat_dark``."""
    idx = np.argpartition(flat_dark, -n)[-n:]
    pix = img.reshape(3, -1)[:, idx]
    bright = pix.sum(axis=0)
    return pix[:, bright >= np.quantile(bright, 0.5)].mean(axis=1)


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


def _recover(img: np.ndarray, t: np.ndarray, airlight: np.ndarray, t_min: float, bounded: bool = False) -> np.ndarray:
    a = airlight[:, None, None]
    t = np.maximum(t, t_min)
    if bounded:
        t = np.maximum(t, radiance_bound(img, airlight))
    return (img - a) / t[None] + a


def radiance_bound(img: np.ndarray, airlight: np.ndarray) -> np.ndarray:
    """The smallest transmission (H, W) that keeps the recovered radiance at or below 1 in every
    channel (the upper half of Meng et al.'s boundary constraint): a pixel brighter than the
    airlight in some channel (a sky or a cloud brighter than the haze) is then left nearly as
    it is instead of being pushed past white and away from its hue."""
    a = airlight[:, None, None].astype(np.float32)
    over = np.clip(img - a, 0.0, None) / np.maximum(1.0 - a, 1e-3)
    return np.clip(over.max(axis=0), 0.0, 1.0)


def sky_mask(img: np.ndarray, airlight: Any, near: float = 0.15, flat: float = 0.005, side: int = 512) -> np.ndarray:
    """A soft mask (H, W) in [0, 1] of the sky of a hazy photo: the flat pixels within ``near`` of
    the airlight (their largest colour difference) that connect to the photo's top border, found on
    a copy of at most ``side`` px (gradient of the grey, smoothed by a Gaussian of 1.5 px, under
    ``flat`` per px), then brought back to full size along the photo's edges by guided filters.
    Such a sky is the haze itself: inverting the scattering model there amplifies its 8-bit banding,
    JPEG noise and natural brightness gradient into blotches and dark bands, so a dehazing tool
    keeps it as it is.  Hazy objects under the haze are not flat at that size and stay outside
    (the towers of a city skyline); a flat hazy wall at the top of a photo is inside."""
    import cv2
    from scipy import ndimage

    from ...imaging.resize import shrink

    _, h, w = img.shape
    small = shrink(np.asarray(img, dtype=np.float32), side)
    grey = small.mean(axis=0)
    smooth = cv2.GaussianBlur(grey, (0, 0), 1.5)
    grad = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)) / 8.0
    d = np.abs(small - np.asarray(airlight, dtype=np.float32)[:, None, None]).max(axis=0)
    labels, _ = ndimage.label((grad < flat) & (d < near), structure=np.ones((3, 3)))
    top = np.unique(labels[0][labels[0] > 0])
    if top.size == 0:
        return np.zeros((h, w), dtype=np.float32)
    m = _guided(grey, np.isin(labels, top).astype(np.float32), 4, 1e-3)
    if m.shape != (h, w):
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
    radius = max(4, round(16 * max(h, w) / 1024))
    return np.clip(_guided(img.mean(axis=0).astype(np.float32), m.astype(np.float32), radius, 1e-3), 0.0, 1.0)


@register
class DarkChannelPrior(Tool):
    card = ToolCard(
        id="dark_channel_prior",
        task="dehaze",
        description=(
            "Dark channel prior dehazing: airlight from the haziest pixels (its colour from the "
            "haziest unclipped ones when those are an overexposed sky), transmission from the "
            "dark channel refined with a guided filter, lower-bounded and kept high enough that "
            "no pixel is pushed past white, then scene radiance recovered. "
            "Global (airlight) so it does not tile."
        ),
        tiling=False,
        cpu_seconds_512=0.02,
        reference="He, Sun & Tang, Single image haze removal using dark channel prior, CVPR 2009 / TPAMI 2011",
        version="3",  # 2: omega 0.9 -> 0.7; 3: airlight colour under a clipped sky, radiance bound
        arguments={
            # 0.7 rather than He et al.'s 0.95: on training photos with the protocol's haze the
            # larger values over-darken bright scenes (BENCHMARKS.md, "Learned policy", "Current
            # numbers", and "Toolbox on training photos")
            "omega": {"type": "number", "minimum": 0.5, "maximum": 1.0, "default": 0.7,
                      "description": "fraction of haze removed"},
            "t_min": {"type": "number", "minimum": 0.05, "maximum": 0.5, "default": 0.15},
            "patch": {"type": "integer", "minimum": 3, "maximum": 31, "default": 15},
            # a clipped sky and the haze below it: canyon.png of the real hazy photos
            # (docs/real_photos.md); the protocol's numbers are unchanged (BENCHMARKS.md, "Real photos")
            "bright_limit": {"type": "number", "minimum": 0.5, "maximum": 1.0, "default": 0.95,
                             "description": "under a clipped sky, the airlight's colour comes from "
                                            "pixels darker than this (1: He et al.'s estimate)"},
            "bounded": {"type": "boolean", "default": True,
                        "description": "raise the transmission so that no pixel goes past white"},
        },
    )

    def _run(self, img: np.ndarray, omega: float = 0.7, t_min: float = 0.15, patch: int = 15,
             bright_limit: float = 0.95, bounded: bool = True, **args: Any) -> np.ndarray:
        _, h, w = img.shape
        scale = max(h, w) / 512.0
        p = max(3, int(round(patch * max(scale, 0.25))) | 1)
        a = estimate_airlight(img, dark_channel(img, p), bright_limit=float(bright_limit))
        norm = img / a[:, None, None]
        t = 1.0 - float(omega) * dark_channel(norm, p)
        gray = img.mean(axis=0).astype(np.float32)
        t = _guided(gray, t.astype(np.float32), max(4, int(4 * p)), 1e-3)
        return _recover(img, t, a, float(t_min), bounded=bool(bounded))


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
