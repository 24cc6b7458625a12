"""PyTorch architectures of the pretrained networks, written from their papers and the
key/shape layout of the released checkpoints.  Imported lazily (it imports torch).

* :class:`PlainConvNet`: a MatConvNet chain of conv/ReLU (DnCNN, DnCNN-3, CDnCNN-B).
* :class:`DnCNNSeq`: DnCNN with KAIR's ``model.{0,2,...}`` key layout.
* :class:`FFDNet`: pixel-unshuffle + noise-level map, plain conv body, pixel-shuffle.
* :class:`AODNet`, :class:`ZeroDCE`, :class:`ZeroDCEPP`, :class:`SCIEnhance`, :class:`RUAS`,
  :class:`PReNet`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "PlainConvNet",
    "DnCNNSeq",
    "FFDNet",
    "AODNet",
    "ZeroDCE",
    "ZeroDCEPP",
    "SCIEnhance",
    "RUAS",
    "PReNet",
]


def _conv(cin: int, cout: int, k: int = 3, dilation: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, padding=(k // 2) * dilation, dilation=dilation, groups=groups)


# ----------------------------------------------------------------------------------------
# MatConvNet chains (DnCNN family, FFDNet body)
# ----------------------------------------------------------------------------------------
def _convs_from_matconvnet(layers: list[dict[str, Any]]) -> nn.Sequential:
    """conv/relu layers of a MatConvNet net -> ``nn.Sequential`` with the weights loaded."""
    mods: list[nn.Module] = []
    for layer in layers:
        if layer["type"] == "conv":
            w = torch.from_numpy(layer["weight"])
            pad, dil = int(layer.get("pad", 1)), int(layer.get("dilate", 1))
            conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), padding=pad, dilation=dil)
            conv.weight.data.copy_(w)
            conv.bias.data.copy_(torch.from_numpy(layer["bias"]))
            mods.append(conv)
        elif layer["type"] == "relu":
            leak = float(layer.get("leak", 0.0))
            mods.append(nn.LeakyReLU(leak) if leak else nn.ReLU())
        else:
            raise ValueError(f"unexpected MatConvNet layer type {layer['type']!r} in a conv chain")
    return nn.Sequential(*mods)


class PlainConvNet(nn.Module):
    """A conv/ReLU chain; ``residual=True`` returns ``x - net(x)`` (DnCNN predicts the noise)."""

    def __init__(self, layers: list[dict[str, Any]], residual: bool = True) -> None:
        super().__init__()
        self.body = _convs_from_matconvnet(layers)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x - y if self.residual else y


class DnCNNSeq(nn.Module):
    """DnCNN (Zhang et al. 2017) with batch norm merged: conv+ReLU, (depth-2) x conv+ReLU, conv;
    keys ``model.{0,2,...}`` as in KAIR checkpoints.  Returns ``x - noise``."""

    def __init__(self, in_ch: int = 1, out_ch: int = 1, width: int = 64, depth: int = 17) -> None:
        super().__init__()
        mods: list[nn.Module] = [_conv(in_ch, width), nn.ReLU()]
        for _ in range(depth - 2):
            mods += [_conv(width, width), nn.ReLU()]
        mods.append(_conv(width, out_ch))
        self.model = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.model(x)


class FFDNet(nn.Module):
    """FFDNet (Zhang, Zuo, Zhang 2018): the image is split into 4 half-resolution sub-images
    (pixel unshuffle), a uniform noise-level map is appended, a plain conv chain predicts the
    clean sub-images, and a pixel shuffle reassembles them.

    The MatConvNet ``SubP`` layer (MATLAB, column-major) orders the unshuffled channels as
    colour (slowest), column offset, row offset (fastest); checked by denoising a noisy photo
    (the other five orders lose 3 to 12 dB).  The noise level is on the [0, 1] scale.
    """

    def __init__(self, layers: list[dict[str, Any]], channels: int) -> None:
        super().__init__()
        convs = [layer for layer in layers if layer["type"] in ("conv", "relu")]
        self.body = _convs_from_matconvnet(convs)
        self.channels = channels

    def _unshuffle(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C, 2h, 2w) -> (N, C*4, h, w) with index c*4 + dx*2 + dy (row offset dy fastest)
        n, c, h, w = x.shape
        x = x.view(n, c, h // 2, 2, w // 2, 2)  # n c h dy w dx
        return x.permute(0, 1, 5, 3, 2, 4).reshape(n, c * 4, h // 2, w // 2)

    def _shuffle(self, x: torch.Tensor) -> torch.Tensor:
        n, c4, h, w = x.shape
        c = c4 // 4
        x = x.view(n, c, 2, 2, h, w)  # n c dx dy h w
        return x.permute(0, 1, 4, 3, 5, 2).reshape(n, c, h * 2, w * 2)

    def forward(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        sub = self._unshuffle(x)
        level = torch.full_like(sub[:, :1], float(sigma))
        return self._shuffle(self.body(torch.cat([sub, level], dim=1)))


# ----------------------------------------------------------------------------------------
# Dehazing
# ----------------------------------------------------------------------------------------
class AODNet(nn.Module):
    """AOD-Net (Li et al. 2017): estimates one map K(x) so that J = K*I - K + 1 (b = 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.e_conv1 = _conv(3, 3, 1)
        self.e_conv2 = _conv(3, 3, 3)
        self.e_conv3 = _conv(6, 3, 5)
        self.e_conv4 = _conv(6, 3, 7)
        self.e_conv5 = _conv(12, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(torch.cat([x1, x2], 1)))
        x4 = F.relu(self.e_conv4(torch.cat([x2, x3], 1)))
        k = F.relu(self.e_conv5(torch.cat([x1, x2, x3, x4], 1)))
        return F.relu(k * x - k + 1.0)


# ----------------------------------------------------------------------------------------
# Low-light enhancement
# ----------------------------------------------------------------------------------------
def _curve(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """The light-enhancement curve LE(x) = x + r x (1 - x) of Zero-DCE (written x + r(x^2 - x)
    with negative r brightening in the paper's sign convention)."""
    return x + r * (x * x - x)


class ZeroDCE(nn.Module):
    """Zero-DCE (Guo et al. 2020): 7 convs of 32 channels with symmetric skip concatenations
    estimate 8 per-pixel curve maps (24 channels, tanh) applied in sequence."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.e_conv1 = _conv(3, width)
        self.e_conv2 = _conv(width, width)
        self.e_conv3 = _conv(width, width)
        self.e_conv4 = _conv(width, width)
        self.e_conv5 = _conv(2 * width, width)
        self.e_conv6 = _conv(2 * width, width)
        self.e_conv7 = _conv(2 * width, 24)

    def curves(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.relu(self.e_conv1(x))
        x2 = F.relu(self.e_conv2(x1))
        x3 = F.relu(self.e_conv3(x2))
        x4 = F.relu(self.e_conv4(x3))
        x5 = F.relu(self.e_conv5(torch.cat([x3, x4], 1)))
        x6 = F.relu(self.e_conv6(torch.cat([x2, x5], 1)))
        return torch.tanh(self.e_conv7(torch.cat([x1, x6], 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.curves(x)
        for i in range(8):
            x = _curve(x, r[:, 3 * i : 3 * i + 3])
        return x


class _DepthwiseSeparable(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.depth_conv = _conv(cin, cin, 3, groups=cin)
        self.point_conv = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.point_conv(self.depth_conv(x))


class ZeroDCEPP(ZeroDCE):
    """Zero-DCE++ (Li, Guo, Loy 2021): depthwise-separable convs, one 3-channel curve map
    reused for 8 iterations, estimated on a ``downscale``-times smaller input and upsampled."""

    def __init__(self, width: int = 32, downscale: int = 1) -> None:
        nn.Module.__init__(self)
        self.e_conv1 = _DepthwiseSeparable(3, width)
        self.e_conv2 = _DepthwiseSeparable(width, width)
        self.e_conv3 = _DepthwiseSeparable(width, width)
        self.e_conv4 = _DepthwiseSeparable(width, width)
        self.e_conv5 = _DepthwiseSeparable(2 * width, width)
        self.e_conv6 = _DepthwiseSeparable(2 * width, width)
        self.e_conv7 = _DepthwiseSeparable(2 * width, 3)
        self.downscale = downscale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        small = x
        if self.downscale > 1:
            small = F.interpolate(x, scale_factor=1.0 / self.downscale, mode="bilinear", align_corners=False)
        r = self.curves(small)
        if self.downscale > 1:
            r = F.interpolate(r, size=x.shape[-2:], mode="bilinear", align_corners=False)
        for _ in range(8):
            x = _curve(x, r)
        return x


class _SCIEnhanceBody(nn.Module):
    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        self.in_conv = nn.Sequential(_conv(3, channels), nn.ReLU())
        # the released checkpoints store the single residual block twice (``conv`` and
        # ``blocks.0``, one shared module in training; checked identical): only blocks.0 is kept
        self.blocks = nn.ModuleList([nn.Sequential(_conv(channels, channels), nn.BatchNorm2d(channels), nn.ReLU())])
        self.out_conv = nn.Sequential(_conv(channels, 3), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.in_conv(x)
        for block in self.blocks:
            fea = fea + block(fea)
        return torch.clamp(self.out_conv(fea) + x, 1e-4, 1.0)


class SCIEnhance(nn.Module):
    """SCI (Ma et al. 2022) at inference: a 3-layer network estimates the illumination i,
    the output is the reflectance x / i (Retinex)."""

    def __init__(self) -> None:
        super().__init__()
        self.enhance = _SCIEnhanceBody(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x / self.enhance(x), 0.0, 1.0)


class _ResConv(nn.Module):
    def __init__(self, c: int, k: int, dilation: int = 1, residual: bool = False) -> None:
        super().__init__()
        self.op = _conv(c, c, k, dilation)
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x)
        return y + x if self.residual else y


class _Skip(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def _ruas_op(name: str, c: int) -> nn.Module:
    """One operation of the RUAS search space by its genotype name."""
    if name == "skip_connect":
        return _Skip()
    kind, size = name.rsplit("_", 1)
    k = int(size.split("x")[0])
    return _ResConv(c, k, dilation=2 if "dil" in kind else 1, residual=kind.startswith("res"))


# Searched cells (the genotypes reported by RUAS for its IEM and NRM cells): the operation of
# each slot c1_d, c1_r, c2_d, c2_r, c3_d, c3_r, c4 of the distillation block.
RUAS_IEM = ("skip_connect", "resconv_1x1", "resdilconv_3x3", "conv_3x3", "conv_3x3", "skip_connect", "conv_3x3")
RUAS_NRM = ("resconv_1x1", "resconv_1x1", "resdilconv_3x3", "skip_connect", "resconv_1x1", "resconv_1x1", "skip_connect")


class _RUASCell(nn.Module):
    """The information-distillation block RUAS searches over: three distil/refine steps, a
    fourth refinement, and a 1x1 fusion of the four distilled features."""

    def __init__(self, c: int, genotype: tuple[str, ...]) -> None:
        super().__init__()
        names = ("c1_d", "c1_r", "c2_d", "c2_r", "c3_d", "c3_r", "c4")
        for name, op in zip(names, genotype):
            setattr(self, name, _ruas_op(op, c))
        self.c5 = nn.Conv2d(4 * c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = lambda t: F.leaky_relu(t, 0.05)  # noqa: E731
        d1 = act(self.c1_d(x))
        r1 = act(self.c1_r(x) + x)
        d2 = act(self.c2_d(r1))
        r2 = act(self.c2_r(r1) + r1)
        d3 = act(self.c3_d(r2))
        r3 = act(self.c3_r(r2) + r2)
        r4 = act(self.c4(r3))
        return self.c5(torch.cat([d1, d2, d3, r4], 1))


class _RUASIEM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cell = _RUASCell(3, RUAS_IEM)


def _local_max(x: torch.Tensor) -> torch.Tensor:
    """Max over each pixel's 2x2 neighbourhood (itself, up, left, up-left), zero outside."""
    x = F.pad(x, (1, 0, 1, 0))
    x = torch.maximum(x[:, :, :-1, :], x[:, :, 1:, :])
    return torch.maximum(x[:, :, :, :-1], x[:, :, :, 1:])


class _RUASEnhance(nn.Module):
    def __init__(self, stages: int = 3) -> None:
        super().__init__()
        self.iems = nn.ModuleList([_RUASIEM() for _ in range(stages)])

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        u = torch.ones_like(y)
        for k, iem in enumerate(self.iems):
            t_hat = _local_max(y) if k == 0 else _local_max(u) - 0.5 * (u - y)
            t = torch.clamp(torch.sigmoid(iem.cell(t_hat)), 0.001, 1.0)
            u = torch.clamp(y / t, 0.0, 1.0)
        return u


class _RUASDenoise(nn.Module):
    def __init__(self, stages: int = 3, c: int = 6) -> None:
        super().__init__()
        self.stem = _conv(3, c)
        self.nrms = nn.ModuleList([_RUASCell(c, RUAS_NRM) for _ in range(stages)])
        self.activate = nn.Sequential(_conv(c, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.stem(x)
        for nrm in self.nrms:
            feat = nrm(feat)
        return x - self.activate(feat)


class RUAS(nn.Module):
    """RUAS (Liu et al. 2021): unrolled Retinex illumination estimation with searched cells
    (3 IEM stages) followed by a searched denoiser (NRM) on the enhanced image."""

    def __init__(self, denoise: bool = True) -> None:
        super().__init__()
        self.enhance_net = _RUASEnhance()
        self.denoise_net = _RUASDenoise()
        self.denoise = denoise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.enhance_net(x)
        return self.denoise_net(u) if self.denoise else u


# ----------------------------------------------------------------------------------------
# Deraining
# ----------------------------------------------------------------------------------------
def _res_pair(c: int) -> nn.Sequential:
    return nn.Sequential(_conv(c, c), nn.ReLU(), _conv(c, c), nn.ReLU())


class PReNet(nn.Module):
    """PReNet (Ren et al. 2019): T recurrent stages; each takes (rainy input, current estimate),
    passes a conv-LSTM and 5 residual blocks (one shared block in the recursive variant
    ``PReNet_r``) and predicts a new estimate = input + correction.

    ``lstm_last=True`` is the generator released for real rain: residual blocks first, the
    conv-LSTM after them, and the stage output is the image itself (no input skip)."""

    def __init__(self, stages: int = 6, recursive: bool = False, width: int = 32, lstm_last: bool = False) -> None:
        super().__init__()
        self.stages, self.recursive, self.width, self.lstm_last = stages, recursive, width, lstm_last
        self.conv0 = nn.Sequential(_conv(6, width), nn.ReLU())
        for i in range(1 if recursive else 5):
            setattr(self, f"res_conv{i + 1}", _res_pair(width))
        self.conv_i = nn.Sequential(_conv(2 * width, width), nn.Sigmoid())
        self.conv_f = nn.Sequential(_conv(2 * width, width), nn.Sigmoid())
        self.conv_g = nn.Sequential(_conv(2 * width, width), nn.Tanh())
        self.conv_o = nn.Sequential(_conv(2 * width, width), nn.Sigmoid())
        self.conv = nn.Sequential(_conv(width, 3))

    def _residual_blocks(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(5):
            block = self.res_conv1 if self.recursive else getattr(self, f"res_conv{i + 1}")
            x = F.relu(block(x) + x)
        return x

    def forward(self, rainy: torch.Tensor) -> torch.Tensor:
        n, _, h, w = rainy.shape
        hidden = rainy.new_zeros(n, self.width, h, w)
        cell = rainy.new_zeros(n, self.width, h, w)
        x = rainy
        for _ in range(self.stages):
            x = self.conv0(torch.cat([rainy, x], 1))
            if self.lstm_last:
                x = self._residual_blocks(x)
            z = torch.cat([x, hidden], 1)
            cell = self.conv_f(z) * cell + self.conv_i(z) * self.conv_g(z)
            hidden = self.conv_o(z) * torch.tanh(cell)
            if self.lstm_last:
                x = self.conv(hidden)
            else:
                x = self.conv(self._residual_blocks(hidden)) + rainy
        return x
