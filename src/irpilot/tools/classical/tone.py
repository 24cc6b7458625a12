"""Choosing the brightening curve of a darkened photo: candidate curves and a learned selector.

A photo may have been darkened in many ways (the protocol's value shift, gamma or min-max squeeze;
a camera's short exposure with a colour cast, noise and a tone curve), and each way has its own
inverse: applying the wrong one costs many dB.  :data:`CURVES` holds the candidates, from the
protocol's inverses to exposure gains in linear light; a small network reads :func:`tone_features`
(the value histogram, its quantiles, saturation, colour balance and noise) and predicts each
candidate's PSNR gain, and :func:`choose_curve` names the best one.  The network is trained by
``irpilot train tone`` (:mod:`irpilot.train.tone`) on crops of the training photos darkened both
ways and on crops not darkened.

*Whether* a photo was darkened at all is not the selector's to decide: trained to, it learnt the
training photos rather than what darkening looks like, and on held-out photos it brightened
photos as taken that perception reads dark (BENCHMARKS.md, "Low light: a learned curve
selector").  ``hsv_value_inverse`` asks its darkening check first and the selector only which
curve.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from ...imaging.color import linear_to_srgb, srgb_to_linear

__all__ = ["CURVES", "TONE_ASSET", "ToneSelector", "apply_curve", "apply_value_curve", "choose_curve", "exposure_gain", "gamma_auto",
           "lime", "power_inverse", "robust_max", "shift_inverse", "tone_features"]

#: irpilot's own weights of the selector (five small networks, about 14,000 numbers)
TONE_ASSET = "assets/tone_select.safetensors"

#: exposure gains (in linear light) among the candidates
EXPOSURE_GAINS = (1.4, 2.0, 2.8, 4.0, 5.6, 8.0)


def exposure_gain(img: np.ndarray, gain: float) -> np.ndarray:
    """Multiply the exposure by ``gain`` in linear light (sRGB decoded, scaled, clipped, encoded),
    as a longer exposure of the same scene would have recorded it."""
    return linear_to_srgb(srgb_to_linear(img, np.float32) * np.float32(gain), np.float32)


def apply_value_curve(img: np.ndarray, new_v: np.ndarray) -> np.ndarray:
    """Replace HSV value max(R, G, B) by ``new_v`` keeping hue and saturation."""
    v = img.max(axis=0)
    gain = new_v / np.maximum(v, 1e-4)
    out = img * gain[None]
    # pixels that were pure black get the new value as grey
    black = v < 1e-4
    if np.any(black):
        out[:, black] = new_v[black][None]
    return out


def _gamma_for_mean(v: np.ndarray, target: float) -> float:
    """Exponent g with mean(v ** g) ~= target (bisection on a subsample)."""
    sample = v.ravel()[:: max(1, v.size // 65536)]
    sample = np.clip(sample, 1e-4, 1.0)
    lo, hi = 0.05, 3.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if np.mean(sample**mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def gamma_auto(img: np.ndarray, target: float = 0.5) -> np.ndarray:
    """Gamma on the HSV value channel with the exponent that brings its mean to ``target``
    (the ``gamma_auto`` tool); a photo already that bright is returned as it is."""
    v = img.max(axis=0)
    if float(v.mean()) >= target:
        return img.copy()
    g = _gamma_for_mean(v, float(target))
    return apply_value_curve(img, np.clip(v, 0.0, 1.0) ** g)


def lime(img: np.ndarray, gamma: float = 0.6, smoothness: float = 400.0) -> np.ndarray:
    """LIME (the ``lime`` tool): the illumination map max(R, G, B), refined by an edge-aware
    global smoother, gamma-compressed and divided out."""
    import cv2

    t0 = img.max(axis=0).astype(np.float32)
    guide = np.clip(t0 * 255, 0, 255).astype(np.uint8)
    try:
        t = cv2.ximgproc.fastGlobalSmootherFilter(guide, t0, float(smoothness), 20.0)
    except AttributeError:
        t = cv2.bilateralFilter(t0, 9, 0.1, 8)
    t = np.clip(t, 0.03, 1.0) ** float(gamma)
    return img / t[None]


def robust_max(v: np.ndarray) -> float:
    """The 99.9th percentile of the value channel ``v`` after a 3x3 median (single hot pixels do
    not count), at least 1e-3."""
    import cv2

    return max(float(np.quantile(cv2.medianBlur(v.astype(np.float32), 3), 0.999)), 1e-3)


def shift_inverse(v: np.ndarray, vmax: float) -> np.ndarray:
    """Undo a value shift down by ``1 - vmax`` (pixels clipped at black stay black)."""
    return np.where(v > 0.5 / 255, v + (1.0 - vmax), v)


def power_inverse(v: np.ndarray, gamma: float) -> np.ndarray:
    """Undo a power-law compression: ``v ** gamma``."""
    return np.clip(v, 0.0, 1.0) ** float(gamma)


def _value_curve(img: np.ndarray, new_v: Callable[[np.ndarray, float], np.ndarray]) -> np.ndarray:
    v = img.max(axis=0).astype(np.float32)
    return apply_value_curve(img, np.clip(new_v(v, robust_max(v)), 0.0, 1.0))


#: The candidate curves, by name.  ``keep`` first: the photo as it is.  ``shift``, ``stretch`` and
#: ``power_*`` invert the protocol's value shift, min-max squeeze and gamma on the HSV value channel
#: (hue and saturation kept); ``mix`` is the mean of the shift and power-0.6 inverses (the protocol
#: tool's answer when its histogram is ambiguous); ``lime`` and ``gamma_auto`` are the classical
#: enhancers; ``exposure_*`` multiply the exposure in linear light (a camera's under-exposure).
CURVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "keep": lambda img: img.copy(),
    "shift": lambda img: _value_curve(img, shift_inverse),
    "stretch": lambda img: _value_curve(img, lambda v, m: v / m),
    **{f"power_{g:g}": (lambda img, g=g: _value_curve(img, lambda v, m: power_inverse(v, g))) for g in (0.5, 0.6, 0.7)},
    "mix": lambda img: _value_curve(img, lambda v, m: 0.5 * (shift_inverse(v, m) + power_inverse(v, 0.6))),
    "lime": lime,
    "gamma_auto": gamma_auto,
    **{f"exposure_{g:g}": (lambda img, g=g: exposure_gain(img, g)) for g in EXPOSURE_GAINS},
}


def apply_curve(img: np.ndarray, name: str) -> np.ndarray:
    """``img`` through the candidate curve ``name`` (one of :data:`CURVES`)."""
    try:
        curve = CURVES[name]
    except KeyError:
        raise ValueError(f"unknown tone curve {name!r}; one of {sorted(CURVES)}") from None
    return np.clip(curve(img), 0.0, 1.0).astype(np.float32)


#: quantiles of the value channel among the features
_QUANTILES = (0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0)


def tone_features(img: np.ndarray) -> np.ndarray:
    """What the selector reads (float32, :data:`N_FEATURES`): quantiles of HSV value V = max(R, G, B),
    its 16-bin histogram, the log shares of black and white pixels, the share of unused 8-bit
    levels between V's 1st and 99th percentiles (a curve applied to an 8-bit photo leaves gaps),
    mean and median saturation, the log ratios of the red and blue means to the green, the log
    noise level (median absolute Laplacian of the luma) and the mean of V over its robust maximum."""
    import cv2

    x = np.clip(img, 0.0, 1.0).astype(np.float32)
    v = x.max(axis=0)
    q = np.quantile(v, _QUANTILES)
    hist = np.histogram(v, bins=16, range=(0.0, 1.0))[0] / v.size
    black = math.log(float(np.mean(v <= 0.5 / 255)) + 1e-3)
    white = math.log(float(np.mean(v >= 254.5 / 255)) + 1e-3)
    levels = np.bincount(np.round(v * 255).astype(np.int64).ravel(), minlength=256)
    lo, hi = int(round(q[2] * 255)), int(round(q[10] * 255))
    gaps = float(np.mean(levels[lo:hi + 1] == 0)) if hi > lo else 0.0
    s = (v - x.min(axis=0)) / np.maximum(v, 1e-3)
    means = x.reshape(3, -1).mean(axis=1) + 1e-3
    y = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]).astype(np.float32)
    lap = cv2.Laplacian(y, cv2.CV_32F, ksize=1)
    noise = math.log(float(np.median(np.abs(lap))) + 1e-4)
    ratio = float(v.mean()) / robust_max(v)
    rest = [black, white, gaps, float(s.mean()), float(np.median(s)), math.log(means[0] / means[1]),
            math.log(means[2] / means[1]), noise, ratio]
    return np.concatenate([q, hist, rest]).astype(np.float32)


N_FEATURES = len(_QUANTILES) + 16 + 9


class ToneSelector:
    """The learned selector: standardised :func:`tone_features` -> two hidden layers (ReLU) ->
    one predicted PSNR gain (dB) per name of ``curves``; an ensemble of such networks (weights
    stacked on a first axis) predicts the mean of its members."""

    def __init__(self, tensors: dict[str, np.ndarray], curves: list[str]) -> None:
        self.t = {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()}
        for k in ("w1", "b1", "w2", "b2", "w3", "b3"):
            if self.t[k].ndim == (2 if k.startswith("w") else 1):
                self.t[k] = self.t[k][None]
        self.curves = curves

    @classmethod
    def load(cls, path: Any = None) -> ToneSelector:
        tensors, meta = _load(path)
        return cls(tensors, meta["curves"].split(","))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predicted gain per curve, (n, len(curves)) for (n, N_FEATURES) features (or one row)."""
        t = self.t
        h = (np.atleast_2d(features).astype(np.float32) - t["mean"]) / t["std"]
        h = np.broadcast_to(h, (t["w1"].shape[0], *h.shape))
        for i in range(1, 3):
            h = np.maximum(np.einsum("kno,kho->knh", h, t[f"w{i}"]) + t[f"b{i}"][:, None], 0.0)
        return (np.einsum("kno,kho->knh", h, t["w3"]) + t["b3"][:, None]).mean(axis=0)

    def choose(self, features: np.ndarray) -> tuple[str, float]:
        """The curve other than ``keep`` with the highest predicted gain, and that gain."""
        gains = self.predict(features)[0].copy()
        if "keep" in self.curves:
            gains[self.curves.index("keep")] = -np.inf
        best = int(np.argmax(gains))
        return self.curves[best], float(gains[best])


def _load(path: Any) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    from ..networks._common import load_own_safetensors

    tensors, meta = load_own_safetensors(TONE_ASSET, path)
    return {k: v.numpy() for k, v in tensors.items()}, meta


@lru_cache(maxsize=1)
def _shipped() -> ToneSelector:
    return ToneSelector.load()


def choose_curve(img: np.ndarray, selector: ToneSelector | None = None) -> tuple[str, float]:
    """The curve the selector (default: irpilot's shipped one) picks for ``img``, taken to be
    darkened, with its predicted gain."""
    return (selector or _shipped()).choose(tone_features(img))
