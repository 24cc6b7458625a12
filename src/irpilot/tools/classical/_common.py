"""Shared helpers of the classical tools: noise-level estimation, FFT convolution and
regularised deconvolution (pixel helpers live in :mod:`irpilot.imaging`).

All images are float32 (3, H, W) RGB in [0, 1] unless a docstring says otherwise.
"""

from __future__ import annotations

import numpy as np

from ...imaging.convert import to_chw, to_hwc

__all__ = [
    "estimate_noise_sigma",
    "psf2otf",
    "deconv_tikhonov",
    "deconv_hqs_tv",
    "register",
]


def estimate_noise_sigma(img: np.ndarray) -> float:
    """Gaussian noise standard deviation (0-1 scale) from the finest wavelet subband
    (:func:`irpilot.noise.wavelet_sigma`, Donoho & Johnstone 1994), averaged over channels."""
    from ...noise import wavelet_sigma

    return wavelet_sigma(img) / 255.0


# ---------------------------------------------------------------------------------------
# FFT convolution and deconvolution (periodic model on a reflect-padded canvas)
def psf2otf(kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical transfer function of a correlation kernel whose centre is its middle pixel,
    such that ``ifft(fft(x) * otf) == correlate(x, kernel)`` (circularly)."""
    kh, kw = kernel.shape
    pad = np.zeros(shape, dtype=np.float64)
    # correlation = convolution with the flipped kernel
    pad[:kh, :kw] = kernel[::-1, ::-1]
    pad = np.roll(pad, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    return np.fft.fft2(pad)


def _pad_amount(kernel: np.ndarray) -> int:
    return int(max(kernel.shape)) + 8


def _grad_otfs(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    dx = np.zeros(shape)
    dx[0, 0], dx[0, -1] = -1, 1
    dy = np.zeros(shape)
    dy[0, 0], dy[-1, 0] = -1, 1
    return np.fft.fft2(dx), np.fft.fft2(dy)


def deconv_tikhonov(channels: np.ndarray, kernel: np.ndarray, lam: float) -> np.ndarray:
    """Wiener-like deconvolution with a gradient (Tikhonov) prior:
    ``x = argmin |k*x - y|^2 + lam |grad x|^2`` solved in Fourier on a reflect-padded canvas.
    ``channels`` is (C, H, W) or (H, W)."""
    arr = channels[None] if channels.ndim == 2 else channels
    p = _pad_amount(kernel)
    c, h, w = arr.shape
    padded = np.pad(arr, ((0, 0), (p, p), (p, p)), mode="reflect")
    shape = padded.shape[1:]
    otf = psf2otf(kernel, shape)
    gx, gy = _grad_otfs(shape)
    den = np.abs(otf) ** 2 + lam * (np.abs(gx) ** 2 + np.abs(gy) ** 2)
    num = np.conj(otf)[None] * np.fft.fft2(padded)
    out = np.real(np.fft.ifft2(num / den[None]))[:, p : p + h, p : p + w].astype(np.float32)
    return out[0] if channels.ndim == 2 else out


def deconv_hqs_tv(
    img: np.ndarray, kernel: np.ndarray, lam: float, iters: int = 6, tv_weight: float = 0.02
) -> np.ndarray:
    """Half-quadratic splitting deconvolution with a total-variation denoiser prior
    (plug-and-play): alternate a Fourier data step and a Chambolle TV denoising step with
    a decreasing penalty.  ``img`` is (3, H, W)."""
    from skimage.restoration import denoise_tv_chambolle

    p = _pad_amount(kernel)
    c, h, w = img.shape
    y = np.pad(img, ((0, 0), (p, p), (p, p)), mode="reflect").astype(np.float64)
    shape = y.shape[1:]
    otf = psf2otf(kernel, shape)
    fy = np.fft.fft2(y)
    ktk = np.abs(otf) ** 2
    kty = np.conj(otf)[None] * fy
    z = y.copy()
    mus = np.geomspace(lam * 50, lam * 2, iters)
    x = y
    for i, mu in enumerate(mus):
        x = np.real(np.fft.ifft2((kty + mu * np.fft.fft2(z)) / (ktk[None] + mu)))
        w_i = tv_weight * float(np.sqrt(mus[i] / mus[0])) if i < iters - 1 else tv_weight * 0.3
        z = to_chw(denoise_tv_chambolle(to_hwc(np.clip(x, -0.2, 1.2)), weight=w_i, channel_axis=-1))
    return np.asarray(x[:, p : p + h, p : p + w], dtype=np.float32)


def register(cls: type) -> type:
    """Register a tool class in ``TOOLS`` under its ``card.id``."""
    from ..base import TOOLS

    return TOOLS.register(cls.card.id)(cls)
