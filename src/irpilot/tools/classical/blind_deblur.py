"""Blind deblurring of camera shake: a general (non-parametric) blur kernel is estimated,
then removed by plug-and-play deconvolution.

Kernel estimation (:func:`estimate_shake_kernel`) is the classical coarse-to-fine scheme of
Cho & Lee 2009 / Xu et al. 2013 / Pan et al. 2014: on a pyramid of the (denoised) luma, from a
3x3 kernel up to the full kernel size, it alternates

* a latent sharp image with L0-sparse gradients (and, optionally, L0-sparse intensities: Pan
  et al. 2014), ``min_x |k * x - y|^2 + lam |grad x|_0 + lam_i |x|_0``, solved by
  half-quadratic splitting with closed-form Fourier steps and hard thresholds;
* the kernel on gradients, ``min_k |grad x * k - grad y|^2 + gamma |k|^2`` restricted to the
  kernel's support and to the latent gradients at useful edges (Xu & Jia 2010's selection:
  where the blurred image's gradients point one way over a 5 x 5 window, not in fine texture), solved exactly (conjugate gradients on the support's normal equations,
  built from the gradients' autocorrelation), then made non-negative, cleaned of weak values
  and isolated specks, and normalised to sum one.

The estimated kernel is centred (to the sub-pixel, :func:`centred_otf`) on its centre of mass,
so the output stays aligned with the input.  The tool returns its input unchanged when the
kernel is close to a delta (a sharp image) or, on a clean image, when the kernels estimated on
the two halves of the frame disagree (blind estimation locked onto a wrong kernel).

Noise and JPEG left in the input are read first (:func:`estimate_noise_level`, which also sees
the spatially correlated noise of demosaicked raw noise; :func:`jpeg_sigma` from the strength
of the 8 x 8 grid): the kernel is estimated on a copy FFDNet has cleaned at that level, and
the non-blind step assumes it, so neither is amplified by the deconvolution.

The non-blind step (:func:`deconv_pnp`) is half-quadratic splitting with a denoiser prior
(IRCNN / DPIR): a Fourier data step alternates with FFDNet at a decreasing noise level.  Without
FFDNet's weights the prior is total variation.  Everything runs on a reflect-padded canvas
so the periodic Fourier model does not ring at the borders.

A camera blurs light, before its tone curve: on sRGB values such a blur is not a convolution.
The kernel is estimated both on sRGB values and in linear light, and the blur taken to have
happened where its kernel is less concentrated (:data:`LINEAR_L2_RATIO`); in linear light the
data step runs on linear values and the denoiser on sRGB ones.  With sensor noise the tool stays
in sRGB (:data:`LINEAR_MAX_NOISE`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ...imaging.color import luma as luminance
from ..base import Tool, ToolCard
from ._common import estimate_noise_sigma, psf2otf, register

__all__ = [
    "shake_kernel_size",
    "estimate_shake_kernel",
    "general_kernel",
    "ShakeEstimate",
    "KernelChoice",
    "LINEAR_L2_RATIO",
    "in_linear_light",
    "LINEAR_MAX_NOISE",
    "kernel_spread",
    "kernel_similarity",
    "kernel_axis_mass",
    "centre_kernel",
    "centred_otf",
    "apply_kernel",
    "deconv_pnp",
    "estimate_noise_level",
    "jpeg_sigma",
    "within_input_range",
    "BlindShakeDeblur",
]

Denoiser = Callable[[np.ndarray, float], np.ndarray]


# ---------------------------------------------------------------------------------------
# Fourier helpers (float32 / complex64 through scipy.fft)
def _fft2(x: np.ndarray) -> np.ndarray:
    from scipy import fft

    return fft.fft2(x, axes=(-2, -1))


def _ifft2r(x: np.ndarray) -> np.ndarray:
    from scipy import fft

    return np.real(fft.ifft2(x, axes=(-2, -1)))


def _grad_otfs(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """OTFs of forward differences ``x[i+1] - x[i]`` along columns (x) and rows (y)."""
    dx = np.zeros(shape, np.float32)
    dx[0, 0], dx[0, -1] = -1.0, 1.0
    dy = np.zeros(shape, np.float32)
    dy[0, 0], dy[-1, 0] = -1.0, 1.0
    return _fft2(dx), _fft2(dy)


def _grads(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Circular forward differences (the adjoint pair of :func:`_grad_otfs`)."""
    return np.roll(x, -1, axis=-1) - x, np.roll(x, -1, axis=-2) - x


def _odd(n: float) -> int:
    n = int(round(n))
    return n if n % 2 else n + 1


# ---------------------------------------------------------------------------------------
# kernels
def shake_kernel_size(h: int, w: int) -> int:
    """Default kernel side for an image of ``h`` x ``w``: 1/16 of the shorter side up to 17 px,
    1/24 of it beyond 408 px, odd, between 5 and 45.  A support larger than the blur costs more
    than one a little too small: the extra unknowns collect spurious mass that blurs and shifts
    the kernel.  On generated shake (paths of 10-32 px) of 18 training crops, 17 px gained +1.4 dB
    at 320 px (13 / 21 / 27 px: +0.7 / +1.3 / +0.2, with single crops down to -5 and -10 dB) and
    +1.6 dB at 384 px (19 px: +1.3; 33 px: +1.6 with a worse worst case).  Small images (a
    low-resolution photo before upscaling) get a small support (BENCHMARKS.md, "Camera shake:
    blind deblurring, third version")."""
    s = min(h, w)
    return int(min(45, max(5, _odd(max(min(s / 16.0, 17.0), s / 24.0)))))


