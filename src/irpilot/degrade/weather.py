"""Scene-side degradations: haze (with a deterministic depth proxy), rain, and snow.

Haze follows the atmospheric scattering model of the benchmark protocol.  The protocol
computes a metric-like depth map per clean image with a monocular depth network; irpilot
has no depth model, so :func:`depth_proxy` stands in for it (documented below).  A real
depth map can be given instead (``params["depth_path"]`` or ``depth=`` array).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..imaging.convert import as_image, from_uint8, quantize, to_uint8
from ..imaging.resize import imresize
from .base import DEGRADATIONS, LEVELS, Degradation, level_of, severity_from_ranges

__all__ = ["Haze", "Rain", "Snow", "depth_proxy", "load_depth", "rain_streak_kernel"]


def _finish(params: dict[str, Any], severity: float, level: str | None) -> dict[str, Any]:
    params["severity"] = round(float(severity), 4)
    params["level"] = level if level is not None else level_of(severity)
    return params


# --------------------------------------------------------------------------------------
def depth_proxy(arr: np.ndarray) -> np.ndarray:
    """A deterministic stand-in for a monocular depth map, (H, W) float64 in metres-like
    units 7 to 82 (the range of the protocol's depth maps), larger = farther.

    Outdoor photos are usually farther at the top of the frame, and far regions (sky,
    distant haze-prone background) are bright and colourless.  The proxy combines the two at
    1/4 size (where the protocol's depth maps live): ``rel = 0.6 * (1 - y/H) + 0.4 *
    smooth(brightness * (1 - saturation))``, smoothed again, min-max normalised, mapped to
    ``7 + 75 * rel^2`` and upsampled bicubically.  The square makes the depth statistics
    look like a real monocular depth map, where most pixels are near and depth grows fast
    towards the horizon.  On the example photo AgenticIR publishes with its depth map, the
    median of ``depth / max`` is 0.23 for the real map and 0.20 for the proxy, the maps
    correlate at 0.88, and hazing with either differs by 0.5 dB PSNR on average.
    ``arr`` is uint8 (H, W, 3) RGB.
    """
    import cv2

    h, w = arr.shape[:2]
    small = imresize(arr.astype(np.float64).transpose(2, 0, 1) / 255.0, 0.25)
    small = np.clip(small, 0.0, 1.0)
    sh, sw = small.shape[1:]
    mx, mn = small.max(axis=0), small.min(axis=0)
    sat = (mx - mn) / (mx + 1e-6)
    sky = small.mean(axis=0) * (1.0 - sat)
    s1 = max(0.05 * min(sh, sw), 0.5)
    sky = cv2.GaussianBlur(sky, (0, 0), sigmaX=s1, borderType=cv2.BORDER_REFLECT_101)
    vert = np.linspace(1.0, 0.0, sh)[:, None] * np.ones((1, sw))
    rel = 0.6 * vert + 0.4 * sky
    rel = cv2.GaussianBlur(rel, (0, 0), sigmaX=max(0.02 * min(sh, sw), 0.5), borderType=cv2.BORDER_REFLECT_101)
    lo, hi = float(rel.min()), float(rel.max())
    rel = (rel - lo) / (hi - lo) if hi - lo > 1e-9 else vert
    depth = 7.0 + 75.0 * rel**2  # perspective: depth grows fast towards the horizon
    return np.clip(imresize(depth, output_shape=(h, w)), 7.0, 82.0)


def load_depth(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a depth map: ``.npy``, MATLAB ``.mat`` (key ``data_obj`` as in the protocol's
    files, else the first 2-D array), or a grey image; returns (H, W) float64."""
    from ..errors import ImageReadError

    p = os.fspath(path)
    if not os.path.exists(p):
        raise ImageReadError(f"{p}: depth map not found")
    ext = os.path.splitext(p)[1].lower()
    if ext == ".npy":
        depth = np.load(p)
    elif ext == ".mat":
        import scipy.io

        data = scipy.io.loadmat(p)
        arrays = [v for k, v in data.items() if not k.startswith("__") and np.ndim(v) == 2]
        depth = data["data_obj"] if "data_obj" in data else (arrays[0] if arrays else None)
        if depth is None:
            raise ImageReadError(f"{p}: no 2-D array in this .mat file")
    else:
        from ..io import read_image

        depth = read_image(p).mean(axis=0)
    depth = np.asarray(depth, dtype=np.float64)
    if depth.ndim != 2:
        raise ImageReadError(f"{p}: a depth map must be 2-D, got shape {depth.shape}")
    return depth


@DEGRADATIONS.register()
class Haze(Degradation):
    """Atmospheric scattering ``I = J t + A (1 - t)``, ``t = exp(-beta d)``,
    ``d = depth / max(depth)``; one grey airlight A ~ U(0.7, 1.0), beta ~ U(0.6, 1.8).
    Depth: ``params["depth_path"]`` if set, else the ``depth=`` array given to ``apply``,
    else :func:`depth_proxy` of the input (deterministic)."""

    name = "haze"
    task = "dehaze"
    description = "scattering model, beta U(0.6,1.8), airlight U(0.7,1.0), depth proxy or real depth"
    BETA = ((0.2, 0.45), (0.55, 0.95), (1.05, 1.6), (1.7, 2.5))

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = (0.6, 1.8) if level is None else self.BETA[LEVELS.index(level)]
        beta = float(rng.uniform(lo, hi))
        airlight = float(rng.uniform(0.7, 1.0))
        params = {"beta": beta, "airlight": airlight, "depth": "proxy"}
        return _finish(params, severity_from_ranges(beta, self.BETA), level)

    def apply(self, img: Any, params: Mapping[str, Any], *, depth: np.ndarray | None = None) -> np.ndarray:
        return from_uint8(self._apply_u8(to_uint8(as_image(img)), params, depth=depth))

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any], *, depth: np.ndarray | None = None) -> np.ndarray:
        h, w = arr.shape[:2]
        if params.get("depth_path"):
            depth = load_depth(params["depth_path"])
        if depth is None:
            if params.get("depth", "proxy") == "array":
                raise ValueError("these haze params were applied with a real depth map: pass it again as depth=")
            depth = depth_proxy(arr)
        depth = np.asarray(depth, dtype=np.float64)
        if depth.shape != (h, w):  # the protocol upsamples its 1/4-size maps bicubically
            depth = imresize(depth, output_shape=(h, w))
        depth = np.maximum(depth, 0.0)
        d = depth / max(float(depth.max()), 1e-12)
        t = np.exp(-float(params["beta"]) * d)[:, :, None]
        out = (arr.astype(np.float64) / 255.0) * t + float(params["airlight"]) * (1.0 - t)
        return quantize(out * 255.0)


