"""Blind motion and defocus deblurring with parametric kernel estimation.

Motion blur is modelled as the one-sided line kernel of the benchmark protocol
(ImageMagick / imagecorruptions style: each pixel averages a ray that starts at itself,
Gaussian-weighted along the ray).  Its magnitude spectrum depends only on the component of
the frequency along the motion direction, so the blur makes the (otherwise roughly
isotropic) power spectrum of a photo anisotropic.  :func:`estimate_motion_kernel` fits
(angle, sigma) by making ``log P(w) - log |K(w)|^2`` as isotropic as possible (variance
across orientations within each radial band of a Welch periodogram), then resolves the
direction of the ray (a and a + 180 have the same magnitude) by which deconvolution has
the lower total variation (the wrong one leaves ghost edges).

The protocol's defocus blur is a disk (anti-aliased by a 3x3 Gaussian).
:func:`estimate_defocus_radius` fits the radius so that the radial profile of
``log P - log |K_r|^2`` is a smooth power law.  The defocus tools fit a family of kernels with
the same criterion (:mod:`.defocus`: Gaussian, disk and lens-like, in sRGB or linear light), and
fit tiles one by one when the defocus varies across the frame.

Deconvolution uses the exact (off-centre) kernel, so the content shift of the one-sided
kernel is undone and the output aligns with the sharp image.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ...imaging.color import luma
from ..base import Tool, ToolCard
from ._common import deconv_hqs_tv, deconv_tikhonov, estimate_noise_sigma, register
from .spectra import (
    DISK_RADII,
    FIT_RATIO,
    N_WELCH,
    band_variance_score,
    disk_kernel,
    freq_grid,
    kernel_misfit_ratio,
    welch,
)

__all__ = [
    "motion_kernel",
    "disk_kernel",
    "estimate_motion_kernel",
    "estimate_defocus_radius",
    "MotionDeblurWiener",
    "MotionDeblurHQS",
    "DefocusDeblurWiener",
    "DefocusDeblurHQS",
]

_SIGMAS = (1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.5, 11.0)


# ---------------------------------------------------------------------------------------
# kernels
def _motion_taps(sigma: float, angle: float, radius: int | None = None):
    r = int(radius) if radius is not None else int(min(25, max(3, math.ceil(2.5 * sigma))))
    i = np.arange(2 * r + 1, dtype=np.float64)
    a = math.radians(angle)
    w = np.exp(-(i**2) / (2.0 * sigma**2))
    w /= w.sum()
    dy = np.ceil(i * math.sin(a) - 0.5).astype(int)
    dx = np.ceil(i * math.cos(a) - 0.5).astype(int)
    return dy, dx, w


def motion_kernel(sigma: float, angle: float, radius: int | None = None) -> np.ndarray:
    """One-sided line kernel as a correlation kernel centred on its middle pixel:
    ``out(y, x) = sum_i w_i img(y + ceil(i sin a - 1/2), x + ceil(i cos a - 1/2))``,
    ``w_i ~ exp(-i^2 / 2 sigma^2)``, i = 0..2r (r defaults to ~2.5 sigma); ``angle`` in degrees."""
    dy, dx, w = _motion_taps(sigma, angle, radius)
    c = int(max(np.abs(dy).max(), np.abs(dx).max()))
    k = np.zeros((2 * c + 1, 2 * c + 1))
    np.add.at(k, (c + dy, c + dx), w)
    return k.astype(np.float32)


# ---------------------------------------------------------------------------------------
# spectra (the periodogram and its bands: .spectra)


def _motion_power(sigma: float, angle: float, n: int = N_WELCH) -> np.ndarray:
    dy, dx, w = _motion_taps(sigma, angle)
    pad = np.zeros((n, n))
    np.add.at(pad, (dy % n, dx % n), w)
    return np.abs(np.fft.fft2(pad)) ** 2


def _tv(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x, axis=0)).sum() + np.abs(np.diff(x, axis=1)).sum())


def _center_crop(y: np.ndarray, size: int) -> np.ndarray:
    h, w = y.shape
    t, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return y[t : t + size, left : left + size]


def estimate_motion_kernel(
    img: np.ndarray,
    *,
    sigmas: tuple[float, ...] = _SIGMAS,
    angle_step: float = 0.5,
    eps: float = 1e-3,
    prior_weight: float = 0.002,
) -> tuple[np.ndarray, dict[str, float]]:
    """Estimate the one-sided motion kernel of a blurred image (3, H, W) or (H, W).

    Returns ``(kernel, {"angle": degrees in (-180, 180], "sigma": ..., "score": ...,
    "sharp_score": ...})``; the kernel is a correlation kernel centred on its middle pixel (see
    :func:`motion_kernel`); ``sharp_score`` is the anisotropy misfit with no kernel divided out,
    so ``score / sharp_score`` says how much better a motion kernel explains the spectrum than no blur.
    ``prior_weight`` (per degree outside (-90, 90]) mildly favours rays pointing right.
    """
    y = luma(img) if img.ndim == 3 else np.asarray(img, dtype=np.float32)
    logp = np.log(welch(y) + 1e-10)
    _, _, band = freq_grid()

    def fit(s: float, a: float) -> float:
        return band_variance_score(logp - np.log(_motion_power(s, a) + eps), band, 2, 30)

    # coarse grid, then a finer angle search around the best candidate
    coarse = max(angle_step, 3.0)
    best = min((fit(s, a), float(a), float(s)) for s in sigmas for a in np.arange(-90.0, 90.0, coarse))
    fine = [
        (fit(s, a), float(((a + 90.0) % 180.0) - 90.0), float(s))
        for s in sigmas
        if abs(math.log(s / best[2])) < 0.45
        for a in np.arange(best[1] - coarse, best[1] + coarse + 1e-6, angle_step)
    ]
    score, angle, sigma = min([best, *fine])
    # direction of the ray: a and a + 180 share the magnitude spectrum; the wrong one ghosts
    crop = _center_crop(y, 256)
    cands = [angle, angle + 180.0 if angle <= 0 else angle - 180.0]
    tvs = []
    for a in cands:
        k = motion_kernel(sigma, a)
        m = k.shape[0] // 2 + 2
        x = deconv_tikhonov(crop, k, 3e-3)
        tv = _tv(x[m:-m, m:-m]) if crop.shape[0] > 2 * m + 8 else _tv(x)
        # soft prior: rays pointing right (-90 < a <= 90), as in the benchmark protocol
        tvs.append(tv * (1.0 + prior_weight * max(0.0, abs(a) - 90.0)))
    angle = cands[int(np.argmin(tvs))]
    sharp = band_variance_score(logp, band, 2, 30)  # the same misfit with no kernel divided out
    return motion_kernel(sigma, angle), {"angle": angle, "sigma": sigma, "score": score, "sharp_score": sharp}


def _disk_power(radius: float, alias: float, n: int = N_WELCH) -> np.ndarray:
    k = disk_kernel(radius, alias)
    pad = np.zeros((n, n))
    kh = k.shape[0]
    pad[:kh, :kh] = k
    return np.abs(np.fft.fft2(pad)) ** 2


def estimate_defocus_radius(
    img: np.ndarray, *, radii: tuple[float, ...] = DISK_RADII, eps: float = 1e-3
) -> tuple[np.ndarray, dict[str, float]]:
    """Estimate the disk radius of a defocused image: the radius whose |K|^2, divided out
    of the radially averaged periodogram, leaves the smoothest power law (least squares
    line fit in log-log over the mid frequencies).  Returns ``(kernel, {"radius", "score",
    "sharp_score"})``; ``sharp_score`` is the same misfit with no disk divided out, so
    ``score / sharp_score`` says how much better a disk explains the spectrum than no blur."""
    y = luma(img) if img.ndim == 3 else np.asarray(img, dtype=np.float32)
    logp = np.log(welch(y) + 1e-10)
    _, _, band = freq_grid()
    bands = np.arange(2, 25)
    prof = np.array([logp[band == b].mean() for b in bands])
    lx = np.log(bands)

    def misfit(res: np.ndarray) -> float:
        coef = np.polyfit(lx, res, 1)
        score = float(np.sum((res - np.polyval(coef, lx)) ** 2))
        if coef[0] > 0:  # deblurred spectrum rising with frequency: over-corrected
            score += float(coef[0]) * 10.0
        return score

    best = (math.inf, radii[0])
    for r in radii:
        kp = _disk_power(float(r), 0.5)
        kprof = np.array([np.log(kp[band == b] + eps).mean() for b in bands])
        score = misfit(prof - kprof)
        if score < best[0]:
            best = (score, float(r))
    score, radius = best
    return disk_kernel(radius, 0.5), {"radius": radius, "score": score, "sharp_score": misfit(prof)}


# ---------------------------------------------------------------------------------------
def _lam(base: float, sigma: float) -> float:
    """Regularisation weight: ``base`` for 8-bit quantisation noise, growing with the
    noise level ``sigma`` (0-1 scale) beyond it (the blur kernels amplify noise a lot)."""
    return base + 60.0 * max(0.0, sigma - 2.0 / 255.0) ** 2


_DEBLUR_ARGS = {
    "noise_sigma": {"type": "number", "minimum": 0, "maximum": 100,
                    "description": "noise level on the 0-255 scale (estimated when omitted)"},
    "strength": {"type": "number", "minimum": 0.1, "maximum": 10.0, "default": 1.0,
                 "description": "multiplies the regularisation weight (larger = smoother, fewer ringing artefacts)"},
}


class _Kernel(NamedTuple):
    """A kernel to deconvolve with, the space it blurred in (``srgb`` or ``linear`` light) and a
    factor on the tool's regularisation weight."""

    kernel: np.ndarray
    space: str = "srgb"
    lam_scale: float = 1.0


