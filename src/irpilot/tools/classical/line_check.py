"""Is a motion blur the benchmark protocol's line, or camera shake?  A learned check for the
motion tools.

The motion tools (``motion_deblur_wiener``, ``motion_deblur_hqs``) fit the protocol's one-sided
Gaussian line kernel.  Much camera shake passes their spectral check too (a nearly straight shake
path is a line of another profile), and they then deconvolve it into ghosts where
``shake_deblur_pnp``, their fallback, would have gained (BENCHMARKS.md, "Camera shake: line or
general kernel").  No reading the tools had told the two apart.  A small convolutional network
reads the anisotropic part of the photo's log spectrum (:func:`.spectra.anisotropy_map`, 64 x 64)
and gives the probability that the blur is camera shake rather than the protocol's line; it is
averaged over the spectrum's eight flips and transposes (a flipped photo has a flipped spectrum).
``irpilot train linecheck`` (:mod:`irpilot.train.line_check`) trains it on crops of the training
photos, alone and after the agent's JPEG, denoising or x4 step.

The check is a safeguard of a tool fitted to the protocol: without its weights the motion tools
behave as before (no check).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .spectra import anisotropy_map

__all__ = ["LINE_CHECK_ASSET", "MIN_SIDE", "build_line_check_net", "load_line_check", "shake_probability"]

#: irpilot's own weights of the check (about 14,000 numbers)
LINE_CHECK_ASSET = "assets/line_check.safetensors"

#: the smallest side the check reads: it trained on crops of 192-320 px, and a smaller photo's
#: spectrum (a few 64 px patches averaged) is too noisy to read (an 80 px photo of the protocol's
#: line blur read as camera shake; BENCHMARKS.md, "Camera shake: a learned line check")
MIN_SIDE = 192


def build_line_check_net(width: int = 16) -> Any:
    """A new, untrained check network: three convolutions over the 64 x 64 anisotropy map,
    pooled, one logit (camera shake)."""
    import torch
    from torch import nn

    class LineCheckNet(nn.Module):
        def __init__(self, width: int = 16) -> None:
            super().__init__()
            self.width = int(width)
            w = self.width
            self.features = nn.Sequential(
                nn.Conv2d(1, w, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            )
            self.head = nn.Linear(2 * w, 1)

        @staticmethod
        def prepare(maps: np.ndarray) -> torch.Tensor:
            """(N, 64, 64) anisotropy maps -> the network's input (N, 1, 64, 64), clipped and scaled."""
            return torch.from_numpy(np.clip(np.asarray(maps, np.float32), -6.0, 6.0) / 3.0)[:, None]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.features(x))[:, 0]

        def probability(self, maps: np.ndarray) -> np.ndarray:
            """P(camera shake) for (N, 64, 64) maps, averaged over the eight flips and transposes."""
            x = self.prepare(maps)
            with torch.no_grad():
                logits = [self(v) for t in (x, x.transpose(-1, -2))
                          for v in (t, t.flip(-1), t.flip(-2), t.flip(-1).flip(-2))]
            return torch.sigmoid(torch.stack(logits)).mean(0).numpy()

    return LineCheckNet(width)


def load_line_check(path: str | Path | None = None) -> tuple[Any, dict[str, str]]:
    """The check network and its metadata from ``path`` (default: irpilot's shipped weights, or
    ``irpilot/line_check.safetensors`` in a weights folder); safetensors, no code runs."""
    from ..networks._common import load_own_safetensors

    tensors, meta = load_own_safetensors(LINE_CHECK_ASSET, path)
    net = build_line_check_net(int(meta.get("width", 16)))
    net.load_state_dict(tensors)
    net.eval()
    return net, meta


@lru_cache(maxsize=1)
def _shipped() -> Any | None:
    try:
        return load_line_check()[0]
    except FileNotFoundError:
        return None


def shake_probability(img: np.ndarray, net: Any | None = None) -> float | None:
    """P(the blur of ``img`` (3, H, W) is camera shake rather than the protocol's line), or
    ``None`` when no check network is available or a side is under :data:`MIN_SIDE`."""
    if min(img.shape[-2:]) < MIN_SIDE:
        return None
    net = net if net is not None else _shipped()
    if net is None:
        return None
    return float(net.probability(anisotropy_map(img)[None])[0])
