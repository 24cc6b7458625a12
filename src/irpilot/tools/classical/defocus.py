"""Blind defocus kernels beyond the protocol's disk: a small family of shapes, fitted in sRGB
and in linear light.

Real defocus is not the benchmark protocol's 8-bit disk.  Its point spread function can be a
Gaussian (soft, aberrated lenses), a disk or a lens-like disk whose brightness rises towards a
soft rim; and a camera blurs light, so the blur of an sRGB photo is a convolution in linear light,
which the sRGB curve turns into something no single sRGB kernel describes (the disk's spectral
zeros fill in, and a disk fit reads a large Gaussian).  :func:`estimate_defocus_kernel` fits
each shape over a range of radii, on the photo's luma in sRGB and in linear light, with the same
criterion as :func:`~irpilot.tools.classical.deblur.estimate_defocus_radius`: divided out of the
radially averaged power spectrum, the right kernel leaves a smooth power law.

Choosing among the six fits (shape x space) is deliberately conservative, because deconvolving
with a kernel too large rings and costs far more than one too small gains:

* the protocol's candidate (a disk in sRGB, the radii ``estimate_defocus_radius`` tries) is kept
  whenever it explains the spectrum within ``TIE_DISK`` of the best fit, and then deconvolves
  under the protocol's no-blur check (misfit below that of no blur at all), so the protocol's
  blur is handled as before;
* otherwise, among the fits within ``TIE`` of the best, the one with the smallest spread (root
  mean square radius) is taken, and it is used only if it explains the spectrum clearly better
  than no blur (misfit ratio below ``REAL_RATIO``) and spreads at least ``MIN_SPREAD`` px: the
  smallest kernels fit photos a denoiser has smoothed, where deconvolving them lost 1-3 dB.

``strict`` fits (the tiles of a frame whose defocus varies with depth, see the defocus tools)
hold the sRGB disk to ``REAL_RATIO`` too and refuse a radius at the end of the range: on the
tuning crops loose tiles took a disk of 8.5 px in denoised or depth-blurred frames (-6 to -9 dB).

The constants were chosen on training crops of ``benchmarks/defocus_real.py`` with seeds 3 (24
crops) and 11 (32 crops); its recorded evaluation (BENCHMARKS.md) uses seed 21, not used for any
choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...imaging.color import luma, srgb_to_linear

__all__ = [
    "SHAPES",
    "DefocusFit",
    "gaussian_kernel",
    "lens_kernel",
    "defocus_kernel",
    "estimate_defocus_kernel",
]

#: kernel shapes tried by :func:`estimate_defocus_kernel`
SHAPES = ("disk", "gaussian", "lens")
_FAMILY_RADII = tuple(float(r) for r in np.arange(1.0, 8.01, 0.25))
#: the lens-like shape fitted: half-way rim brightening, edge softened over 15 % of the radius
_RIM, _SOFTNESS = 0.4, 0.15
#: a fit within this factor of the best counts as a tie (the smaller kernel is taken)
TIE = 1.25
#: a Gaussian may not spread more than the smallest fit within this factor of the best: a
#: soft-edged disk blurred in linear light is fitted best by a Gaussian half again as wide
CAP_TIE = 2.5
#: the protocol's sRGB disk is kept while within this factor of the best fit
TIE_DISK = 1.5
#: a kernel other than the sRGB disk deconvolves only below this misfit ratio ...
REAL_RATIO = 0.4
#: ... and when it spreads at least this many pixels (root mean square radius)
MIN_SPREAD = 0.95


def gaussian_kernel(radius: float) -> np.ndarray:
    """Gaussian defocus PSF of ``radius`` px: sigma = radius / 2 (the second moment of a disk of
    that radius), truncated at 3 sigma, sum 1."""
    sigma = max(float(radius), 1e-3) / 2.0
    half = max(1, int(math.ceil(3.0 * sigma)))
    g = np.arange(-half, half + 1, dtype=np.float64)
    k = np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / (2.0 * sigma**2))
    return (k / k.sum()).astype(np.float32)


def lens_kernel(radius: float, rim: float = _RIM, softness: float = _SOFTNESS) -> np.ndarray:
    """Lens-like defocus PSF: a disk of ``radius`` px whose brightness rises towards the rim by
    ``rim`` (0-1), its edge softened over ``softness`` x radius; 8 x 8 supersampled, sum 1."""
    radius = float(radius)
    soft = float(softness) * radius
    half = int(math.ceil(radius + soft)) + 1
    sub = 8
    g = (np.arange((2 * half + 1) * sub, dtype=np.float64) + 0.5) / sub - (half + 0.5)
    rho = np.hypot(g[:, None], g[None, :])
    profile = (1.0 - rim) + rim * np.clip(rho / radius, 0.0, 1.0) ** 4
    edge = np.clip((radius + soft - rho) / max(2.0 * soft, 1e-6), 0.0, 1.0) if soft > 0 else rho <= radius
    k = (profile * edge).reshape(2 * half + 1, sub, 2 * half + 1, sub).mean(axis=(1, 3))
    return (k / k.sum()).astype(np.float32)


def defocus_kernel(shape: str, radius: float) -> np.ndarray:
    """The kernel of one member of the family: ``disk`` (as the protocol's, 0.5 px anti-alias),
    ``gaussian`` or ``lens``."""
    from .spectra import disk_kernel

    if shape == "disk":
        return disk_kernel(float(radius), 0.5)
    if shape == "gaussian":
        return gaussian_kernel(radius)
    if shape == "lens":
        return lens_kernel(radius)
    raise ValueError(f"defocus shape must be one of {', '.join(SHAPES)}, got {shape!r}")


def _spread(k: np.ndarray) -> float:
    h = k.shape[0] // 2
    g = np.arange(-h, h + 1, dtype=np.float64)
    return float(np.sqrt(np.sum(k * (g[:, None] ** 2 + g[None, :] ** 2)) / np.sum(k)))


_BANDS = np.arange(2, 25)  # radial bands of the 64-point periodogram, as estimate_defocus_radius


@lru_cache(maxsize=1)
def _band_index() -> np.ndarray:
    from .spectra import freq_grid as _freq_grid

    return _freq_grid()[2]


@lru_cache(maxsize=256)
def _kernel_profile(shape: str, radius: float, eps: float = 1e-3) -> tuple[np.ndarray, float]:
    """Radial profile of ``log(|K|^2 + eps)`` over the fitted bands, and the kernel's spread."""
    from .spectra import N_WELCH as _N

    k = defocus_kernel(shape, radius)
    pad = np.zeros((_N, _N))
    pad[: k.shape[0], : k.shape[1]] = k
    kp = np.abs(np.fft.fft2(pad)) ** 2
    band = _band_index()
    return np.array([np.log(kp[band == b] + eps).mean() for b in _BANDS]), _spread(k)


def _misfit(res: np.ndarray) -> float:
    """Least-squares misfit of a straight line in log-log (a power law), plus a penalty when
    the line rises (an over-corrected spectrum); as ``estimate_defocus_radius``."""
    lx = np.log(_BANDS)
    coef = np.polyfit(lx, res, 1)
    score = float(np.sum((res - np.polyval(coef, lx)) ** 2))
    if coef[0] > 0:
        score += float(coef[0]) * 10.0
    return score


@dataclass(frozen=True)
class DefocusFit:
    """One fitted member of the family: ``ratio`` is its misfit over that of no blur (below 1:
    it explains the spectrum better than a sharp image would); ``space`` is where it blurs
    (``srgb`` or ``linear`` light); ``spread`` its root mean square radius in px."""

    shape: str
    radius: float
    space: str
    ratio: float
    spread: float


def _fits(img: np.ndarray, space: str) -> list[DefocusFit]:
    from .spectra import DISK_RADII as _RADII
    from .spectra import welch as _welch

    x = srgb_to_linear(img, np.float32) if space == "linear" else img
    y = luma(x) if x.ndim == 3 else np.asarray(x, dtype=np.float32)
    logp = np.log(_welch(y) + 1e-10)
    band = _band_index()
    prof = np.array([logp[band == b].mean() for b in _BANDS])
    sharp = max(_misfit(prof), 1e-12)
    out = []
    for shape in SHAPES:
        # the disk keeps the radii of estimate_defocus_radius, so the protocol's fit is unchanged
        radii = tuple(float(r) for r in _RADII) if shape == "disk" else _FAMILY_RADII
        score, r = min((_misfit(prof - _kernel_profile(shape, r)[0]), r) for r in radii)
        out.append(DefocusFit(shape, r, space, score / sharp, _kernel_profile(shape, r)[1]))
    return out


def estimate_defocus_kernel(
    img: np.ndarray, *, strict: bool = False
) -> tuple[np.ndarray | None, dict[str, float | str | bool]]:
    """Fit the defocus family to a photo (3, H, W) or (H, W) in [0, 1].

    Returns ``(kernel or None, info)``: ``kernel`` is None when no member explains the spectrum
    well enough to deconvolve (see the module docstring); ``info`` holds the chosen ``shape``,
    ``radius``, ``space`` (deconvolve in ``srgb`` or ``linear`` light), ``ratio`` (misfit over the
    no-blur misfit), ``spread`` and ``deconvolve``.  ``strict`` (for a tile of a photo) holds the
    protocol's disk to the same misfit ratio as the other shapes and refuses the largest radius
    tried (the fit ran off the end of the range).

    >>> import numpy as np
    >>> k, info = estimate_defocus_kernel(np.full((3, 96, 96), 0.5, np.float32))
    >>> sorted(info)
    ['deconvolve', 'radius', 'ratio', 'shape', 'space', 'spread']
    """
    from .spectra import DISK_RADII as _RADII

    fits = _fits(img, "srgb") + _fits(img, "linear")
    best = min(f.ratio for f in fits)
    protocol = fits[0]  # the sRGB disk
    if protocol.ratio <= TIE_DISK * best:
        chosen, ok = protocol, protocol.ratio < (REAL_RATIO if strict else 1.0)
    else:
        chosen = min((f for f in fits if f.ratio <= TIE * best), key=lambda f: f.spread)
        cap = min(f.spread for f in fits if f.ratio <= CAP_TIE * best)
        # a Gaussian shrinks to the cap; a disk or lens would ring at a wrong radius (its zeros move)
        if chosen.shape == "gaussian" and chosen.spread > cap + 1e-6:
            radii = [r for r in _FAMILY_RADII if _kernel_profile(chosen.shape, r)[1] <= cap + 1e-6] or [_FAMILY_RADII[0]]
            chosen = DefocusFit(chosen.shape, radii[-1], chosen.space, chosen.ratio,
                                _kernel_profile(chosen.shape, radii[-1])[1])
        ok = chosen.ratio < REAL_RATIO and chosen.spread >= MIN_SPREAD
    if strict and chosen.radius >= (max(_RADII) if chosen.shape == "disk" else _FAMILY_RADII[-1]):
        ok = False
    info: dict[str, float | str | bool] = {
        "shape": chosen.shape, "radius": chosen.radius, "space": chosen.space,
        "ratio": chosen.ratio, "spread": chosen.spread, "deconvolve": bool(ok),
    }
    return (defocus_kernel(chosen.shape, chosen.radius) if ok else None), info
