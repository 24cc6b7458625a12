"""Realistic scene degradations: haze with uniform or depth-varying transmission and a
coloured airlight, rain with several layers of streaks and a veil, and snow with flakes of
several sizes (out-of-focus near flakes included), motion and a veil.

Haze uses the scattering model ``I = J t + A (1 - t)``.  Thin uniform haze (one ``t`` for
the whole frame) is common in photos and is what depth-driven synthesis rarely produces;
depth-varying haze uses ``t = exp(-beta d)`` with the depth proxy
:func:`irpilot.degrade.real_common.scene_depth` (ground-plane perspective under a random
horizon, bright colourless regions far), so the haze thickens towards the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .base import DEGRADATIONS, LEVELS, Degradation, severity_from_ranges
from .real_common import filter_image, finish, from_unit, in_space, out_space, scene_depth, splat, to_unit

__all__ = ["RealHaze", "RealRain", "RealSnow", "line_psf"]


def line_psf(length: float, angle_from_vertical: float, width: float = 0.0) -> np.ndarray:
    """A centred straight streak of ``length`` pixels at ``angle_from_vertical`` degrees
    (bilinear splatting), widened by a Gaussian of sigma ``width``; peak 1."""
    import cv2

    half = int(math.ceil(length / 2.0 + 3.0 * width)) + 1
    size = 2 * half + 1
    a = math.radians(angle_from_vertical)
    t = np.linspace(-length / 2.0, length / 2.0, max(int(math.ceil(4 * length)), 2))
    k = splat(half + t * math.cos(a), half + t * math.sin(a), (size, size))
    if width > 0:
        k = cv2.GaussianBlur(k, (0, 0), sigmaX=width, borderType=cv2.BORDER_CONSTANT)
    return k / max(float(k.max()), 1e-12)


def _tint(rng: np.random.Generator) -> list[float]:
    """A neutral, bluish or yellowish airlight tint (per-channel factors, max 1)."""
    kind = int(rng.integers(3))
    s = float(rng.uniform(0.02, 0.1))
    rgb = {0: (1.0, 1.0, 1.0), 1: (1.0 - 1.5 * s, 1.0 - 0.5 * s, 1.0), 2: (1.0, 1.0 - 0.3 * s, 1.0 - 1.5 * s)}[kind]
    return [float(v) for v in rgb]


# --------------------------------------------------------------------------------------
@DEGRADATIONS.register()
class RealHaze(Degradation):
    """Haze, uniform (40 %: one transmission ``t`` for the frame) or depth-varying (``t =
    exp(-beta d)`` on a depth proxy, thicker towards the horizon), with an airlight of
    brightness 0.7-1 tinted neutral, blue or yellow; composed in linear light (60 %) or sRGB.
    Severity: the optical depth ``beta`` (a uniform ``t`` counts as ``beta = -ln t / 0.4``);
    default ``beta`` 0.4-1.3, which degrades photos about as much as the protocol's 0.6-1.8 on
    its depth proxy (this proxy puts more of the frame far away)."""

    name = "real_haze"
    kind = "haze"
    family = "realistic"
    task = "dehaze"
    description = "haze: uniform or depth-varying transmission, coloured airlight, linear or sRGB"
    BETA = ((0.2, 0.45), (0.55, 0.95), (1.05, 1.6), (1.7, 2.5))
    DEFAULT = (0.4, 1.3)

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = self.DEFAULT if level is None else self.BETA[LEVELS.index(level)]
        beta = float(rng.uniform(lo, hi))
        params: dict[str, Any] = {"airlight": float(rng.uniform(0.7, 1.0)), "tint": _tint(rng),
                                  "space": "linear" if rng.random() < 0.6 else "srgb"}
        if rng.random() < 0.4:
            params["mode"] = "uniform"
            params["transmission"] = math.exp(-0.4 * beta)
        else:
            params["mode"] = "depth"
            params["beta"] = beta
            params["horizon"] = float(rng.uniform(0.2, 0.6))
            params["tilt"] = float(rng.uniform(-0.1, 0.1))
            params["sky_weight"] = float(rng.uniform(0.1, 0.5))
        return finish(params, severity_from_ranges(beta, self.BETA), level)

    @staticmethod
    def transmission(arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        """The (H, W) transmission map of these params on uint8 (H, W, 3) ``arr``."""
        mode = params["mode"]
        if mode == "uniform":
            return np.full(arr.shape[:2], float(params["transmission"]))
        if mode != "depth":
            raise ValueError(f"real_haze mode must be 'uniform' or 'depth', got {mode!r}")
        d = scene_depth(arr, float(params["horizon"]), float(params["tilt"]), float(params["sky_weight"]))
        return np.exp(-float(params["beta"]) * d)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        t = self.transmission(arr, params)[:, :, None]
        a = float(params["airlight"]) * np.asarray(params["tint"], dtype=np.float64)
        a = in_space(a, params)
        j = in_space(to_unit(arr), params)
        return from_unit(out_space(j * t + a * (1.0 - t), params))


# --------------------------------------------------------------------------------------
def _particles(shape: tuple[int, int], density: float, psf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sparse seeds of random brightness (a ``density`` fraction of pixels), each drawn out
    into ``psf`` (a streak or a flake); (H, W) >= 0."""
    seeds = (rng.random(shape) < density) * rng.uniform(0.4, 1.0, size=shape)
    return filter_image(seeds, psf)


