"""Image quality: metrics by name and the multi-dimensional reward.

- :func:`compute_metric` / :func:`score` / :data:`METRICS`: full-reference (PSNR, SSIM,
  MS-SSIM, GMSD, VIF, FSIM, HaarPSI, LPIPS when its weights are present), no-reference
  (NIQE, BRISQUE) and cheap signal statistics (noise level, sharpness, blocking, haze...).
- :mod:`irpilot.quality.reward`: reward components (improvement over the input), and the
  static / GDPO / adaptive combination with a fidelity gate used by search and RL.

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
