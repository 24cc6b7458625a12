"""Hand-made statistics of a crop that blur shows and a small CNN sees poorly.

Camera shake and the protocol's motion blur smear an image along one direction: the power
spectrum loses its high frequencies along that direction only, and the gradients that survive
point across it.  A CNN of a few layers with global pooling sees local texture but has no easy
way to compare energy between orientations over a whole crop, so perception is given these
numbers directly (:class:`~irpilot.perceive.model.PerceptionNet` with ``cues=True``):

* the radial profile of the log power spectrum (sharpness, noise, JPEG's lost high band),
  relative to its lowest band;
* the angular profile of the log power in a low, a middle and a high frequency band, centred and
  sorted (so it does not depend on the blur's direction);
* the coherence of the gradients (structure tensor over the whole crop) at full, half and
  quarter resolution, and their log energy.

All are computed per crop, in torch, without learnable parameters; the network normalises them.
This module imports torch; only :mod:`irpilot.perceive.model` imports it (lazily).

>>> import torch
>>> crop_cues(torch.rand(2, 3, 96, 96)).shape
torch.Size([2, 48])
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

__all__ = ["N_CUES", "RADIAL_EDGES", "ANGULAR_BANDS", "N_ANGLES", "TENSOR_SCALES", "crop_cues"]

#: Radial band edges of the spectrum in cycles per pixel (the profile has ``len - 1`` bands).
RADIAL_EDGES: tuple[float, ...] = (0.02, 0.05, 0.1, 0.15, 0.2, 0.27, 0.35, 0.5)
#: The frequency bands whose angular profile is measured.
ANGULAR_BANDS: tuple[tuple[float, float], ...] = ((0.03, 0.08), (0.08, 0.2), (0.2, 0.4))
#: Orientation bins over 180 degrees.
N_ANGLES: int = 12
#: Downscaling factors at which the gradients' structure tensor is measured (noise hides
#: a blur's direction at full resolution; averaging pixels brings it back).
TENSOR_SCALES: tuple[int, ...] = (1, 2, 4)
#: Length of :func:`crop_cues`'s vector: radial profile (less its reference band), sorted
#: angular profiles, then coherence and log gradient energy at two scales.
N_CUES: int = (len(RADIAL_EDGES) - 2) + len(ANGULAR_BANDS) * N_ANGLES + 2 * len(TENSOR_SCALES)

_BINS: dict[tuple[int, int, str], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}


def _bins(h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(Hann window (H, W), radial averaging matrix (H*W, R), angular (H*W, A*bands)), cached."""
    key = (h, w, str(device))
    if key not in _BINS:
        win = torch.hann_window(h, periodic=False)[:, None] * torch.hann_window(w, periodic=False)[None, :]
        fy = torch.fft.fftfreq(h)[:, None].expand(h, w)
        fx = torch.fft.fftfreq(w)[None, :].expand(h, w)
        r = torch.sqrt(fx**2 + fy**2).reshape(-1)
        theta = torch.remainder(torch.atan2(fy, fx), math.pi).reshape(-1)
        cols = []
        for lo, hi in zip(RADIAL_EDGES[:-1], RADIAL_EDGES[1:]):
            cols.append(((r >= lo) & (r < hi)).float())
        radial = torch.stack(cols, 1)
        ang_cols = []
        a_idx = torch.clamp((theta / math.pi * N_ANGLES).long(), max=N_ANGLES - 1)
        for lo, hi in ANGULAR_BANDS:
            band = (r >= lo) & (r < hi)
            for a in range(N_ANGLES):
                ang_cols.append((band & (a_idx == a)).float())
        angular = torch.stack(ang_cols, 1)
        # averaging matrices; an empty bin (tiny crops) averages nothing and reads 0
        radial = radial / radial.sum(0).clamp(min=1.0)
        angular = angular / angular.sum(0).clamp(min=1.0)
        _BINS[key] = (win.to(device), radial.to(device), angular.to(device))
    return _BINS[key]


def _tensor_stats(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Coherence of the crop's structure tensor and log gradient energy; ``g``: (B, H, W)."""
    gx = g[:, :, 2:] - g[:, :, :-2]
    gy = g[:, 2:, :] - g[:, :-2, :]
    gx, gy = gx[:, 1:-1, :], gy[:, :, 1:-1]
    jxx, jyy, jxy = (gx * gx).mean((1, 2)), (gy * gy).mean((1, 2)), (gx * gy).mean((1, 2))
    energy = jxx + jyy
    coherence = torch.sqrt((jxx - jyy) ** 2 + 4.0 * jxy**2) / (energy + 1e-8)
    return coherence, torch.log(energy + 1e-6)


@torch.no_grad()
def crop_cues(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] -> (B, :data:`N_CUES`) float32."""
    b, _, h, w = x.shape
    if min(h, w) < 4:  # no gradients or spectrum to speak of (the perceiver pads small images)
        return x.new_zeros((b, N_CUES), dtype=torch.float32)
    grey = x.float().mean(1)
    win, radial, angular = _bins(h, w, x.device)
    centred = (grey - grey.mean((1, 2), keepdim=True)) * win
    logp = torch.log(torch.fft.fft2(centred).abs().square() + 1e-10).reshape(b, -1)
    prof = logp @ radial
    prof = prof[:, 1:] - prof[:, :1]
    ang = (logp @ angular).reshape(b, len(ANGULAR_BANDS), N_ANGLES)
    ang = ang - ang.mean(-1, keepdim=True)
    ang = torch.sort(ang, dim=-1, descending=True).values.reshape(b, -1)
    stats = []
    for k in TENSOR_SCALES:
        g = grey if k == 1 or min(h, w) < 4 * k else F.avg_pool2d(grey[:, None], k)[:, 0]
        stats.extend(_tensor_stats(g))
    return torch.cat([prof, ang, torch.stack(stats, 1)], 1)