@DEGRADATIONS.register()
class RealRain(Degradation):
    """Rain: 2-3 layers of streaks, far ones short, thin, dense and faint, near ones long,
    wide, sparse and bright (length 8-70 px, Gaussian width 0.4-2 px), falling at a common
    angle (-25..25 degrees from vertical, each layer a little off it), blended with a
    screen blend over a veil of rain mist ``img (1 - v) + 0.8 v``.  Severity: the base
    streak density (fraction of pixels seeding a near streak)."""

    name = "real_rain"
    kind = "rain"
    family = "realistic"
    task = "derain"
    description = "2-3 layers of rain streaks (length, width, density vary), screen-blended over a mist veil"
    DENSITY = ((0.0003, 0.0008), (0.0008, 0.0016), (0.0016, 0.003), (0.003, 0.005))
    DEFAULT = (0.0006, 0.002)
    #: far, middle, near: (density factor, length, width, opacity)
    LAYERS = (
        (4.0, (8.0, 18.0), (0.4, 0.7), (0.25, 0.5)),
        (1.5, (18.0, 35.0), (0.6, 1.1), (0.4, 0.7)),
        (0.5, (35.0, 70.0), (1.0, 2.0), (0.5, 0.85)),
    )

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = self.DEFAULT if level is None else self.DENSITY[LEVELS.index(level)]
        rho = float(rng.uniform(lo, hi))
        n_layers = int(rng.integers(2, 4))
        chosen = (0, 2) if n_layers == 2 else (0, 1, 2)
        layers = []
        for i in chosen:
            f, (l0, l1), (w0, w1), (o0, o1) = self.LAYERS[i]
            layers.append({"density": rho * f, "length": float(rng.uniform(l0, l1)), "width": float(rng.uniform(w0, w1)),
                           "opacity": float(rng.uniform(o0, o1)), "angle_offset": float(rng.uniform(-5.0, 5.0))})
        params = {"angle": float(rng.uniform(-25.0, 25.0)), "layers": layers,
                  "veil": float(rng.uniform(0.0, 0.15)) * (0.5 + 0.5 * rho / self.DENSITY[-1][1]),
                  "seed": self._seed(rng)}
        return finish(params, severity_from_ranges(rho, self.DENSITY), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(int(params["seed"]))
        img = to_unit(arr)
        v = float(params["veil"])
        img = img * (1.0 - v) + 0.8 * v
        rain = np.zeros(arr.shape[:2])
        for layer in params["layers"]:
            psf = line_psf(float(layer["length"]), float(params["angle"]) + float(layer["angle_offset"]), float(layer["width"]))
            streaks = _particles(arr.shape[:2], float(layer["density"]), psf, rng)
            streaks = np.clip(streaks, 0.0, 1.0) * float(layer["opacity"])
            rain = 1.0 - (1.0 - rain) * (1.0 - streaks)
        out = 1.0 - (1.0 - img) * (1.0 - 0.9 * rain[:, :, None])
        return from_unit(out)


# --------------------------------------------------------------------------------------
def _flake_psf(radius: float, streak: float, angle: float, soft: bool) -> np.ndarray:
    """A flake: a Gaussian blob (``soft``: a soft-edged disk, the out-of-focus near flake)
    of ``radius`` pixels drawn out along the fall direction by ``streak`` pixels; peak 1."""
    half = int(math.ceil(2.5 * radius + streak / 2.0)) + 2
    g = np.arange(-half, half + 1, dtype=np.float64)
    rho = np.hypot(g[:, None], g[None, :])
    blob = np.clip((radius - rho) / max(0.35 * radius, 0.5) + 0.5, 0.0, 1.0) if soft else np.exp(-(rho**2) / (2 * radius**2))
    if streak >= 1.0:
        line = line_psf(streak, angle, 0.0)
        blob = filter_image(blob, line / line.sum())
    return blob / max(float(blob.max()), 1e-12)


@DEGRADATIONS.register()
class RealSnow(Degradation):
    """Snow: flakes in three depth layers, small and dense far away (radius 0.5-1 px),
    medium (1-2 px), and a few large out-of-focus near flakes (soft disks, radius 3-8 px,
    semi-transparent); each layer falls at the wind ``angle`` and is smeared by the
    exposure (``motion`` 0-1 scales the streaks: 0 is a fast shutter), blended with a screen
    blend over a bluish-white veil.  Severity: the base flake density."""

    name = "real_snow"
    kind = "snow"
    family = "realistic"
    task = "desnow"
    description = "snowflakes in three depth layers (incl. out-of-focus near flakes), motion streaks, veil"
    DENSITY = ((0.0003, 0.0008), (0.0008, 0.0016), (0.0016, 0.003), (0.003, 0.006))
    DEFAULT = (0.001, 0.004)
    #: far, middle, near: (density factor, radius, streak at motion 1, opacity, soft)
    LAYERS = (
        (4.0, (0.5, 1.0), 6.0, (0.5, 0.8), False),
        (1.0, (1.0, 2.0), 12.0, (0.6, 0.95), False),
        (0.04, (3.0, 8.0), 20.0, (0.2, 0.5), True),
    )

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = self.DEFAULT if level is None else self.DENSITY[LEVELS.index(level)]
        rho = float(rng.uniform(lo, hi))
        motion = float(rng.uniform(0.0, 1.0)) if rng.random() < 0.7 else 0.0
        layers = []
        for f, (r0, r1), streak, (o0, o1), soft in self.LAYERS:
            layers.append({"density": rho * f, "radius": float(rng.uniform(r0, r1)), "streak": streak * motion,
                           "opacity": float(rng.uniform(o0, o1)), "soft": soft})
        params = {"angle": float(rng.uniform(-30.0, 30.0)), "motion": motion, "layers": layers,
                  "veil": float(rng.uniform(0.03, 0.2)), "veil_tint": [0.92, 0.95, 1.0], "seed": self._seed(rng)}
        return finish(params, severity_from_ranges(rho, self.DENSITY), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        rng = np.random.default_rng(int(params["seed"]))
        img = to_unit(arr)
        v = float(params["veil"])
        img = img * (1.0 - v) + v * np.asarray(params["veil_tint"], dtype=np.float64)
        snow = np.zeros(arr.shape[:2])
        for layer in params["layers"]:
            psf = _flake_psf(float(layer["radius"]), float(layer["streak"]), float(params["angle"]), bool(layer["soft"]))
            flakes = np.clip(_particles(arr.shape[:2], float(layer["density"]), psf, rng), 0.0, 1.0)
            snow = 1.0 - (1.0 - snow) * (1.0 - float(layer["opacity"]) * flakes)
        out = 1.0 - (1.0 - img) * (1.0 - snow[:, :, None])
        return from_unit(out)
