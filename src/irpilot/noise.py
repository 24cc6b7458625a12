"""Blind estimates of additive Gaussian noise strength: the one place irpilot measures it.

Four estimators, each used where its trade-off fits (all return sigma on the 0-255 scale,
the mean over the RGB channels):

- ``"pca"`` (:func:`estimate_noise_sigma`, the default): the patch-PCA idea of Chen, Zhu &
  Heng, "An Efficient Statistical Method for Image Noise Level Estimation" (ICCV 2015).  In
  the covariance of small image patches, texture occupies a few large eigenvalues while white
  noise adds sigma^2 to all of them; the noise variance is the largest tail of eigenvalues
  whose mean equals its median (a tail without texture).  Within 20 % for sigma 15-50 on
  three photos (``tests/tools/test_networks.py``).
- ``"multiscale"`` (:func:`multiscale_sigma`): the PCA estimate, or a larger level when the
  noise is spatially correlated, as JPEG and a dejpeg network leave it (fine grain removed,
  blotches of a few pixels kept), which the full-resolution estimators read as 1-2.  FFDNet's
  noise-level input uses it.
- ``"wavelet"`` (:func:`wavelet_sigma`): Donoho & Johnstone's median |HH| / 0.6745 of the
  finest diagonal Haar band (scikit-image's implementation); also the PCA estimate's fallback
  on channels too small for patch statistics.  Biased upward by texture; the classical
  denoisers and deconvolution use it to set their strength.
- ``"immerkaer"`` (:func:`immerkaer_sigma`): Immerkaer (1996), the mean absolute response to
  the difference of two Laplacians, on pixels below the 90th percentile of gradient
  magnitude.  The ``noise_sigma`` statistic of :mod:`irpilot.quality`.

Pure numpy / scipy, no torch.

>>> estimate_noise_sigma(img)                     # doctest: +SKIP
24.6
>>> estimate_noise_sigma(img, method="wavelet")   # doctest: +SKIP
27.1
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .io import as_image

__all__ = [
    "METHODS",
    "estimate_noise_sigma",
    "channel_noise_sigmas",
    "multiscale_sigma",
    "grain_sigma",
    "flat_block_sigma",
    "half_size",
    "wavelet_sigma",
    "immerkaer_sigma",
]

METHODS: tuple[str, ...] = ("pca", "multiscale", "wavelet", "immerkaer")


def _patches(channel: np.ndarray, size: int, max_patches: int, rng: np.random.Generator) -> np.ndarray:
    """(n, size*size) overlapping patches of a 2-D array (a random subset when many).

    Only the chosen patches are copied: reshaping the window view of a 12 MP channel would copy
    every patch (2.3 GB) to keep 20,000 of them.  The subset is the same as choosing from that
    copy (the same draw, the same row-major order), so the readings do not change."""
    view = np.lib.stride_tricks.sliding_window_view(channel, (size, size))
    rows, cols = view.shape[:2]
    n = rows * cols
    if n <= max_patches:
        return view.reshape(n, size * size).astype(np.float64)
    r, c = np.divmod(rng.choice(n, max_patches, replace=False), cols)
    return view[r, c].reshape(max_patches, size * size).astype(np.float64)


def _pca_sigma(channel: np.ndarray, size: int, max_patches: int, rng: np.random.Generator) -> float:
    """Noise std of one channel (0-1 scale) by the eigenvalue-tail criterion."""
    if min(channel.shape) < 2 * size:
        return _mad_sigma(channel)
    p = _patches(channel, size, max_patches, rng)
    if p.shape[0] < size * size * 2:
        return _mad_sigma(channel)
    p -= p.mean(axis=0, keepdims=True)
    eig = np.sort(np.linalg.eigvalsh(p.T @ p / p.shape[0]))  # ascending
    eig = np.maximum(eig, 0.0)
    # largest tail eig[:k] whose mean does not exceed its median: texture-free eigenvalues
    for k in range(eig.size, 0, -1):
        tail = eig[:k]
        if tail.mean() <= np.median(tail):
            return float(np.sqrt(tail.mean()))
    return float(np.sqrt(eig[0]))


def _mad_sigma(channel: np.ndarray) -> float:
    """Donoho's MAD estimate of one channel (0-1 scale): median |HH| / 0.6745 of the finest
    diagonal db1 (Haar) band, symmetric boundaries (scikit-image's ``estimate_sigma``)."""
    import warnings

    from skimage.restoration import estimate_sigma

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # flat images: empty detail subbands
        sigma = float(np.asarray(estimate_sigma(channel), dtype=np.float64))
    return sigma if np.isfinite(sigma) else 0.0


def channel_noise_sigmas(
    img: np.ndarray, *, patch: int = 7, max_patches: int = 20000, seed: int = 0
) -> np.ndarray:
    """Per-channel noise std (0-255 scale) of a (3, H, W) image, by patch PCA."""
    img = as_image(img)
    rng = np.random.default_rng(seed)
    return np.array([_pca_sigma(c, patch, max_patches, rng) * 255.0 for c in img], dtype=np.float64)


def estimate_noise_sigma(
    img: np.ndarray, *, method: str = "pca", patch: int = 7, max_patches: int = 20000, seed: int = 0
) -> float:
    """Noise std on the 0-255 scale of a (3, H, W) float image in [0, 1] (mean over channels).

    ``method`` is one of :data:`METHODS` (module docstring).  With ``"pca"``: within about
    20 % for Gaussian noise of sigma 15-50 on natural photos; clipped noise in saturated
    regions is underestimated; deterministic for a given ``seed``.
    """
    if method == "pca":
        return float(channel_noise_sigmas(img, patch=patch, max_patches=max_patches, seed=seed).mean())
    if method == "multiscale":
        return multiscale_sigma(img, patch=patch, max_patches=max_patches, seed=seed)
    if method == "wavelet":
        return wavelet_sigma(img)
    if method == "immerkaer":
        return immerkaer_sigma(img)
    raise ValueError(f"unknown noise estimator {method!r}; known: {', '.join(METHODS)}")


# The correlated-noise reading (multiscale_sigma), fitted on 8 training crops of 256 px with the
# protocol's noise -> JPEG and JPEG -> noise followed by dncnn3_dejpeg (BENCHMARKS.md, 2026-12-04).
_FINE_MAX = 3.0  # fine scale almost noiseless: JPEG or a network removed it (clean photos read 2-7)
_COARSE_MIN = 8.0  # half-size readings below this may be a clean photo's own detail
_COARSE_GAIN = 1.5  # FFDNet level / half-size reading that restored those crops best
_FLAT_QUANTILE = 0.1  # the flattest tenth of 8 x 8 blocks


def half_size(img: np.ndarray) -> np.ndarray:
    """(C, H, W) -> (C, H // 2, W // 2) by 2 x 2 averaging (white noise halves, correlated noise less)."""
    c, h, w = img.shape
    half = img[:, : h // 2 * 2, : w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    return np.ascontiguousarray(half, dtype=np.float32)


def flat_block_sigma(img: np.ndarray, block: int = 8, quantile: float = _FLAT_QUANTILE) -> float:
    """Noise std (0-255 scale, mean over channels) in the flattest blocks: the ``quantile`` of the
    variances of non-overlapping ``block`` x ``block`` blocks, divided by the same quantile of the
    variance of white noise (chi-square), so white noise reads as its sigma.  Unlike the patch
    PCA it counts noise at every frequency, but it reads texture where no block is flat.
    Blocks with a channel mean below 0.1 or above 0.9 are left out when enough others remain:
    clipping there hides the noise, and they would pass for the flattest."""
    from scipy import stats

    c, h, w = img.shape
    if h < block or w < block:
        return wavelet_sigma(img)
    blocks = img[:, : h // block * block, : w // block * block].astype(np.float64)
    blocks = blocks.reshape(c, h // block, block, w // block, block).transpose(0, 1, 3, 2, 4).reshape(c, -1, block * block)
    mean = blocks.mean(axis=2)
    keep = ((mean > 0.1) & (mean < 0.9)).all(axis=0)
    if keep.sum() < 16:
        keep[:] = True
    dof = block * block - 1
    bias = stats.chi2.ppf(quantile, dof) / dof
    var = blocks[:, keep].var(axis=2, ddof=1)
    return float(np.mean(np.sqrt(np.quantile(var, quantile, axis=1) / bias)) * 255.0)


def grain_sigma(img: np.ndarray, *, patch: int = 7, max_patches: int = 20000, seed: int = 0) -> float:
    """The level (0-255 scale) of spatially correlated noise, 0.0 when there is none to read.

    White noise reads the same at full and at half size once the half-size reading is doubled
    (2 x 2 averaging halves it); noise that JPEG and a dejpeg network have spread over
    neighbouring pixels reads 1-2 at full size but 15-35 at half size.  So when the full-size
    PCA estimate is below 3 (the fine scale almost noiseless) and the doubled half-size reading
    (the smaller of patch PCA and the flattest blocks, which keeps photo detail out) is above
    both 8 and twice the full-size one, the level is 1.5 x that reading; otherwise 0.0."""
    img = as_image(img)
    return _readings(img, patch, max_patches, seed)[1]


def multiscale_sigma(img: np.ndarray, *, patch: int = 7, max_patches: int = 20000, seed: int = 0) -> float:
    """The noise level (0-255 scale) to give a Gaussian denoiser, white or spatially correlated
    noise: the correlated level (:func:`grain_sigma`) when there is one, else the PCA estimate
    (:func:`estimate_noise_sigma`), so white noise is estimated as before.

    >>> multiscale_sigma(dejpegged)   # doctest: +SKIP
    25.4
    """
    fine, grain = _readings(as_image(img), patch, max_patches, seed)
    return max(fine, grain)


def _readings(img: np.ndarray, patch: int, max_patches: int, seed: int) -> tuple[float, float]:
    """(full-size PCA estimate, correlated level or 0.0) of :func:`grain_sigma`."""
    fine = estimate_noise_sigma(img, patch=patch, max_patches=max_patches, seed=seed)
    if fine >= _FINE_MAX or min(img.shape[-2:]) < 8 * patch:
        return fine, 0.0
    half = half_size(img)
    coarse = 2.0 * min(
        estimate_noise_sigma(half, patch=patch, max_patches=max_patches, seed=seed), flat_block_sigma(half)
    )
    if coarse > max(_COARSE_MIN, 2.0 * fine):
        return fine, _COARSE_GAIN * coarse
    return fine, 0.0


def wavelet_sigma(img: np.ndarray) -> float:
    """Wavelet MAD estimate (0-255 scale), mean over channels; biased upward by texture."""
    img = as_image(img)
    return float(np.mean([_mad_sigma(c) for c in img]) * 255.0)


_IMMERKAER = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


def immerkaer_sigma(img: np.ndarray) -> float:
    """Immerkaer's estimate (0-255 scale), mean over RGB.

    The 3x3 mask is the difference of two Laplacians, which cancels smooth image structure;
    the sigma follows from the mean absolute response.  To keep edges from inflating the
    estimate, only pixels whose Sobel gradient magnitude lies below the 90th percentile
    are used (the usual edge-masked variant).  Images smaller than 3x3 give 0.
    """
    h, w = img.shape[-2:]
    if h < 3 or w < 3:
        return 0.0
    grey = (0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]).astype(np.float64)  # BT.601 luma
    gmag = np.hypot(ndimage.sobel(grey, axis=0), ndimage.sobel(grey, axis=1))[1:-1, 1:-1]
    keep = gmag <= np.quantile(gmag, 0.9)
    sigmas = []
    for ch in img.astype(np.float64) * 255.0:
        resp = np.abs(ndimage.correlate(ch, _IMMERKAER, mode="reflect"))[1:-1, 1:-1]
        sigmas.append(np.sqrt(np.pi / 2.0) * np.mean(resp[keep]) / 6.0)
    return float(np.mean(sigmas))
