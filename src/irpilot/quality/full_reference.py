"""Full-reference metrics: PSNR, PSNR-Y, SSIM, MS-SSIM, GMSD (numpy) and VIF, FSIM, HaarPSI (piq).

Conventions follow the benchmark protocol: RGB images in [0, 1], data range 1, no border
crop.  The numpy implementations are irpilot's own and are calibrated in the tests against
scikit-image (PSNR, SSIM) and piq (MS-SSIM, GMSD) on fixed photos.

Small images: every metric returns a finite value for any size >= 1x1.  Where the
original definition needs a minimum size (SSIM's 7x7 window, MS-SSIM's five scales of an
11-tap Gaussian, i.e. >= 161 px, piq's VIF/FSIM/HaarPSI filters) irpilot uses fewer
scales or a smaller window, or mirror-pads, as documented on each class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from ..imaging.color import luma, y_channel
from .base import METRICS, Metric

__all__ = ["PSNR", "PSNRY", "SSIM", "MSSSIM", "GMSD", "VIF", "FSIM", "HaarPSI", "psnr", "ssim", "ms_ssim", "gmsd"]

#: PSNR of (near-)identical images is capped here instead of being infinite.
PSNR_CAP_DB = 100.0


def _psnr_from_mse(mse: float) -> float:
    if mse <= 10.0 ** (-PSNR_CAP_DB / 10.0):
        return PSNR_CAP_DB
    return float(-10.0 * np.log10(mse))


def psnr(img: np.ndarray, ref: np.ndarray) -> float:
    """PSNR in dB over all RGB values, data range 1, capped at :data:`PSNR_CAP_DB`."""
    diff = img.astype(np.float64) - ref.astype(np.float64)
    return _psnr_from_mse(float(np.mean(diff * diff)))


def ssim(img: np.ndarray, ref: np.ndarray) -> float:
    """SSIM as scikit-image ``structural_similarity(ref, img, channel_axis=-1, data_range=1)``.

    The protocol's SSIM: per channel, 7x7 uniform window, sample (N-1) covariances, mean over
    the map without its 3-px border, then over channels.  irpilot's implementation uses
    OpenCV box filters (about 2.5x faster) and matches scikit-image to 1e-6 (tested).  For
    images smaller than 7 px a side the window shrinks to the largest odd size that fits;
    below 3 px the global SSIM formula (one window covering the image) is used.
    """
    import cv2

    side = min(img.shape[1:])
    c1, c2 = 0.01**2, 0.03**2
    x_all, y_all = ref.astype(np.float64), img.astype(np.float64)
    vals = []
    if side >= 3:
        win = 7 if side >= 7 else (side if side % 2 else side - 1)
        n = win * win
        cov = n / (n - 1.0)
        pad = (win - 1) // 2

        def box(z: np.ndarray) -> np.ndarray:
            return cv2.boxFilter(z, -1, (win, win), normalize=True, borderType=cv2.BORDER_REFLECT)

        for x, y in zip(x_all, y_all):
            ux, uy = box(x), box(y)
            vx = cov * (box(x * x) - ux * ux)
            vy = cov * (box(y * y) - uy * uy)
            vxy = cov * (box(x * y) - ux * uy)
            smap = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
            vals.append(smap[pad : smap.shape[0] - pad, pad : smap.shape[1] - pad].mean())
        return float(np.mean(vals))
    for x, y in zip(x_all, y_all):
        x, y = x.ravel(), y.ravel()
        mx, my = x.mean(), y.mean()
        vx, vy, cxy = x.var(), y.var(), np.mean((x - mx) * (y - my))
        vals.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(vals))


# -- MS-SSIM ----------------------------------------------------------------------------------
_MS_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def _gauss1d(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable correlation of (C, H, W) with ``g`` keeping only fully covered pixels."""
    import cv2

    r = len(g) // 2
    y = np.stack([cv2.sepFilter2D(ch, -1, g, g, borderType=cv2.BORDER_REFLECT) for ch in x])
    return y[..., r : y.shape[-2] - r, r : y.shape[-1] - r]


def _ssim_cs(x: np.ndarray, y: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean SSIM and contrast-structure terms with a Gaussian window."""
    c1, c2 = 0.01**2, 0.03**2
    mx, my = _filter_valid(x, g), _filter_valid(y, g)
    sxx = _filter_valid(x * x, g) - mx * mx
    syy = _filter_valid(y * y, g) - my * my
    sxy = _filter_valid(x * y, g) - mx * my
    cs = (2.0 * sxy + c2) / (sxx + syy + c2)
    ss = (2.0 * mx * my + c1) / (mx * mx + my * my + c1) * cs
    return ss.mean(axis=(-2, -1)), cs.mean(axis=(-2, -1))


def _half(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling; an odd last row/column is replicated first."""
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        x = np.pad(x, ((0, 0), (0, h % 2), (0, w % 2)), mode="edge")
    return 0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2])


def ms_ssim(img: np.ndarray, ref: np.ndarray, *, kernel_size: int = 11, sigma: float = 1.5) -> float:
    """Multi-scale SSIM (Wang et al. 2003) per RGB channel, averaged, as ``piq.multi_scale_ssim``.

    Five scales need a shortest side of at least 161 px.  Smaller images use as many scales
    as fit (a side of at least ``kernel_size`` at the coarsest), with the first weights
    renormalised to sum to 1; below ``kernel_size`` px the Gaussian window shrinks to the
    largest odd size that fits (sigma scaled alike); below 3 px it is SSIM on the whole image.
    """
    x, y = ref.astype(np.float64), img.astype(np.float64)
    side = min(x.shape[-2:])
    if side < 3:
        return ssim(img, ref)
    if side < kernel_size:
        new_k = side if side % 2 else side - 1
        sigma, kernel_size = sigma * new_k / kernel_size, new_k
    levels = 1
    while levels < len(_MS_WEIGHTS) and side // 2**levels >= kernel_size:
        levels += 1
    weights = _MS_WEIGHTS[:levels] / _MS_WEIGHTS[:levels].sum()
    g = _gauss1d(kernel_size, sigma)
    factors = []
    for level in range(levels):
        if level:
            x, y = _half(x), _half(y)
        ss, cs = _ssim_cs(x, y, g)
        factors.append(ss if level == levels - 1 else cs)
    stack = np.maximum(np.stack(factors), 0.0)  # (levels, C)
    return float(np.mean(np.prod(stack ** weights[:, None], axis=0)))


