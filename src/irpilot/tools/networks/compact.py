"""irpilot's compact restoration network: a small residual U-Net, one set of weights per task.

For tasks no registry network covers (snow; and the realistic defocus the classical tools are
fitted around; x4 super-resolution of photos not made small by bicubic), irpilot trains its own network (``irpilot train tool TASK``,
:mod:`irpilot.train.compact`) on the training photos only, degraded by the task's protocol-style
and realistic degradation models.  The network is deliberately small (about 0.28 M parameters,
about 30 k multiply-adds per pixel) so it runs on a CPU thread in well under a second per
512 x 512 image.

:func:`build_compact_net` is a U-Net with ``len(widths)`` levels: two 3x3 convolutions per
level, 2x2 strided convolutions down, 2x2 transposed convolutions up, skip connections by
concatenation, and a residual output (``out = in + net(in)``) whose last layer starts at zero,
so an untrained network is the identity.  Input sides must be a multiple of
``2 ** (len(widths) - 1)`` (the tool pads).

``arch="aod"`` trains AOD-Net's architecture (Li et al. 2017, 1,761 parameters: one map ``K``
with ``J = K I - K + 1``) from scratch in the same way, as a second, smaller dehazing network.

``head="haze"`` makes the same U-Net a dehazing network that inverts the scattering model
``I = J t + A (1 - t)`` instead of predicting a residual: it also reads the dark channel
(He et al. 2009) and the value minus saturation (Zhu et al.'s colour-attenuation cue) of its
input relative to the airlight ``A`` (estimated from the haziest 0.1 % of the dark channel, as He
et al.), and predicts a per-pixel transmission ``t``, a per-image mix of the inversion in sRGB and
in linear light, and a small residual (at most 0.05).  It too starts as the identity
(``t`` = 1).

``head="exposure"`` makes it a low-light network: it predicts a per-pixel gain (a smooth map:
under-exposure, a tone curve and the protocol's value-channel darkening all scale a pixel's
colour by a factor that depends on its brightness), a per-image colour-cast correction and a
small residual (at most 0.05): ``out = x * gain * cast + residual``, the cast's mean 1; gain 1
untrained.

``head="deconv"`` makes it the refinement network of a deconvolution (``shake_deblur_pnp``'s,
:mod:`irpilot.train.deconv`): it reads six channels, the blurred photo and its deconvolution, and
returns the deconvolution plus a residual (the deconvolution as it is, untrained).
``head="deconv2"`` reads nine: the blurred photo, its deconvolution and a second deconvolution with
the same kernel at a lower noise floor (sharper where the kernel is right, ringing where it is not),
and corrects the first the same way.

Weights ship in the package as safetensors (``assets/compact_<task>.safetensors``) with the
network's shape and its training record in the file's metadata; loading runs no code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._common import load_own_safetensors, own_weights, save_own_safetensors

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["ARCHS", "DEFAULT_WIDTHS", "HEADS", "build_net", "build_compact_net", "save_compact_net", "load_compact_net", "asset_path", "asset_exists"]

#: channels per level, full resolution first
DEFAULT_WIDTHS: tuple[int, ...] = (16, 32, 48, 64)
#: output heads: a residual (any task), the inversion of the scattering model (dehazing), or a
#: per-pixel exposure gain with a colour-cast correction (low light)
HEADS = ("residual", "haze", "exposure", "deconv", "deconv2")
#: architectures: irpilot's U-Net, or AOD-Net's (dehazing only)
ARCHS = ("unet", "aod")


def build_net(arch: str = "unet", widths: tuple[int, ...] = DEFAULT_WIDTHS, context: bool = True,
              head: str = "residual", refine: int = 0) -> torch.nn.Module:
    """The untrained network of ``arch``: :func:`build_compact_net` for ``"unet"``, AOD-Net
    (:class:`irpilot.tools.networks.archs.AODNet`) for ``"aod"``."""
    if arch == "unet":
        return build_compact_net(widths, context=context, head=head, refine=refine)
    if refine:
        raise ValueError("refine applies to the U-Net's haze head only")
    if arch == "aod":
        import torch

        from .archs import AODNet

        net = AODNet()
        with torch.no_grad():  # K = 1: J = I, the identity, as the U-Net starts
            net.e_conv5.weight.zero_()
            net.e_conv5.bias.fill_(1.0)
        return net
    raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")


def asset_path(task: str) -> str:
    """Where the packaged weights of ``task`` live, relative to the ``irpilot`` package."""
    return f"assets/compact_{task}.safetensors"


def build_compact_net(widths: tuple[int, ...] = DEFAULT_WIDTHS, channels: int = 3, context: bool = True,
                      head: str = "residual", refine: int = 0) -> torch.nn.Module:
    """The compact residual U-Net (random weights; the identity until trained):
    ``forward(x)`` maps (N, ``channels``, H, W) in [0, 1] to the same shape, H and W
    multiples of ``2 ** (len(widths) - 1)``.

    With ``context``, the coarsest level also gets a per-image bias computed from the mean and
    the maximum of its features over the whole image: what is uniform over a photo, such as a
    veil's strength, cannot be read from a neighbourhood of the receptive field's size.  A tool
    running a large photo in tiles reads it once over the whole photo (``coarse``) and gives it to
    every tile (``forward(tile, context=...)``); read tile by tile, it drew seams.

    ``refine`` (the haze head): the radius of a guided filter (He et al. 2010, the photo's grey as
    the guide) applied to the predicted transmission, in training as at run time, so that it
    follows the photo's edges: without it the transmission bleeds across the edges of objects
    against the sky, as the dark channel it reads does, and leaves bright halos around them.

    Two run-time settings of the haze head (attributes of the network, ``net.tolerance`` and
    ``net.flat_variance``, set by the tool that runs it; 0, as built, turns either off) keep a flat sky as bright as the haze from turning
    blotchy, where a small transmission amplifies the photo's 8-bit banding and JPEG noise:
    ``tolerance``, where a pixel differs from the airlight by less than this (its largest colour
    difference in [0, 1], smoothed like the transmission), raises the transmission by the factor
    tolerance / difference, at most to 1 (the tolerance of the dark-channel literature: such a sky
    is the haze itself); ``flat_variance`` inverts a base layer (each colour guided-filtered by
    itself, radius ``refine`` or 16, eps ``flat_variance``) and adds back what the base left, at
    its own size, not divided by the transmission: variation of a local variance well below it
    (banding, noise in a flat sky) is that remainder, texture well above it is in the base and
    inverted as before.

    >>> net = build_compact_net((8, 16))                  # doctest: +SKIP
    >>> net(torch.rand(1, 3, 32, 32)).shape               # doctest: +SKIP
    torch.Size([1, 3, 32, 32])
    """
    import torch
    from torch import nn
    from torch.nn import functional as F

    if not widths or any(int(w) < 1 for w in widths):
        raise ValueError(f"widths must be positive channel counts, got {widths}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if refine and head != "haze":
        raise ValueError("refine applies to the haze head only")
    if head != "residual" and channels != 3:
        raise ValueError(f"the {head} head needs RGB input (channels=3)")

    def pair(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.1),
                             nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1))

    class CompactUNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = [int(c) for c in widths]
            cin = channels + {"haze": 2, "deconv": 3, "deconv2": 6}.get(head, 0)
            cout = {"haze": 5, "exposure": 7}.get(head, channels)
            self.enc = nn.ModuleList([pair(cin, w[0])] + [pair(w[i], w[i]) for i in range(1, len(w))])
            self.down = nn.ModuleList([nn.Conv2d(w[i], w[i + 1], 2, stride=2) for i in range(len(w) - 1)])
            self.up = nn.ModuleList([nn.ConvTranspose2d(w[i + 1], w[i], 2, stride=2) for i in range(len(w) - 1)])
            self.dec = nn.ModuleList([pair(2 * w[i], w[i]) for i in range(len(w) - 1)])
            self.tail = nn.Conv2d(w[0], cout, 3, padding=1)
            self.context = nn.Linear(2 * w[-1], w[-1]) if context else None
            self.refine = int(refine)
            self.tolerance = 0.0  # the haze head's run-time sky settings (see above)
            self.flat_variance = 0.0
            self.head = head
            nn.init.zeros_(self.tail.weight)  # starts as the identity: out = in
            nn.init.zeros_(self.tail.bias)
            if head == "haze":
                with torch.no_grad():
                    self.tail.bias[0] = 6.0  # t = sigmoid(6) ~ 1: the identity

        #: how much smaller the coarsest level is than the input
        stride = 2 ** (len(widths) - 1)

        def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
            skips = []
            f = self.enc[0](x - 0.5)
            for i in range(1, len(self.enc)):
                skips.append(f)
                f = self.enc[i](F.leaky_relu(self.down[i - 1](f), 0.1))
            return f, skips

        def features(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
            f, skips = self.encode(x)
            if self.context is not None:
                g = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1) if context is None else context
                f = f + F.leaky_relu(self.context(g), 0.1)[:, :, None, None]
            for i in reversed(range(len(self.dec))):
                f = self.dec[i](torch.cat([F.leaky_relu(self.up[i](f), 0.1), skips[i]], dim=1))
            return self.tail(f)

        def coarse(self, x: torch.Tensor, airlight: torch.Tensor | None = None) -> torch.Tensor:
            """The coarsest level's features of ``x`` (N, C, H / stride, W / stride), before the
            context bias: their mean and maximum over a whole photo are its ``context``, which
            the tiles of a large photo then share (``forward(tile, context=...)``)."""
            if head == "haze":
                x = self._haze_input(x, self.estimate_airlight(x) if airlight is None else airlight)
            return self.encode(x)[0]

        def forward(self, x: torch.Tensor, airlight: torch.Tensor | None = None,
                    context: torch.Tensor | None = None, terms: torch.Tensor | None = None) -> torch.Tensor:
            """``airlight`` (N, 3; the haze head), ``context`` (N, 2C: the mean and the maximum of
            :meth:`coarse` over the whole photo) and ``terms`` (:meth:`photo_terms`) default to
            those of ``x`` itself."""
            if head == "residual":
                return x + self.features(x, context)
            if head in ("deconv", "deconv2"):  # x: a blurred photo and its deconvolution(s); out: the first corrected
                return x[:, 3:6] + self.features(x, context)
            if head == "exposure":
                out = self.features(x, context)
                gain = torch.exp(4.0 * torch.tanh(out[:, :1] / 4.0))
                cast = self._terms(out) if terms is None else terms
                return x * gain * cast[:, :, None, None] + 0.05 * torch.tanh(out[:, 4:7])
            return self._dehaze(x, airlight, context, terms)[0]

        def photo_terms(self, x: torch.Tensor, airlight: torch.Tensor | None = None,
                        context: torch.Tensor | None = None) -> torch.Tensor | None:
            """The head's outputs that hold for a whole image, (N, k): the haze head's weight of
            the inversion in linear light (k = 1), the exposure head's colour correction (k = 3);
            None for the residual head.  Each is a mean over the image of one output channel, so
            a tool running a large photo in tiles reads them once on a downscaled copy and gives
            them to every tile: read tile by tile, they changed from tile to tile (the linear-light
            weight of ``dehaze_net_lite`` from 0.04 to 1.0 across one real photo)."""
            if head == "residual":
                return None
            if head == "haze":
                airlight = self.estimate_airlight(x) if airlight is None else airlight
                x = self._haze_input(x, airlight)
            return self._terms(self.features(x, context))

        def _terms(self, out: torch.Tensor) -> torch.Tensor:
            if head == "haze":
                return torch.sigmoid(out[:, 1:2].mean(dim=(2, 3)))
            cast = torch.exp(0.5 * torch.tanh(out[:, 1:4].mean(dim=(2, 3))))
            return cast / cast.mean(dim=1, keepdim=True)  # a colour correction only: the gain map brightens

        def estimate_airlight(self, x: torch.Tensor) -> torch.Tensor:
            """The airlight (N, 3) the network uses on ``x`` (a whole image, or a downscaled
            copy of it, so that every tile of a large photo shares one): the mean colour of the
            haziest 0.1 % of the dark channel, as He et al."""
            dark = _dark_channel(x)
            n = x.shape[0]
            k = max(1, dark[0].numel() // 1000)
            idx = dark.reshape(n, -1).topk(k, dim=1).indices
            return torch.gather(x.reshape(n, 3, -1), 2, idx[:, None, :].expand(n, 3, k)).mean(dim=2).clamp(0.05, 1.0)

        def _haze_input(self, x: torch.Tensor, airlight: torch.Tensor) -> torch.Tensor:
            # the network sees the photo relative to the airlight, as the dark-channel prior does, so that
            # its transmission agrees with the airlight it is used with
            xn = x / airlight[:, :, None, None]
            hi, lo = x.amax(dim=1, keepdim=True), x.amin(dim=1, keepdim=True)
            sat = (hi - lo) / hi.clamp_min(1e-3)
            return torch.cat([xn, _dark_channel(xn), hi - sat], dim=1)

        def _dehaze(self, x: torch.Tensor, airlight: torch.Tensor | None, context: torch.Tensor | None = None,
                    terms: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
            if airlight is None:
                airlight = self.estimate_airlight(x)
            a = airlight[:, :, None, None]
            out = self.features(self._haze_input(x, airlight), context)
            t = 0.1 + 0.9 * torch.sigmoid(out[:, :1])  # t >= 0.1, as He et al.'s t0
            grey = x.mean(dim=1, keepdim=True)
            if self.refine > 0:
                t = _guided_filter(grey, t, self.refine, 1e-3).clamp(0.1, 1.0)
            if self.tolerance > 0:
                d = (x - a).abs().amax(dim=1, keepdim=True)
                if self.refine > 0:
                    d = _guided_filter(grey, d, self.refine, 1e-3)
                t = torch.maximum(t, (t * self.tolerance / d.clamp_min(1e-3)).clamp(max=1.0))
            rest = None
            if self.flat_variance > 0:  # invert the base layer, add the flat remainder back unamplified
                r = self.refine or 16
                base = _guided_filter(x, x, r, self.flat_variance)  # each colour guided by itself
                x, rest = base, x - base
            srgb = (x - a) / t + a
            xl, al = _to_linear(x), _to_linear(a)
            linear = _to_srgb(((xl - al) / t + al).clamp(0.0, 1.0))
            mix = (self._terms(out) if terms is None else terms)[:, :, None, None]
            # a small, bounded residual: the dehazing itself has to come from t
            j = srgb + mix * (linear - srgb) + 0.05 * torch.tanh(out[:, 2:5])
            return (j if rest is None else j + rest), airlight

    return CompactUNet()


def _dark_channel(x: torch.Tensor, radius: int = 7) -> torch.Tensor:
    """He et al.'s dark channel: the minimum over the colours and a (2r+1)^2 window; (N, 1, H, W)."""
    from torch.nn import functional as F

    m = -x.amin(dim=1, keepdim=True)  # a square window's minimum: along rows, then along columns
    m = F.max_pool2d(F.pad(m, (radius, radius, 0, 0), mode="replicate"), (1, 2 * radius + 1), stride=1)
    return -F.max_pool2d(F.pad(m, (0, 0, radius, radius), mode="replicate"), (2 * radius + 1, 1), stride=1)


