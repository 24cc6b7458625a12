"""Shared helpers of the classical tools: colour conversions, noise-level estimation,
MATLAB-style bicubic resizing, FFT convolution and regularised deconvolution.

All images are float32 (3, H, W) RGB in [0, 1] unless a docstring says otherwise.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "luminance",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
    "to_hwc",
    "to_chw",
    "estimate_noise_sigma",
    "imresize",
    "psf2otf",
    "deconv_tikhonov",
    "deconv_hqs_tv",
    "register",
]


def to_hwc(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(img, (1, 2, 0)))


def to_chw(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.transpose(arr, (2, 0, 1)), dtype=np.float32)


def luminance(img: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma (H, W) of an RGB (3, H, W) image."""
    return (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).astype(np.float32)


_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32)
_YCC_INV = np.linalg.inv(_YCC).astype(np.float32)


def rgb_to_ycbcr(img: np.ndarray) -> np.ndarray:
    """Full-range YCbCr (JPEG convention), chroma centred on 0.5."""
    out = np.tensordot(_YCC, img, axes=(1, 0))
    out[1:] += 0.5
    return out.astype(np.float32)


def ycbcr_to_rgb(ycc: np.ndarray) -> np.ndarray:
    x = ycc.astype(np.float32).copy()
    x[1:] -= 0.5
    return np.tensordot(_YCC_INV, x, axes=(1, 0)).astype(np.float32)


def estimate_noise_sigma(img: np.ndarray) -> float:
    """Gaussian noise standard deviation (0-1 scale) from the finest wavelet subband
    (:func:`irpilot.noise.wavelet_sigma`, Donoho & Johnstone 1994), averaged over channels."""
    from ...noise import wavelet_sigma

    return wavelet_sigma(img) / 255.0


def imresize(img: np.ndarray, scale: float, out_hw: tuple[int, int] | None = None) -> np.ndarray:
    """MATLAB-style bicubic resize of (C, H, W) (the benchmark's resampler), float32, no clipping."""
    from ...degrade.resize import imresize as _imresize

    return _imresize(img, scale, output_shape=out_hw).astype(np.float32)


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