# --------------------------------------------------------------------------------------
def _line_kernel(size: int, length: float, angle_from_vertical: float) -> np.ndarray:
    """A line through the centre of a size x size canvas, bilinearly splatted (unit mass per
    pixel of length), clipped to the canvas."""
    k = np.zeros((size, size), dtype=np.float64)
    c = (size - 1) / 2.0
    a = math.radians(angle_from_vertical)
    dx, dy = math.sin(a), math.cos(a)
    n = max(int(math.ceil(length)), 1)
    for t in np.linspace(-length / 2.0, length / 2.0, n):
        x, y = c + t * dx, c + t * dy
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        for yy, xx, wgt in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x0 + 1, fx * (1 - fy)),
                            (y0 + 1, x0, (1 - fx) * fy), (y0 + 1, x0 + 1, fx * fy)):
            if 0 <= yy < size and 0 <= xx < size:
                k[yy, xx] += wgt
    return k


def rain_streak_kernel(length: int, angle: float, width: int = 3) -> np.ndarray:
    """The rain streak of the recipe: the main diagonal of an L x L canvas (L ones, length
    sqrt(2) L) rotated about the canvas centre so that it lies ``angle`` degrees from
    vertical and scaled by (1 - L/100), so a line of length sqrt(2) L (1 - L/100), resampled
    bilinearly (which leaves the beaded intensity profile of a resampled 1-pixel diagonal)
    and clipped to the canvas; then widened by a ``width`` x ``width`` Gaussian."""
    import cv2

    n = int(length)
    if n < 2:
        raise ValueError(f"rain streak length must be >= 2, got {length}")
    diagonal = np.eye(n, dtype=np.float64)
    # OpenCV angles are counter-clockwise as displayed; the diagonal starts 45 degrees
    # from vertical, so rotating by (angle - 45) puts it at ``angle`` from vertical.
    m = cv2.getRotationMatrix2D((n / 2.0, n / 2.0), float(angle) - 45.0, 1.0 - n / 100.0)
    line = cv2.warpAffine(diagonal, m, (n, n), flags=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(line, (int(width), int(width)), 0)


@DEGRADATIONS.register()
class Rain(Degradation):
    """Rain streaks: uniform noise in [0, 256) per pixel, values >= 256 - value/100 kept
    (value ~ randint[50, 100): 0.2-0.4 % of pixels seed streaks), spread by a 3x3 cross,
    convolved with a streak (L ~ randint[20, 40), angle ~ randint[-30, 30) degrees from
    vertical, width 3); the layer is min-max normalised to [0, 255], truncated to integers and
    added to all channels, clipped."""

    name = "rain"
    task = "derain"
    description = "streak layer from sparse seeds, value randint[50,100), L randint[20,40), angle randint[-30,30)"
    VALUE = ((20, 40), (50, 69), (70, 99), (110, 160))
    LENGTH = ((10, 20), (20, 40), (20, 40), (35, 50))
    CROSS = np.array([[0.0, 0.1, 0.0], [0.1, 8.0, 0.1], [0.0, 0.1, 0.0]])

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        if level is None:
            (vlo, vhi), (llo, lhi) = (50, 100), (20, 40)
        else:
            li = LEVELS.index(level)
            vlo, vhi = self.VALUE[li][0], self.VALUE[li][1] + 1
            llo, lhi = self.LENGTH[li]
        value = int(rng.integers(vlo, vhi))
        length = int(rng.integers(llo, lhi))
        angle = int(rng.integers(-30, 30))
        params = {"value": value, "length": length, "angle": angle, "width": 3, "seed": self._seed(rng)}
        return _finish(params, severity_from_ranges(value, self.VALUE), level)

    @staticmethod
    def _seed_field(shape: tuple[int, int], params: Mapping[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(int(params["seed"]))
        noise = rng.uniform(0.0, 256.0, size=shape)
        noise[noise < 256.0 - float(params["value"]) / 100.0] = 0.0
        return noise

    def seed_mask(self, shape: tuple[int, int], params: Mapping[str, Any]) -> np.ndarray:
        """Boolean (H, W): the pixels that seed streaks (a fraction value / 100 / 256)."""
        return self._seed_field(shape, params) > 0

    def streaks(self, shape: tuple[int, int], params: Mapping[str, Any]) -> np.ndarray:
        """The uint8 (H, W) streak layer of these params."""
        import cv2

        noise = self._seed_field(shape, params)
        noise = cv2.filter2D(noise, -1, self.CROSS, borderType=cv2.BORDER_REFLECT_101)
        k = rain_streak_kernel(int(params["length"]), float(params["angle"]), int(params.get("width", 3)))
        layer = cv2.filter2D(noise, -1, k, borderType=cv2.BORDER_REFLECT_101)
        lo, hi = float(layer.min()), float(layer.max())
        layer = (layer - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(layer)
        return np.clip(layer, 0, 255).astype(np.uint8)  # truncation, as the recipe says

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        layer = self.streaks(arr.shape[:2], params).astype(np.int16)
        return np.clip(arr.astype(np.int16) + layer[:, :, None], 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class Snow(Degradation):
    """Snow (irpilot's own recipe; no benchmark defines one).  Three layers of flakes, fine
    (density 3 rho, Gaussian radius 0.5-0.9 px), medium (rho, 1.1-1.8 px) and large
    (rho / 4, 2.2-3.2 px), each smeared along the fall direction (a streak of s x 0.5, 1,
    1.5 px for the three layers, s ~ randint over the level's range, at ``angle``
    U(-25, 25) degrees from vertical) and composited with a screen blend at opacity 0.6-1.0,
    over a brightening veil ``img (1 - v) + 0.85 v``.  The base density rho (fraction of
    pixels seeding a medium flake) sets the severity; ``level=None`` samples moderate to
    severe (rho 0.04-0.18 %, veil 0.06-0.2)."""

    name = "snow"
    task = "desnow"
    description = "three layers of streaked snowflakes (screen blend) over a light veil"
    DENSITY = ((0.0001, 0.0003), (0.0004, 0.0008), (0.001, 0.0018), (0.002, 0.0035))
    VEIL = ((0.02, 0.06), (0.06, 0.12), (0.12, 0.2), (0.2, 0.3))
    STREAK = ((1, 4), (2, 7), (3, 10), (4, 13))
    SIZES = ((0.5, 0.9), (1.1, 1.8), (2.2, 3.2))
    DENSITY_FACTORS = (3.0, 1.0, 0.25)
    #: nearer (larger) flakes move farther during the exposure
    STREAK_FACTORS = (0.5, 1.0, 1.5)

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        # Default: moderate to severe (no protocol range exists for snow).
        li_lo, li_hi = (1, 2) if level is None else (LEVELS.index(level),) * 2
        rho = float(rng.uniform(self.DENSITY[li_lo][0], self.DENSITY[li_hi][1]))
        veil = float(rng.uniform(self.VEIL[li_lo][0], self.VEIL[li_hi][1]))
        slo, shi = self.STREAK[li_lo][0], self.STREAK[li_hi][1]
        angle = float(rng.uniform(-25.0, 25.0))
        layers = []
        for (zlo, zhi), f, g in zip(self.SIZES, self.DENSITY_FACTORS, self.STREAK_FACTORS):
            streak = int(rng.integers(slo, shi + 1))
            layers.append({
                "density": rho * f,
                "size": float(rng.uniform(zlo, zhi)),
                "streak": max(1, int(round(streak * g))),
                "opacity": float(rng.uniform(0.6, 1.0)),
            })
        params = {"density": rho, "veil": veil, "angle": angle, "layers": layers, "seed": self._seed(rng)}
        return _finish(params, severity_from_ranges(rho, self.DENSITY), level)

    @staticmethod
    def _flake_kernel(size: float, streak: int, angle: float) -> np.ndarray:
        import cv2

        half = int(math.ceil(3 * size))
        g = np.arange(-half, half + 1, dtype=np.float64)
        yy, xx = np.meshgrid(g, g, indexing="ij")
        flake = np.exp(-(xx**2 + yy**2) / (2 * size**2))
        if streak <= 1:
            return flake
        line = _line_kernel(streak + 2 - streak % 2, float(streak), angle)
        line /= line.sum()
        n = flake.shape[0] + line.shape[0] - 1
        canvas = np.zeros((n, n))
        o = line.shape[0] // 2
        canvas[o : o + flake.shape[0], o : o + flake.shape[1]] = flake
        k = cv2.filter2D(canvas, -1, line, borderType=cv2.BORDER_CONSTANT)
        return k / k.max()

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        import cv2

        h, w = arr.shape[:2]
        rng = np.random.default_rng(int(params["seed"]))
        snow = np.zeros((h, w), dtype=np.float64)
        for layer in params["layers"]:
            seeds = (rng.random((h, w)) < float(layer["density"])).astype(np.float64)
            k = self._flake_kernel(float(layer["size"]), int(layer["streak"]), float(params["angle"]))
            flakes = np.clip(cv2.filter2D(seeds, -1, k, borderType=cv2.BORDER_CONSTANT), 0.0, 1.0)
            snow = 1.0 - (1.0 - snow) * (1.0 - float(layer["opacity"]) * flakes)
        img = arr.astype(np.float64) / 255.0
        v = float(params["veil"])
        img = img * (1.0 - v) + 0.85 * v
        out = 1.0 - (1.0 - img) * (1.0 - snow[:, :, None])
        return quantize(out * 255.0)
