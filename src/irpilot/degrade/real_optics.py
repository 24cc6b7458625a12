"""Realistic optical blur: camera shake from random motion trajectories, and defocus with
Gaussian, disk and lens-like PSFs (uniform or varying with depth across the frame).

Camera shake follows Boracchi & Foi, "Modeling the performance of image restoration from
motion blur" (TIP 2012): the camera moves along a random walk with inertia (each step keeps
its speed and turns by a Gaussian kick, pulled back towards the start by a centripetal term),
with occasional impulsive shakes that reverse the direction; the blur kernel is the part of
the trajectory covered during the exposure, rasterised with sub-pixel accuracy.  Kernels
are generated from a seed stored in the params (:func:`shake_kernel`), so a record replays
the same kernel; no measured kernel is used.

Blur is applied in linear light by default (``space="linear"``), as a sensor integrates
light: highlights smear into bright streaks the way they do in photos.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .base import DEGRADATIONS, LEVELS, Degradation, severity_from_ranges
from .real_common import filter_image, finish, from_unit, in_space, log_uniform, out_space, scene_depth, splat, to_unit

__all__ = ["RealMotionBlur", "RealDefocusBlur", "shake_trajectory", "shake_kernel", "defocus_psf"]


# --------------------------------------------------------------------------------------
def shake_trajectory(
    seed: int,
    length: float,
    anxiety: float,
    centripetal: float,
    gaussian_term: float,
    big_shake_prob: float,
    n_steps: int = 2000,
) -> np.ndarray:
    """A Boracchi-Foi camera trajectory: ``n_steps`` complex positions (x + iy, pixels) of
    total path length ``length``.  ``anxiety`` scales the random kicks and the impulsive
    shakes (0.0005: smooth arcs ... 0.01: jittery scribbles), ``centripetal`` pulls the camera
    back towards where it started, ``gaussian_term`` is the size of the Gaussian kicks and
    ``big_shake_prob`` the per-step chance (times ``anxiety``) of an abrupt jerk."""
    rng = np.random.default_rng(int(seed))
    step = float(length) / (n_steps - 1)
    angle = rng.uniform(0.0, 2.0 * math.pi)
    u_big = rng.random(n_steps - 1)
    u_dir = rng.random(n_steps - 1)
    kicks = rng.standard_normal((n_steps - 1, 2))
    v = complex(math.cos(angle), math.sin(angle)) * step
    x = np.zeros(n_steps, dtype=np.complex128)
    pos = 0j
    for t in range(n_steps - 1):
        jerk = 2.0 * v * complex(math.cos(math.pi + u_dir[t] - 0.5), math.sin(math.pi + u_dir[t] - 0.5)) \
            if u_big[t] < big_shake_prob * anxiety else 0j
        dv = jerk + anxiety * (gaussian_term * complex(kicks[t, 0], kicks[t, 1]) - centripetal * pos) * step
        v = v + dv
        v = v / abs(v) * step
        pos = pos + v
        x[t + 1] = pos
    return x


def shake_kernel(params: Mapping[str, Any]) -> np.ndarray:
    """The normalised blur kernel (odd square, float64) of ``real_motion_blur`` params: the
    first ``exposure`` fraction of the trajectory, splatted bilinearly with 4 sub-steps per
    trajectory step, cropped to its support and centred on its centre of mass (so the blur
    does not shift the image)."""
    traj = shake_trajectory(
        int(params["trajectory_seed"]), float(params["length"]), float(params["anxiety"]),
        float(params["centripetal"]), float(params["gaussian_term"]), float(params["big_shake_prob"]),
    )
    n = max(int(math.ceil(float(params["exposure"]) * len(traj))), 2)
    part = traj[:n]
    # sub-steps between consecutive samples: a continuous path, not a dotted one
    t = np.linspace(0.0, n - 1.0, 4 * (n - 1) + 1)
    xs = np.interp(t, np.arange(n), np.real(part))
    ys = np.interp(t, np.arange(n), np.imag(part))
    # a hand does not move at constant speed: where it slows down the kernel is brighter
    dwell = np.ones_like(t)
    var = float(params.get("speed_variation", 0.0))
    if var > 0:
        rng = np.random.default_rng(int(params["trajectory_seed"]) + 1)
        knots = rng.standard_normal(8)
        dwell = np.exp(var * np.interp(t, np.linspace(0.0, n - 1.0, 8), knots))
    cx, cy = np.average(xs, weights=dwell), np.average(ys, weights=dwell)
    xs, ys = xs - cx, ys - cy
    half = int(math.ceil(max(np.abs(xs).max(), np.abs(ys).max()))) + 2
    size = 2 * half + 1
    k = splat(ys + half, xs + half, (size, size), dwell)
    k /= k.sum()
    nz = np.argwhere(k > 1e-4 * k.max())
    r = int(max(np.abs(nz - half).max(), 1))
    k = k[half - r : half + r + 1, half - r : half + r + 1]
    return k / k.sum()


@DEGRADATIONS.register()
class RealMotionBlur(Degradation):
    """Camera shake: a Boracchi-Foi random trajectory (random walk with inertia, a
    centripetal pull and impulsive jerks) at a varying speed, of total path ``length`` pixels, of which the
    ``exposure`` fraction (0.25-1) forms the kernel; in linear light (70 %) or sRGB.  The
    severity is set by the blur path ``length * exposure`` (default 10-32 px, the size of
    measured shake kernels, which span 13-27 px)."""

    name = "real_motion_blur"
    kind = "motion_blur"
    family = "realistic"
    task = "motion_deblur"
    description = "camera shake: Boracchi-Foi random trajectories, path 10-32 px, exposure 0.25-1"
    #: blur path (length x exposure) per level, pixels
    PATH = ((3.0, 7.0), (7.0, 13.0), (13.0, 22.0), (22.0, 36.0))
    DEFAULT = (10.0, 32.0)

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = self.DEFAULT if level is None else self.PATH[LEVELS.index(level)]
        path = float(rng.uniform(lo, hi))
        exposure = float(rng.uniform(0.25, 1.0))
        params: dict[str, Any] = {
            "length": path / exposure,
            "exposure": exposure,
            "anxiety": log_uniform(rng, 0.001, 0.01),
            "centripetal": float(rng.uniform(0.0, 0.7)),
            "gaussian_term": float(rng.uniform(3.0, 10.0)),
            "big_shake_prob": float(rng.uniform(0.0, 0.2)),
            "speed_variation": float(rng.uniform(0.0, 0.8)),
            "space": "linear" if rng.random() < 0.7 else "srgb",
            "trajectory_seed": self._seed(rng),
        }
        return finish(params, severity_from_ranges(path, self.PATH), level)

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        x = in_space(to_unit(arr), params)
        return from_unit(out_space(filter_image(x, shake_kernel(params)), params))


# --------------------------------------------------------------------------------------
def defocus_psf(shape: str, radius: float, rim: float = 0.0, softness: float = 0.0) -> np.ndarray:
    """A normalised defocus PSF of ``radius`` pixels.  ``gaussian``: sigma = radius / 2 (the
    second moment of a disk of that radius); ``disk``: a pillbox, its edge pixels weighted by
    the area they cover (8 x 8 supersampling); ``lens``: a disk whose brightness rises
    towards the rim by ``rim`` (0-1, the bright-edged bokeh of spherical aberration) with an
    edge softened over ``softness`` x radius."""
    radius = float(radius)
    if radius <= 0:
        raise ValueError(f"defocus radius must be positive, got {radius}")
    if shape == "gaussian":
        sigma = radius / 2.0
        half = int(math.ceil(3.0 * sigma))
        g = np.arange(-half, half + 1, dtype=np.float64)
        k = np.exp(-(g[:, None] ** 2 + g[None, :] ** 2) / (2.0 * sigma**2))
        return k / k.sum()
    if shape not in ("disk", "lens"):
        raise ValueError(f"defocus shape must be 'gaussian', 'disk' or 'lens', got {shape!r}")
    soft = float(softness) * radius if shape == "lens" else 0.0
    half = int(math.ceil(radius + soft)) + 1
    sub = 8
    g = (np.arange((2 * half + 1) * sub, dtype=np.float64) + 0.5) / sub - (half + 0.5)
    rho = np.hypot(g[:, None], g[None, :])
    if shape == "disk":
        fine = (rho <= radius).astype(np.float64)
    else:
        inner = np.clip(rho / radius, 0.0, 1.0)
        profile = (1.0 - rim) + rim * inner**4
        edge = np.clip((radius + soft - rho) / max(2.0 * soft, 1e-6), 0.0, 1.0) if soft > 0 else (rho <= radius)
        fine = profile * edge
    k = fine.reshape(2 * half + 1, sub, 2 * half + 1, sub).mean(axis=(1, 3))
    return k / k.sum()


@DEGRADATIONS.register()
class RealDefocusBlur(Degradation):
    """Defocus: a Gaussian, disk or lens-like PSF (bright rim, soft edge) of ``radius``
    pixels, in linear light; uniform over the frame (65 %) or varying with a depth proxy
    (the plane in focus at a random depth, the radius growing with the distance from it,
    up to ``radius``).  Default radius 2.5-6.5 px."""

    name = "real_defocus_blur"
    kind = "defocus_blur"
    family = "realistic"
    task = "defocus_deblur"
    description = "defocus: Gaussian, disk or lens PSF (rim, soft edge), radius 2.5-6.5, uniform or depth-varying"
    RADIUS = ((1.0, 2.0), (2.0, 3.2), (3.2, 4.6), (4.6, 7.0))
    DEFAULT = (2.5, 6.5)
    SHAPES = ("gaussian", "disk", "lens")
    #: radii at which a depth-varying blur is computed before blending per pixel
    N_LAYERS = 5

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        self._check_level(level)
        lo, hi = self.DEFAULT if level is None else self.RADIUS[LEVELS.index(level)]
        radius = float(rng.uniform(lo, hi))
        shape = self.SHAPES[int(rng.integers(3))]
        params: dict[str, Any] = {"shape": shape, "radius": radius}
        if shape == "lens":
            params["rim"] = float(rng.uniform(0.0, 0.8))
            params["softness"] = float(rng.uniform(0.0, 0.3))
        params["space"] = "linear" if rng.random() < 0.7 else "srgb"
        if rng.random() < 0.35:
            params["spatial"] = "depth"
            params["focus"] = float(rng.uniform(0.0, 0.6))  # relative depth in focus (0 = nearest)
            params["horizon"] = float(rng.uniform(0.25, 0.6))
            params["tilt"] = float(rng.uniform(-0.1, 0.1))
            params["sky_weight"] = float(rng.uniform(0.0, 0.5))
        else:
            params["spatial"] = "uniform"
        return finish(params, severity_from_ranges(radius, self.RADIUS), level)

    @staticmethod
    def psf(params: Mapping[str, Any], radius: float | None = None) -> np.ndarray:
        """The PSF of these params (at ``radius`` instead of theirs when given)."""
        r = float(params["radius"]) if radius is None else radius
        return defocus_psf(str(params["shape"]), r, float(params.get("rim", 0.0)), float(params.get("softness", 0.0)))

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        x = in_space(to_unit(arr), params)
        spatial = params.get("spatial", "uniform")
        if spatial == "uniform":
            return from_unit(out_space(filter_image(x, self.psf(params)), params))
        if spatial != "depth":
            raise ValueError(f"defocus spatial must be 'uniform' or 'depth', got {spatial!r}")
        depth = scene_depth(arr, float(params["horizon"]), float(params["tilt"]), float(params["sky_weight"]))
        focus = float(params["focus"])
        blur = np.abs(depth - focus) / max(focus, 1.0 - focus)  # 0 in focus ... 1 farthest from it
        r_max = float(params["radius"])
        radii = np.linspace(0.0, r_max, self.N_LAYERS)
        layers = [x] + [filter_image(x, self.psf(params, float(r))) for r in radii[1:]]
        pos = np.clip(blur, 0.0, 1.0) * (self.N_LAYERS - 1)
        i0 = np.minimum(np.floor(pos).astype(np.int64), self.N_LAYERS - 2)
        f = (pos - i0)[:, :, None]
        stack = np.stack(layers)  # (L, H, W, 3)
        rows, cols = np.indices(i0.shape)
        out = stack[i0, rows, cols] * (1.0 - f) + stack[i0 + 1, rows, cols] * f
        return from_unit(out_space(out, params))