# -- GMSD -------------------------------------------------------------------------------------
_PREWITT = np.array([[1.0, 0.0, -1.0]] * 3) / 3.0


def gmsd(img: np.ndarray, ref: np.ndarray, *, t: float = 170.0 / 255.0**2) -> float:
    """Gradient magnitude similarity deviation (Xue et al. 2014) on BT.601 luma.

    As in the paper and piq: 2x2 average downsampling, Prewitt gradients, standard deviation
    of the gradient-similarity map.  0 for identical images; lower is better.
    """
    x, y = luma(ref, np.float64)[None], luma(img, np.float64)[None]
    if min(x.shape[-2:]) >= 2:
        x, y = _half(x)[0], _half(y)[0]
    else:
        x, y = x[0], y[0]

    def grad(a: np.ndarray) -> np.ndarray:
        gx = ndimage.correlate(a, _PREWITT, mode="constant")
        gy = ndimage.correlate(a, _PREWITT.T, mode="constant")
        return np.sqrt(gx * gx + gy * gy)

    gx, gy = grad(x), grad(y)
    gms = (2.0 * gx * gy + t) / (gx * gx + gy * gy + t)
    return float(np.std(gms))


class _FullReference(Metric):
    abstract = True
    kind = "full_reference"
    needs_reference = True
    higher_is_better = True


@METRICS.register()
class PSNR(_FullReference):
    name = "psnr"
    range = (0.0, PSNR_CAP_DB)
    unit = "dB"
    description = "peak signal-to-noise ratio over RGB, data range 1 (capped at 100 dB for identical images)"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        assert ref is not None
        return psnr(img, ref)


@METRICS.register()
class PSNRY(_FullReference):
    name = "psnr_y"
    range = (0.0, PSNR_CAP_DB)
    unit = "dB"
    description = "PSNR on the BT.601 Y channel of YCbCr (MATLAB rgb2ycbcr), as super-resolution papers report"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        assert ref is not None
        diff = y_channel(img) - y_channel(ref)
        return _psnr_from_mse(float(np.mean(diff * diff)))


@METRICS.register()
class SSIM(_FullReference):
    name = "ssim"
    range = (-1.0, 1.0)
    description = "structural similarity, scikit-image defaults (7x7 uniform window) over RGB, data range 1"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        assert ref is not None
        return ssim(img, ref)


@METRICS.register()
class MSSSIM(_FullReference):
    name = "ms_ssim"
    range = (0.0, 1.0)
    description = "multi-scale SSIM (5 scales, 11-tap Gaussian); fewer scales below 161 px"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        assert ref is not None
        return ms_ssim(img, ref)


@METRICS.register()
class GMSD(_FullReference):
    name = "gmsd"
    higher_is_better = False
    range = (0.0, 0.35)
    description = "gradient magnitude similarity deviation on luma (0 = identical)"

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        assert ref is not None
        return gmsd(img, ref)


class _PiqMetric(_FullReference):
    """A piq (Apache-2.0) metric run on CPU; images smaller than ``min_size`` are mirror-padded."""

    abstract = True
    licence = "Apache-2.0 (piq)"
    min_size = 32

    def _fn(self) -> Callable[..., Any]:
        raise NotImplementedError

    def check_available(self) -> None:
        import importlib.util

        if importlib.util.find_spec("piq") is None:
            from .base import MetricUnavailableError

            raise MetricUnavailableError(f"metric {self.name!r} needs the piq package: pip install piq")

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        import torch

        assert ref is not None
        h, w = img.shape[-2:]
        ph, pw = max(0, self.min_size - h), max(0, self.min_size - w)
        if ph or pw:
            pad = ((0, 0), (0, ph), (0, pw))
            img, ref = np.pad(img, pad, mode="symmetric"), np.pad(ref, pad, mode="symmetric")
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None]
        y = torch.from_numpy(np.ascontiguousarray(ref, dtype=np.float32))[None]
        with torch.no_grad():
            return float(self._fn()(x, y, data_range=1.0))


@METRICS.register()
class VIF(_PiqMetric):
    name = "vif"
    range = (0.0, 1.0)
    min_size = 41
    description = "visual information fidelity, pixel domain (piq.vif_p); below 41 px mirror-padded"

    def _fn(self) -> Callable[..., Any]:
        import piq

        return piq.vif_p


@METRICS.register()
class FSIM(_PiqMetric):
    name = "fsim"
    range = (0.0, 1.0)
    min_size = 32
    description = "feature similarity with chromatic term (piq.fsim); below 32 px mirror-padded"

    def _fn(self) -> Callable[..., Any]:
        import piq

        return piq.fsim


@METRICS.register()
class HaarPSI(_PiqMetric):
    name = "haarpsi"
    range = (0.0, 1.0)
    min_size = 32
    description = "Haar wavelet perceptual similarity index (piq.haarpsi); below 32 px mirror-padded"

    def _fn(self) -> Callable[..., Any]:
        import piq

        return piq.haarpsi
