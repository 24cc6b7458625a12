"""x4 super-resolution by interpolation and iterative back-projection.

``cpu_seconds_512`` of these cards is per 512x512 *output* (128x128 input).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...imaging.convert import to_chw, to_hwc
from ...imaging.resize import imresize_bicubic
from ..base import Tool, ToolCard
from ._common import register

__all__ = ["BicubicX4", "LanczosX4", "BackProjectionX4"]


@register
class BicubicX4(Tool):
    card = ToolCard(
        id="bicubic_x4",
        task="super_resolution",
        description="x4 upscaling with MATLAB-style bicubic interpolation (the benchmark's own resampler).",
        scale=4,
        tiling=True,
        tile_overlap=8,
        cpu_seconds_512=0.03,
        reference="Keys, Cubic convolution interpolation for digital image processing, IEEE TASSP 1981",
    )

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        return imresize_bicubic(img, 4.0)


@register
class LanczosX4(Tool):
    card = ToolCard(
        id="lanczos_x4",
        task="super_resolution",
        description="x4 upscaling with OpenCV Lanczos-4 interpolation (slightly sharper than bicubic).",
        scale=4,
        tiling=True,
        tile_overlap=8,
        cpu_seconds_512=0.005,
        reference="Duchon, Lanczos filtering in one and two dimensions, J. Appl. Meteorology 1979",
    )

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        import cv2

        _, h, w = img.shape
        return to_chw(cv2.resize(to_hwc(img), (w * 4, h * 4), interpolation=cv2.INTER_LANCZOS4))


@register
class BackProjectionX4(Tool):
    card = ToolCard(
        id="backprojection_x4",
        task="super_resolution",
        description=(
            "x4 super-resolution by iterative back-projection: start from bicubic, then repeatedly "
            "re-downscale with the benchmark's antialiased bicubic model and add back the upsampled "
            "residual, so the result is consistent with the low-resolution input (sharper edges)."
        ),
        scale=4,
        tiling=True,
        tile_overlap=8,
        cpu_seconds_512=0.25,
        reference="Irani & Peleg, Improving resolution by image registration, CVGIP 1991",
        arguments={
            "iterations": {"type": "integer", "minimum": 1, "maximum": 50, "default": 6},
            "step": {"type": "number", "minimum": 0.1, "maximum": 2.0, "default": 1.0},
        },
    )

    def _run(self, img: np.ndarray, iterations: int = 6, step: float = 1.0, **args: Any) -> np.ndarray:
        _, h, w = img.shape
        x = imresize_bicubic(img, 4.0)
        for _ in range(int(iterations)):
            err = img - imresize_bicubic(x, 0.25, size=(h, w))
            x = x + float(step) * imresize_bicubic(err, 4.0, size=(4 * h, 4 * w))
        return np.clip(x, 0.0, 1.0)
