"""irpilot's compact restoration network: a small residual U-Net, one set of weights per task.

For tasks no registry network covers (snow; and the realistic defocus the classical tools are
fitted around), irpilot trains its own network (``irpilot train tool TASK``,
:mod:`irpilot.train.compact`) on the training photos only, degraded by the task's protocol-style
and realistic degradation models.  The network is deliberately small (about 0.28 M parameters,
about 30 k multiply-adds per pixel) so it runs on a CPU thread in well under a second per
512 x 512 image.

:func:`build_compact_net` is a U-Net with ``len(widths)`` levels: two 3x3 convolutions per
level, 2x2 strided convolutions down, 2x2 transposed convolutions up, skip connections by
concatenation, and a residual output (``out = in + net(in)``) whose last layer starts at zero,
so an untrained network is the identity.  Input sides must be a multiple of
``2 ** (len(widths) - 1)`` (the tool pads).

Weights ship in the package as safetensors (``assets/compact_<task>.safetensors``) with the
network's shape and its training record in the file's metadata; loading runs no code.
"""

from __future__ import annotations

from contextlib import nullcontext
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ...io import atomic_write_bytes

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["DEFAULT_WIDTHS", "build_compact_net", "save_compact_net", "load_compact_net", "asset_path", "asset_exists"]

#: channels per level, full resolution first
DEFAULT_WIDTHS: tuple[int, ...] = (16, 32, 48, 64)


def asset_path(task: str) -> str:
    """Where the packaged weights of ``task`` live, relative to the ``irpilot`` package."""
    return f"assets/compact_{task}.safetensors"


def build_compact_net(widths: tuple[int, ...] = DEFAULT_WIDTHS, channels: int = 3, context: bool = True) -> torch.nn.Module:
    """The compact residual U-Net (random weights; the identity until trained):
    ``forward(x)`` maps (N, ``channels``, H, W) in [0, 1] to the same shape, H and W
    multiples of ``2 ** (len(widths) - 1)``.

    With ``context``, the coarsest level also gets a per-image bias computed from the mean and
    the maximum of its features over the whole image (tile): what is uniform over a photo, such
    as a veil's strength, cannot be read from a neighbourhood of the receptive field's size.

    >>> net = build_compact_net((8, 16))                  # doctest: +SKIP
    >>> net(torch.rand(1, 3, 32, 32)).shape               # doctest: +SKIP
    torch.Size([1, 3, 32, 32])
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    if not widths or any(int(w) < 1 for w in widths):
        raise ValueError(f"widths must be positive channel counts, got {widths}")

    def pair(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.1),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1))

    class CompactUNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = [int(c) for c in widths]
            self.enc = nn.ModuleList([pair(channels, w[0])] + [pair(w[i], w[i]) for i in range(1, len(w))])
            self.down = nn.ModuleList([nn.Conv2d(w[i], w[i + 1], 2, stride=2) for i in range(len(w) - 1)])
            self.up = nn.ModuleList([nn.ConvTranspose2d(w[i + 1], w[i], 2, stride=2) for i in range(len(w) - 1)])
            self.dec = nn.ModuleList([pair(2 * w[i], w[i]) for i in range(len(w) - 1)])
            self.tail = nn.Conv2d(w[0], channels, 3, padding=1)
            self.context = nn.Linear(2 * w[-1], w[-1]) if context else None
            nn.init.zeros_(self.tail.weight)  # starts as the identity: out = in
            nn.init.zeros_(self.tail.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            skips = []
            f = self.enc[0](x - 0.5)
            for i in range(1, len(self.enc)):
                skips.append(f)
                f = self.enc[i](F.leaky_relu(self.down[i - 1](f), 0.1))
            if self.context is not None:
                g = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
                f = f + F.leaky_relu(self.context(g), 0.1)[:, :, None, None]
            for i in reversed(range(len(self.dec))):
                f = self.dec[i](torch.cat([F.leaky_relu(self.up[i](f), 0.1), skips[i]], dim=1))
            return x + self.tail(f)

    return CompactUNet()


def save_compact_net(model: torch.nn.Module, path: str | Path, meta: dict[str, str]) -> None:
    """Write ``model``'s weights as safetensors with ``meta`` (must hold ``task`` and
    ``widths``, e.g. ``"16,32,48,64"``) in the file's metadata."""
    from safetensors.torch import save

    missing = {"task", "widths"} - set(meta)
    if missing:
        raise ValueError(f"meta must give the task and the network shape; missing {sorted(missing)}")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(path, save(state, metadata={k: str(v) for k, v in meta.items()}))


def load_compact_net(task: str | None = None, path: str | Path | None = None) -> tuple[torch.nn.Module, dict[str, str]]:
    """The trained network (eval mode) and its metadata, from ``path`` or else the packaged
    weights of ``task``.  Safetensors holds tensors only: loading runs no code."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    if path is None and task is None:
        raise ValueError("give the task (packaged weights) or a weights path")
    if path is None:
        ctx = resources.as_file(resources.files("irpilot").joinpath(asset_path(str(task))))
    else:
        ctx = nullcontext(Path(path))
    with ctx as p:
        with safe_open(str(p), framework="pt") as f:
            meta = dict(f.metadata() or {})
        state = load_file(str(p))
    widths = tuple(int(c) for c in meta.get("widths", ",".join(map(str, DEFAULT_WIDTHS))).split(","))
    model = build_compact_net(widths, context=meta.get("context", "1") == "1")
    model.load_state_dict(state)
    return model.eval(), meta


def asset_exists(task: str) -> bool:
    """Whether the trained weights of ``task`` are in this install."""
    try:
        return resources.files("irpilot").joinpath(asset_path(task)).is_file()
    except (FileNotFoundError, ModuleNotFoundError):
        return False
