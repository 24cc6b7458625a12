"""Realistic camera-side degradations: sensor noise (Poisson-Gaussian, in sRGB or in the
raw domain before demosaicking and the tone curve), under-exposure through a tone curve
with noise and a colour cast, JPEG with chroma subsampling and double compression, and
downscaling with several kernels.

Sensor noise follows Foi et al. 2008 (``y = a Poisson(x / a) + N(0, b^2)``) and Brooks et
al. 2019 ("Unprocessing images"): noise added to the linear raw mosaic, then demosaicked,
white-balanced and tone-mapped, is spatially correlated in sRGB and weakest in highlights.
Noise strength is sampled as its standard deviation at mid-grey on the 0-255 scale
(``sigma_mid``), the same scale as the protocol's Gaussian sigma, so severities compare.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..imaging.color import linear_to_srgb, srgb_to_linear
from .base import DEGRADATIONS, LEVELS, Degradation, severity_from_ranges
from .real_common import finish, from_unit, log_uniform, to_unit

__all__ = ["RealNoise", "RealDark", "RealJpeg", "RealLowResolution", "poisson_gaussian", "jpeg_roundtrip"]

#: noise std at mid-grey on the 0-255 scale per level (the protocol noise's table)
SIGMA_MID = ((2.0, 6.0), (10.0, 20.0), (25.0, 35.0), (40.0, 50.0))


def poisson_gaussian(x: np.ndarray, a: float, b: float, rng: np.random.Generator) -> np.ndarray:
    """Heteroscedastic sensor noise: ``a * Poisson(x / a) + N(0, b^2)`` (variance ``a x + b^2``)."""
    x = np.clip(x, 0.0, None)
    shot = rng.poisson(x / a) * a if a > 0 else x
    return shot + rng.standard_normal(x.shape) * b


def _srgb_slope(v: float) -> float:
    """d sRGB / d linear at linear value ``v``."""
    return 1.055 / 2.4 * v ** (1.0 / 2.4 - 1.0) if v > 0.0031308 else 12.92


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class RealNoise(Degradation):
    """Sensor noise, one of two models uniformly.  ``poisson_gaussian``: signal-dependent
    noise on the sRGB values, per pixel and channel (variance ``a x + b^2``).  ``raw``:
    the image is unprocessed to a linear Bayer mosaic (inverse sRGB curve, inverse white
    balance), Poisson-Gaussian noise is added there, then it is demosaicked (bilinear),
    white-balanced and tone-mapped again: colour-correlated noise, strongest in the shadows.
    ``sigma_mid`` (the std at mid-grey, 0-255 scale) sets the strength: default 10-40;
    the read-noise share of the variance at mid-grey is 5-40 % (1-8 % in the raw model)."""

    name = "real_noise"
    kind = "noise"
    family = "realistic"
    task = "denoise"
    description = "Poisson-Gaussian sensor noise in sRGB or in the raw mosaic before demosaicking and tone curve"
    DEFAULT = (10.0, 40.0)
    MODELS = ("poisson_gaussian", "raw")

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = self.DEFAULT if level is None else SIGMA_MID[LEVELS.index(level)]
        sigma_mid = float(rng.uniform(lo, hi))
        model = self.MODELS[int(rng.integers(2))]
        # read noise: a share of the variance at mid-grey (small in the raw domain, where the
        # tone curve amplifies it in the shadows by up to ~6x)
        read_share = float(rng.uniform(0.05, 0.4) if model == "poisson_gaussian" else rng.uniform(0.01, 0.08))
        var = (sigma_mid / 255.0) ** 2
        params: dict[str, Any] = {"model": model, "sigma_mid": sigma_mid}
        if model == "poisson_gaussian":
            params["a"] = var * (1.0 - read_share) / 0.5
            params["b"] = math.sqrt(var * read_share)
        else:
            gains = (float(rng.uniform(1.6, 2.4)), 1.0, float(rng.uniform(1.3, 2.0)))
            mid = 0.5 / 1.055 + 0.055 / 1.055
            lin_mid = mid**2.4  # linear value of sRGB mid-grey (0.214)
            raw_mid = lin_mid  # the green channel: gain 1
            var_lin = var / _srgb_slope(lin_mid) ** 2
            params["a"] = var_lin * (1.0 - read_share) / raw_mid
            params["b"] = math.sqrt(var_lin * read_share)
            params["wb_gains"] = list(gains)
            params["bayer"] = ["RGGB", "BGGR", "GRBG", "GBRG"][int(rng.integers(4))]
        params["seed"] = self._seed(rng)
        return finish(params, severity_from_ranges(sigma_mid, SIGMA_MID), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(int(params["seed"]))
        x = to_unit(arr)
        a, b = float(params["a"]), float(params["b"])
        model = params["model"]
        if model == "poisson_gaussian":
            return from_unit(poisson_gaussian(x, a, b, rng))
        if model != "raw":
            raise ValueError(f"real_noise model must be one of {self.MODELS}, got {model!r}")
        gains = np.asarray(params["wb_gains"], dtype=np.float64)
        raw = srgb_to_linear(x) / gains  # unprocess: linear light, undo the white balance
        mosaic, masks = _mosaic(raw, str(params["bayer"]))
        noisy = np.clip(poisson_gaussian(mosaic, a, b, rng), 0.0, 1.0)
        rgb = _demosaic_bilinear(noisy, masks)
        return from_unit(linear_to_srgb(np.clip(rgb * gains, 0.0, 1.0)))


def _mosaic(rgb: np.ndarray, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) -> the (H, W) Bayer mosaic and the (3, H, W) boolean masks of its sites."""
    h, w = rgb.shape[:2]
    idx = {"R": 0, "G": 1, "B": 2}
    masks = np.zeros((3, h, w), dtype=bool)
    for k, ch in enumerate(pattern):
        masks[idx[ch], k // 2 :: 2, k % 2 :: 2] = True
    mosaic = np.zeros((h, w), dtype=np.float64)
    for c in range(3):
        mosaic[masks[c]] = rgb[:, :, c][masks[c]]
    return mosaic, masks


def _demosaic_bilinear(mosaic: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Bilinear demosaicking: each channel's missing sites are the normalised average of its
    known neighbours in a 3 x 3 window."""
    import cv2

    k = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    out = np.empty(mosaic.shape + (3,), dtype=np.float64)
    for c in range(3):
        m = masks[c].astype(np.float64)
        num = cv2.filter2D(mosaic * m, -1, k, borderType=cv2.BORDER_REFLECT_101)
        den = cv2.filter2D(m, -1, k, borderType=cv2.BORDER_REFLECT_101)
        out[:, :, c] = np.where(masks[c], mosaic, num / np.maximum(den, 1e-12))
    return out


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class RealDark(Degradation):
    """Under-exposure as a camera makes it: the clean photo is taken to linear light,
    scaled by ``exposure`` (default 0.2-0.6), tinted by a colour cast (per-channel gains,
    e.g. warm tungsten or cool shade), given shot and read noise (Poisson-Gaussian in
    linear light, ``a`` and ``b``), then mapped by a tone curve: ``srgb``, a ``gamma`` power
    curve (1/g, g 1.8-2.6) or ``contrast``, sRGB then a camera-style S-curve
    ``x^p / (x^p + (1 - x)^p)`` (p 1.1-1.6, crushing the shadows).  The noise rises as the
    exposure falls, as in LOL/SID photos."""

    name = "real_dark"
    kind = "dark"
    family = "realistic"
    task = "low_light"
    description = "linear exposure 0.2-0.6 with colour cast and shot/read noise, then a tone curve"
    EXPOSURE = ((0.5, 0.75), (0.28, 0.5), (0.12, 0.28), (0.03, 0.12))
    #: milder than the 0.05-0.4 of the literature's stand-in, so that the default darkens
    #: photos about as much as the protocol's dark (levels reach 0.03)
    DEFAULT = (0.2, 0.6)
    CURVES = ("srgb", "gamma", "contrast")

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = self.DEFAULT if level is None else self.EXPOSURE[LEVELS.index(level)]
        exposure = log_uniform(rng, lo, hi)
        curve = self.CURVES[int(rng.integers(3))]
        params: dict[str, Any] = {"exposure": exposure, "curve": curve}
        if curve == "gamma":
            params["gamma"] = float(rng.uniform(1.8, 2.6))
        elif curve == "contrast":
            params["contrast"] = float(rng.uniform(1.1, 1.6))
        # colour cast: a random hue direction, up to +-20 % on a channel, mean gain 1
        cast = 1.0 + rng.uniform(0.0, 0.2) * np.cos(rng.uniform(0, 2 * np.pi) + np.array([0.0, 2.094, 4.189]))
        params["cast"] = [float(v) for v in cast / cast.mean()]
        # shot noise grows at low exposure (a fixed photon budget); read noise small
        params["a"] = log_uniform(rng, 2e-4, 1.5e-3) * (0.2 / max(exposure, 0.02)) ** 0.5
        params["b"] = log_uniform(rng, 3e-4, 2e-3)
        params["seed"] = self._seed(rng)
        return finish(params, severity_from_ranges(exposure, self.EXPOSURE), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(int(params["seed"]))
        lin = srgb_to_linear(to_unit(arr)) * float(params["exposure"]) * np.asarray(params["cast"], dtype=np.float64)
        lin = np.clip(poisson_gaussian(lin, float(params["a"]), float(params["b"]), rng), 0.0, 1.0)
        curve = params["curve"]
        if curve == "srgb":
            out = linear_to_srgb(lin)
        elif curve == "gamma":
            out = lin ** (1.0 / float(params["gamma"]))
        elif curve == "contrast":
            p = float(params["contrast"])
            x = linear_to_srgb(lin)
            out = x**p / (x**p + (1.0 - x) ** p)
        else:
            raise ValueError(f"real_dark curve must be one of {self.CURVES}, got {curve!r}")
        return from_unit(out)


# --------------------------------------------------------------------------------------
_SUBSAMPLING = {"444": 0, "422": 1, "420": 2}


def jpeg_roundtrip(arr: np.ndarray, quality: int, subsampling: str) -> np.ndarray:
    """Encode uint8 (H, W, 3) RGB as a baseline JPEG with Pillow (libjpeg-turbo) at
    ``quality`` with chroma ``subsampling`` (``444``, ``422``, ``420``) and decode it."""
    from PIL import Image

    if not 1 <= int(quality) <= 100:
        raise ValueError(f"jpeg quality must be in [1, 100], got {quality}")
    if subsampling not in _SUBSAMPLING:
        raise ValueError(f"jpeg subsampling must be one of {', '.join(_SUBSAMPLING)}, got {subsampling!r}")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="JPEG", quality=int(quality),
                                                   subsampling=_SUBSAMPLING[subsampling])
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB")).copy()


@DEGRADATIONS.register()
class RealJpeg(Degradation):
    """JPEG as photos meet it (Pillow/libjpeg-turbo): chroma subsampling 4:2:0 (60 %, the
    camera and web default), 4:4:4 (30 %, editors) or 4:2:2; half of the images are
    compressed twice, first at a camera-like quality (55-95) and then at the final quality,
    the second grid shifted by a few pixels in a third of those (a cropped re-upload).  The
    severity is set by the final quality (default 15-40)."""

    name = "real_jpeg"
    kind = "jpeg"
    family = "realistic"
    task = "dejpeg"
    description = "JPEG 4:2:0/4:4:4/4:2:2, quality 15-40, half double-compressed (some with a shifted grid)"
    QUALITY = ((55, 75), (35, 54), (20, 34), (8, 19))
    DEFAULT = (15, 40)

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = self.DEFAULT if level is None else (self.QUALITY[LEVELS.index(level)][0], self.QUALITY[LEVELS.index(level)][1] + 1)
        quality = int(rng.integers(lo, hi))
        u = rng.random()
        subsampling = "420" if u < 0.6 else ("444" if u < 0.9 else "422")
        params: dict[str, Any] = {"quality": quality, "subsampling": subsampling, "first": None}
        if rng.random() < 0.5:
            shift = [int(v) for v in rng.integers(1, 8, size=2)] if rng.random() < 1 / 3 else [0, 0]
            params["first"] = {"quality": int(rng.integers(55, 96)),
                               "subsampling": "420" if rng.random() < 0.7 else "444", "shift": shift}
        return finish(params, severity_from_ranges(quality, self.QUALITY), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        first = params.get("first")
        if not first:
            return jpeg_roundtrip(arr, int(params["quality"]), str(params["subsampling"]))
        once = jpeg_roundtrip(arr, int(first["quality"]), str(first["subsampling"]))
        dy, dx = (int(v) for v in first.get("shift", (0, 0)))
        padded = np.pad(once, ((dy, 0), (dx, 0), (0, 0)), mode="edge")
        twice = jpeg_roundtrip(padded, int(params["quality"]), str(params["subsampling"]))
        return np.ascontiguousarray(twice[dy:, dx:])


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class RealLowResolution(Degradation):
    """Downscaling by ``factor`` (default 4, like the protocol, so outputs stay
    ``ceil(H/4) x ceil(W/4)``) with one of several kernels: ``bicubic`` and ``lanczos``
    (Pillow, antialiased), ``area`` (OpenCV pixel averaging), ``gaussian`` (a Gaussian
    pre-blur of sigma ``blur`` x factor / 2, then bilinear sampling at the pixel centres),
    ``bilinear`` (Pillow's antialiased triangle); a third are sharpened afterwards (unsharp
    mask), as cameras and web services do with thumbnails."""

    name = "real_low_resolution"
    kind = "low_resolution"
    family = "realistic"
    task = "super_resolution"
    description = "x1/4 downscale with bicubic, lanczos, area, Gaussian pre-blur or bilinear kernels, some sharpened"
    changes_size = True
    KERNELS = ("bicubic", "lanczos", "area", "gaussian", "bilinear")
    FACTORS: Mapping[str, tuple[int, ...]] = {"mild": (2,), "moderate": (3,), "severe": (4,), "extreme": (6, 8)}
    RANGES = ((2, 2), (3, 3), (4, 4), (6, 8))

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        factor = 4 if level is None else int(rng.choice(self.FACTORS[level]))
        kernel = self.KERNELS[int(rng.integers(len(self.KERNELS)))]
        params: dict[str, Any] = {"factor": factor, "kernel": kernel}
        if kernel == "gaussian":
            params["blur"] = float(rng.uniform(0.6, 1.2))
        params["sharpen"] = float(rng.uniform(0.3, 1.0)) if rng.random() < 1 / 3 else 0.0
        return finish(params, severity_from_ranges(factor, self.RANGES), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        import cv2
        from PIL import Image

        factor = int(params["factor"])
        if factor < 1:
            raise ValueError(f"real_low_resolution factor must be >= 1, got {factor}")
        h, w = arr.shape[:2]
        size = (math.ceil(w / factor), math.ceil(h / factor))
        kernel = params["kernel"]
        if kernel in ("bicubic", "lanczos", "bilinear"):
            resample = {"bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
                        "bilinear": Image.Resampling.BILINEAR}[kernel]
            x = np.asarray(Image.fromarray(arr).resize(size, resample), dtype=np.float64) / 255.0
        elif kernel == "area":
            x = cv2.resize(arr.astype(np.float64) / 255.0, size, interpolation=cv2.INTER_AREA)
        elif kernel == "gaussian":
            sigma = float(params["blur"]) * factor / 2.0
            blurred = cv2.GaussianBlur(arr.astype(np.float64) / 255.0, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)
            x = cv2.resize(blurred, size, interpolation=cv2.INTER_LINEAR)
        else:
            raise ValueError(f"real_low_resolution kernel must be one of {self.KERNELS}, got {kernel!r}")
        amount = float(params.get("sharpen", 0.0))
        if amount > 0:
            soft = cv2.GaussianBlur(x, (0, 0), sigmaX=1.0, borderType=cv2.BORDER_REFLECT_101)
            x = x + amount * (x - soft)
        return from_unit(x)
