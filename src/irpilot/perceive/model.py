"""The perception network: a small fully convolutional CNN with two heads.

The network looks at image crops at their native resolution (no resizing) and predicts, for
every degradation, a presence logit (multi-label: several degradations at once) and a
severity in [0, 1].  Global mean + max pooling makes it accept any crop size, so small
(e.g. quarter-size, low-resolution) images are read whole.

Normalisation is BatchNorm, frozen at inference: unlike instance or group normalisation it
keeps absolute brightness and contrast, which the dark and haze decisions depend on.

With ``cues=True`` the embedding also takes hand-made statistics of the crop
(:mod:`irpilot.perceive.cues`: spectrum and gradient-orientation profiles, which motion blur
changes and a small CNN with global pooling sees poorly), batch-normalised and projected by a
linear layer that starts at zero (so a network initialised from weights without cues starts
by computing what they computed).

This module imports torch; :mod:`irpilot.perceive` imports it lazily.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["PerceptionNet", "ARCH_DEFAULTS"]

#: Default architecture hyper-parameters (stored with the weights; ``PerceptionNet(**arch)``).
ARCH_DEFAULTS: dict[str, Any] = {"widths": (32, 48, 64, 96), "embed_dim": 128, "cues": False}


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.SiLU(inplace=True),
    )


class PerceptionNet(nn.Module):
    """A lossless space-to-depth stem (2x2 pixel unshuffle: every pixel still reaches the
    first convolution, which matters for noise grain and JPEG blocks, at a quarter of the
    cost of a full-resolution stem), a conv, then three stages (stride-2 conv + conv),
    mean+max pooling, an embedding layer and two linear heads (~240 k parameters).

    >>> net = PerceptionNet(num_outputs=8)
    >>> logits, severity, embedding = net(torch.rand(2, 3, 96, 96))
    >>> tuple(logits.shape), tuple(severity.shape), tuple(embedding.shape)
    ((2, 8), (2, 8), (2, 128))
    """

    def __init__(self, num_outputs: int, widths: Sequence[int] = (32, 48, 64, 96), embed_dim: int = 128,
                 cues: bool = False) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        layers: list[nn.Module] = [nn.PixelUnshuffle(2), _conv(12, widths[0])]
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [_conv(cin, cout, stride=2), _conv(cout, cout)]
        self.features = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Linear(2 * widths[-1], embed_dim), nn.SiLU(inplace=True))
        self.presence = nn.Linear(embed_dim, num_outputs)
        self.severity = nn.Linear(embed_dim, num_outputs)
        self.num_outputs = num_outputs
        self.embed_dim = embed_dim
        self.cues = bool(cues)
        if self.cues:
            from .cues import N_CUES

            self.cue_norm = nn.BatchNorm1d(N_CUES)
            self.cue_proj = nn.Linear(N_CUES, embed_dim, bias=False)
            nn.init.zeros_(self.cue_proj.weight)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The convolutional part: (B, 3, H, W) in [0, 1] -> mean and max pooled features (B, 2 * widths[-1])."""
        pad_h, pad_w = x.shape[-2] % 2, x.shape[-1] % 2
        if pad_h or pad_w:  # the 2x2 unshuffle needs even sides: repeat the last row/column
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        f = self.features(x * 2.0 - 1.0)
        return torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)

    def head(self, pooled: torch.Tensor, cues: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pooled features (and, with ``cues=True``, :func:`~irpilot.perceive.cues.crop_cues`)
        -> (presence logits, severity, embedding)."""
        if self.cues:
            if cues is None:
                raise ValueError("this network takes crop cues: pass crop_cues(x)")
            e = F.silu(self.embed[0](pooled) + self.cue_proj(self.cue_norm(cues)))
        else:
            e = self.embed(pooled)
        return self.presence(e), torch.sigmoid(self.severity(e)), e

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``x``: (B, 3, H, W) in [0, 1].  Returns (presence logits (B, K), severity in
        [0, 1] (B, K), embedding (B, embed_dim))."""
        cues = None
        if self.cues:
            from .cues import crop_cues

            cues = crop_cues(x)
        return self.head(self.pooled(x), cues)
