"""Rain-streak removal for bright, thin, near-straight streaks added equally to all channels.

Both tools estimate the streak direction (the angle whose line filter keeps the most
high-pass energy), rotate so that streaks are vertical, and estimate the streak layer as
what a horizontal rank filter removes *in every channel* (rain is grey and additive),
kept only where it is elongated along the streaks; the layer is rotated back and
subtracted, so the photo itself is never resampled.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...imaging.color import luma
from ..base import Tool, ToolCard
from ._common import register

__all__ = ["estimate_streak_angle", "DerainDirectionalOpening", "DerainDirectionalMedian"]


def _line(length: int, angle_from_vertical: float) -> np.ndarray:
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2.0
    a = math.radians(angle_from_vertical)
    for t in np.linspace(-c, c, 2 * length):
        k[int(round(c + t * math.cos(a))), int(round(c + t * math.sin(a)))] = 1.0
    return k / k.sum()


def estimate_streak_angle(img: np.ndarray, angles: np.ndarray | None = None) -> float:
    """Streak direction in degrees from vertical (the line ``x = c + t sin a``,
    ``y = c + t cos a``, y pointing down): the line filter that keeps the most energy of
    the positive high-pass residual of the luma."""
    import cv2

    y = luma(img) if img.ndim == 3 else img.astype(np.float32)
    hp = np.maximum(y - cv2.GaussianBlur(y, (0, 0), 2.0), 0.0)
    best = (-1.0, 0.0)
    for a in np.arange(-45.0, 45.1, 2.5) if angles is None else angles:
        e = float(np.mean(cv2.filter2D(hp, -1, _line(21, float(a))) ** 2))
        if e > best[0]:
            best = (e, float(a))
    return best[1]


def _rotate(arr: np.ndarray, angle: float, shape: tuple[int, int] | None = None, inverse: bool = False):
    """Rotate (H, W) or (C, H, W) by ``angle`` degrees about the centre onto a canvas large
    enough to hold it (or back onto ``shape`` when ``inverse``)."""
    import cv2

    chans = arr[None] if arr.ndim == 2 else arr
    h, w = chans.shape[1:]
    if not inverse:
        a = math.radians(angle)
        nh = int(math.ceil(abs(h * math.cos(a)) + abs(w * math.sin(a))))
        nw = int(math.ceil(abs(w * math.cos(a)) + abs(h * math.sin(a))))
        m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
        m[0, 2] += (nw - w) / 2.0
        m[1, 2] += (nh - h) / 2.0
        size = (nw, nh)
    else:
        oh, ow = shape
        m = cv2.getRotationMatrix2D((ow / 2.0, oh / 2.0), angle, 1.0)
        m[0, 2] += (w - ow) / 2.0
        m[1, 2] += (h - oh) / 2.0
        m = cv2.invertAffineTransform(m)
        size = (ow, oh)
    out = np.stack([
        cv2.warpAffine(c.astype(np.float32), m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        for c in chans
    ])
    return out[0] if arr.ndim == 2 else out


class _Derain(Tool):
    _min_length = 11  # shortest streak piece kept (pixels along the streak)
    _gain = 1.5  # the rank-filter residual underestimates the layer (blurred streak flanks)
    def _filter(self, chans: np.ndarray, width: int) -> np.ndarray:
        raise NotImplementedError

    def _run(self, img: np.ndarray, strength: float = 1.0, width: int = 9, angle: float | None = None,
             min_length: int | None = None, **args: Any) -> np.ndarray:
        import cv2

        _, h, w = img.shape
        a = estimate_streak_angle(img) if angle is None else float(angle)
        # streak direction (x = c + t sin a, y = c + t cos a) -> vertical: rotate by -a (OpenCV: ccw positive)
        rot = _rotate(img, -a)
        base = self._filter(rot, int(width))
        layer = np.min(rot - base, axis=0)  # grey: present in every channel
        layer = np.maximum(layer, 0.0).astype(np.float32)
        # keep elongated (streak-like) parts: vertical opening with a line
        se = cv2.getStructuringElement(cv2.MORPH_RECT, (1, int(min_length or self._min_length)))
        layer = cv2.morphologyEx(layer, cv2.MORPH_OPEN, se)
        layer = _rotate(layer, -a, shape=(h, w), inverse=True)
        return img - float(strength) * self._gain * np.maximum(layer, 0.0)[None]


_ARGS = {
    "strength": {"type": "number", "minimum": 0.0, "maximum": 2.0, "default": 1.0},
    "width": {"type": "integer", "minimum": 3, "maximum": 31, "default": 9,
              "description": "filter length across the streaks (pixels); wider removes thicker streaks"},
    "angle": {"type": "number", "minimum": -90, "maximum": 90,
              "description": "streak angle from vertical in degrees (estimated when omitted)"},
    "min_length": {"type": "integer", "minimum": 3, "maximum": 61,
                   "description": "shortest streak piece removed (pixels along the streak)"},
}


@register
class DerainDirectionalOpening(_Derain):
    card = ToolCard(
        id="derain_directional_opening",
        task="derain",
        description=(
            "Rain removal by directional morphology: rotate so streaks are vertical, estimate the "
            "grey streak layer as the common residual of a horizontal grey opening, keep its "
            "elongated parts, subtract."
        ),
        tiling=True,
        tile_overlap=32,
        cpu_seconds_512=0.23,
        reference="Directional morphological filtering (Serra, Image analysis and mathematical morphology, 1982)",
        arguments=_ARGS,
    )

    def _filter(self, chans: np.ndarray, width: int) -> np.ndarray:
        import cv2

        se = cv2.getStructuringElement(cv2.MORPH_RECT, (width, 1))
        return np.stack([cv2.morphologyEx(c, cv2.MORPH_OPEN, se) for c in chans])


@register
class DerainDirectionalMedian(_Derain):
    _min_length = 7
    _gain = 2.0
    card = ToolCard(
        id="derain_directional_median",
        task="derain",
        description=(
            "Rain removal by a 1-D median across the streak direction: the grey residual of the "
            "median common to all channels, kept where elongated along the streaks, is subtracted."
        ),
        tiling=True,
        tile_overlap=32,
        cpu_seconds_512=0.32,
        reference="Directional median filtering for line-artefact removal (e.g. Tukey 1977 running medians)",
        arguments=_ARGS,
    )

    def _filter(self, chans: np.ndarray, width: int) -> np.ndarray:
        from scipy.ndimage import median_filter

        return np.stack([median_filter(c, size=(1, width), mode="reflect") for c in chans])
