"""Kernels and spectra shared by the parametric deblurring tools (:mod:`.deblur`), the defocus
kernel family (:mod:`.defocus`) and blind deblurring (:mod:`.blind_deblur`): the protocol's
anti-aliased disk, a Welch periodogram and its radial frequency bands, and how well a kernel
explains an image's spectrum."""

from __future__ import annotations

import math

import numpy as np

from ...imaging.color import luma

#: Welch periodogram size
N_WELCH = 64
#: disk radii the defocus fits search (pixels)
DISK_RADII = tuple(np.arange(1.5, 9.01, 0.5))


def disk_kernel(radius: float, alias_sigma: float = 0.5) -> np.ndarray:
    """Disk ``x^2 + y^2 <= r^2`` on the pixel grid, blurred by a 3x3 Gaussian, sum 1."""
    half = int(math.ceil(radius)) + 2
    g = np.arange(-half, half + 1, dtype=np.float64)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    d = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    t = np.exp(-np.array([1.0, 0.0, 1.0]) / (2.0 * max(alias_sigma, 1e-3) ** 2))
    t /= t.sum()
    from scipy.ndimage import convolve1d

    d = convolve1d(convolve1d(d, t, axis=0, mode="constant"), t, axis=1, mode="constant")
    return (d / d.sum()).astype(np.float32)


def welch(y: np.ndarray, n: int = N_WELCH) -> np.ndarray:
    """Averaged windowed periodogram (n, n) of a 2-D array (at most ~400 patches)."""
    h, w = y.shape
    if h < n or w < n:
        y = np.pad(y, ((0, max(0, n - h)), (0, max(0, n - w))), mode="reflect")
        h, w = y.shape
    step = max(n // 2, int(math.sqrt(h * w / 400.0)))
    win = np.outer(np.hanning(n), np.hanning(n))
    patches = [
        y[i : i + n, j : j + n] for i in range(0, h - n + 1, step) for j in range(0, w - n + 1, step)
    ]
    arr = np.stack(patches).astype(np.float64)
    arr = (arr - arr.mean(axis=(1, 2), keepdims=True)) * win
    return np.mean(np.abs(np.fft.fft2(arr)) ** 2, axis=0)


def freq_grid(n: int = N_WELCH):
    """Frequencies (fy, fx) of an n x n FFT and each one's radial band (integer radius)."""
    f = np.fft.fftfreq(n)
    fy, fx = np.meshgrid(f, f, indexing="ij")
    band = np.rint(np.sqrt(fx**2 + fy**2) * n).astype(int)
    return fy, fx, band


def anisotropy_map(img: np.ndarray, n: int = N_WELCH) -> np.ndarray:
    """The anisotropic part of ``img``'s log power spectrum (3, H, W) or (H, W): the log Welch
    periodogram of its luma minus the mean of each radial band (bands 1 to ``n // 2 - 1``; the
    rest 0), centred (``fftshift``), float32 (n, n).  What a blur kernel's shape leaves in a
    spectrum once the photo's isotropic fall-off is taken out: the input of the motion tools'
    learned line check (:mod:`.line_check`)."""
    y = luma(img) if img.ndim == 3 else np.asarray(img, dtype=np.float32)
    logp = np.log(welch(y, n) + 1e-10)
    _, _, band = freq_grid(n)
    out = np.zeros_like(logp)
    for r in range(1, n // 2):
        m = band == r
        out[m] = logp[m] - logp[m].mean()
    return np.fft.fftshift(out).astype(np.float32)


def band_variance_score(res: np.ndarray, band: np.ndarray, rmin: int, rmax: int) -> float:
    """Anisotropy of a log spectrum ``res``: its variance within each radial band ``rmin``-``rmax``
    (:func:`freq_grid`), weighted by the band's size and summed (0 for an isotropic spectrum)."""
    total = 0.0
    for b in range(rmin, rmax + 1):
        s = res[band == b]
        total += float(s.var()) * s.size
    return total


def kernel_misfit_ratio(img: np.ndarray, k: np.ndarray, *, eps: float = 1e-3) -> float:
    """How well the blur kernel ``k`` (at most ``N_WELCH`` px) explains the power spectrum of
    ``img`` (3, H, W) or (H, W) against no blur at all: the anisotropy misfit of the log spectrum
    with ``|K|^2`` divided out over the same misfit with nothing divided out (the motion tools'
    ``score / sharp_score`` for any kernel).  Below 1 the kernel explains the image better than
    no blur; well above 1 it predicts a blur the image does not show."""
    y = luma(img) if img.ndim == 3 else np.asarray(img, dtype=np.float32)
    logp = np.log(welch(y) + 1e-10)
    _, _, band = freq_grid()
    pad = np.zeros((N_WELCH, N_WELCH))
    kh, kw = min(k.shape[0], N_WELCH), min(k.shape[1], N_WELCH)
    pad[:kh, :kw] = k[:kh, :kw]
    kp = np.abs(np.fft.fft2(pad)) ** 2
    score = band_variance_score(logp - np.log(kp + eps), band, 2, 30)
    return score / max(band_variance_score(logp, band, 2, 30), 1e-12)


#: a kernel must explain the spectrum better than no blur at all (misfit ratio below this) for
#: the deblurring tools to deconvolve.  Without the check they "deblurred" sharp, denoised and
#: otherwise blurred images into ringing: on training crops the defocus tools lost 19-20 dB on
#: denoised noise-only crops and 8-9 dB on motion blur alone, the motion tools 7-8 dB on
#: denoised noise-only or JPEG-only crops (BENCHMARKS.md, "Current numbers";
#: ``benchmarks/deblur_check.py``)
FIT_RATIO = 1.0