def _guided_filter(guide: torch.Tensor, src: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """He et al.'s guided filter (ECCV 2010) of ``src`` by ``guide``, both (N, C, H, W), channel by
    channel: ``src`` made locally linear in ``guide``, so it follows the photo's edges (box windows
    of side 2 ``radius`` + 1, replicate-padded; running sums, so the cost does not grow with the
    radius)."""
    import torch
    from torch.nn import functional as F

    def box(a: torch.Tensor) -> torch.Tensor:  # separable: two 1-D means, each a difference of running sums
        r = min(radius, a.shape[-2] - 1, a.shape[-1] - 1)
        k = 2 * r + 1
        c = F.pad(torch.cumsum(F.pad(a, (r, r, 0, 0), mode="replicate"), dim=-1), (1, 0))
        a = (c[..., k:] - c[..., :-k]) / k
        c = F.pad(torch.cumsum(F.pad(a, (0, 0, r, r), mode="replicate"), dim=-2), (0, 0, 1, 0))
        return (c[..., k:, :] - c[..., :-k, :]) / k

    mi, ms = box(guide), box(src)
    a = (box(guide * src) - mi * ms) / (box(guide * guide) - mi * mi + eps)
    b = ms - a * mi
    return box(a) * guide + box(b)


def _to_linear(x: torch.Tensor) -> torch.Tensor:
    import torch

    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).clamp_min(1e-6) ** 2.4)


