"""Low-light enhancement: curve inversion on the HSV value channel, automatic gamma,
LIME (illumination map estimation) and CLAHE.

Tools that change only HSV value scale R, G and B by the same per-pixel factor, so hue
and saturation are kept exactly.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from ...imaging.convert import to_chw, to_hwc
from ..base import Tool, ToolCard
from ._common import register
from .tone import (
    apply_curve,
    apply_value_curve,
    choose_curve,
    gamma_auto,
    lime,
    power_inverse,
    robust_max,
    shift_inverse,
)

__all__ = ["DARK_CHECK", "GammaAuto", "HsvValueInverse", "Lime", "ClaheLowLight", "apply_value_curve", "darkening_score", "darkness_features", "looks_darkened"]

log = logging.getLogger(__name__)


@register
class GammaAuto(Tool):
    card = ToolCard(
        id="gamma_auto",
        task="low_light",
        description=(
            "Gamma correction of the HSV value channel with the exponent chosen so the mean value "
            "becomes ``target`` (0.5); hue and saturation are kept.  Global, so it does not tile."
        ),
        tiling=False,
        cpu_seconds_512=0.01,
        reference="Classic gamma correction; automatic exponent by mean matching",
        arguments={"target": {"type": "number", "minimum": 0.2, "maximum": 0.7, "default": 0.5}},
    )

    def _run(self, img: np.ndarray, target: float = 0.5, **args: Any) -> np.ndarray:
        return gamma_auto(img, float(target))


def darkness_features(img: np.ndarray) -> np.ndarray:
    """What the darkening check reads from the HSV value channel V = max(R, G, B): mean,
    99.9th percentile (after a 3x3 median, so single hot pixels do not count), log of the
    share of black pixels (+ 1e-3), median, and mean / 99.9th percentile."""
    v = img.max(axis=0).astype(np.float32)
    vmax = robust_max(v)
    mean = float(v.mean())
    black = float(np.mean(v <= 0.5 / 255))
    return np.array([mean, vmax, math.log(black + 1e-3), float(np.median(v)), mean / vmax])


#: Median HSV value below which a photo is underexposed: every training photo as taken has a
#: median of at least 0.30.  A dark photo still below it after the recipe's inverse curve (or
#: one the darkening check rejects) was not darkened by a recipe but taken in low light: real
#: night photos with street lights came out of the inverse curve still dark.
UNDEREXPOSED = 0.25

#: The darkening check: a logistic score on :func:`darkness_features`, weights then bias, fit
#: on crops of the training photos with and without the ``dark`` degradation (after the
#: denoising or JPEG removal an agent runs first), with the threshold folded into the bias so
#: that a positive score means "darkened".  The threshold maximises the mean gain of
#: ``hsv_value_inverse`` over darkened and other crops weighted equally.  Refit and measured
#: by ``benchmarks/lowlight_check.py`` (BENCHMARKS.md, "Toolbox").
DARK_CHECK: tuple[float, ...] = (-4.968, -8.424, 0.3531, 2.354, -4.702, 12.79)


def darkening_score(features: np.ndarray, coefficients: Any = DARK_CHECK) -> np.ndarray | float:
    """The check's logistic score of :func:`darkness_features` (one row, or one per row of a
    (n, 5) array); positive means "darkened"."""
    c = np.asarray(coefficients, dtype=np.float64)
    return np.asarray(features, dtype=np.float64) @ c[:-1] + c[-1]


def looks_darkened(img: np.ndarray) -> bool:
    """Whether ``img``'s value histogram looks like one of the darkening recipes rather than a
    photo as taken (see :data:`DARK_CHECK`)."""
    return bool(darkening_score(darkness_features(img)) > 0.0)


@register
class HsvValueInverse(Tool):
    card = ToolCard(
        id="hsv_value_inverse",
        task="low_light",
        description=(
            "Brightens a darkened photo with the curve that undoes how it was darkened.  A logistic "
            "darkening check on the value histogram (mean, 99.9th percentile, black share, median; fit on "
            "training photos) first decides whether the photo was darkened at all: one that does not look "
            "darkened comes back unchanged (or, if it is darker than photos as taken, median value below "
            "``underexposed``, was taken in low light and LIME brightens it) unless ``check`` is false.  "
            "For a darkened photo a small learned selector (``irpilot train tone``) reads the value "
            "histogram, saturation, colour balance and noise and picks the curve with the highest "
            "predicted PSNR gain: the inverses of the benchmark protocol's value shift, gamma and min-max "
            "squeeze on the HSV value channel (hue and saturation kept), LIME, automatic gamma, or an "
            "exposure gain of 1.4-8x in linear light (a camera's under-exposure).  The check and the "
            "protocol's inverses are fitted to the protocol's synthesis; the selector was trained on "
            "training photos darkened by the protocol and by the realistic family's exposure model.  "
            "``selector=false`` gives version 3 (the recipe's inverse the histogram points to).  Global, "
            "so it does not tile."
        ),
        tiling=False,
        cpu_seconds_512=0.02,
        version="4",  # 2: the darkening check; 3: underexposed photos go to LIME; 4: the learned curve selector
        reference="Inverse of the darkening recipes of AgenticIR-style degradation synthesis",
        arguments={"gamma": {"type": "number", "minimum": 0.3, "maximum": 1.0, "default": 0.6,
                             "description": "exponent applied to V when a power-law darkening is detected"},
                   "check": {"type": "boolean", "default": True,
                             "description": "leave images that do not look darkened unchanged (false: brighten any image)"},
                   "underexposed": {"type": "number", "minimum": 0.0, "maximum": 0.5, "default": UNDEREXPOSED,
                                    "description": "median value below which a photo is underexposed (0: never)"},
                   "selector": {"type": "boolean", "default": True,
                                "description": "let the learned selector choose the curve of a darkened photo (false: "
                                               "the recipe's inverse of version 3)"}},
    )

    def _run(self, img: np.ndarray, gamma: float = 0.6, check: bool = True, underexposed: float = UNDEREXPOSED,
             selector: bool = True, **args: Any) -> np.ndarray:
        features = darkness_features(img)
        mean_v = float(features[0])
        if mean_v > 0.6:  # bright: not dark whatever the check says
            log.info("hsv_value_inverse: the image is bright (mean value %.2f), so it is returned unchanged", mean_v)
            return img.copy()
        if check and darkening_score(features) <= 0.0:
            if float(features[3]) < underexposed:
                return self._underexposed(img, float(features[3]))
            log.info("hsv_value_inverse: the image does not look darkened, so it is returned unchanged "
                     "(check=false applies the curve anyway)")
            return img.copy()
        if selector:
            curve, gain = choose_curve(img)
            log.info("hsv_value_inverse: curve %s (predicted gain %+.1f dB)", curve, gain)
            return apply_curve(img, curve)
        out = self._inverse(img, features, float(gamma))
        median_out = float(np.median(out.max(axis=0)))
        if median_out < underexposed:
            return self._underexposed(img, median_out)
        return out

    @staticmethod
    def _underexposed(img: np.ndarray, median: float) -> np.ndarray:
        log.info("hsv_value_inverse: the photo stays darker (median value %.2f) than photos as taken, so it was "
                 "underexposed rather than darkened by a recipe: LIME's illumination correction brightens it", median)
        return lime(img)

    @staticmethod
    def _inverse(img: np.ndarray, features: np.ndarray, gamma: float) -> np.ndarray:
        """The inverse curve of the darkening recipe the value histogram points to."""
        vmax = float(features[1])
        v = img.max(axis=0).astype(np.float32)
        shifted = shift_inverse(v, vmax)
        powered = power_inverse(v, gamma)
        if vmax < 0.62:  # squeezed into [0, vmax]: stretch back
            new_v = v / vmax
        elif vmax < 0.93:  # shifted down (clipped at 0) or gamma-compressed without highlights
            new_v = shifted if float(np.mean(v <= 0.5 / 255)) > 0.005 else 0.5 * (shifted + powered)
        else:  # compressed by a power > 1: undo with the typical inverse exponent
            new_v = powered
        return apply_value_curve(img, np.clip(new_v, 0.0, 1.0))


@register
class Lime(Tool):
    card = ToolCard(
        id="lime",
        task="low_light",
        description=(
            "LIME: illumination map = max(R, G, B), refined with an edge-aware global smoother "
            "(fast global smoother / weighted least squares), gamma-compressed, and divided out."
        ),
        tiling=False,
        cpu_seconds_512=0.01,
        reference="Guo, Li & Ling, LIME: Low-light image enhancement via illumination map estimation, TIP 2017",
        arguments={
            "gamma": {"type": "number", "minimum": 0.3, "maximum": 1.0, "default": 0.6},
            "smoothness": {"type": "number", "minimum": 1.0, "maximum": 10000.0, "default": 400.0},
        },
    )

    def _run(self, img: np.ndarray, gamma: float = 0.6, smoothness: float = 400.0, **args: Any) -> np.ndarray:
        return lime(img, float(gamma), float(smoothness))


@register
class ClaheLowLight(Tool):
    card = ToolCard(
        id="clahe",
        task="low_light",
        description="Contrast-limited adaptive histogram equalisation of L in Lab (brightens and adds local contrast).",
        tiling=False,
        cpu_seconds_512=0.02,
        reference="Zuiderveld, Contrast limited adaptive histogram equalization, Graphics Gems IV 1994",
        arguments={"clip_limit": {"type": "number", "minimum": 0.5, "maximum": 8.0, "default": 3.0}},
    )

    def _run(self, img: np.ndarray, clip_limit: float = 3.0, **args: Any) -> np.ndarray:
        import cv2

        lab = cv2.cvtColor(to_hwc(img), cv2.COLOR_RGB2Lab)
        l8 = np.clip(lab[:, :, 0] * 2.55, 0, 255).astype(np.uint8)
        clahe = cv2.createCLAHE(clipLimit=float(clip_limit), tileGridSize=(8, 8))
        lab[:, :, 0] = clahe.apply(l8).astype(np.float32) / 2.55
        return to_chw(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB))
