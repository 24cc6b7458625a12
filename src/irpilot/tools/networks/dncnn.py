"""DnCNN / FFDNet family: Gaussian denoisers, DnCNN-3 for JPEG deblocking and x4 SR.

Weights: the original MatConvNet releases (cszn/DnCNN, cszn/FFDNet; no licence stated) and
KAIR's PyTorch DnCNN-S sigma=25 (MIT).  Architectures in :mod:`.archs`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...imaging.color import rgb_to_ycbcr, ycbcr_to_rgb
from ..base import ToolCard
from ._common import NetworkTool, github_weights, load_matconvnet, load_torch_state, register

__all__ = [
    "DnCNNColorBlind",
    "DnCNNGrayBlind",
    "DnCNNKairS25",
    "FFDNetColor",
    "DnCNN3Dejpeg",
    "DnCNN3SRx4",
    "bicubic_upscale",
]

_DNCNN_REPO, _DNCNN_COMMIT = "cszn/DnCNN", "e93b27812d3ff523a3a79d19e5e50d233d7a8d0a"
_DNCNN_PAPER = "Zhang et al., Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image Denoising, TIP 2017"
_DNCNN_REF = "K. Zhang, W. Zuo, Y. Chen, D. Meng, L. Zhang. Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image Denoising. IEEE TIP 2017."
_NO_LICENCE = "none stated (research use)"
_DEVICES = ("cpu", "cuda")


def _dncnn_weights(name: str, sha256: str):
    return github_weights(
        f"dncnn_matconvnet/{name}", sha256, _DNCNN_REPO, _DNCNN_COMMIT, f"model/{name}", _DNCNN_PAPER
    )


_W_COLOR = _dncnn_weights("GD_Color_Blind.mat", "57db5437a44037e7675a99042fe7b14d3dcdf1c333d3ec665855566e8a59795c")
_W_GRAY = _dncnn_weights("GD_Gray_Blind.mat", "37f76da0b71dd2b2789ce91848fe2f184ab486203c9af9ac1b98199b60ea02b0")
_W_DNCNN3 = _dncnn_weights("DnCNN3.mat", "3962377d522b6728417e364bf7a589cf34ddfb592af0bd9769e53f8123d17677")

GREY_MODES: tuple[str, ...] = ("channels", "luma", "ycbcr420")

_GREY_MODE_ARG = {
    "mode": {
        "type": "string",
        "enum": list(GREY_MODES),
        "description": "apply the greyscale network to each RGB channel, to luma Y only (chroma kept), "
        "or to Y at full size and to Cb, Cr at half size (where JPEG stores them)",
    }
}


class _GreyscaleMixin(NetworkTool):
    """Runs a single-channel network on a colour image: per RGB channel (``channels``), on
    luma only (``luma``), or on luma at full size and chroma at half size (``ycbcr420``: the
    layout of a JPEG with 4:2:0 subsampling; the network sees 1.5 image planes instead of 3)."""

    default_mode: str = "channels"
    studio_luma: bool = False  # MATLAB rgb2ycbcr (studio range) when the model was trained on it

    def run_grey(self, img: np.ndarray, mode: str | None = None) -> np.ndarray:
        mode = mode or self.default_mode
        if mode == "channels":
            return self.forward(img[:, None])[:, 0]
        if mode == "luma":
            ycc = rgb_to_ycbcr(img, studio=self.studio_luma)
            ycc[0] = self.forward(ycc[:1])[0]
            return ycbcr_to_rgb(ycc, studio=self.studio_luma)
        if mode == "ycbcr420":
            from ...imaging.resize import imresize

            ycc = rgb_to_ycbcr(img, studio=self.studio_luma)
            h, w = img.shape[-2:]
            half = imresize(ycc[1:], 0.5).astype(np.float32)
            chroma = self.forward(half[:, None])[:, 0]
            ycc[1:] = imresize(chroma, 2.0, output_shape=(h, w))
            ycc[0] = self.forward(ycc[:1])[0]
            return ycbcr_to_rgb(ycc, studio=self.studio_luma)
        raise ValueError(f"mode must be one of {', '.join(GREY_MODES)}, got {mode!r}")


class _MatConvNetDnCNN(_GreyscaleMixin):
    """A residual MatConvNet DnCNN (clean = input - net(input))."""

    def build(self):
        from .archs import PlainConvNet

        return PlainConvNet(load_matconvnet(self.weights_path()), residual=True)


#: dncnn_color_blind's grain check: FFDNet runs after it when :func:`irpilot.noise.grain_sigma`
#: reads at least this much correlated noise (0-255) in its output.  On 8 training crops per
#: condition, 256 px, noise left by JPEG reads 16-42; at a threshold of 8 the check also fired on
#: 2 of 8 crops of white Gaussian noise and lost 0.93 dB on one (BENCHMARKS.md, "CDnCNN-B's grain
#: check": ``benchmarks/dncnn_grain.py --grain-min 8``)
GRAIN_MIN = 16.0
#: ... on images at least this large (each side): the half-size reading has few flat blocks on
#: small images; on 96 px crops it fired on 1 of 8 crops of white noise (-0.70 dB) and on a 96 px
#: crop of the astronaut's suit with white noise (``tests/tools/test_networks.py``)
GRAIN_MIN_SIDE = 128


@register
class DnCNNColorBlind(_MatConvNetDnCNN):
    """CDnCNN-B: blind colour Gaussian denoiser (sigma 0-55), then FFDNet on the grain it leaves
    (version 2)."""

    card = ToolCard(
        id="dncnn_color_blind",
        task="denoise",
        description="CDnCNN-B: 20-layer residual CNN, blind colour Gaussian denoising (sigma 0-55 on 0-255). "
        "Trained on white noise, it leaves noise that a JPEG step has made spatially correlated (the "
        "grain of a noisy photo saved as JPEG); version 2 reads the noise left in its output at full "
        "and half size (irpilot.noise.grain_sigma) and, when correlated grain of at least "
        "16/255 remains in an image of at least 128 px a side, runs FFDNet at that level on the whole image (grain=false turns this off; "
        "FFDNet's weights must be present): noise -> JPEG -> DnCNN-3 -> this tool +0.03 -> +1.69 dB, "
        "realistic noise -> JPEG +0.14 -> +1.94 dB, realistic sensor noise alone +6.48 -> +6.76 dB, "
        "white Gaussian noise unchanged, JPEG alone (a false noise call) +0.02 -> -0.07 dB (8 training "
        "crops of 256 px each; benchmarks/dncnn_grain.py)",
        version="2",
        weights_license=_NO_LICENCE,
        weights=(_W_COLOR,),
        kind="network",
        reference=_DNCNN_REF,
        tile_size=512,
        tile_overlap=48,
        devices=_DEVICES,
        cpu_seconds_512=5.6,
        arguments={"grain": {"type": "boolean", "default": True,
                             "description": "run FFDNet after CDnCNN-B when correlated grain remains"}},
    )

    def _run(self, img: np.ndarray, grain: bool = True, **args: Any) -> np.ndarray:
        return self.forward(img)

    def __call__(self, img: np.ndarray, **args: Any) -> np.ndarray:
        grain = bool(args.get("grain", True))
        out = super().__call__(img, **args)
        if not grain or min(out.shape[-2:]) < GRAIN_MIN_SIDE or not FFDNetColor.available():
            return out
        # decided on the whole output (not tile by tile), so tiles cannot disagree
        from ...noise import grain_sigma

        level = grain_sigma(out)
        if level < GRAIN_MIN:
            return out
        if getattr(self, "_ffdnet", None) is None:
            self._ffdnet = FFDNetColor(**{k: v for k, v in self.options.items() if k in ("device", "precision")})
        return self._ffdnet(out, sigma=min(level, 75.0))


@register
class DnCNNGrayBlind(_MatConvNetDnCNN):
    """DnCNN-B greyscale blind denoiser applied to colour images (per channel by default:
    on colour noise luma-only leaves the chroma noise and scores 5-7 dB lower)."""

    card = ToolCard(
        id="dncnn_gray_blind",
        task="denoise",
        description="DnCNN-B: 20-layer residual CNN, blind greyscale Gaussian denoising (sigma 0-55) "
        "applied per RGB channel (or on luma)",
        weights_license=_NO_LICENCE,
        weights=(_W_GRAY,),
        kind="network",
        reference=_DNCNN_REF,
        tile_size=512,
        tile_overlap=48,
        devices=_DEVICES,
        cpu_seconds_512=16.0,
        arguments=_GREY_MODE_ARG,
    )

    def _run(self, img: np.ndarray, mode: str | None = None, **args: Any) -> np.ndarray:
        return self.run_grey(img, mode)


@register
class DnCNNKairS25(_GreyscaleMixin):
    """DnCNN-S trained for greyscale sigma=25 (KAIR), applied per RGB channel."""

    card = ToolCard(
        id="dncnn_kair_s25",
        task="denoise",
        description="DnCNN-S (17 layers) for greyscale Gaussian noise sigma=25, applied per RGB channel "
        "(or on luma)",
        weights_license="MIT",
        weights=(
            github_weights(
                "dncnn_kair/dncnn_25.pth",
                "0451a70de9b672ae037270498fbb1c17a1c1c4403785df586ff65df5b858e5b0",
                "cszn/KAIR",
                "fc1732f4a4514e42ce15e5b3a1e18c828af47a1e",
                "model_zoo/dncnn_25.pth",
                _DNCNN_PAPER,
            ),
        ),
        kind="network",
        reference=_DNCNN_REF,
        tile_size=512,
        tile_overlap=48,
        devices=_DEVICES,
        cpu_seconds_512=13.0,
        arguments=_GREY_MODE_ARG,
    )

    def build(self):
        from .archs import DnCNNSeq

        model = DnCNNSeq(1, 1, 64, 17)
        model.load_state_dict(load_torch_state(self.weights_path()))
        return model

    def _run(self, img: np.ndarray, mode: str | None = None, **args: Any) -> np.ndarray:
        return self.run_grey(img, mode)


@register
class FFDNetColor(NetworkTool):
    """FFDNet colour denoiser with a noise-level map; sigma estimated when not given, by
    :func:`irpilot.noise.multiscale_sigma`, which also reads the correlated noise a JPEG step
    leaves (version 2: version 1 read it as 1-2 and left the grain)."""

    card = ToolCard(
        id="ffdnet_color",
        task="denoise",
        description="FFDNet: fast non-blind colour denoiser on 4 half-resolution sub-images with a "
        "noise-level map (sigma 0-75 on 0-255; estimated when not given, at full and half size, so "
        "noise left correlated by JPEG is seen)",
        version="2",
        weights_license=_NO_LICENCE,
        weights=(
            github_weights(
                "ffdnet_matconvnet/FFDNet_color.mat",
                "a4b5a9da21294ab9ba6ed5c6cc459c46dff20c025eb7d3ab82e8e0bb00541793",
                "cszn/FFDNet",
                "e787f46df2f374ff3591186706229cb9a0591fea",
                "models/FFDNet_color.mat",
                "Zhang, Zuo, Zhang, FFDNet, TIP 2018",
            ),
        ),
        kind="network",
        reference="K. Zhang, W. Zuo, L. Zhang. FFDNet: Toward a Fast and Flexible Solution for CNN-Based "
        "Image Denoising. IEEE TIP 2018.",
        multiple_of=2,
        tile_size=512,
        tile_overlap=64,
        devices=_DEVICES,
        cpu_seconds_512=1.6,
        arguments={
            "sigma": {
                "type": "number",
                "minimum": 0,
                "maximum": 75,
                "description": "noise standard deviation on the 0-255 scale; estimated from the image if omitted",
            }
        },
    )

    def build(self):
        from .archs import FFDNet

        return FFDNet(load_matconvnet(self.weights_path()), channels=3)

    def __call__(self, img: np.ndarray, **args: Any) -> np.ndarray:
        # estimate once on the whole image so every tile gets the same level
        if args.get("sigma") is None:
            from ...io import as_image
            from ...noise import estimate_noise_sigma

            args["sigma"] = estimate_noise_sigma(as_image(img), method="multiscale")
        return super().__call__(img, **args)

    def _run(self, img: np.ndarray, sigma: float | None = None, **args: Any) -> np.ndarray:
        if sigma is None:
            from ...noise import estimate_noise_sigma

            sigma = estimate_noise_sigma(img, method="multiscale")
        level = float(np.clip(sigma, 0.0, 75.0)) / 255.0
        return self.forward(img, level)


@register
class DnCNN3Dejpeg(_MatConvNetDnCNN):
    """DnCNN-3 (one greyscale model for denoising, SR and JPEG deblocking) used for JPEG
    artefacts.  By default on luma at full size and on chroma at half size, where a colour
    JPEG stores it (``ycbcr420``): on 16 JPEG crops of the training photos +1.26 dB against
    +1.08 dB per RGB channel, in 0.39x the time (``benchmarks/grey_modes.py``)."""

    studio_luma = True
    default_mode = "ycbcr420"
    card = ToolCard(
        id="dncnn3_dejpeg",
        task="dejpeg",
        description="DnCNN-3: 20-layer residual CNN trained jointly on denoising, SR and JPEG "
        "deblocking (quality 5-99); here removes JPEG artefacts on luma and on half-size chroma "
        "(or per RGB channel, or on luma only)",
        version="2",
        weights_license=_NO_LICENCE,
        weights=(_W_DNCNN3,),
        kind="network",
        reference=_DNCNN_REF,
        tile_size=512,
        tile_overlap=48,
        devices=_DEVICES,
        cpu_seconds_512=6.0,  # 15 s per RGB channel mode; ycbcr420 takes 0.39x (benchmarks/grey_modes.py)
        arguments=_GREY_MODE_ARG,
    )

    def _run(self, img: np.ndarray, mode: str | None = None, **args: Any) -> np.ndarray:
        return self.run_grey(img, mode)


def bicubic_upscale(img: np.ndarray, scale: int) -> np.ndarray:
    """(C, H, W) float -> (C, H*scale, W*scale) with Keys bicubic (a = -0.5, as MATLAB imresize
    and PIL), the interpolation DnCNN-3's SR training data used, clipped to [0, 1] (the kernel's
    negative lobes overshoot at edges): the first step of the x4 network tools."""
    from PIL import Image

    c, h, w = img.shape
    out = np.empty((c, h * scale, w * scale), dtype=np.float32)
    for i in range(c):
        plane = Image.fromarray(np.ascontiguousarray(img[i], dtype=np.float32), mode="F")
        out[i] = np.asarray(plane.resize((w * scale, h * scale), Image.Resampling.BICUBIC), dtype=np.float32)
    return np.clip(out, 0.0, 1.0, out=out)


@register
class DnCNN3SRx4(_MatConvNetDnCNN):
    """x4 super-resolution: bicubic upscaling, then DnCNN-3 restores the luma detail."""

    studio_luma = True
    default_mode = "luma"
    card = ToolCard(
        id="dncnn3_sr_x4",
        task="super_resolution",
        description="x4 SR: bicubic x4 upscaling followed by the DnCNN-3 residual network on luma Y",
        scale=4,
        weights_license=_NO_LICENCE,
        weights=(_W_DNCNN3,),
        kind="network",
        reference=_DNCNN_REF,
        tile_size=192,
        tile_overlap=16,
        devices=_DEVICES,
        cpu_seconds_512=5.4,  # per 512x512 output (128x128 input)
    )

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        up = bicubic_upscale(img, 4)
        return self.run_grey(up, "luma")