def _to_srgb(x: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


def save_compact_net(model: torch.nn.Module, path: str | Path, meta: dict[str, str]) -> None:
    """Write ``model``'s weights as safetensors with ``meta`` (must hold ``task`` and
    ``widths``, e.g. ``"16,32,48,64"``) in the file's metadata."""
    save_own_safetensors(model, path, meta, {"task", "widths"})


def load_compact_net(task: str | None = None, path: str | Path | None = None) -> tuple[torch.nn.Module, dict[str, str]]:
    """The trained network (eval mode) and its metadata, from ``path`` or else the weights of
    ``task`` (a weights folder's ``irpilot/compact_<task>.safetensors`` first, then the packaged
    file).  Safetensors holds tensors only: loading runs no code."""
    if path is None and task is None:
        raise ValueError("give the task (packaged weights) or a weights path")
    state, meta = load_own_safetensors(asset_path(str(task)), path)
    widths = tuple(int(c) for c in meta.get("widths", ",".join(map(str, DEFAULT_WIDTHS))).split(","))
    model = build_net(meta.get("arch", "unet"), widths, context=meta.get("context", "1") == "1",
                      head=meta.get("head", "residual"), refine=int(meta.get("refine", "0")))
    model.load_state_dict(state)
    return model.eval(), meta


def asset_exists(task: str) -> bool:
    """Whether trained weights of ``task`` are in a weights folder (``irpilot/compact_<task>.safetensors``)
    or packaged with irpilot (:func:`._common.own_weights`)."""
    return own_weights(asset_path(task)) is not None
