"""Kernels and spectra shared by the parametric deblurring tools (:mod:`.deblur`) and the
defocus kernel family (:mod:`.defocus`): the protocol's anti-aliased disk, a Welch periodogram and
its radial frequency bands."""

from __future__ import annotations

import math

import numpy as np

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