_WHOLE_PIXELS = 1 << 20  # above this many pixels, deconvolve tile by tile
_PROBE = 1024  # side of the central region a large photo's kernel is estimated on
_TILE = 768


class _Deblur(Tool):
    _base_lam = 1e-3

    def _kernel(self, img: np.ndarray, args: dict[str, Any]) -> _Kernel | None:
        raise NotImplementedError

    def _deconv(self, img: np.ndarray, k: np.ndarray, lam: float, sigma: float) -> np.ndarray:
        return deconv_tikhonov(img, k, lam)

    def _run(self, img: np.ndarray, strength: float = 1.0, noise_sigma: float | None = None,
             **args: Any) -> np.ndarray:
        _, h, w = img.shape
        large = h * w > _WHOLE_PIXELS
        # the blur is the same everywhere: a large photo's kernel and noise level are estimated on
        # its central part, and the deconvolution runs tile by tile so memory stays bounded
        top, left = max(0, (h - _PROBE) // 2), max(0, (w - _PROBE) // 2)
        probe = img[:, top : top + _PROBE, left : left + _PROBE] if large else img
        fit = self._kernel(probe, args)
        sigma = estimate_noise_sigma(probe) if noise_sigma is None else float(noise_sigma) / 255.0
        if fit is None:  # no evidence of one blur over the whole frame
            return self._unexplained(img, sigma, float(strength), large)

        def deconv(x: np.ndarray) -> np.ndarray:
            return self._apply(x, fit, sigma, float(strength))

        if not large:
            return deconv(img)
        from ..tiling import run_tiled

        overlap = max(32, 2 * max(fit.kernel.shape))
        return run_tiled(deconv, img, _TILE, overlap)

    def _apply(self, x: np.ndarray, fit: _Kernel, sigma: float, strength: float) -> np.ndarray:
        """Deconvolve ``x`` with ``fit`` (in linear light when it blurred there)."""
        lam = _lam(self._base_lam, sigma) * strength * fit.lam_scale
        if fit.space == "srgb":
            return self._deconv(x, fit.kernel, lam, sigma)
        # a camera blurs light: undo the blur where it happened
        from ...imaging.color import linear_to_srgb, srgb_to_linear

        return linear_to_srgb(self._deconv(srgb_to_linear(x, np.float32), fit.kernel, lam, sigma), np.float32)

    def _unexplained(self, img: np.ndarray, sigma: float, strength: float, large: bool) -> np.ndarray:
        """The output when no kernel explains the whole frame: the input, since deconvolving
        would only ring."""
        return img.copy()


#: the motion tools' own, stricter ratio: their line kernel also "explains" camera shake, which it
#: then deconvolves into ghosts (BENCHMARKS.md, "Camera shake: the motion tools' misfit ratio")
MOTION_FIT_RATIO = 0.6


#: camera shake whose line kernel passes :data:`MOTION_FIT_RATIO` is told from a line blur by a
#: general kernel estimated blind (:func:`.blind_deblur.general_kernel`): the motion tools decline
#: when its misfit ratio is below this fraction of the line kernel's *and* it is not a line
#: (under :data:`LINE_AXIS_MASS` of its mass near its principal axis, :func:`.blind_deblur.kernel_axis_mass`).
#: Chosen on training crops (BENCHMARKS.md, "Camera shake: line or general kernel";
#: ``benchmarks/line_or_general.py``): where the line passed, the protocol's line blur gave ratios
#: down to 0.32 after ``dncnn3_dejpeg`` (which leaves a spectrum a general kernel fits well) but
#: axis masses of 0.87 and above wherever its ratio was under 0.6; shake whose line kernel passed,
#: ratios 0.39-0.53 and axis masses 0.68-0.77 where the line kernel lost 0.3-5.5 dB and
#: ``shake_deblur_pnp`` gained
LINE_OVER_GENERAL = 0.6
LINE_AXIS_MASS = 0.8


class _MotionMixin:
    def _kernel(self, img: np.ndarray, args: dict[str, Any]) -> _Kernel | None:
        if args.get("angle") is not None and args.get("sigma") is not None:
            return _Kernel(motion_kernel(float(args["sigma"]), float(args["angle"])))
        k, info = estimate_motion_kernel(img)
        line = info["score"] / max(info["sharp_score"], 1e-12)
        if line >= MOTION_FIT_RATIO or _general_kernel_fits_better(img, line) or _reads_as_shake(img):
            return None
        return _Kernel(k)


def shake_not_line(line_ratio: float, general_ratio: float, axis_mass: float) -> bool:
    """The rule of :data:`LINE_OVER_GENERAL`: a general kernel with misfit ratio ``general_ratio``
    and axis mass ``axis_mass`` explains the spectrum much better than the line kernel (misfit
    ratio ``line_ratio``) and is not itself a line: camera shake, not a line blur."""
    return general_ratio < LINE_OVER_GENERAL * line_ratio and axis_mass < LINE_AXIS_MASS


#: the learned line check (:mod:`.line_check`): where the line passes, the motion tools also
#: decline when the check reads camera shake at this probability or more.  Set before the check was
#: trained; on the held-out training photos (``irpilot train linecheck``'s report) it lies above every
#: protocol case whose line passes, in each context (BENCHMARKS.md, "Camera shake: a learned line check")
LINE_CHECK_THRESHOLD = 0.9


def _reads_as_shake(img: np.ndarray) -> bool:
    """The learned line check reads camera shake in ``img`` (never without its weights)."""
    from .line_check import shake_probability

    p = shake_probability(img)
    return p is not None and p >= LINE_CHECK_THRESHOLD


def _general_kernel_fits_better(img: np.ndarray, line_ratio: float) -> bool:
    """:func:`shake_not_line` for ``img``, with a general kernel estimated blind on it."""
    from .blind_deblur import MIN_SIDE, general_kernel, kernel_axis_mass

    if min(img.shape[-2:]) < MIN_SIDE:
        return False
    k = general_kernel(img).kernel
    return shake_not_line(line_ratio, kernel_misfit_ratio(img, k), kernel_axis_mass(k))


#: see _DefocusMixin._fitted
LARGE_SPREAD = 2.5
#: side of the tiles fitted one by one when no kernel explains the whole frame
DEPTH_TILE = 96


def _tile_starts(n: int, t: int) -> list[int]:
    """Starts of half-overlapping tiles of side ``t`` covering ``n`` pixels, the last flush."""
    return sorted({*range(0, n - t + 1, t // 2), n - t})


class _DefocusMixin:
    #: factor on the regularisation weight for the realistic family's kernels (Gaussian, lens, or
    #: blur in linear light), whose estimate is rougher than the protocol disk's.  On the 24
    #: tuning crops (``benchmarks/defocus_real.py --seed 3``, real_defocus_blur alone) the HQS
    #: tool gained +0.62 / +1.69 / +2.13 / +2.05 / +1.78 dB at 0.5 / 1 / 2 / 3.3 / 6 x (-5.1 dB
    #: worst at 0.5 x), the Wiener tool +1.38 / +1.46 / +1.33 / +1.18 / +1.01 dB
    _real_lam_scale = 1.0

    def _kernel(self, img: np.ndarray, args: dict[str, Any]) -> _Kernel | None:
        from .defocus import defocus_kernel, estimate_defocus_kernel

        shape = str(args.get("shape") or "disk")
        if args.get("radius") is not None:
            scale = 1.0 if shape == "disk" else self._real_lam_scale
            return _Kernel(defocus_kernel(shape, float(args["radius"])), str(args.get("space") or "srgb"), scale)
        return self._fitted(*estimate_defocus_kernel(img))

    def _fitted(self, k: np.ndarray | None, info: dict[str, Any]) -> _Kernel | None:
        if k is None:
            return None
        if info["shape"] == "disk" and info["space"] == "srgb":  # the protocol's blur: as version 2
            return _Kernel(k, "srgb", 1.0)
        # wide kernels ring more (a lens of radius 6.5 in linear light: -1.1 dB at the base weight,
        # +2.3 dB at 4 x): the weight grows with the kernel's area beyond a spread of LARGE_SPREAD px
        size = max(1.0, float(info["spread"]) / LARGE_SPREAD) ** 2
        return _Kernel(k, str(info["space"]), self._real_lam_scale * size)

    def _unexplained(self, img: np.ndarray, sigma: float, strength: float, large: bool) -> np.ndarray:
        """Defocus that varies across the frame (a scene in depth): no one kernel explains the
        whole spectrum, but one may explain a tile's.  Each half-overlapping tile is fitted on its
        own and deconvolved (with context around it) where its fit passes the same checks; tiles
        without a fit keep the input; the tiles are blended with tent windows.  Not for frames
        above ``_WHOLE_PIXELS``, nor for motion-blurred ones."""
        from .defocus import estimate_defocus_kernel

        _, h, w = img.shape
        t = DEPTH_TILE
        if large or h < t or w < t:
            return img.copy()
        # a tile of motion blur is fitted by a wide Gaussian (its radial spectrum looks alike):
        # where a line kernel explains the frame's anisotropy, the frame is left to the motion tools
        _, motion = estimate_motion_kernel(img)
        if motion["score"] < FIT_RATIO * motion["sharp_score"]:
            return img.copy()
        ramp = np.minimum(np.arange(t) + 1.0, t - np.arange(t)) / (t / 2.0)
        win = np.outer(ramp, ramp).astype(np.float32)
        acc = np.zeros_like(img)
        wsum = np.zeros((h, w), np.float32)
        changed = False
        for y0 in _tile_starts(h, t):
            for x0 in _tile_starts(w, t):
                out = img[:, y0 : y0 + t, x0 : x0 + t]
                fit = self._fitted(*estimate_defocus_kernel(out, strict=True))
                if fit is not None:
                    m = max(fit.kernel.shape)  # context, so the tile's edges see their neighbours
                    ya, xa = max(0, y0 - m), max(0, x0 - m)
                    region = img[:, ya : min(h, y0 + t + m), xa : min(w, x0 + t + m)]
                    out = self._apply(region, fit, sigma, strength)[:, y0 - ya : y0 - ya + t, x0 - xa : x0 - xa + t]
                    changed = True
                acc[:, y0 : y0 + t, x0 : x0 + t] += out * win
                wsum[y0 : y0 + t, x0 : x0 + t] += win
        return (acc / wsum).astype(np.float32) if changed else img.copy()


_MOTION_ARGS = {
    **_DEBLUR_ARGS,
    "angle": {"type": "number", "description": "known motion angle in degrees (skips estimation and the no-blur check; needs sigma)"},
    "sigma": {"type": "number", "minimum": 0.5, "maximum": 15, "description": "known kernel sigma"},
}
_DEFOCUS_ARGS = {
    **_DEBLUR_ARGS,
    "radius": {"type": "number", "minimum": 0.5, "maximum": 12,
               "description": "known defocus radius (skips estimation and the no-blur check)"},
    "shape": {"type": "string", "enum": ["disk", "gaussian", "lens"], "default": "disk",
              "description": "shape of a known kernel (with radius)"},
    "space": {"type": "string", "enum": ["srgb", "linear"], "default": "srgb",
              "description": "where a known kernel blurred: in sRGB values or in linear light (with radius)"},
}
_MOTION_REF = "Kernel: spectral-isotropy fit of a parametric one-sided line kernel (irpilot)"


@register
class MotionDeblurWiener(_MotionMixin, _Deblur):
    card = ToolCard(
        id="motion_deblur_wiener",
        task="motion_deblur",
        description=(
            "Blind motion deblurring: estimates a one-sided line kernel (angle, length) from the "
            "anisotropy of the power spectrum, then deconvolves with a gradient-regularised "
            "Wiener filter (fast).  The exact off-centre kernel undoes the blur's content shift.  "
            "Returns the image unchanged unless a line kernel explains the spectrum clearly better than "
            "no blur (misfit ratio below 0.6), and when a general kernel estimated blind explains it "
            "much better still and is not a line, or when a small network reading the spectrum calls the "
            "blur camera shake (irpilot's line check, probability 0.9 or more, on photos of 192 px a side "
            "or more; trained on shaken and line-blurred crops of the training photos): its line fit "
            "would deconvolve shake into ghosts.  Fitted to the benchmark protocol's one-sided line "
            "kernel: camera shake needs shake_deblur_pnp, "
            "which the agent runs when this tool returns the image unchanged (its fallback).  "
            "Periodic texture and water ripples can pass the check on a sharp photo (2 of 24 sharp "
            "384 px training crops deconvolved into streaks; BENCHMARKS.md, 'The deblurring tools on "
            "sharp photos'): call it on motion-blurred photos only."
        ),
        version="5",  # 2: the no-blur check; 3: its stricter ratio (0.6); 4: line or general kernel; 5: the line check
        fallback="shake_deblur_pnp",
        tiling=False,
        cpu_seconds_512=0.56,
        reference=_MOTION_REF + "; deconvolution: Wiener 1949 / Tikhonov",
        arguments=_MOTION_ARGS,
    )


@register
class MotionDeblurHQS(_MotionMixin, _Deblur):
    card = ToolCard(
        id="motion_deblur_hqs",
        task="motion_deblur",
        description=(
            "Blind motion deblurring: same kernel estimate as motion_deblur_wiener, then "
            "plug-and-play half-quadratic splitting with a total-variation denoiser prior "
            "(fewer ringing and noise artefacts, slower).  Returns the image unchanged unless a "
            "line kernel explains the spectrum clearly better than no blur (misfit ratio below 0.6), "
            "and when a general kernel estimated blind explains it much better still and is not a "
            "line, or when irpilot's line check (a small network reading the spectrum) calls the blur "
            "camera shake.  "
            "Fitted to the benchmark protocol's one-sided line kernel: camera shake needs shake_deblur_pnp, "
            "which the agent runs when this tool returns the image unchanged (its fallback).  "
            "Periodic texture and water ripples can pass the check on a sharp photo (2 of 24 sharp "
            "384 px training crops deconvolved into streaks; BENCHMARKS.md, 'The deblurring tools on "
            "sharp photos'): call it on motion-blurred photos only."
        ),
        version="5",  # 2: the no-blur check; 3: its stricter ratio (0.6); 4: line or general kernel; 5: the line check
        fallback="shake_deblur_pnp",
        tiling=False,
        cpu_seconds_512=2.5,
        reference=_MOTION_REF + "; Geman & Yang 1995 half-quadratic splitting; Chambolle 2004 TV",
        arguments=_MOTION_ARGS,
    )

    _base_lam = 3e-3

    def _deconv(self, img: np.ndarray, k: np.ndarray, lam: float, sigma: float) -> np.ndarray:
        return deconv_hqs_tv(img, k, lam, tv_weight=0.02 + 2.0 * max(0.0, sigma - 2.0 / 255.0))


_DEFOCUS_FITTED = (
    "The kernel is fitted over a family: the protocol's disk in sRGB (kept whenever it fits "
    "within 1.5 x the best member, so the protocol's blur is deblurred exactly as by version 2), "
    "and Gaussian, disk and lens-like (bright rim, soft edge) kernels of radius 1-8 px in sRGB or "
    "in linear light (irpilot's real_defocus_blur), the smallest of the near-best fits taken.  "
    "When no kernel explains the whole frame (defocus varying with depth), 96 px tiles are fitted "
    "and deconvolved one by one, the others left as they are; unchanged when none fits, and then "
    "the agent runs motion_deblur_hqs (its fallback, whose own fallback is shake_deblur_pnp: a "
    "motion blur or camera shake that reads as defocus) where perception reads defocus blur.  "
)
_DEFOCUS_MEASURED = (
    "Measured on 16 crops of 224 px of training photos (BENCHMARKS.md, 'Defocus beyond the "
    "protocol's disk', seed 21): {protocol} dB on the protocol's disk blur (as version 2); "
    "real_defocus_blur alone {real} dB, 0 of 16 worse (version 2: {old}); after FFDNet on "
    "real_defocus_blur + real_noise it rarely acts ({noise} dB)."
)
@register
class DefocusDeblurWiener(_DefocusMixin, _Deblur):
    _base_lam = 6e-3
    card = ToolCard(
        id="defocus_deblur_wiener",
        task="defocus_deblur",
        description=(
            "Blind defocus deblurring: estimates the defocus kernel from the radial power spectrum, "
            "then deconvolves with a gradient-regularised Wiener filter (fast).  " + _DEFOCUS_FITTED
            + _DEFOCUS_MEASURED.format(protocol="+3.49", real="+1.70", old="+0.90, 1 worse", noise="+0.01")
        ),
        version="3",  # the kernel family (Gaussian, lens, linear light) and tiles
        fallback="motion_deblur_hqs",
        tiling=False,
        cpu_seconds_512=0.21,
        reference="Kernel-family fit of the radial spectrum (irpilot); Wiener / Tikhonov deconvolution",
        arguments=_DEFOCUS_ARGS,
    )


@register
class DefocusDeblurHQS(_DefocusMixin, _Deblur):
    card = ToolCard(
        id="defocus_deblur_hqs",
        task="defocus_deblur",
        description=(
            "Blind defocus deblurring: kernel as in defocus_deblur_wiener, then plug-and-play "
            "half-quadratic splitting with a total-variation prior (cleaner, slower).  " + _DEFOCUS_FITTED
            + _DEFOCUS_MEASURED.format(protocol="+5.05", real="+2.42", old="+0.78, 2 worse", noise="+0.02")
        ),
        version="3",  # the kernel family (Gaussian, lens, linear light) and tiles
        fallback="motion_deblur_hqs",
        tiling=False,
        cpu_seconds_512=2.1,
        reference="Kernel-family fit of the radial spectrum (irpilot); Geman & Yang 1995 "
        "half-quadratic splitting; Chambolle 2004 TV",
        arguments=_DEFOCUS_ARGS,
    )

    _base_lam = 3e-3
    _real_lam_scale = 2.0

    def _deconv(self, img: np.ndarray, k: np.ndarray, lam: float, sigma: float) -> np.ndarray:
        return deconv_hqs_tv(img, k, lam, tv_weight=0.02 + 2.0 * max(0.0, sigma - 2.0 / 255.0))
