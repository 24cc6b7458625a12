"""Camera-side degradations of the benchmark protocol: low resolution, noise, motion blur,
defocus blur, dark (low light) and JPEG.

``level=None`` samples the protocol's benchmark ranges exactly; the four named levels
(``mild`` ... ``extreme``) cover a wider span for training sets.  Every table below is
(level -> range or choices); the severity in [0, 1] of a sample is computed from the same
tables, so protocol samples get an honest label too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..imaging.convert import quantize
from ..imaging.resize import imresize_u8
from .base import DEGRADATIONS, LEVELS, Degradation, level_of, severity_from_ranges

__all__ = ["LowResolution", "Noise", "MotionBlur", "DefocusBlur", "Dark", "Jpeg", "motion_offsets", "disk_kernel"]


def _finish(params: dict[str, Any], severity: float, level: str | None) -> dict[str, Any]:
    params["severity"] = round(float(severity), 4)
    params["level"] = level if level is not None else level_of(severity)
    return params


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _randint(rng: np.random.Generator, lo: int, hi_exclusive: int) -> int:
    return int(rng.integers(lo, hi_exclusive))


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class LowResolution(Degradation):
    """MATLAB bicubic downscale with antialiasing by ``factor`` (protocol: 4).  The output
    is ``ceil(H / factor) x ceil(W / factor)`` (MATLAB's rounding); it stays small.
    Levels change the factor (mild 2, moderate 3, severe 4, extreme 6 or 8)."""

    name = "low_resolution"
    task = "super_resolution"
    description = "bicubic (MATLAB, antialiased) downscale x1/4; output stays small"
    changes_size = True
    FACTORS: Mapping[str, tuple[int, ...]] = {"mild": (2,), "moderate": (3,), "severe": (4,), "extreme": (6, 8)}
    RANGES = ((2, 2), (3, 3), (4, 4), (6, 8))

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        factor = 4 if level is None else int(rng.choice(self.FACTORS[level]))
        return _finish({"factor": factor}, severity_from_ranges(factor, self.RANGES), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        factor = int(params.get("factor", 4))
        if factor < 1:
            raise ValueError(f"low_resolution factor must be >= 1, got {factor}")
        return imresize_u8(arr, 1.0 / factor)


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class Noise(Degradation):
    """50 % Gaussian colour noise (sigma on the 0-255 scale, independent per pixel and
    channel), 50 % Poisson noise BasicSR style: with v distinct 8-bit values in the image,
    L = 2^ceil(log2 v), noise = (Poisson(img * L) / L - img) * scale, per channel; clipped."""

    name = "noise"
    task = "denoise"
    description = "Gaussian sigma U[20,50] or Poisson scale U[1,3] (BasicSR), colour"
    SIGMA = ((2.0, 6.0), (10.0, 20.0), (25.0, 35.0), (40.0, 50.0))
    #: Poisson scales whose noise at mid-grey (L = 256) matches the Gaussian levels (x ~11.3).
    SCALE = ((0.2, 0.5), (0.9, 1.8), (2.2, 3.1), (3.5, 4.4))

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        kind = "gaussian" if rng.random() < 0.5 else "poisson"
        if kind == "gaussian":
            lo, hi = (20.0, 50.0) if level is None else self.SIGMA[LEVELS.index(level)]
            sigma = _uniform(rng, lo, hi)
            params: dict[str, Any] = {"kind": kind, "sigma": sigma}
            sev = severity_from_ranges(sigma, self.SIGMA)
        else:
            lo, hi = (1.0, 3.0) if level is None else self.SCALE[LEVELS.index(level)]
            scale = _uniform(rng, lo, hi)
            params = {"kind": kind, "scale": scale}
            sev = severity_from_ranges(scale, self.SCALE)
        params["seed"] = self._seed(rng)
        return _finish(params, sev, level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(int(params["seed"]))
        kind = params["kind"]
        if kind == "gaussian":
            noise = rng.standard_normal(arr.shape) * float(params["sigma"])
            return quantize(arr.astype(np.float64) + noise)
        if kind == "poisson":
            img = arr.astype(np.float64) / 255.0
            levels = 2.0 ** math.ceil(math.log2(max(len(np.unique(arr)), 1)))
            noisy = rng.poisson(img * levels) / levels
            out = img + (noisy - img) * float(params["scale"])
            return quantize(out * 255.0)
        raise ValueError(f"noise kind must be 'gaussian' or 'poisson', got {kind!r}")


# --------------------------------------------------------------------------------------
def motion_offsets(radius: int, sigma: float, angle: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dy, dx, w) of the one-sided motion kernel: tap i = 0..2r reads
    ``img(y + ceil(i sin a - 1/2), x + ceil(i cos a - 1/2))`` with weight
    ``exp(-i^2 / 2 sigma^2)`` (normalised); ``angle`` in degrees."""
    i = np.arange(2 * int(radius) + 1, dtype=np.float64)
    a = math.radians(float(angle))
    dy = np.ceil(i * math.sin(a) - 0.5).astype(np.int64)
    dx = np.ceil(i * math.cos(a) - 0.5).astype(np.int64)
    w = np.exp(-(i**2) / (2.0 * float(sigma) ** 2))
    return dy, dx, w / w.sum()


@DEGRADATIONS.register()
class MotionBlur(Degradation):
    """One-sided line kernel (ImageMagick / imagecorruptions style): each pixel averages a
    ray starting at itself, Gaussian-weighted; edges replicated.  Protocol severities
    {0, 1, 2} -> (radius, sigma) = (10, 3), (15, 5), (15, 8); angle U(-90, 90) degrees."""

    name = "motion_blur"
    task = "motion_deblur"
    description = "one-sided line kernel, (r, sigma) in {(10,3),(15,5),(15,8)}, angle U(-90,90)"
    PROTOCOL = ((10, 3.0), (15, 5.0), (15, 8.0))
    CHOICES: Mapping[str, tuple[tuple[int, float], ...]] = {
        "mild": ((5, 1.5), (6, 2.0)),
        "moderate": ((10, 3.0),),
        "severe": ((15, 5.0),),
        "extreme": ((15, 8.0), (20, 11.0)),
    }
    RANGES = ((1.5, 2.0), (3.0, 3.0), (5.0, 5.0), (8.0, 11.0))

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        choices = self.PROTOCOL if level is None else self.CHOICES[level]
        k = int(rng.integers(len(choices)))
        radius, sigma = choices[k]
        angle = _uniform(rng, -90.0, 90.0)
        params: dict[str, Any] = {"radius": int(radius), "sigma": float(sigma), "angle": angle}
        if level is None:
            params["protocol_severity"] = k
        return _finish(params, severity_from_ranges(sigma, self.RANGES), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        dy, dx, w = motion_offsets(int(params["radius"]), float(params["sigma"]), float(params["angle"]))
        pad = int(max(np.abs(dy).max(), np.abs(dx).max()))
        h, wd = arr.shape[:2]
        src = np.pad(arr.astype(np.float64), ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        out = np.zeros(arr.shape, dtype=np.float64)
        for oy, ox, wi in zip(dy, dx, w):
            out += wi * src[pad + oy : pad + oy + h, pad + ox : pad + ox + wd]
        return quantize(out)


# --------------------------------------------------------------------------------------
def disk_kernel(radius: float, alias_sigma: float) -> np.ndarray:
    """Disk of ``radius`` on the integer grid (x^2 + y^2 <= r^2), anti-aliased by a 3x3
    Gaussian of ``alias_sigma``, normalised to sum 1."""
    half = int(math.ceil(radius)) + 2
    g = np.arange(-half, half + 1, dtype=np.float64)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    disk = (xx**2 + yy**2 <= float(radius) ** 2).astype(np.float64)
    disk /= disk.sum()
    t = np.array([-1.0, 0.0, 1.0])
    g1 = np.exp(-(t**2) / (2.0 * max(float(alias_sigma), 1e-6) ** 2))
    g1 /= g1.sum()
    # separable 3x3 blur; the 2-pixel zero margin keeps all mass inside the grid
    blurred = np.zeros_like(disk)
    for i, wi in enumerate(g1):
        blurred += wi * np.roll(disk, i - 1, axis=0)
    out = np.zeros_like(disk)
    for j, wj in enumerate(g1):
        out += wj * np.roll(blurred, j - 1, axis=1)
    return out / out.sum()


@DEGRADATIONS.register()
class DefocusBlur(Degradation):
    """Disk kernel with 3x3 Gaussian anti-aliasing; protocol severities {0, 1, 2} ->
    (radius, alias sigma) = (3, 0.1), (4, 0.5), (6, 0.5); borders reflected (OpenCV default)."""

    name = "defocus_blur"
    task = "defocus_deblur"
    description = "disk kernel, (radius, alias sigma) in {(3,0.1),(4,0.5),(6,0.5)}"
    PROTOCOL = ((3, 0.1), (4, 0.5), (6, 0.5))
    CHOICES: Mapping[str, tuple[tuple[int, float], ...]] = {
        "mild": ((2, 0.1),),
        "moderate": ((3, 0.1),),
        "severe": ((4, 0.5),),
        "extreme": ((6, 0.5), (8, 0.5)),
    }
    RANGES = ((2.0, 2.0), (3.0, 3.0), (4.0, 4.0), (6.0, 8.0))

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        choices = self.PROTOCOL if level is None else self.CHOICES[level]
        k = int(rng.integers(len(choices)))
        radius, alias = choices[k]
        params: dict[str, Any] = {"radius": int(radius), "alias_sigma": float(alias)}
        if level is None:
            params["protocol_severity"] = k
        return _finish(params, severity_from_ranges(radius, self.RANGES), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        import cv2

        k = disk_kernel(float(params["radius"]), float(params["alias_sigma"]))
        out = cv2.filter2D(arr.astype(np.float64), -1, k, borderType=cv2.BORDER_REFLECT_101)
        return quantize(out)


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class Dark(Degradation):
    """Low light on OpenCV's 8-bit HSV value channel, one of three modes uniformly:
    ``shift`` V - randint[30, 50); ``gamma`` 255 (V/255)^(1/g), g ~ U[0.5, 0.7);
    ``stretch`` (V - Vmin) / (Vmax - Vmin) * dst_max, dst_max ~ randint[100, 150)."""

    name = "dark"
    task = "low_light"
    description = "HSV value channel: shift down, gamma, or min-max stretch to a low maximum"
    MODES = ("shift", "gamma", "stretch")
    #: per mode: (protocol range, per-level ranges mildest first)
    SHIFT = ((30, 50), ((10, 24), (30, 49), (55, 74), (80, 110)))
    GAMMA = ((0.5, 0.7), ((0.75, 0.9), (0.5, 0.7), (0.38, 0.48), (0.25, 0.35)))
    STRETCH = ((100, 150), ((190, 230), (100, 149), (60, 95), (30, 55)))

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        mode = self.MODES[int(rng.integers(3))]
        li = None if level is None else LEVELS.index(level)
        if mode == "shift":
            proto, ranges = self.SHIFT
            lo, hi = proto if li is None else (ranges[li][0], ranges[li][1] + 1)
            value: float = _randint(rng, lo, hi)
            key = "shift"
        elif mode == "gamma":
            proto, ranges = self.GAMMA
            lo, hi = proto if li is None else ranges[li]
            value = _uniform(rng, lo, hi)
            key = "gamma"
        else:
            proto, ranges = self.STRETCH
            lo, hi = proto if li is None else (ranges[li][0], ranges[li][1] + 1)
            value = _randint(rng, lo, hi)
            key = "dst_max"
        return _finish({"mode": mode, key: value}, severity_from_ranges(value, ranges), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        import cv2

        hsv = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2HSV)
        v = hsv[:, :, 2].astype(np.float64)
        mode = params["mode"]
        if mode == "shift":
            v = v - float(params["shift"])
        elif mode == "gamma":
            v = 255.0 * (v / 255.0) ** (1.0 / float(params["gamma"]))
        elif mode == "stretch":
            lo, hi = float(v.min()), float(v.max())
            v = (v - lo) / max(hi - lo, 1.0) * float(params["dst_max"])
        else:
            raise ValueError(f"dark mode must be one of {self.MODES}, got {mode!r}")
        hsv[:, :, 2] = quantize(v)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class Jpeg(Degradation):
    """OpenCV JPEG encode/decode at quality randint[10, 30) (levels: about 50/30/20/10)."""

    name = "jpeg"
    task = "dejpeg"
    description = "OpenCV JPEG encode/decode, quality randint[10, 30)"
    RANGES = ((45, 55), (28, 32), (18, 22), (8, 12))

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = (10, 30) if level is None else (self.RANGES[LEVELS.index(level)][0], self.RANGES[LEVELS.index(level)][1] + 1)
        quality = _randint(rng, lo, hi)
        return _finish({"quality": quality}, severity_from_ranges(quality, self.RANGES), level)

    @staticmethod
    def encode(arr: np.ndarray, params: Mapping[str, Any]) -> bytes:
        """The JPEG file bytes OpenCV writes for uint8 (H, W, 3) RGB at ``params["quality"]``."""
        import cv2

        quality = int(params["quality"])
        if not 0 <= quality <= 100:
            raise ValueError(f"jpeg quality must be in [0, 100], got {quality}")
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(arr[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        return buf.tobytes()

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        import cv2

        dec = cv2.imdecode(np.frombuffer(self.encode(arr, params), np.uint8), cv2.IMREAD_COLOR)
        if dec is None:
            raise RuntimeError(f"OpenCV could not decode its own JPEG encoding (params {dict(params)})")
        return np.ascontiguousarray(dec[:, :, ::-1])
