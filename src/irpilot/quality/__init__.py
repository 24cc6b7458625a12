"""Image quality: metrics by name.

- :func:`compute_metric` / :func:`score` / :data:`METRICS`: full-reference (PSNR, SSIM,
  MS-SSIM, GMSD, VIF, FSIM, HaarPSI, LPIPS when its weights are present), no-reference
  (NIQE, BRISQUE) and cheap signal statistics (noise level, sharpness, blocking, haze...).

The reward that combines metrics for training lives next to the RL loop, in
:mod:`irpilot.train.reward`.

Importing this package is cheap (numpy only); metric modules load on first lookup.
"""

from __future__ import annotations

from .base import (
    DEFAULT_FULL_REFERENCE,
    DEFAULT_NO_REFERENCE,
    METRICS,
    Metric,
    MetricError,
    MetricUnavailableError,
    align_to_reference,
    compute_metric,
    get_metric,
    metric_info,
    score,
)

__all__ = [
    "DEFAULT_FULL_REFERENCE",
    "DEFAULT_NO_REFERENCE",
    "METRICS",
    "Metric",
    "MetricError",
    "MetricUnavailableError",
    "align_to_reference",
    "compute_metric",
    "get_metric",
    "metric_info",
    "score",
]