def centre_kernel(k: np.ndarray) -> np.ndarray:
    """Shift ``k`` (whole pixels, zero fill) so its centre of mass is its middle pixel."""
    kh, kw = k.shape
    s = float(k.sum())
    if s <= 0:
        return k
    yy, xx = np.mgrid[0:kh, 0:kw]
    cy, cx = float((k * yy).sum() / s), float((k * xx).sum() / s)
    dy, dx = int(round(kh // 2 - cy)), int(round(kw // 2 - cx))
    out = np.zeros_like(k)
    ys, yd = (slice(0, kh - dy), slice(dy, kh)) if dy >= 0 else (slice(-dy, kh), slice(0, kh + dy))
    xs, xd = (slice(0, kw - dx), slice(dx, kw)) if dx >= 0 else (slice(-dx, kw), slice(0, kw + dx))
    out[yd, xd] = k[ys, xs]
    return out / max(float(out.sum()), 1e-12)


def centred_otf(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical transfer function (complex64) of the correlation kernel ``k`` moved, to the
    sub-pixel, so that its centre of mass is the origin: blurring with it does not move the
    picture, and deconvolving with it keeps the output where the input is."""
    kh, kw = k.shape
    s = max(float(k.sum()), 1e-12)
    yy, xx = np.mgrid[0:kh, 0:kw]
    cy = float((k * yy).sum() / s) - kh // 2
    cx = float((k * xx).sum() / s) - kw // 2
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.fftfreq(shape[1])[None, :]
    ramp = np.exp(-2j * np.pi * (fy * cy + fx * cx))
    return (psf2otf(k, shape) * ramp).astype(np.complex64)


def apply_kernel(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Blur (C, H, W) or (H, W) with the correlation kernel ``k`` centred on its centre of mass
    (:func:`centred_otf`), with reflected borders."""
    arr = img[None] if img.ndim == 2 else img
    p = max(k.shape) + 8
    padded = np.pad(arr, ((0, 0), (p, p), (p, p)), mode="reflect").astype(np.float32)
    out = _ifft2r(_fft2(padded) * centred_otf(k, padded.shape[1:])[None])[:, p:-p, p:-p]
    out = np.ascontiguousarray(out, dtype=np.float32)
    return out[0] if img.ndim == 2 else out


def kernel_spread(k: np.ndarray) -> float:
    """Root-mean-square distance (pixels) of the kernel's mass from its centre of mass: 0 for
    a delta, ~L/sqrt(12) for a straight line of length L."""
    kh, kw = k.shape
    s = max(float(k.sum()), 1e-12)
    yy, xx = np.mgrid[0:kh, 0:kw]
    cy, cx = float((k * yy).sum() / s), float((k * xx).sum() / s)
    return float(math.sqrt(float((k * ((yy - cy) ** 2 + (xx - cx) ** 2)).sum()) / s))


def kernel_axis_mass(k: np.ndarray, width: float = 1.0) -> float:
    """Share of the kernel's mass within ``width`` pixels of its principal axis (the line
    through its centre of mass along which its mass spreads most): near 1 for a straight line
    blur, lower for a curved or multi-segment shake path."""
    kh, kw = k.shape
    s = max(float(k.sum()), 1e-12)
    yy, xx = np.mgrid[0:kh, 0:kw]
    cy, cx = float((k * yy).sum() / s), float((k * xx).sum() / s)
    dy, dx = yy - cy, xx - cx
    cov = np.array([[(k * dy * dy).sum(), (k * dy * dx).sum()], [(k * dy * dx).sum(), (k * dx * dx).sum()]]) / s
    _, vecs = np.linalg.eigh(cov)
    ay, ax = vecs[0, 1], vecs[1, 1]  # the principal axis (largest eigenvalue), as (dy, dx)
    off_axis = np.abs(dy * ax - dx * ay)
    return float(k[off_axis <= width].sum() / s)


def kernel_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Peak normalised cross-correlation of two kernels over all shifts: 1 for the same kernel
    up to a translation, near 0 for unrelated ones."""
    from scipy.signal import fftconvolve

    c = fftconvolve(a.astype(np.float64), b[::-1, ::-1].astype(np.float64), mode="full")
    return float(c.max() / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))


def _clean_kernel(k: np.ndarray, rel_threshold: float = 0.1) -> np.ndarray:
    """Non-negative, weak values (< ``rel_threshold`` of the peak) zeroed, connected specks
    holding under 10 % of the mass removed, sum one."""
    from scipy.ndimage import label

    k = np.maximum(k, 0.0)
    peak = float(k.max())
    if peak <= 0:
        out = np.zeros_like(k)
        out[k.shape[0] // 2, k.shape[1] // 2] = 1.0
        return out
    k = np.where(k < rel_threshold * peak, 0.0, k)
    labels, n = label(k > 0, structure=np.ones((3, 3)))
    if n > 1:
        mass = np.bincount(labels.ravel(), weights=k.ravel())
        keep = mass >= 0.1 * mass[1:].max()
        keep[0] = False
        k = np.where(keep[labels], k, 0.0)
    return (k / float(k.sum())).astype(np.float32)


def _upscale_kernel(k: np.ndarray, factor: float, size: int) -> np.ndarray:
    """``k`` magnified by ``factor`` about its middle pixel, on a ``size`` x ``size`` grid."""
    import cv2

    n = k.shape[0]
    c = n // 2
    # affine map: output pixel (size // 2) <- input pixel c, spacing 1 / factor
    m = np.array([[factor, 0.0, size // 2 - factor * c], [0.0, factor, size // 2 - factor * c]], np.float32)
    out = cv2.warpAffine(k.astype(np.float32), m, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return _clean_kernel(out, 0.0)


def _downscale(y: np.ndarray, s: float) -> np.ndarray:
    import cv2

    h, w = y.shape
    size = (max(1, int(round(w * s))), max(1, int(round(h * s))))
    return cv2.resize(y, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)


def _delta(size: int) -> np.ndarray:
    k = np.zeros((size, size), np.float32)
    k[size // 2, size // 2] = 1.0
    return k


# ---------------------------------------------------------------------------------------
# the two alternating steps
def _useful_edges(y: np.ndarray, tau: float, window: int = 5) -> np.ndarray:
    """Xu & Jia's (2010) edge selection: 1 where the blurred image's gradients within a
    ``window`` x ``window`` neighbourhood point one way (a step edge wider than the blur), 0 in
    texture, whose gradients cancel out: ``r = |sum grad y| / (sum |grad y| + 0.5 / 255)``,
    selected where ``r > tau``.  Fine texture misleads kernel estimation (a kernel that
    explains it is small and wrong)."""
    from scipy.ndimage import uniform_filter

    gx, gy = _grads(y)
    sx = uniform_filter(gx, window, mode="reflect")
    sy = uniform_filter(gy, window, mode="reflect")
    mag = uniform_filter(np.sqrt(gx**2 + gy**2), window, mode="reflect")
    r = np.sqrt(sx**2 + sy**2) / (mag + 0.5 / 255.0 / window**2)
    return (r > tau).astype(np.float32)


def _latent_l0(
    y: np.ndarray, k: np.ndarray, lam: float, lam_int: float = 0.0, beta_max: float = 1e5, kappa: float = 2.0,
    lam_dark: float = 0.0, dark_patch: int = 15,
) -> np.ndarray:
    """``argmin_x |k * x - y|^2 + lam |grad x|_0 + lam_int |x|_0 + lam_dark |D(x)|_0`` by
    half-quadratic splitting (Xu et al. 2013; Pan et al. 2014 with the intensity term; Pan et al.
    2016 with the dark channel ``D``, the minimum over ``dark_patch`` px patches).  ``y`` is a
    padded canvas."""
    shape = y.shape
    otf = psf2otf(k, shape).astype(np.complex64)
    fy = _fft2(y)
    ktk = (np.abs(otf) ** 2).astype(np.float32)
    kty = np.conj(otf) * fy
    gx, gy = _grad_otfs(shape)
    dtd = (np.abs(gx) ** 2 + np.abs(gy) ** 2).astype(np.float32)
    x = y.copy()
    beta = 2.0 * lam
    while beta < beta_max:
        hx, vy = _grads(x)
        small = hx**2 + vy**2 < lam / beta
        hx[small] = 0.0
        vy[small] = 0.0
        num = kty + beta * (np.conj(gx) * _fft2(hx) + np.conj(gy) * _fft2(vy))
        den = ktk + beta * dtd
        if lam_int > 0:
            u = np.where(x**2 < lam_int / beta, 0.0, x).astype(np.float32)
            num = num + beta * _fft2(u)
            den = den + beta
        if lam_dark > 0:
            # Pan et al. 2016: L0 of the dark channel.  A pixel is some patch's darkest exactly
            # where it equals the grey opening; those under the threshold are pulled to zero
            from scipy.ndimage import grey_opening

            dark = (x <= grey_opening(x, size=(dark_patch, dark_patch), mode="reflect")) & (x**2 < lam_dark / beta)
            u = np.where(dark, 0.0, x).astype(np.float32)
            num = num + beta * _fft2(u)
            den = den + beta
        x = _ifft2r(num / den).astype(np.float32)
        beta *= kappa
    return x


def _kernel_step(
    x: np.ndarray, y: np.ndarray, size: int, k0: np.ndarray, gamma: float, margin: int, iters: int = 30,
    select: np.ndarray | None = None,
) -> np.ndarray:
    """``argmin_k |grad x * k - grad y|^2 + gamma |k|^2`` over a ``size`` x ``size`` support,
    data term on the canvas minus ``margin`` pixels: conjugate gradients on the normal
    equations, whose matrix is the Toeplitz autocorrelation of ``grad x``."""
    r = size // 2
    m = np.zeros(y.shape, np.float32)
    m[margin:-margin or None, margin:-margin or None] = 1.0
    # latent gradients only where the data term reaches them (the mask grown by r): outside,
    # on the padded border, the latent does not explain the observation
    mx = np.zeros(y.shape, np.float32)
    mx[max(0, margin - r) : y.shape[0] - max(0, margin - r), max(0, margin - r) : y.shape[1] - max(0, margin - r)] = 1.0
    if select is not None:
        mx = mx * select
    fxs = [_fft2(g * mx) for g in _grads(x)]
    fys = [_fft2(g * m) for g in _grads(y)]
    # correlation kernel convention (psf2otf): (x * k)(p) = sum_d k(d) x(p + d), d in [-r, r]^2
    # b(d) = sum_p x_g(p + d) y_g(p)     -> ifft(fx * conj(fy)) at d
    # A(d, e) = sum_p x_g(p + d) x_g(p + e) ~ R(d - e), R(s) = sum_q x_g(q + s) x_g(q)
    b = sum(_ifft2r(fx * np.conj(fy)) for fx, fy in zip(fxs, fys))
    auto = sum(_ifft2r(fx * np.conj(fx)) for fx in fxs)
    idx = np.arange(-r, r + 1)
    bk = b[np.ix_(idx % b.shape[0], idx % b.shape[1])].astype(np.float64).ravel()
    dy = np.repeat(idx, size)
    dx = np.tile(idx, size)
    ra = auto[np.ix_(np.arange(-2 * r, 2 * r + 1) % auto.shape[0], np.arange(-2 * r, 2 * r + 1) % auto.shape[1])]
    amat = ra[(dy[:, None] - dy[None, :]) + 2 * r, (dx[:, None] - dx[None, :]) + 2 * r].astype(np.float64)
    scale = float(np.trace(amat)) / amat.shape[0]
    amat = amat + gamma * scale * np.eye(amat.shape[0])
    # conjugate gradients from the previous kernel
    k = k0.astype(np.float64).ravel()
    res = bk - amat @ k
    p = res.copy()
    rr = float(res @ res)
    tol = 1e-10 * float(bk @ bk)
    for _ in range(iters):
        if rr <= tol:
            break
        ap = amat @ p
        alpha = rr / float(p @ ap)
        k += alpha * p
        res -= alpha * ap
        rr_new = float(res @ res)
        p = res + (rr_new / rr) * p
        rr = rr_new
    return _clean_kernel(k.reshape(size, size))


def estimate_shake_kernel(
    luma: np.ndarray,
    size: int | None = None,
    *,
    lam: float = 4e-3,
    lam_int: float = 0.0,
    iters: int = 5,
    gamma: float = 0.002,
    min_lam: float = 1e-4,
    edge_tau: float = 0.2,
    coarse_iters: int | None = None,
    lam_dark: float = 0.0,
    dark_patch: int = 15,
) -> np.ndarray:
    """Estimate a camera-shake kernel from a blurred greyscale image (H, W) in [0, 1].

    Coarse-to-fine over a pyramid of scale ratio 1/sqrt(2) (coarsest kernel 3x3), ``iters``
    alternations of :func:`_latent_l0` (gradient weight ``lam``, divided by 1.1 after each
    alternation down to ``min_lam``; intensity weight ``lam_int``; dark-channel weight ``lam_dark``
    over ``dark_patch`` px patches, Pan et al. 2016) and :func:`_kernel_step`
    (ridge weight ``gamma`` relative to the mean gradient energy) per level.  ``lam_int`` and
    ``lam_dark`` are off by default: on 16 shaken training crops either lowered the kernels'
    similarity to the true ones (BENCHMARKS.md, "Camera shake: the dark-channel prior").  Returns a
    ``size`` x ``size`` float32 correlation kernel (non-negative, sum one, centred on its
    centre of mass); ``size`` defaults to :func:`shake_kernel_size`.

    >>> k = estimate_shake_kernel(blurred_luma, 25)   # doctest: +SKIP
    """
    y0 = np.asarray(luma, dtype=np.float32)
    h, w = y0.shape
    size = shake_kernel_size(h, w) if size is None else _odd(size)
    ratio = math.sqrt(0.5)
    levels = max(1, int(math.floor(math.log(3.0 / size) / math.log(ratio))) + 1)
    k = _delta(3)
    prev = None
    lam_l = lam  # decreases across the levels (Pan et al.'s schedule)
    for level in range(levels - 1, -1, -1):
        s = ratio**level
        ks = max(3, _odd(size * s)) if level else size
        y = _downscale(y0, s) if level else y0
        k = _delta(ks) if prev is None else _upscale_kernel(k, y.shape[0] / prev, ks)
        prev = y.shape[0]
        pad = ks + 4
        yp = np.pad(y, pad, mode="reflect").astype(np.float32)
        select = _useful_edges(yp, edge_tau) if edge_tau > 0 else None
        n_it = iters if coarse_iters is None or level == 0 else coarse_iters
        for _ in range(n_it):
            x = _latent_l0(yp, k, lam_l, lam_int, lam_dark=lam_dark, dark_patch=dark_patch)
            k = _kernel_step(x, yp, ks, k, gamma, pad + ks // 2, select=select)
            lam_l = max(lam_l / 1.1, min_lam)
    return centre_kernel(k)


#: ``guide``: the L0 gradient weight of the blind alternations that refine a kernel found from a
#: sharp estimate
GUIDE_LAM = 1e-3
#: ``guide``: alternations (L0 latent, kernel step) after the kernel step from the sharp estimate.
#: On 15 shaken training crops (seed 11, a scratch probe) the mean similarity to the true kernel
#: was 0.68 after the kernel step alone and 0.80 after two alternations (the blind kernel's 0.80;
#: they fail on different crops); on 16 (``shake_selection_probe.py --part guide``) 0.800 after two,
#: 0.831 after six, and the guided deconvolution's gain +2.68 and +2.86 dB (blind: +2.04)
GUIDE_ALTERNATIONS = 6
#: ``guide``: a kernel found from the network's output is kept only if its spread is at least this
#: share of the blind kernel's.  On 16 shaken training crops (seed 11, ``shake_selection_probe.py
#: --part guide``) the guided kernel alone gained +2.86 dB where the blind one gained +2.04 (each
#: deconvolved and refined as the tool does); kept by this rule, +3.02 (0.6 alike, 0.8 +2.92, 0.9
#: +2.77).  The blind estimator's own objective (:func:`_latent_l0` re-blurred, plus the edge count)
#: does not tell the two apart: BENCHMARKS.md, "Camera shake: a kernel found from MAXIM's output"
GUIDE_MIN_SPREAD_RATIO = 0.7
#: ``guide`` only on inputs whose noise and JPEG blocks read under this (0-1 scale) on the central
#: part: on the same 16 crops after the realistic family's JPEG the guided kernel lost 0.70 dB to
#: the blind one, with its sensor noise 0.27 dB (a scratch run with two alternations): MAXIM's
#: output there is that of the denoised, smoothed input
GUIDE_MAX_SIGMA = 3.0 / 255.0


def kernel_from_latent(latent: np.ndarray, y: np.ndarray, size: int, *,
                       alternations: int = GUIDE_ALTERNATIONS, lam: float = GUIDE_LAM) -> np.ndarray:
    """The ``size`` x ``size`` kernel that blurs a sharp estimate ``latent`` (H, W) into the
    blurred ``y`` (H, W), both in [0, 1]: :func:`_kernel_step` from a delta on the latent's
    useful edges, then ``alternations`` of the blind estimator's L0 latent and kernel steps at
    full size (gradient weight ``lam``).  The sharp estimate (a deblurring network's output)
    need not be faithful pixel by pixel: only its edges' positions and directions enter."""
    size = _odd(size)
    pad = size + 4
    xp = np.pad(np.asarray(latent, np.float32), pad, mode="reflect")
    yp = np.pad(np.asarray(y, np.float32), pad, mode="reflect")
    margin = pad + size // 2
    k = _kernel_step(xp, yp, size, _delta(size), 0.002, margin, iters=60, select=_useful_edges(xp, 0.2))
    select = _useful_edges(yp, 0.2)
    for _ in range(alternations):
        k = _kernel_step(_latent_l0(yp, k, lam), yp, size, k, 0.002, margin, select=select)
    return centre_kernel(k)


# ---------------------------------------------------------------------------------------
# non-blind step
def deconv_pnp(
    img: np.ndarray,
    k: np.ndarray,
    noise_sigma: float,
    denoiser: Denoiser,
    *,
    iters: int = 8,
    sigma_start: float = 25.0 / 255.0,
    lam: float = 0.23,
    linear: bool = False,
) -> np.ndarray:
    """Plug-and-play half-quadratic splitting (Zhang et al., IRCNN 2017 / DPIR 2021):
    ``x = argmin |k * x - y|^2 + alpha_i |x - z|^2`` in Fourier, then ``z = D(x, sigma_i)``
    with ``sigma_i`` geometric from ``sigma_start`` down to ``noise_sigma`` and
    ``alpha_i = lam * noise_sigma^2 / sigma_i^2``.  ``img`` is (C, H, W); ``denoiser`` maps a
    (C, H, W) array and a noise level (0-1 scale) to a denoised array.  ``linear``: the blur
    happened in linear light (a camera's): the data step runs on linear values, the denoiser,
    which knows sRGB photos, on sRGB ones."""
    from ...imaging.color import linear_to_srgb, srgb_to_linear

    c, h, w = img.shape
    p = max(k.shape) + 8
    y = np.pad(img, ((0, 0), (p, p + (h % 2)), (p, p + (w % 2))), mode="reflect").astype(np.float32)
    if linear:
        y = srgb_to_linear(y, np.float32)
    otf = centred_otf(k, y.shape[1:])
    ktk = (np.abs(otf) ** 2).astype(np.float32)
    kty = np.conj(otf)[None] * _fft2(y)
    sig_n = max(float(noise_sigma), 1e-4)
    sigmas = np.geomspace(max(sigma_start, sig_n), sig_n, iters)
    z = y
    out = linear_to_srgb(y, np.float32) if linear else y
    for s in sigmas:
        alpha = lam * sig_n**2 / float(s) ** 2
        x = _ifft2r((kty + alpha * _fft2(z)) / (ktk[None] + alpha)).astype(np.float32)
        if linear:
            out = denoiser(linear_to_srgb(x, np.float32), float(s))
            z = srgb_to_linear(out, np.float32)
        else:
            out = z = denoiser(np.clip(x, 0.0, 1.0), float(s))
    out = out[:, p : p + h, p : p + w]
    return np.ascontiguousarray(out, dtype=np.float32)


def _tv_denoiser(img: np.ndarray, sigma: float) -> np.ndarray:
    """Chambolle total-variation denoising (scikit-image), the plug-and-play prior when FFDNet's
    weights are missing."""
    from skimage.restoration import denoise_tv_chambolle

    out = denoise_tv_chambolle(img, weight=TV_WEIGHT * float(sigma), channel_axis=0)
    return np.asarray(out, dtype=np.float32)


#: Chambolle weight per unit of noise level of :func:`_tv_denoiser`
TV_WEIGHT = 0.5


def _classical_denoiser(img: np.ndarray, sigma: float) -> np.ndarray:
    """Wavelet BayesShrink (scikit-image), the fallback when FFDNet's weights are missing."""
    from skimage.restoration import denoise_wavelet

    if sigma <= 0:
        return img
    out = denoise_wavelet(img, sigma=sigma, method="BayesShrink", mode="soft", wavelet="db2",
                          rescale_sigma=True, channel_axis=0)
    return np.asarray(out, dtype=np.float32)


# ---------------------------------------------------------------------------------------
# how much noise the image carries
def estimate_noise_level(img: np.ndarray) -> float:
    """Noise standard deviation (0-1 scale) of (C, H, W) ``img``, white or spatially correlated.

    The finest wavelet subband (:func:`estimate_noise_sigma`) sees white noise but misses noise
    that demosaicking has spread over neighbouring pixels (a camera's raw noise: read 3-10 where
    the noise is 16-37 / 255 on shaken training crops).  On the 2 x 2-averaged image such noise
    keeps most of its strength (white noise halves), so twice that estimate is taken when it is
    well above both the full-resolution estimate and what a noiseless blurred photo's own detail
    reads as there (up to 5.6 / 255 on the same crops)."""
    from ...noise import half_size

    s = estimate_noise_sigma(img)
    if min(img.shape[-2:]) < 32:
        return s
    s2 = 2.0 * estimate_noise_sigma(half_size(img))
    return s2 if s2 > max(2.0 * s, _CORRELATED_MIN) else s


_CORRELATED_MIN = 8.0 / 255.0


def jpeg_sigma(img: np.ndarray) -> float:
    """The noise level (0-1 scale) the plug-and-play prior should assume for JPEG artefacts:
    0 without a visible 8 x 8 grid, else proportional to the grid's strength
    (:func:`irpilot.imaging.blocks.grid_peak_log_ratio`, 0.6-0.8 for quality 15-40 after
    shake), up to 12 / 255.  Deconvolving JPEG blocks at the 8-bit noise floor amplifies
    them: with the true kernel, on shake + JPEG (quality 15-40) of training crops, a floor of
    4 / 255 lost up to 1.4 dB where 12 / 255 gained 2 dB."""
    from ...imaging.blocks import grid_peak_log_ratio

    r = grid_peak_log_ratio(img)
    if r < _JPEG_MIN_BLOCKINESS:
        return 0.0
    return min(_JPEG_SIGMA_PER_BLOCKINESS * r, _JPEG_SIGMA_MAX)


_JPEG_MIN_BLOCKINESS = 0.15  # shake alone or with noise: 0.007-0.08 on training crops
_JPEG_SIGMA_PER_BLOCKINESS = 16.0 / 255.0
_JPEG_SIGMA_MAX = 12.0 / 255.0


class ShakeEstimate(NamedTuple):
    kernel: np.ndarray  # the estimated kernel (non-negative, sum one, centred)
    luma: np.ndarray  # the cleaned luma of the central part it was estimated on (in ``space``)
    sigma: float  # the noise level read there (0-1 scale; sensor noise or JPEG blocks)
    space: str = "srgb"  # where the blur is taken to have happened: "srgb" or "linear" (light)
    clean: np.ndarray | None = None  # the cleaned central part itself, (3, h, w) sRGB values


#: ``space="auto"``: the blur is taken to have happened in linear light when the kernel estimated
#: there is less concentrated (sum of squares) than the one estimated on sRGB values, times this.
#: A camera blurs light, before its tone curve; a kernel estimated in the wrong space explains the
#: tone-curved edges with a tighter core.  On 32 shaken training crops (320 px, the realistic
#: family's generated shake, 23 blurred in linear light and 9 in sRGB) deconvolving in the space
#: this picks gained +1.99 dB on average against +1.04 in sRGB always and +1.53 in linear light
#: always (the better space each time: +2.07); BENCHMARKS.md, "Camera shake: linear light"
LINEAR_L2_RATIO = 1.0
#: ``space="auto"`` stays in sRGB where sensor noise reads at or above this (0-1 scale,
#: :func:`estimate_noise_level`; JPEG blocking does not count): the non-blind step weighs every
#: pixel alike, which holds for noise of one level on sRGB values but not after linearisation,
#: which makes bright areas 2-3x noisier and dark ones quieter.  On 18 shaken training crops with
#: the realistic family's sensor noise (read at 9.5-37.5 / 255) linear light lost on every crop
#: where the estimates chose it (down to -5.4 dB against sRGB); shake alone reads at most 1.3 / 255,
#: after JPEG at most 0.6
LINEAR_MAX_NOISE = 4.0 / 255.0


def general_kernel(img: np.ndarray, kernel_size: int | None = None, noise_sigma: float | None = None,
                   denoiser: Denoiser | None = None, space: str = "srgb") -> ShakeEstimate:
    """The camera-shake kernel of (3, H, W) ``img``, estimated blind on its central 384 px:
    :func:`estimate_shake_kernel` on the luma of a copy cleaned by ``denoiser`` (wavelet
    shrinkage by default) when noise or JPEG blocks read above 1 / 255.  ``noise_sigma``: the
    noise level (0-1 scale) if known.  ``space``: estimate on sRGB values (``"srgb"``), in
    linear light (``"linear"``), or both, keeping linear light where its kernel is less
    concentrated (``"auto"``, :func:`in_linear_light`)."""
    found = _estimates(img, kernel_size, noise_sigma, denoiser, space)
    if len(found) == 1:
        return found[0]
    return found[1] if in_linear_light(*found) else found[0]


def in_linear_light(in_srgb: ShakeEstimate, in_linear: ShakeEstimate) -> bool:
    """Whether the blur happened in linear light, from the kernels estimated on sRGB values and
    in linear light: :data:`LINEAR_L2_RATIO`."""
    return float((in_linear.kernel**2).sum()) < LINEAR_L2_RATIO * float((in_srgb.kernel**2).sum())


def _check_space(space: str) -> None:
    if space not in ("auto", "linear", "srgb"):
        raise ValueError(f"space must be 'auto', 'linear' or 'srgb', got {space!r}")


def _estimates(img: np.ndarray, kernel_size: int | None, noise_sigma: float | None,
               denoiser: Denoiser | None, space: str) -> list[ShakeEstimate]:
    """The estimates of :func:`general_kernel`: one for ``"srgb"`` or ``"linear"``; for
    ``"auto"`` the sRGB one, then the linear one unless sensor noise reads at
    :data:`LINEAR_MAX_NOISE` or more."""
    from ...imaging.color import srgb_to_linear

    _check_space(space)
    _, h, w = img.shape
    top, left = max(0, (h - _PROBE) // 2), max(0, (w - _PROBE) // 2)
    probe = img[:, top : top + _PROBE, left : left + _PROBE]
    sigma = _noise_and_blocks(probe) if noise_sigma is None else float(noise_sigma)
    clean = np.clip((denoiser or _classical_denoiser)(probe, sigma) if sigma > 1.0 / 255.0 else probe, 0.0, 1.0)
    size = shake_kernel_size(h, w) if kernel_size is None else int(kernel_size)
    if space == "auto" and estimate_noise_level(probe) >= LINEAR_MAX_NOISE:
        space = "srgb"
    found = []
    for sp in ("srgb", "linear") if space == "auto" else (space,):
        y = luminance(srgb_to_linear(clean, np.float32) if sp == "linear" else clean)
        found.append(ShakeEstimate(estimate_shake_kernel(y, size), y, sigma, sp, clean))
    return found


# ---------------------------------------------------------------------------------------
# the tool
#: below this kernel spread (pixels, :func:`kernel_spread`) the estimate is taken for a delta:
#: the image is sharp (or its blur too small to be worth a deconvolution) and is returned as is
DELTA_SPREAD = 0.8
#: the same for an input that is not noisy (below :data:`NOISY`), where deconvolving a sharp
#: photo can only lose: on sharp 192 px training crops the estimated kernels spread 0.61-1.14 px
#: (one, lenna, deconvolved with its halves agreeing at 0.54: 30 dB against its input), on 10
#: shaken 288 px crops (generated shake, alone or with JPEG) 1.15-6.1 px (the one under 1.3
#: gained 0.2 dB).  Noisy inputs keep
#: :data:`DELTA_SPREAD`: their plug-and-play step also removes the noise (+1.1 to +2.2 dB on three
#: crops whose kernels spread 1.1-1.3 px)
SHARP_SPREAD = 1.3
#: kernels estimated on the two halves of the frame must be at least this similar
#: (:func:`kernel_similarity`) for the tool to deconvolve.  At 0.75 (the first version's
#: threshold, from real kernels) it declined, on 10 training crops of 288 px with generated
#: shake (the realistic family), 4 of 10 kernels whose deconvolution gains +1.4 to +3.0 dB
#: (halves agreeing at 0.56-0.67, the halves being small) and kept the one that lost most
#: (-0.9 dB, halves at 0.92): deconvolving every case gained +1.44 dB on average there against
#: +0.79 dB with the check at 0.75.  Kept at 0.5 against grossly wrong kernels (periodic
#: textures, few edges), which cost several dB
MIN_CONSISTENCY = 0.5
#: at or above this noise level (0-1 scale, sensor noise or JPEG blocks) with the FFDNet prior
#: the halves are not checked: the prior's noise level keeps a poor kernel from ringing.  On the
#: same crops with the realistic family's noise (16-38 / 255), all 10 deconvolutions gained
#: (+0.3 to +6.5 dB, +2.36 on average) although 5 kernels' halves agreed under 0.55
NOISY = 14.0 / 255.0
#: below this noise level (0-1 scale) the estimated kernel must explain the image's power
#: spectrum at least as well as no blur (:func:`.spectra.kernel_misfit_ratio` below
#: :data:`.deblur.FIT_RATIO`, the deblurring tools' check), over the whole frame.  A real
#: low-light photo with a shallow depth of field (SCI medium/3020) got a 25 px streak from its
#: central 384 px, whose two halves agreed (0.73) and whose spectrum it fits (0.67); over the
#: whole frame the misfit ratio was 4.1, and the deconvolution smeared the photo into ghosts.  On
#: shaken crops that are nearly clean (generated shake: 0.13-0.79; measured kernels: 0.15-1.68,
#: the three above 1.0 gaining +0.06, -0.78, +0.12 dB; after mild JPEG, noise read under 4 / 255:
#: 0.66-1.08) the ratio stays low; noise flattens the spectrum and raises it (1.0-16 on noisy
#: shaken crops that gained up to +6 dB), so noisier inputs are not checked
SPECTRUM_CHECK_SIGMA = 4.0 / 255.0
#: smallest side (pixels) on which a kernel is estimated; smaller images are returned as is
MIN_SIDE = 48
_PROBE = 384  # side of the central region the kernel is estimated on
_WHOLE_PIXELS = 1 << 21  # above this many pixels, deconvolve tile by tile
_TILE = 768
#: noise level (0-1 scale) the FFDNet prior assumes at least: errors of the estimated kernel
#: behave like noise that deconvolution amplifies into ringing.  On shaken training crops
#: (generated kernels, estimated) 12 / 255 gained 0.4-1.8 dB more than 4 / 255 on each of 4
#: photos, also where the kernel was right (similarity 0.96: +2.10 against +1.72 dB)
_SIGMA_FLOOR = 12.0 / 255.0
#: the same for the total-variation prior (not re-tuned)
_TV_SIGMA_FLOOR = 4.0 / 255.0
#: the noise floor (0-1 scale) of the second deconvolution a refinement network with the
#: ``deconv2`` head reads beside the first: with the true kernel 3 / 255 gains about +1 dB more
#: than 12 / 255, with today's estimated kernels it mostly rings (6 of 13 held-out photos worse
#: than their input) and is the better floor on 3 of the 13 (+0.2 to +2.1 dB more than at 12 / 255):
#: BENCHMARKS.md, "Camera shake: how much a perfect kernel would give".  No network of this head ships
#: (BENCHMARKS.md, "... a refinement network that reads a second deconvolution")
LOW_FLOOR = 3.0 / 255.0


class KernelChoice(NamedTuple):
    kernel: np.ndarray  # the kernel deconvolved
    consistency: float  # similarity of the kernels of the two halves (1.0: unchecked)
    space: str  # "srgb" or "linear": where the kernel blurs (:func:`general_kernel`)
    checked: np.ndarray  # the kernel the tool's checks run on (see BlindShakeDeblur.estimate_kernel)
    estimate: ShakeEstimate | None = None  # the estimate ``kernel`` comes from (its cleaned luma and part)


def _noise_and_blocks(img: np.ndarray) -> float:
    """The noise level the tool assumes: sensor noise or JPEG artefacts, the larger."""
    return max(estimate_noise_level(img), jpeg_sigma(img))


def _tool_class(name: str) -> type[Tool]:
    """A registered tool's class: the networks this tool runs (``ffdnet_color`` as its prior,
    ``maxim_deblur`` for ``blend``), looked up when needed so importing this module loads none."""
    from ..base import TOOLS

    return TOOLS.get(name)


class BlindShakeDeblur(Tool):
    """Camera-shake deblurring with a general kernel: estimate it, then plug-and-play HQS."""

    card = ToolCard(
        id="shake_deblur_pnp",
        task="motion_deblur",
        description=(
            "Blind deblurring of camera shake with a general blur kernel (any shape: curved, "
            "multi-segment shake paths, not only straight lines).  Reads the noise (also the "
            "correlated noise of demosaicked raw photos) and JPEG blocking, estimates the kernel "
            "coarse to fine with an L0 sparse-gradient prior and Xu-Jia edge selection on an "
            "FFDNet-cleaned copy of the luma of the central 384 px (kernel non-negative, sum one, "
            "side 17 px on 256-408 px images, min(H, W) / 16 below and / 24 above, 5-45 px), then "
            "deconvolves every colour channel by plug-and-play half-quadratic splitting with the "
            "FFDNet denoiser as prior (noise and JPEG artefacts removed in the same step; total "
            "variation when FFDNet's weights are missing), the result kept within the input's range of "
            "values (deconvolution ringing clipped), then corrected by irpilot's refinement network "
            "(its own weights, shipped; 0.28 M parameters): a compact U-Net that reads the blurred input beside "
            "the deconvolution, trained on 800 shaken crops of training photos (generated shake alone, with "
            "sensor noise or JPEG, the protocol's line blur) to mend what an estimated kernel leaves: on 39 "
            "held-out crops the deconvolution's gain +1.16 -> +1.49 dB, 12 -> 10 worse than the input; on "
            "13 held-out photos with real measured kernels +0.77 / +1.43 / +0.21 dB alone / with noise / "
            "after JPEG (+0.74 / +1.41 / +0.17 without it).  Per crop it is no sure gain: of the 36 held-out "
            "deconvolutions it improved 30 (up to +1.9 dB) and lost on 6 (-0.02 to -2.1 dB); it tends to soften "
            "a good deconvolution a little and to mend a wrong one more (BENCHMARKS.md, 'Camera shake: a "
            "refinement network'; refine=false turns it off).  guide=auto (where MAXIM's weights are "
            "present; not the default): on a clean input (noise and JPEG blocks under 3 / 255) MAXIM's GoPro network "
            "(maxim_deblur) deblurs the cleaned central part, and the kernel that blurs its output into that "
            "part (a kernel step, then six of the blind estimator's alternations) replaces the blind kernel "
            "unless its spread is under 0.7 of the blind one's (where MAXIM leaves the blur its kernel comes out "
            "short): blind estimation locks onto wrong kernels on periodic texture and few strong edges, where "
            "the network's edges hold.  On 13 held-out photos with generated shake +0.97 -> +1.35 dB (4 -> 2 "
            "worse), with real measured kernels +0.77 -> +0.75 (4 -> 3 worse), in the agent on 14 shaken "
            "training crops +0.21 dB (one -8.2 dB failure halved), but on the test photos' 9 shaken crops "
            "-0.26 dB (four good deconvolutions lost 0.9-2.9 dB, one failure gained 3.8); about twice the time "
            "on a clean input (BENCHMARKS.md, 'Camera shake: a kernel found from MAXIM's output').  "
            "blend=true averages the result with "
            "MAXIM's GoPro network's (maxim_deblur) on a clean input (noise and JPEG blocks under "
            "3 / 255) of at most 2 MP: it limits a wrong kernel's damage (-8.2 -> -3.2 dB on one "
            "training photo) but softens good deconvolutions (-0.3 to -1.5 dB on five of seven in the "
            "agent), +1.26 -> +1.58 dB on 13 held-out photos (+0.77 -> +0.91 with real measured kernels) "
            "and +2.20 -> +2.07 on 18 training crops, "
            "at 2.3 times the time on 320 px crops (more on larger images: MAXIM-3S takes 57 s on 512 px): "
            "not the default (BENCHMARKS.md, 'Camera shake: the deconvolution averaged with MAXIM').  "
            "A camera blurs light before its tone "
            "curve: the kernel is estimated on sRGB values and in linear light, and the blur "
            "undone where its kernel is less concentrated (the data step in linear light, the "
            "denoiser on sRGB values; sRGB only when sensor noise reads at 4 / 255 or more).  Returns the input unchanged when the "
            "kernel is close to a delta (sharp image), when, on a clean input, kernels estimated on "
            "the two halves of the frame disagree or the kernel does not explain the whole frame's "
            "spectrum better than no blur (a frame without one blur), or when the image is under "
            "48 px.  Tuned on generated shake (the realistic family's real_motion_blur, real_noise, "
            "real_jpeg) on training photos; measured on 18 training crops (384 px): with generated "
            "shake (70 % of it made in linear light) +2.1 dB alone, +2.1 dB with sensor noise, +1.2 dB "
            "after JPEG quality 15-40 (worst case -0.5 dB; on sRGB values only, the third version: "
            "+1.6 / +2.1 / +0.8 dB; the fitted motion_deblur_hqs: -0.8 / 0.0 / -1.2 dB); with 18 real "
            "measured kernels applied to sRGB values (Levin et al. and others, mild noise or JPEG) "
            "+0.7 / +1.0 / +0.6 dB, 4-6 of 18 cases worse, worst -1.3 dB (BENCHMARKS.md, 'Camera "
            "shake: linear light').  On the protocol's motion blur the second version lost 1.2 dB where "
            "motion_deblur_hqs gains 11.3-13.3 dB: use that one there (the motion tools hand over "
            "to this one when their line kernel does not fit).  Assumes one blur for the whole "
            "frame: not for object motion, rotation blur or depth-varying defocus; kernels longer "
            "than the kernel side are not removed (raise kernel_size).  Can find a kernel in a sharp "
            "photo with strong periodic texture or ripples (3 of 24 sharp 384 px training crops "
            "changed, to 20-25 dB against the photo; BENCHMARKS.md, 'The deblurring tools on sharp "
            "photos'): the agent runs it as the motion tools' fallback only where perception reads "
            "motion blur.  Slow: four kernel estimations (two for the space) and eight FFDNet calls (with "
            "guide, on a clean input, MAXIM on the central 384 px as well)."
        ),
        # 2: noise, JPEG and edge selection (second version); 3: the smaller kernel support, the spectrum check;
        # 4: linear light; 5: the output kept within the input's range of values; 6: the refinement network
        version="6",
        tiling=False,  # the kernel is estimated on the whole frame
        # 512 x 512 (a 21 px kernel), 2 threads, one other single-thread job running, 2026-12-05:
        # benchmarks/tool_speed.py --tools shake_deblur_pnp motion_deblur_hqs (7.8 s against 0.24 s;
        # version 3 on a quiet machine: 5.7 s against 0.23 s)
        cpu_seconds_512=7.8,
        reference=(
            "Kernel: Xu, Zheng & Jia, Unnatural L0 sparse representation for natural image deblurring, "
            "CVPR 2013; Pan, Hu, Su & Yang, Deblurring text images via L0-regularized intensity and "
            "gradient prior, CVPR 2014.  Non-blind: Zhang et al., Learning deep CNN denoiser prior for "
            "image restoration (IRCNN), CVPR 2017; Plug-and-play image restoration with deep denoiser "
            "prior (DPIR), TPAMI 2021; FFDNet (Zhang, Zuo & Zhang, TIP 2018)"
        ),
        arguments={
            "kernel_size": {"type": "integer", "minimum": 3, "maximum": 101,
                            "description": "side of the estimated kernel in pixels (odd; default 17 on 256-408 px "
                            "images, min(H, W) / 16 below and / 24 above, 5-45)"},
            "noise_sigma": {"type": "number", "minimum": 0, "maximum": 75,
                            "description": "noise level on the 0-255 scale (estimated when omitted)"},
            "prior": {"type": "string", "enum": ["auto", "ffdnet", "tv"], "default": "auto",
                      "description": "denoiser prior of the non-blind step: FFDNet when its weights are "
                      "present (auto), or total variation"},
            "refine": {"type": "boolean", "default": True,
                       "description": "correct the deconvolution with irpilot's refinement network when its weights "
                       "are present (false: version 5, the deconvolution as it is)"},
            "in_range": {"type": "boolean", "default": True,
                         "description": "keep the result within the input's range of values, channel by channel "
                         "(false: version 4's unclipped deconvolution)"},
            "blend": {"type": "boolean", "default": False,
                      "description": "average the result with maxim_deblur's on a clean input of at most 2 MP "
                      "(needs MAXIM's weights): fewer failures, softer successes, several times the time"},
            "guide": {"type": "string", "enum": ["none", "auto", "maxim"], "default": "none",
                      "description": "on a clean input, deconvolve with the kernel found from maxim_deblur's "
                      "output on the cleaned central part instead of the blind one, unless it is much shorter "
                      "(none: the blind kernel only; auto: where MAXIM's weights are present; maxim: an error "
                      "without them); it gained on training photos and lost on the test photos"},
            "space": {"type": "string", "enum": ["auto", "linear", "srgb"], "default": "auto",
                      "description": "where the blur happened: in linear light (a camera's shake, before "
                      "its tone curve), on sRGB values, or estimated both ways and chosen (auto)"},
        },
    )

    @classmethod
    def precision_tag(cls, device: str | None = None, precision: str | None = None) -> str:
        # the outputs depend on whether FFDNet (and in which arithmetic) serves as the prior:
        # the tag keeps results of the two priors apart in the result cache
        # and whether the refinement network's weights are present (version 6 without them is 5)
        # and MAXIM's, which guide="auto" runs where they are (the result cache keys hold the arguments)
        from ..networks.compact import asset_exists

        ffdnet = _tool_class("ffdnet_color")
        tag = ffdnet.precision_tag(device, precision) if ffdnet.available() else "tv"
        tag = tag if asset_exists("deconv") else f"{tag}-unrefined"
        tag = tag if _tool_class("maxim_deblur").available() else f"{tag}-unguided"
        return tag.lstrip("-")

    def setup(self) -> None:
        self._ffdnet: Tool | None = None
        ffdnet = _tool_class("ffdnet_color")
        if ffdnet.available():
            self._ffdnet = ffdnet(**{k: v for k, v in self.options.items() if k in ("device", "precision")})
        from ..networks.compact import asset_exists, load_compact_net

        self._refiner = None
        if asset_exists("deconv"):
            import torch

            self._refiner = load_compact_net("deconv")[0].to(torch.device(self.device))
        self._maxim: Tool | None = None  # blend's and guide's network, loaded on first use

    def _denoiser(self, prior: str) -> Denoiser | None:
        if prior == "tv":
            return None
        if self._ffdnet is None:
            if prior == "ffdnet":
                from ...errors import ToolUnavailableError

                raise ToolUnavailableError(
                    f"prior='ffdnet' needs the FFDNet weights: {_tool_class('ffdnet_color').unavailable_reason()}"
                )
            return None
        net = self._ffdnet

        def run(x: np.ndarray, sigma: float) -> np.ndarray:
            return net(x, sigma=float(sigma) * 255.0, tile=0)

        return run

    def estimate_kernel(self, img: np.ndarray, kernel_size: int | None = None,
                        noise_sigma: float | None = None, prior: str = "auto",
                        space: str = "auto") -> KernelChoice:
        """The kernel :meth:`__call__` would use for ``img`` (3, H, W), estimated on a denoised
        copy of the luma of its central part, and what its checks run on.  Whether to deconvolve
        at all is decided on the kernel estimated on sRGB values (``checked``; the linear one
        when ``space="linear"``), as before the tool knew linear light: a sharp photo with a
        kernel "found" in it stays as it is.  ``consistency``: the :func:`kernel_similarity` of
        the kernels estimated on the left and right halves of that part (1.0, unchecked, when the
        kernel is a delta, the image too small to split, or noisy enough for the FFDNet prior to
        absorb a poor kernel: :data:`NOISY`)."""
        self.ensure_setup()
        sigma = None if noise_sigma is None else float(noise_sigma) / 255.0
        found = _estimates(img, kernel_size, sigma, self._denoiser(prior), space)
        checked = found[0]
        chosen = found[1] if len(found) == 2 and in_linear_light(*found) else checked
        k, y = checked.kernel, checked.luma
        pw = y.shape[1]
        if kernel_spread(k) < DELTA_SPREAD or min(y.shape[0], pw // 2) < MIN_SIDE:
            return KernelChoice(chosen.kernel, 1.0, chosen.space, k, chosen)
        if checked.sigma >= NOISY and self._denoiser(prior) is not None:
            return KernelChoice(chosen.kernel, 1.0, chosen.space, k, chosen)
        # blind estimation can lock onto a wrong kernel (strong periodic textures, few edges);
        # a kernel that two halves of the frame do not agree on is not trusted
        half = pw // 2 + k.shape[0] // 2
        k1 = estimate_shake_kernel(y[:, :half], k.shape[0])
        k2 = estimate_shake_kernel(y[:, pw - half :], k.shape[0])
        return KernelChoice(chosen.kernel, kernel_similarity(k1, k2), chosen.space, k, chosen)

    def _maxim_tool(self, required: bool, why: str = "guide='maxim'") -> Tool | None:
        """MAXIM's GoPro network (``blend``, ``guide``), loaded on first use; None when its weights
        are missing, or a :class:`ToolUnavailableError` saying where to get them when ``required``."""
        if self._maxim is None:
            maxim = _tool_class("maxim_deblur")
            if not maxim.available():
                if not required:
                    return None
                from ...errors import ToolUnavailableError

                raise ToolUnavailableError(f"{why} needs MAXIM's weights: {maxim.unavailable_reason()}")
            self._maxim = maxim(**{k: v for k, v in self.options.items() if k in ("device", "precision")})
        return self._maxim

    @staticmethod
    def guided_kernel(found: ShakeEstimate, maxim: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """``found``'s blind kernel, or the kernel found from a deblurring network's output.

        On a clean input (noise and JPEG blocks read under :data:`GUIDE_MAX_SIGMA`) ``maxim`` (a
        deblurring network: MAXIM's GoPro model) deblurs the cleaned central part the blind
        kernel was estimated on, and the kernel that blurs its output into that part
        (:func:`kernel_from_latent`, in the space the blur is taken to have happened in) replaces
        the blind one unless it is much shorter (its :func:`kernel_spread` under
        :data:`GUIDE_MIN_SPREAD_RATIO` times the blind kernel's): a network that leaves most of
        a long shake in place tends to yield a short kernel, and there the blind one is kept.  Blind
        estimation locks onto wrong kernels on periodic textures and few strong edges, where the
        network's edges often hold."""
        if found.clean is None or found.sigma >= GUIDE_MAX_SIGMA:
            return found.kernel
        guided = BlindShakeDeblur.network_kernel(found, maxim)
        short = kernel_spread(guided) < GUIDE_MIN_SPREAD_RATIO * kernel_spread(found.kernel)
        return found.kernel if short else guided

    @staticmethod
    def network_kernel(found: ShakeEstimate, network: Callable[[np.ndarray], np.ndarray],
                       alternations: int = GUIDE_ALTERNATIONS) -> np.ndarray:
        """The kernel that blurs ``network``'s output on ``found``'s cleaned central part into
        that part (:func:`kernel_from_latent`, in the space the blur is taken to have happened
        in, with ``found.kernel``'s side), whatever the checks of :meth:`guided_kernel`."""
        from ...imaging.color import srgb_to_linear

        if found.clean is None:
            raise ValueError("the estimate has no cleaned part to deblur (ShakeEstimate.clean)")
        sharp = np.clip(network(found.clean), 0.0, 1.0)
        latent = luminance(srgb_to_linear(sharp, np.float32) if found.space == "linear" else sharp)
        return kernel_from_latent(latent, found.luma, found.kernel.shape[0], alternations=alternations)

    @staticmethod
    def _explains_spectrum(img: np.ndarray, k: np.ndarray, space: str = "srgb") -> bool:
        """Whether ``k`` explains the spectrum of the whole of ``img`` better than no blur (the
        tool assumes one blur for the whole frame): see :data:`SPECTRUM_CHECK_SIGMA`."""
        from ...imaging.color import srgb_to_linear
        from .spectra import FIT_RATIO, kernel_misfit_ratio

        return kernel_misfit_ratio(srgb_to_linear(img, np.float32) if space == "linear" else img, k) < FIT_RATIO

    def deconvolutions(self, img: np.ndarray, floors: tuple[float | None, ...] = (None,),
                       kernel_size: int | None = None, noise_sigma: float | None = None, prior: str = "auto",
                       space: str = "auto", in_range: bool = True, guide: str = "none") -> list[np.ndarray] | None:
        """The deconvolutions of ``img`` (3, H, W) with the one kernel the tool estimates, one per
        noise floor of ``floors`` (0-1 scale; None: the tool's own, :data:`_SIGMA_FLOOR`), each
        kept within the input's range unless ``in_range`` is false; None where the tool declines
        (a sharp image, a kernel its checks do not trust, an image under :data:`MIN_SIDE`).
        ``guide``: see :meth:`guided_kernel` (the checks run on the blind kernels either way)."""
        if prior not in ("auto", "ffdnet", "tv"):
            raise ValueError(f"prior must be 'auto', 'ffdnet' or 'tv', got {prior!r}")
        _check_space(space)  # before the early return: a wrong argument is an error on any image
        if guide not in ("none", "maxim", "auto"):
            raise ValueError(f"guide must be 'none', 'maxim' or 'auto', got {guide!r}")
        self.ensure_setup()
        maxim = self._maxim_tool(required=guide == "maxim") if guide != "none" else None
        _, h, w = img.shape
        if min(h, w) < MIN_SIDE:
            return None
        # the checks run on sRGB values unless linear light is asked for
        checked_space = "linear" if space == "linear" else "srgb"
        k, consistency, space, checked, found = self.estimate_kernel(img, kernel_size, noise_sigma, prior, space)
        sigma = _noise_and_blocks(img) if noise_sigma is None else float(noise_sigma) / 255.0
        den = self._denoiser(prior)
        min_spread = DELTA_SPREAD if sigma >= NOISY and den is not None else SHARP_SPREAD
        if min(kernel_spread(checked), kernel_spread(k)) < min_spread or consistency < MIN_CONSISTENCY:
            return None
        if sigma < SPECTRUM_CHECK_SIGMA and not self._explains_spectrum(img, checked, checked_space):
            return None
        if maxim is not None and found is not None:
            k = self.guided_kernel(found._replace(kernel=k), maxim)
        own = _SIGMA_FLOOR if den is not None else _TV_SIGMA_FLOOR
        done: dict[float, np.ndarray] = {}
        for floor in floors:
            level = max(sigma, own if floor is None else float(floor))
            if level not in done:
                def deconv(x: np.ndarray, level: float = level) -> np.ndarray:
                    return deconv_pnp(x, k, level, den or _tv_denoiser, linear=space == "linear")

                if h * w <= _WHOLE_PIXELS:
                    out = deconv(img)
                else:
                    from ..tiling import run_tiled

                    out = run_tiled(deconv, img, _TILE, max(32, 2 * max(k.shape)))
                done[level] = within_input_range(out, img) if in_range else out
        return [done[max(sigma, own if f is None else float(f))] for f in floors]

    def _run(self, img: np.ndarray, kernel_size: int | None = None, noise_sigma: float | None = None,
             prior: str = "auto", space: str = "auto", in_range: bool = True, refine: bool = True,
             blend: bool = False, guide: str = "none", **args: Any) -> np.ndarray:
        refiner = self._refiner if refine else None
        maxim = self._maxim_tool(required=True, why="blend=true") if blend else None
        # a refinement network that reads two deconvolutions gets the second at LOW_FLOOR
        floors = (None, LOW_FLOOR) if refiner is not None and refiner_inputs(refiner) == 9 else (None,)
        outs = self.deconvolutions(img, floors, kernel_size, noise_sigma, prior, space, in_range, guide)
        if outs is None:
            return img.copy()
        out = outs[0] if refiner is None else refine_deconvolution(refiner, img, *outs)
        if maxim is not None and img.shape[1] * img.shape[2] <= BLEND_MAX_PIXELS:
            sigma = _noise_and_blocks(img) if noise_sigma is None else float(noise_sigma) / 255.0
            if sigma < BLEND_MAX_SIGMA:
                out = 0.5 * (out + maxim(img))
        return np.asarray(out, dtype=np.float32)


#: the deconvolution is averaged with MAXIM's output only on an input whose noise and JPEG blocks
#: read under this (0-1 scale): on shaken training crops after JPEG (quality 15-40, read at
#: 8-12 / 255) MAXIM left the blocks and the mean lost 0.5 dB to the deconvolution alone; shake
#: alone reads 0.3-1.3 / 255 (BENCHMARKS.md, "Camera shake: the deconvolution averaged with MAXIM")
BLEND_MAX_SIGMA = 3.0 / 255.0
#: nor above this many pixels: MAXIM-3S takes about an hour of CPU time on 12 MP
#: (BENCHMARKS.md, "MAXIM"), the deconvolution under five minutes
BLEND_MAX_PIXELS = 2_000_000


def refiner_inputs(model: Any) -> int:
    """How many channels the refinement network ``model`` reads: 6 (the input and one
    deconvolution) or 9 (and a second deconvolution at :data:`LOW_FLOOR`)."""
    return int(model.enc[0][0].in_channels)


def refine_deconvolution(model: Any, img: np.ndarray, deconvolved: np.ndarray,
                         low: np.ndarray | None = None) -> np.ndarray:
    """``deconvolved`` corrected by the refinement network ``model`` (the compact U-Net's
    ``deconv`` head, :mod:`irpilot.train.deconv`), which reads it beside the blurred ``img``: it
    learned on shaken training crops where an estimated kernel's deconvolution rings or ghosts
    and where it stays soft.  ``low``: the second deconvolution (at :data:`LOW_FLOOR`) a network
    with the ``deconv2`` head reads as well.  Whole images up to 1 MP, larger ones in 512 px tiles (the network
    has no per-image bias, so tiles run alike)."""
    import torch

    from ..tiling import run_tiled

    def run(t: np.ndarray) -> np.ndarray:
        _, th, tw = t.shape
        x = np.pad(t, ((0, 0), (0, -th % 8), (0, -tw % 8)), mode="reflect")
        device = next(model.parameters()).device  # the tool's device
        with torch.inference_mode():
            y = model(torch.from_numpy(np.ascontiguousarray(x[None], dtype=np.float32)).to(device))[0].cpu().numpy()
        return y[:, :th, :tw]

    parts = [img, deconvolved] if low is None else [img, deconvolved, low]
    if 3 * len(parts) != refiner_inputs(model):
        raise ValueError(f"the refinement network reads {refiner_inputs(model)} channels, given {3 * len(parts)}")
    stack = np.concatenate(parts).astype(np.float32)
    _, h, w = img.shape
    out = run(stack) if h * w <= _WHOLE_PIXELS // 2 else run_tiled(run, stack, 512, 32, channels=3)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def within_input_range(out: np.ndarray, img: np.ndarray) -> np.ndarray:
    """``out`` clipped, channel by channel, to the range of values of ``img``.

    A blur averages, so a sharp photo reaches a little beyond its blurred copy's range; a
    deconvolution with an estimated kernel rings much further, and its undershoots clip to
    black specks along dark edges (which ``hsv_value_inverse``'s darkening check reads as a
    darkened photo: a black share of 0.1-1.3 % raised its score by up to 1.2 on shaken training
    crops).  Clipping to the input's range removes more ringing than true contrast: on 32 shaken
    training crops +0.14 dB alone and +0.05 dB after JPEG, no crop worse by more than 0.003 dB
    (BENCHMARKS.md, "Camera shake: the deconvolution kept within the input's range").  Not for
    the line-kernel tools: their exact protocol kernel restores true extremes (clipping them
    cost up to 1.2 dB there)."""
    lo = img.reshape(img.shape[0], -1).min(axis=1)[:, None, None]
    hi = img.reshape(img.shape[0], -1).max(axis=1)[:, None, None]
    return np.clip(out, lo, hi).astype(np.float32)


register(BlindShakeDeblur)
