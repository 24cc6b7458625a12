"""Snow removal: small bright flakes and a whitish veil.

Flakes are bright, small and present in every channel: the per-pixel minimum over channels
of what a grey opening removes marks them; marked pixels are replaced by a filtered
background.  The veil (``img (1 - v) + c v``, a uniform lightening) is estimated from the
darkest pixels and inverted linearly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import Tool, ToolCard
from ._common import register

__all__ = ["DesnowMorphology", "DesnowMedian", "remove_veil"]

_VEIL_GREY = 0.85


def remove_veil(img: np.ndarray, grey: float = _VEIL_GREY, max_veil: float = 0.4) -> np.ndarray:
    """Invert a uniform veil ``img (1 - v) + grey v``: v from the 0.1 % darkest channel minimum
    (dark scene points are lifted to about ``grey v``)."""
    low = float(np.quantile(img.min(axis=0), 0.001))
    v = float(np.clip(low / grey, 0.0, max_veil))
    if v < 0.01:
        return img
    return (img - grey * v) / (1.0 - v)


def _flake_mask(img: np.ndarray, size: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    opened = np.stack([cv2.morphologyEx(c, cv2.MORPH_OPEN, se) for c in img])
    resid = np.min(img - opened, axis=0)
    mask = (resid > threshold).astype(np.uint8)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    return mask.astype(bool), opened


_ARGS = {
    "size": {"type": "integer", "minimum": 3, "maximum": 31,
             "description": "largest flake diameter removed (pixels; 5 for morphology, 9 for median)"},
    "threshold": {"type": "number", "minimum": 0.0, "maximum": 0.5, "default": 0.04},
    "veil": {"type": "boolean", "default": True, "description": "also remove the whitish veil"},
}


class _Desnow(Tool):
    def _background(self, img: np.ndarray, opened: np.ndarray, size: int) -> np.ndarray:
        raise NotImplementedError

    _size = 9

    def _run(self, img: np.ndarray, size: int | None = None, threshold: float = 0.04, veil: bool = True,
             **args: Any) -> np.ndarray:
        size = int(size or self._size) | 1
        mask, opened = _flake_mask(img, size, float(threshold))
        out = np.where(mask[None], self._background(img, opened, size), img)
        return remove_veil(out) if veil else out


@register
class DesnowMorphology(_Desnow):
    _size = 5
    card = ToolCard(
        id="desnow_morphology",
        task="desnow",
        description=(
            "Snow removal by grey opening: flakes = small bright structures present in all channels "
            "(common residual of an elliptic opening), replaced by the opened image, smoothed; "
            "then the whitish veil is inverted."
        ),
        tiling=False,  # the veil estimate is global
        cpu_seconds_512=0.02,
        reference="Morphological top-hat detection of bright blobs (Meyer 1979; Serra 1982)",
        arguments=_ARGS,
    )

    def _background(self, img: np.ndarray, opened: np.ndarray, size: int) -> np.ndarray:
        import cv2

        return np.stack([cv2.GaussianBlur(c, (0, 0), 1.0) for c in opened])


@register
class DesnowMedian(_Desnow):
    card = ToolCard(
        id="desnow_median",
        task="desnow",
        description=(
            "Snow removal by masked median: pixels of small bright structures present in all "
            "channels are replaced by a median of their neighbourhood; then the veil is inverted."
        ),
        tiling=False,
        cpu_seconds_512=0.03,
        reference="Switching median filters for impulse removal (e.g. Sun & Neuvo 1994)",
        arguments=_ARGS,
    )

    def _background(self, img: np.ndarray, opened: np.ndarray, size: int) -> np.ndarray:
        import cv2

        k = min(size, 5) if size > 5 else size
        u8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
        med = np.stack([cv2.medianBlur(cv2.medianBlur(c, k), k) for c in u8]).astype(np.float32) / 255.0
        return np.minimum(med, img)
