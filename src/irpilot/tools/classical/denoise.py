"""Denoisers: BM3D, non-local means, wavelet shrinkage, bilateral filtering.

Each estimates the noise level itself (wavelet MAD) unless ``sigma`` (0-255 scale) is given.
Poisson noise is signal dependent; the estimate is its average level, which works well
enough for these denoisers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...imaging.color import rgb_to_ycbcr, ycbcr_to_rgb
from ...imaging.convert import to_chw, to_hwc
from ..base import Tool, ToolCard
from ._common import estimate_noise_sigma, register

__all__ = ["BM3D", "NonLocalMeans", "FastNLMeans", "WaveletBayesShrink", "Bilateral"]

_SIGMA_ARG = {
    "sigma": {
        "type": "number",
        "minimum": 0,
        "maximum": 100,
        "description": "noise standard deviation on the 0-255 scale (estimated when omitted)",
    },
    "strength": {"type": "number", "minimum": 0.25, "maximum": 4.0, "default": 1.0,
                 "description": "multiplies the noise level the denoiser assumes"},
}


def _sigma(img: np.ndarray, sigma: float | None, strength: float) -> float:
    s = float(sigma) / 255.0 if sigma is not None else estimate_noise_sigma(img)
    return max(s * float(strength), 1e-4)


@register
class BM3D(Tool):
    card = ToolCard(
        id="bm3d",
        task="denoise",
        description=(
            "Colour BM3D (block matching and collaborative 3-D filtering) with an estimated noise "
            "level: the strongest classical denoiser, but slow (tens of seconds per 512x512 image)."
        ),
        python_packages=("bm3d",),
        tiling=True,
        tile_overlap=24,
        cpu_seconds_512=37.0,
        reference="Dabov et al., Image denoising by sparse 3-D transform-domain collaborative filtering, TIP 2007",
        arguments=dict(_SIGMA_ARG),
    )

    def _run(self, img: np.ndarray, sigma: float | None = None, strength: float = 1.0, **args: Any) -> np.ndarray:
        import bm3d

        s = _sigma(img, sigma, strength)
        if float(np.ptp(img)) < 1e-6:
            return img.copy()  # flat: nothing to denoise (and bm3d_rgb divides by the range)
        if np.array_equal(img[0], img[1]) and np.array_equal(img[1], img[2]):
            # grey: bm3d_rgb's colour transform is degenerate on equal channels
            grey = np.asarray(bm3d.bm3d(img[0], sigma_psd=s), dtype=np.float32)
            return np.repeat(grey[None], 3, axis=0)
        out = bm3d.bm3d_rgb(to_hwc(img), sigma_psd=s)
        return to_chw(np.asarray(out))


@register
class NonLocalMeans(Tool):
    card = ToolCard(
        id="nlm",
        task="denoise",
        description="Non-local means (scikit-image, fast mode, 5x5 patches) with an estimated noise level.",
        tiling=True,
        tile_overlap=16,
        cpu_seconds_512=0.46,
        reference="Buades, Coll & Morel, A non-local algorithm for image denoising, CVPR 2005",
        arguments=dict(_SIGMA_ARG),
    )

    def _run(self, img: np.ndarray, sigma: float | None = None, strength: float = 1.0, **args: Any) -> np.ndarray:
        from skimage.restoration import denoise_nl_means

        s = _sigma(img, sigma, strength)
        out = denoise_nl_means(
            to_hwc(img), h=0.8 * s, sigma=s, fast_mode=True, patch_size=5, patch_distance=6, channel_axis=-1
        )
        return to_chw(out)


@register
class FastNLMeans(Tool):
    card = ToolCard(
        id="fast_nlm_color",
        task="denoise",
        description=(
            "OpenCV fastNlMeansDenoisingColored on 8-bit data, luminance and chroma filtered with "
            "strengths set from the estimated noise level (fast, good on strong colour noise)."
        ),
        tiling=True,
        tile_overlap=16,
        cpu_seconds_512=0.42,
        reference="Buades, Coll & Morel, Non-local means denoising, IPOL 2011",
        arguments=dict(_SIGMA_ARG),
    )

    def _run(self, img: np.ndarray, sigma: float | None = None, strength: float = 1.0, **args: Any) -> np.ndarray:
        import cv2

        s = _sigma(img, sigma, strength) * 255.0
        u8 = np.clip(np.round(to_hwc(img) * 255), 0, 255).astype(np.uint8)
        out = cv2.fastNlMeansDenoisingColored(u8, None, h=0.8 * s, hColor=0.8 * s, templateWindowSize=7,
                                              searchWindowSize=21)
        return to_chw(out.astype(np.float32) / 255.0)


@register
class WaveletBayesShrink(Tool):
    card = ToolCard(
        id="wavelet_bayesshrink",
        task="denoise",
        description="Wavelet soft-thresholding with BayesShrink thresholds in YCbCr (fast, mild).",
        tiling=True,
        tile_overlap=16,
        cpu_seconds_512=0.06,
        reference="Chang, Yu & Vetterli, Adaptive wavelet thresholding for image denoising, TIP 2000",
        arguments=dict(_SIGMA_ARG),
    )

    def _run(self, img: np.ndarray, sigma: float | None = None, strength: float = 1.0, **args: Any) -> np.ndarray:
        from skimage.restoration import denoise_wavelet

        ycc = rgb_to_ycbcr(img)
        s = _sigma(img, sigma, strength)
        out = np.stack([
            denoise_wavelet(c, sigma=s * f, method="BayesShrink", mode="soft", wavelet="db2", rescale_sigma=True)
            for c, f in zip(ycc, (1.0, 0.6, 0.6))
        ])
        return ycbcr_to_rgb(out.astype(np.float32))


@register
class Bilateral(Tool):
    card = ToolCard(
        id="bilateral",
        task="denoise",
        description="Edge-preserving bilateral filter with range sigma from the estimated noise level (very fast, weak).",
        tiling=True,
        tile_overlap=16,
        cpu_seconds_512=0.05,
        reference="Tomasi & Manduchi, Bilateral filtering for gray and color images, ICCV 1998",
        arguments=dict(_SIGMA_ARG),
    )

    def _run(self, img: np.ndarray, sigma: float | None = None, strength: float = 1.0, **args: Any) -> np.ndarray:
        import cv2

        s = _sigma(img, sigma, strength)
        out = cv2.bilateralFilter(to_hwc(img), d=9, sigmaColor=3.5 * s, sigmaSpace=3.0)
        return to_chw(out)
