"""JPEG blocking measures.  JPEG quantises 8x8 blocks independently, so steps between
neighbouring pixels are larger across block boundaries than elsewhere.

Three measures read that, each kept with the exact arithmetic its user was fitted or tuned on:

* :func:`boundary_step_ratio` (the ``blockiness`` metric): steps across the 8x8 grid anchored at
  the image's corner against the other steps (about 1 without blocking);
* :func:`grid_peak_log_ratio` (a perception cue stacked onto the CNN logit): the grid phase does
  not need to be known, so it works on any crop (about 0 without blocking);
* :func:`grid_peak_to_median` (two of the learned policy's state features): the same idea per
  axis, against the median phase.

>>> flat = np.zeros((3, 32, 32), np.float32)
>>> boundary_step_ratio(flat), grid_peak_log_ratio(flat)
(1.0, 0.0)
"""

from __future__ import annotations

import numpy as np

from .color import luma

__all__ = ["boundary_step_ratio", "grid_peak_log_ratio", "grid_peak_to_median"]


def boundary_step_ratio(img: np.ndarray, block: int = 8) -> float:
    """Mean absolute luma step across ``block`` x ``block`` boundaries divided by the mean step
    elsewhere (about 1 without blocking, larger with it).  Images with no complete block
    boundary in either direction give 1."""
    y = luma(img, np.float64) * 255.0
    ratios = []
    for axis in (0, 1):
        d = np.abs(np.diff(y, axis=axis))
        n = d.shape[axis]
        if n < block:
            continue
        pos = np.arange(n)
        on = (pos % block) == block - 1  # step between pixel 8k+7 and 8k+8
        if not on.any() or on.all():
            continue
        inside = np.take(d, np.nonzero(on)[0], axis=axis).mean()
        outside = np.take(d, np.nonzero(~on)[0], axis=axis).mean()
        ratios.append((inside + 0.5) / (outside + 0.5))
    return float(np.mean(ratios)) if ratios else 1.0


def grid_peak_log_ratio(crop: np.ndarray) -> float:
    """Blockiness of an image crop: float (3, H, W) in [0, 1] or (H, W) grey.  The mean
    absolute step per phase of the 8-pixel grid; the log ratio of the peak phase to the mean of
    the other seven, averaged over the two directions.  About 0 for photos without block
    artefacts, larger (0.2-1.5) for strongly compressed JPEG.  Crops narrower than 16 px in a
    direction contribute 0 for that direction."""
    g = np.asarray(crop, np.float32)
    if g.ndim == 3:
        g = g.mean(axis=0)
    g = g * 255.0
    out = []
    for steps in (np.abs(np.diff(g, axis=1)).mean(axis=0), np.abs(np.diff(g, axis=0)).mean(axis=1)):
        n = len(steps) // 8 * 8
        if n < 16:
            out.append(0.0)
            continue
        phases = steps[:n].reshape(-1, 8).mean(axis=0)
        p = int(phases.argmax())
        out.append(float(np.log((phases[p] + 1e-3) / (np.delete(phases, p).mean() + 1e-3))))
    return float(np.mean(out))


def grid_peak_to_median(adx: np.ndarray, ady: np.ndarray) -> tuple[float, float] | None:
    """From absolute horizontal and vertical luma steps (H, W-1) and (H-1, W): per axis, the
    log ratio of the strongest phase of the 8-pixel grid to the median phase.  None when either
    axis has fewer than 16 steps (the grid's phase is unknown for crops, hence the maximum)."""
    if adx.shape[1] < 16 or ady.shape[0] < 16:
        return None
    cols = np.arange(adx.shape[1])
    rows = np.arange(ady.shape[0])
    bx = np.array([adx[:, cols % 8 == p].mean() for p in range(8)])
    by = np.array([ady[rows % 8 == p, :].mean() for p in range(8)])
    return float(np.log((bx.max() + 1e-4) / (np.median(bx) + 1e-4))), float(np.log((by.max() + 1e-4) / (np.median(by) + 1e-4)))
