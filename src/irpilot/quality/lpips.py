"""LPIPS (Zhang et al., CVPR 2018): learned perceptual distance over deep features.

Architecture (irpilot's implementation of the published design, version 0.1): inputs in
[-1, 1] are shifted and scaled per channel, passed through an ImageNet classifier's
convolutional trunk (AlexNet or VGG-16 from torchvision); at five ReLU outputs the features
are normalised to unit length along channels, the squared differences are weighted by a
learned non-negative 1x1 convolution per layer, averaged over space and summed over layers.
0 for identical images; lower is better.

Weights are NOT bundled and never downloaded at run time.  Two files are needed:

====================  =============================================================  ============================
file                  what / where from                                               override
====================  =============================================================  ============================
``lpips/alex.pth``    LPIPS v0.1 linear layers (BSD-2-Clause), github.com/richzhang/   ``IRPILOT_LPIPS_WEIGHTS``
                      PerceptualSimilarity ``lpips/weights/v0.1/alex.pth``
``lpips/alexnet-owt-  torchvision AlexNet ImageNet weights (BSD-3-Clause),              ``IRPILOT_LPIPS_BACKBONE``
7be5be79.pth``        download.pytorch.org/models/alexnet-owt-7be5be79.pth
====================  =============================================================  ============================

Paths are relative to ``settings.weights_dir``; the backbone is also looked up in torch's hub
cache (``$TORCH_HOME/hub/checkpoints``).  ``lpips_vgg`` uses ``lpips/vgg.pth`` and
``vgg16-397923af.pth`` likewise.  Both files are loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..config import settings
from .base import METRICS, Metric, MetricUnavailableError

__all__ = ["LPIPS", "LPIPSVGG", "build_lpips_network"]

_TAPS = {  # (end index of each slice of .features, channels at the taps)
    "alex": ((2, 5, 8, 10, 12), (64, 192, 384, 256, 256)),
    "vgg": ((4, 9, 16, 23, 30), (64, 128, 256, 512, 512)),
}
_MIN_SIDE = 64


def build_lpips_network(net: str = "alex") -> Any:
    """An uninitialised LPIPS network (torch ``nn.Module``) for ``net`` in {"alex", "vgg"}.

    Its ``backbone.features`` has torchvision's layer indices, so a torchvision state dict loads
    into ``backbone`` (its classifier keys are ignored) and ``lin0``..``lin4`` hold the LPIPS linear layers under the
    key names of the published weight files (``lin0.model.1.weight``).
    """
    import torch
    from torch import nn

    ends, channels = _TAPS[net]

    def trunk() -> nn.Sequential:
        """The classifier's convolutional layers, indexed as torchvision's ``.features``."""
        if net == "alex":
            return nn.Sequential(
                nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
                nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
                nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
                nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
            )  # fmt: skip
        layers: list[nn.Module] = []
        c_in = 3
        for v in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c_in, int(v), 3, padding=1), nn.ReLU()]
                c_in = int(v)
        return nn.Sequential(*layers)

    class _Backbone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = trunk()

    class _Linear(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(c, 1, 1, bias=False))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model(x)

    class LPIPSNetwork(nn.Module):
        shift: torch.Tensor  # registered buffers
        scale: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.backbone = _Backbone()
            self.ends = ends
            for i, c in enumerate(channels):
                setattr(self, f"lin{i}", _Linear(c))
            self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
            self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))

        def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
            feats, start = [], 0
            layers = self.backbone.features
            for end in self.ends:
                for k in range(start, end):
                    x = layers[k](x)
                feats.append(x)
                start = end
            return feats

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            """Distance between batches ``x`` and ``y`` in [0, 1] (B, 3, H, W) -> (B,)."""
            fx = self.taps(((x * 2 - 1) - self.shift) / self.scale)
            fy = self.taps(((y * 2 - 1) - self.shift) / self.scale)
            total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
            for i, (a, b) in enumerate(zip(fx, fy)):
                a = a / (torch.sqrt(torch.sum(a * a, dim=1, keepdim=True)) + 1e-10)
                b = b / (torch.sqrt(torch.sum(b * b, dim=1, keepdim=True)) + 1e-10)
                total = total + getattr(self, f"lin{i}")((a - b) ** 2).mean(dim=(1, 2, 3))
            return total

    return LPIPSNetwork()


class LPIPS(Metric):
    name = "lpips"
    kind = "full_reference"
    higher_is_better = False
    needs_reference = True
    range = (0.0, 1.0)
    licence = (
        "irpilot's implementation; weights (not bundled): LPIPS linear layers BSD-2-Clause "
        "(richzhang/PerceptualSimilarity), torchvision backbone BSD-3-Clause"
    )
    description = "LPIPS v0.1 perceptual distance with an AlexNet trunk (needs weights files; lower is better)"

    net: ClassVar[str] = "alex"
    lin_file: ClassVar[str] = "lpips/alex.pth"
    lin_source: ClassVar[str] = (
        "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth"
    )
    backbone_file: ClassVar[str] = "alexnet-owt-7be5be79.pth"
    backbone_source: ClassVar[str] = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"

    def __init__(self, lin_path: str | os.PathLike[str] | None = None, backbone_path: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self._lin_path = Path(lin_path) if lin_path else None
        self._backbone_path = Path(backbone_path) if backbone_path else None
        self._net: Any = None

    # -- locating the files -----------------------------------------------------------------
    def lin_candidates(self) -> list[Path]:
        if self._lin_path:
            return [self._lin_path]
        env = os.environ.get("IRPILOT_LPIPS_WEIGHTS") if self.net == "alex" else None
        return [Path(env).expanduser()] if env else [settings.weights_dir / self.lin_file]

    def backbone_candidates(self) -> list[Path]:
        if self._backbone_path:
            return [self._backbone_path]
        env = os.environ.get("IRPILOT_LPIPS_BACKBONE") if self.net == "alex" else None
        if env:
            return [Path(env).expanduser()]
        torch_home = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")).expanduser()
        return [
            settings.weights_dir / "lpips" / self.backbone_file,
            torch_home / "hub" / "checkpoints" / self.backbone_file,
        ]

    def check_available(self) -> None:
        problems = []
        for what, cands, source in (
            ("LPIPS linear-layer weights", self.lin_candidates(), self.lin_source),
            ("backbone weights", self.backbone_candidates(), self.backbone_source),
        ):
            if not any(p.is_file() for p in cands):
                problems.append(f"{what} not found at {' or '.join(str(p) for p in cands)} (public source: {source})")
        if problems:
            raise MetricUnavailableError(
                f"metric {self.name!r} is unavailable: " + "; ".join(problems)
                + ". irpilot never downloads weights at run time: place the files there, or point "
                "IRPILOT_LPIPS_WEIGHTS / IRPILOT_LPIPS_BACKBONE at them."
            )

    def setup(self) -> None:
        import torch

        lin = next(p for p in self.lin_candidates() if p.is_file())
        backbone = next(p for p in self.backbone_candidates() if p.is_file())
        net = build_lpips_network(self.net)
        try:
            # Only the convolutional trunk is used: a file holding just ``features.*`` is enough.
            trunk = torch.load(backbone, map_location="cpu", weights_only=True)
            missing_b, unexpected_b = net.backbone.load_state_dict(trunk, strict=False)
            lin_state = torch.load(lin, map_location="cpu", weights_only=True)
            missing, unexpected = net.load_state_dict(lin_state, strict=False)
        except (RuntimeError, OSError, ValueError, EOFError) as exc:
            raise MetricUnavailableError(f"cannot load LPIPS weights from {lin} / {backbone}: {exc}") from exc
        trunk_missing = [k for k in missing_b if k.startswith("features.")]
        unexpected_b = [k for k in unexpected_b if not k.startswith(("classifier.", "avgpool."))]
        if trunk_missing or unexpected_b:
            raise MetricUnavailableError(
                f"{backbone} is not a torchvision {self.net} state dict "
                f"(missing {trunk_missing[:3]}, unexpected {list(unexpected_b)[:3]})"
            )
        lin_missing = [k for k in missing if k.startswith("lin")]
        if lin_missing or unexpected:
            raise MetricUnavailableError(
                f"{lin} is not an LPIPS {self.net} linear-layer file (missing {lin_missing}, unexpected {unexpected})"
            )
        self._net = net.eval()

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        import torch

        assert ref is not None
        h, w = img.shape[-2:]
        if min(h, w) < _MIN_SIDE:
            pad = ((0, 0), (0, max(0, _MIN_SIDE - h)), (0, max(0, _MIN_SIDE - w)))
            img, ref = np.pad(img, pad, mode="symmetric"), np.pad(ref, pad, mode="symmetric")
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None]
        y = torch.from_numpy(np.ascontiguousarray(ref, dtype=np.float32))[None]
        with torch.no_grad():
            return float(self._net(x, y)[0])


METRICS.add("lpips", LPIPS)


@METRICS.register()
class LPIPSVGG(LPIPS):
    name = "lpips_vgg"
    description = "LPIPS v0.1 perceptual distance with a VGG-16 trunk (needs weights files; lower is better)"
    net = "vgg"
    lin_file = "lpips/vgg.pth"
    lin_source = "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth"
    backbone_file = "vgg16-397923af.pth"
    backbone_source = "https://download.pytorch.org/models/vgg16-397923af.pth"
