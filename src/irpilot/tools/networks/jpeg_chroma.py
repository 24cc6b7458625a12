"""irpilot's colour JPEG network: DnCNN-3 on luma, a quality-conditioned chroma network on Cb/Cr.

A colour JPEG with 4:2:0 subsampling (OpenCV's and most cameras' default) stores Cb and Cr at half
size and quantises them more coarsely than luma; on the protocol's JPEG (quality 10-29) the colour
error is at least as costly in RGB PSNR as the luma error, and a greyscale network run on half-size
chroma (``dncnn3_dejpeg``) recovers little of it, because the colour detail it lost is in the luma.

``JpegChromaNet`` restores Cb/Cr from the decoded YCbCr image (full-range BT.601, as the JPEG
codec stores it) and the quality.  It is a learned guided filter (:func:`build_chroma_net`): a
classical guided filter fits chroma as a local linear function of luma on the half-size chroma
grid, and a small residual CNN (``blocks`` blocks of ``width`` channels at half size) reads the
luma, the chroma, the filter's coefficients and the quantiser scale and corrects the
coefficients and the result.  Luma guides it; it never changes luma.  The tool (:class:`JpegYccTool`) restores luma with DnCNN-3
and chroma with this network, both from the decoded image.

Trained by ``irpilot train dejpeg`` (:mod:`irpilot.train.dejpeg`) on the training photos only.
Weights ship in the package as safetensors (``assets/jpeg_chroma.safetensors``), with the
network's shape in the file's metadata.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._common import load_own_safetensors, own_weights, save_own_safetensors

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["build_chroma_net", "quant_scale", "load_chroma_net", "save_chroma_net", "ASSET", "asset_exists"]

ASSET = "assets/jpeg_chroma.safetensors"


def quant_scale(quality: float) -> float:
    """libjpeg's scale of the standard quantisation tables at ``quality`` (1-100), as a
    fraction: 5000/q % below 50, 200 - 2q % from 50 (quality 50 -> 1.0, quality 10 -> 5.0)."""
    q = min(max(float(quality), 1.0), 100.0)
    return (5000.0 / q if q < 50 else 200.0 - 2.0 * q) / 100.0


def build_chroma_net(
    width: int = 48, blocks: int = 6, radius: int = 2, eps: float = 1e-4, arch: str = "plain"
) -> torch.nn.Module:
    """The chroma network (random weights): ``forward(ycc, scale)`` with ``ycc`` (N, 3, H, W)
    decoded full-range YCbCr in [0, 1] (H, W even; multiples of 8 for ``arch="unet"``) and
    ``scale`` (N,) the quantiser scales (:func:`quant_scale`); returns the restored (N, 2, H, W)
    Cb, Cr.

    It is a learned guided filter: at half resolution, a guided filter (He et al., radius
    ``radius``, regulariser ``eps``) fits each chroma channel as ``a * Y + b`` in every
    window; the CNN corrects the coefficient maps ``a``, ``b`` and adds a full-size residual.
    The chroma is ``A * Y + B + residual`` with ``A``, ``B`` the corrected maps upsampled
    bilinearly.  The CNN's last layer starts near zero, so training starts from the classical
    guided upsampling of the decoded chroma (already better than the decoded chroma).

    ``arch`` is the CNN: ``"plain"``, ``blocks`` residual blocks of ``width`` channels at half
    size (receptive field ~20 chroma pixels: a few 16 x 16 JPEG chroma blocks); ``"unet"``, a
    three-level U-Net (``width``, 2x and 4x channels at 1/2, 1/4 and 1/8 size, ``blocks``
    residual blocks at the coarsest level), which sees ~100 chroma pixels, enough to carry a
    colour across the flat blocks that coarse chroma quantisation leaves."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    if arch not in ("plain", "unet"):
        raise ValueError(f"arch must be 'plain' or 'unet', got {arch!r}")
    k = 2 * radius + 1

    def box(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(F.pad(x, (radius,) * 4, mode="replicate"), k, stride=1)

    def conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
        c = nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        nn.init.kaiming_normal_(c.weight, nonlinearity="relu")
        nn.init.zeros_(c.bias)
        return c

    class ResBlock(nn.Module):
        def __init__(self, ch: int = width) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(ch, ch, 3, padding=1)
            self.c2 = nn.Conv2d(ch, ch, 3, padding=1)
            nn.init.kaiming_normal_(self.c1.weight, nonlinearity="relu")
            nn.init.zeros_(self.c1.bias)
            # the block starts near the identity: the residual branch is small at first
            nn.init.kaiming_normal_(self.c2.weight, nonlinearity="linear")
            with torch.no_grad():
                self.c2.weight.mul_(0.1)
            nn.init.zeros_(self.c2.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.c2(F.relu(self.c1(x)))

    class UNet(nn.Module):
        """Features at half size -> features at half size, through 1/4 and 1/8 size."""

        def __init__(self) -> None:
            super().__init__()
            w1, w2 = 2 * width, 4 * width
            self.enc0 = ResBlock(width)
            self.down1 = conv(width, w1, stride=2)
            self.enc1 = ResBlock(w1)
            self.down2 = conv(w1, w2, stride=2)
            self.mid = nn.Sequential(*[ResBlock(w2) for _ in range(blocks)])
            self.up1 = conv(w2, 4 * w1)
            self.dec1 = ResBlock(w1)
            self.up0 = conv(w1, 4 * width)
            self.dec0 = ResBlock(width)

        def forward(self, f: torch.Tensor) -> torch.Tensor:
            s0 = self.enc0(f)
            s1 = self.enc1(F.relu(self.down1(s0)))
            m = self.mid(F.relu(self.down2(s1)))
            d1 = self.dec1(s1 + F.pixel_shuffle(self.up1(m), 2))
            return self.dec0(s0 + F.pixel_shuffle(self.up0(d1), 2))

    class JpegChromaNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # luma unshuffled (4), chroma on its grid (2), guided-filter a (2) and b (2), scale (1)
            self.head = nn.Conv2d(11, width, 3, padding=1)
            self.body = nn.Sequential(*[ResBlock() for _ in range(blocks)]) if arch == "plain" else UNet()
            # corrections of a (2) and b (2) at half size, full-size residual pixel-shuffled (8)
            self.tail = nn.Conv2d(width, 12, 3, padding=1)
            nn.init.kaiming_normal_(self.head.weight, nonlinearity="relu")
            nn.init.zeros_(self.head.bias)
            nn.init.normal_(self.tail.weight, std=1e-4)
            nn.init.zeros_(self.tail.bias)

        def forward(self, ycc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
            n, _, h, w = ycc.shape
            y = ycc[:, :1]
            yh, ch = F.avg_pool2d(y, 2), F.avg_pool2d(ycc[:, 1:], 2)
            my, mc = box(yh), box(ch)
            a = (box(yh * ch) - my * mc) / (box(yh * yh) - my * my + eps)
            b = mc - a * my
            a, b = box(a), box(b)
            s = (scale.to(ycc.dtype) / 5.0).view(-1, 1, 1, 1).expand(n, 1, h // 2, w // 2)
            z = torch.cat([F.pixel_unshuffle(y - 0.5, 2), ch - 0.5, a, b - 0.5, s], dim=1)
            f = F.relu(self.head(z))
            t = self.tail(self.body(f) if arch == "unet" else f + self.body(f))  # plain: one long skip
            up = lambda m: F.interpolate(m, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
            return up(a + t[:, 0:2]) * y + up(b + t[:, 2:4]) + F.pixel_shuffle(t[:, 4:], 2)

    return JpegChromaNet()


def save_chroma_net(model: torch.nn.Module, path: str | Path, meta: dict[str, str]) -> None:
    """Write ``model``'s weights as safetensors with ``meta`` (strings; must hold ``width``
    and ``blocks``, and ``arch`` unless it is ``"plain"``) in the file's metadata."""
    save_own_safetensors(model, path, meta, {"width", "blocks"})


def load_chroma_net(path: str | Path | None = None) -> tuple[torch.nn.Module, dict[str, str]]:
    """The trained network (eval mode) and its metadata, from ``path`` (default: a weights
    folder's ``irpilot/jpeg_chroma.safetensors``, else the packaged asset).  Safetensors holds
    tensors only: loading runs no code."""
    state, meta = load_own_safetensors(ASSET, path)
    model = build_chroma_net(int(meta.get("width", 48)), int(meta.get("blocks", 6)), arch=meta.get("arch", "plain"))
    model.load_state_dict(state)
    return model.eval(), meta


def asset_exists() -> bool:
    """Whether trained weights are in a weights folder or packaged with irpilot."""
    return own_weights(ASSET) is not None
