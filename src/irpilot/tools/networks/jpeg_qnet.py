"""irpilot's own colour JPEG-artefact network, conditioned on the JPEG quality.

``JpegQNet`` is a compact residual CNN (DnCNN-style body at half resolution): the RGB image
and a constant quality plane (``quality / 100``) are pixel-unshuffled x2, go through ``depth``
3x3 convolutions with ``width`` channels, and come back as a residual added to the input.
The half-resolution body sees 50 px of context (several 8x8 / 16x16 JPEG blocks) at a quarter
of the full-resolution cost.  The quality is read from the caller (``quality=``) or estimated
from the pixels (:func:`irpilot.tools.classical.dejpeg.estimate_jpeg_quality`: re-encoding at
the saved quality is almost idempotent).

Trained by ``scripts/train_jpeg_qnet.py`` on the training photos only (T91, CSet14, LIVE1
without its Kodak photographs, classic5) with OpenCV JPEG, the protocol's codec; trained
weights are to ship in the package (``assets/jpeg_qnet.pt``, loaded with ``weights_only=True``).
"""

from __future__ import annotations

from contextlib import nullcontext
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..base import ToolCard
from ._common import NetworkTool

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["build_jpeg_qnet", "JpegQNetTool", "ASSET", "load_jpeg_qnet"]

ASSET = "assets/jpeg_qnet.pt"


def build_jpeg_qnet(width: int = 64, depth: int = 12) -> torch.nn.Module:
    """The network (random weights): ``forward(x, q)`` with x (N, 3, H, W) in [0, 1], H and W
    even, and q (N,) qualities in [0, 100]."""
    import torch
    from torch import nn

    class JpegQNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [nn.Conv2d(16, width, 3, padding=1), nn.ReLU(inplace=True)]
            for _ in range(depth - 2):
                layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
            layers.append(nn.Conv2d(width, 12, 3, padding=1))
            self.body = nn.Sequential(*layers)
            self.down = nn.PixelUnshuffle(2)
            self.up = nn.PixelShuffle(2)
            # He initialisation keeps the signal alive through the plain ReLU stack (PyTorch's
            # default shrinks it layer by layer, and the network then stays the identity);
            # the last layer starts 10x smaller, so training starts near the input image
            convs = [m for m in self.body if isinstance(m, nn.Conv2d)]
            for conv in convs:
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
                nn.init.zeros_(conv.bias)
            with torch.no_grad():
                convs[-1].weight.mul_(0.1)

        def forward(self, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
            qmap = (q.to(x.dtype) / 100.0).view(-1, 1, 1, 1).expand(x.shape[0], 1, x.shape[2], x.shape[3])
            z = self.down(torch.cat([x, qmap], dim=1))
            return x + self.up(self.body(z))

    return JpegQNet()


def load_jpeg_qnet(path: str | Path | None = None) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The trained network and its metadata from ``path`` (default: the packaged asset)."""
    import torch

    ctx = resources.as_file(resources.files("irpilot").joinpath(ASSET)) if path is None else nullcontext(Path(path))
    with ctx as p:
        blob = torch.load(str(p), map_location="cpu", weights_only=True)
    meta = dict(blob.get("meta", {}))
    model = build_jpeg_qnet(int(meta.get("width", 64)), int(meta.get("depth", 12)))
    model.load_state_dict(blob["state_dict"])
    return model.eval(), meta


def _asset_exists() -> bool:
    try:
        return resources.files("irpilot").joinpath(ASSET).is_file()
    except (FileNotFoundError, ModuleNotFoundError):
        return False


class JpegQNetTool(NetworkTool):
    """Colour JPEG-artefact removal by irpilot's quality-conditioned network.

    Not registered yet: the first training run (BENCHMARKS.md) gains less than ``dncnn3_dejpeg``.
    Once trained weights beat the toolbox, ship them as ``assets/jpeg_qnet.pt``, decorate this
    class with ``@register`` (``._common``) and import the module in ``networks/__init__.py``."""

    card = ToolCard(
        id="jpeg_qnet",
        task="dejpeg",
        description="irpilot's colour JPEG-artefact network (a plain residual CNN at half resolution, "
        "0.2-0.4 M parameters), conditioned on the JPEG quality: given (`quality`) or "
        "estimated from the pixels (re-encoding at the saved quality is almost idempotent). Trained "
        "on irpilot's training photos (T91, CSet14, LIVE1 without Kodak, classic5) with OpenCV JPEG at "
        "quality 5-60; it does not handle noise or blur added before or after the JPEG.",
        code_license="Apache-2.0",
        weights_license="Apache-2.0",
        python_packages=("torch",),
        multiple_of=2,
        tiling=True,
        tile_size=512,
        tile_overlap=32,
        kind="network",
        reference="irpilot (this package); architecture after Zhang et al., DnCNN, TIP 2017",
        arguments={
            "quality": {"type": "integer", "minimum": 1, "maximum": 100,
                        "description": "JPEG quality the image was saved with (estimated when omitted)"},
        },
    )

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason:
            return reason
        if not _asset_exists():
            return f"its weights ({ASSET}) are not in this install; train them with scripts/train_jpeg_qnet.py"
        return None

    def build(self) -> torch.nn.Module:
        return load_jpeg_qnet()[0]

    def __call__(self, img: np.ndarray, **args: Any) -> np.ndarray:
        # the quality is estimated once on the whole image (tiles would lose the 8x8 grid)
        if args.get("quality") is None:
            from ...io import as_image
            from ..classical.dejpeg import estimate_jpeg_quality

            args["quality"] = estimate_jpeg_quality(as_image(img))[0]
        return super().__call__(img, **args)

    def _run(self, img: np.ndarray, quality: int = 50, **args: Any) -> np.ndarray:
        import torch

        q = torch.tensor([float(quality)], device=self.device)
        return self.forward(img, q)
