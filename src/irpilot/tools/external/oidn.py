"""Intel Open Image Denoise through the ``pyoidn`` package (weights compiled into the library)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import TOOLS, Tool, ToolCard

__all__ = ["OIDNDenoise"]

_GAMMA = 2.2


@TOOLS.register("oidn_denoise")
class OIDNDenoise(Tool):
    """OIDN's ``RT`` filter.  It was trained on rendered, linear images, so the sRGB-ish
    input is linearised with ``x ** 2.2`` and the result mapped back with ``x ** (1/2.2)``."""

    card = ToolCard(
        id="oidn_denoise",
        task="denoise",
        description="Intel Open Image Denoise (RT filter, quality 'high') on linearised values: "
        "fast CPU denoiser trained on rendered images; good on Gaussian-like noise, "
        "can smear fine photographic texture.",
        scale=1,
        code_license="Apache-2.0",
        weights_license="Apache-2.0",  # OIDN library and its built-in weights; pyoidn binding is MIT
        python_packages=("pyoidn",),
        tiling=True,
        tile_size=1024,
        tile_overlap=64,
        cpu_seconds_512=0.17,  # unloaded 2-core machine
        kind="network",
        reference="Afra et al., Intel Open Image Denoise, https://www.openimagedenoise.org",
        arguments={
            "quality": {
                "type": "string",
                "enum": ["high", "balanced", "fast"],
                "default": "high",
                "description": "OIDN filter quality",
            }
        },
    )

    def setup(self) -> None:
        import pyoidn

        self._pyoidn = pyoidn

    def _run(self, img: np.ndarray, quality: str = "high", **args: Any) -> np.ndarray:
        lin = np.power(np.clip(img, 0.0, 1.0), _GAMMA).transpose(1, 2, 0)
        out = self._pyoidn.denoise(np.ascontiguousarray(lin, dtype=np.float32), quality=quality)
        out = np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)
        return np.power(out, 1.0 / _GAMMA).transpose(2, 0, 1)
