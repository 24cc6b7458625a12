"""BRISQUE (Mittal, Moorthy and Bovik 2012) through the ``brisque`` package (Apache-2.0).

The package ships the LIVE-trained libsvm regression model and needs ``libsvm-official``
(BSD-3-Clause).  Its ``BRISQUE.score`` fails under numpy 2 because its feature fits return
1-element arrays; irpilot calls the package's own feature and prediction steps and converts
every feature to a float in between, without modifying the installed package.

Degenerate inputs (flat images, where a distribution fit is undefined) get the fit of a
degenerate distribution (shape 0.2, zero scales) for the affected features; images smaller
than 16 px a side are mirror-padded.  Scores are typically 0 (best) to 100.
"""

from __future__ import annotations

import importlib.util
import warnings
from typing import Any

import numpy as np

from .base import METRICS, Metric, MetricUnavailableError

__all__ = ["BRISQUEMetric"]

_MIN_SIDE = 16


def _as_float(value: Any, default: float) -> float:
    arr = np.asarray(value, dtype=np.float64).ravel()
    v = float(arr[0]) if arr.size else default
    return v if np.isfinite(v) else default


@METRICS.register()
class BRISQUEMetric(Metric):
    name = "brisque"
    kind = "no_reference"
    higher_is_better = False
    needs_reference = False
    range = (0.0, 100.0)
    licence = "Apache-2.0 (brisque package, LIVE-trained model) + BSD-3-Clause (libsvm)"
    description = "BRISQUE natural-scene-statistics quality (libsvm model from the brisque package; lower is better)"

    def __init__(self) -> None:
        super().__init__()
        self._impl: Any = None

    def check_available(self) -> None:
        missing = [m for m in ("brisque", "libsvm") if importlib.util.find_spec(m) is None]
        if missing:
            raise MetricUnavailableError(
                "BRISQUE needs the packages 'brisque' (install with --no-deps) and 'libsvm-official'; "
                f"missing: {', '.join(missing)}"
            )

    def setup(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from brisque import BRISQUE

            self._impl = BRISQUE(url=False)

    def _features(self, grey: np.ndarray) -> list[float]:
        raw = self._impl.calculate_brisque_features(grey, kernel_size=7, sigma=7 / 6)
        # Layout per scale: [alpha, var] for MSCN, then [alpha, mean, var_l, var_r] x 4.
        defaults = [0.2, 0.0] + [0.2, 0.0, 0.0, 0.0] * 4
        return [_as_float(v, d) for v, d in zip(raw, defaults)]

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        import cv2

        h, w = img.shape[-2:]
        if min(h, w) < _MIN_SIDE:
            img = np.pad(img, ((0, 0), (0, max(0, _MIN_SIDE - h)), (0, max(0, _MIN_SIDE - w))), mode="symmetric")
        grey = (0.2125 * img[0] + 0.7154 * img[1] + 0.0721 * img[2]).astype(np.float64)  # skimage rgb2gray
        half = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            feats = self._features(grey) + self._features(half)
            value = self._impl.calculate_image_quality_score(np.asarray(feats, dtype=np.float64))
        return float(value)
