"""Cheap no-reference signal statistics: noise level, sharpness, JPEG blocking, haze, light.

These are not learned quality models but fast, interpretable measurements (milliseconds
on a photo) that perception, search and reward logging can use.  Each says which way is
better where that is meaningful; ``brightness`` and ``colorfulness`` are neutral
(``higher_is_better = None``): too much is as bad as too little.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..imaging.blocks import boundary_step_ratio
from ..imaging.color import luma
from ..imaging.filters import dark_channel
from .base import METRICS, Metric

__all__ = [
    "NoiseSigma",
    "Sharpness",
    "Blockiness",
    "HazeDCP",
    "Brightness",
    "Contrast",
    "Colorfulness",
    "noise_sigma",
]

def noise_sigma(img: np.ndarray) -> float:
    """Gaussian noise standard deviation on the 0-255 scale, mean over RGB: Immerkaer's
    edge-masked estimate (:func:`irpilot.noise.immerkaer_sigma`)."""
    from ..noise import immerkaer_sigma

    return immerkaer_sigma(img)


class _Statistic(Metric):
    abstract = True
    kind = "statistic"
    needs_reference = False


@METRICS.register()
class NoiseSigma(_Statistic):
    name = "noise_sigma"
    higher_is_better = False
    range = (0.0, 60.0)
    unit = "0-255 sigma"
    description = "estimated Gaussian noise sigma on the 0-255 scale (Immerkaer, edge-masked)"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        return noise_sigma(img)


@METRICS.register()
class Sharpness(_Statistic):
    name = "sharpness"
    higher_is_better = True
    range = (0.0, 0.05)
    description = "variance of the Laplacian of luma in [0, 1] (blur lowers it; noise and over-sharpening raise it)"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        if min(img.shape[-2:]) < 3:
            return 0.0
        return float(np.var(ndimage.laplace(luma(img, np.float64), mode="reflect")[1:-1, 1:-1]))


@METRICS.register()
class Blockiness(_Statistic):
    name = "blockiness"
    higher_is_better = False
    range = (1.0, 3.0)
    description = "8x8 JPEG blocking: boundary steps / other steps of luma (about 1 when absent)"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        return boundary_step_ratio(img)


@METRICS.register()
class HazeDCP(_Statistic):
    name = "haze_dcp"
    higher_is_better = False
    range = (0.0, 1.0)
    description = "mean dark channel (15x15 patches): haze and low contrast raise it"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        return float(dark_channel(img, fit=True).mean())


@METRICS.register()
class Brightness(_Statistic):
    name = "brightness"
    higher_is_better = None
    range = (0.0, 1.0)
    description = "mean BT.601 luma (neutral: low for dark photos, high for over-exposed ones)"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        return float(luma(img, np.float64).mean())


@METRICS.register()
class Contrast(_Statistic):
    name = "contrast"
    higher_is_better = True
    range = (0.0, 0.5)
    description = "RMS contrast: standard deviation of luma (haze, darkening and blur lower it)"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        return float(luma(img, np.float64).std())


@METRICS.register()
class Colorfulness(_Statistic):
    name = "colorfulness"
    higher_is_better = None
    range = (0.0, 1.0)
    description = "Hasler-Suesstrunk colourfulness on [0, 1] RGB (haze and darkening lower it)"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        r, g, b = img.astype(np.float64)
        rg, yb = r - g, 0.5 * (r + g) - b
        return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
