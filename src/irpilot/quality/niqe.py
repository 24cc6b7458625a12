"""NIQE, the "completely blind" natural image quality evaluator (Mittal, Soundararajan and
Bovik, IEEE SPL 2013), in numpy.

How it works: the luma is normalised locally (MSCN coefficients: subtract a 7x7 Gaussian
local mean, divide by the local standard deviation + 1); the image is cut into 96x96
blocks; in each block a generalised Gaussian is fitted to the MSCN values (shape, scale)
and asymmetric generalised Gaussians to the products of horizontally, vertically and
diagonally adjacent coefficients (shape, mean, left and right scale) - 18 features; the
same at half resolution (MATLAB bicubic) gives 36.  A multivariate Gaussian fitted to the
blocks of the test image is compared with one fitted to sharp blocks of pristine photos:

    NIQE = sqrt((mu_p - mu_d)^T pinv((S_p + S_d) / 2) (mu_p - mu_d))     (lower is better)

Two pristine models ship in ``irpilot/assets``:

- ``niqe`` (``niqe_irpilot.npz``): fitted by irpilot (:mod:`irpilot.train.niqe`) on
  training photos only (T91, CSet14, LIVE1, classic5, scikit-image's bundled photos).
- ``niqe_basicsr`` (``niqe_basicsr.npz``): the original authors' parameters as redistributed
  by BasicSR 1.4.2 (Apache-2.0; see ``assets/NOTICE.md``).

Small images (the crops search and RL score): with 96-px blocks an image under 192 px has
at most one to three blocks and NIQE becomes erratic, so images whose shorter side is under
192 px are cut into 32-px blocks (the features are distribution-shape fits, comparable across
block sizes; the pristine model keeps its 96-px blocks).  Measured on 36 random crops of
training photos, the share of crops where NIQE ranks clean < blurred (sigma 1.5) / clean <
noisy (sigma 15) / light blur < blur rose from 0.81 / 0.67 / 0.64 to 0.94 / 0.92 / 0.97 at
128 px and from 0.72 / 0.72 / 0.67 to 1.0 / 0.97 / 0.94 at 160 px.  Images under 32 px are
one block (their full extent); with a single block the test image's covariance is taken as
zero.  Flat regions
(all MSCN values of one sign or zero) are fitted as the degenerate distribution
(shape 0.2, scale 0), far from pristine statistics, so NIQE stays finite and large.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.special import gamma

from ..imaging.color import y_channel
from ..imaging.resize import imresize_bicubic
from .base import METRICS, Metric, MetricUnavailableError

__all__ = [
    "NIQE",
    "NIQEBasicSR",
    "NiqeModel",
    "gaussian_window",
    "mscn",
    "block_features",
    "niqe_features",
    "niqe_distance",
    "block_size",
    "load_niqe_model",
]

BLOCK = 96
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
_GAM = np.arange(0.2, 10.001, 0.001)
_R_GAM = gamma(2.0 / _GAM) ** 2 / (gamma(1.0 / _GAM) * gamma(3.0 / _GAM))


@lru_cache(maxsize=4)
def gaussian_window(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """Normalised 2-D Gaussian window (NIQE's 7x7, sigma 7/6)."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2.0 * sigma * sigma))
    return g / g.sum()


def mscn(y255: np.ndarray, window: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted contrast-normalised coefficients of a 0-255 luma image, and the local
    standard-deviation map (``sigma``) used for NIQE's block sharpness."""
    w = gaussian_window() if window is None else window
    mu = ndimage.convolve(y255, w, mode="nearest")
    var = ndimage.convolve(y255 * y255, w, mode="nearest") - mu * mu
    sigma = np.sqrt(np.abs(var))
    return (y255 - mu) / (sigma + 1.0), sigma


def _aggd(values: np.ndarray) -> tuple[float, float, float]:
    """Moment-matching fit of an asymmetric generalised Gaussian: (shape, left scale, right scale)."""
    v = values.ravel()
    neg, pos = v[v < 0], v[v > 0]
    if neg.size == 0 or pos.size == 0:
        return 0.2, 0.0, 0.0  # degenerate (flat) distribution
    left = np.sqrt(np.mean(neg * neg))
    right = np.sqrt(np.mean(pos * pos))
    g = left / right
    rhat = np.mean(np.abs(v)) ** 2 / np.mean(v * v)
    rnorm = rhat * (g**3 + 1.0) * (g + 1.0) / (g * g + 1.0) ** 2
    alpha = float(_GAM[np.argmin((_R_GAM - rnorm) ** 2)])
    k = np.sqrt(gamma(1.0 / alpha) / gamma(3.0 / alpha))
    return alpha, float(left * k), float(right * k)


def block_features(block: np.ndarray) -> list[float]:
    """The 18 NIQE features of one block of MSCN coefficients."""
    alpha, bl, br = _aggd(block)
    feats = [alpha, (bl + br) / 2.0]
    for shift in _SHIFTS:
        alpha, bl, br = _aggd(block * np.roll(block, shift, axis=(0, 1)))
        mean = (br - bl) * gamma(2.0 / alpha) / gamma(1.0 / alpha)
        feats.extend([alpha, mean, bl, br])
    return feats


SMALL_BLOCK = 32


def block_size(h: int, w: int) -> int:
    """NIQE block size for an image: the standard 96 px, or 32 px when the shorter side is
    under 192 px (see the module docstring)."""
    return BLOCK if min(h, w) >= 2 * BLOCK else SMALL_BLOCK


def _block_grid(h: int, w: int, block: int) -> tuple[int, int, int, int]:
    bh, bw = min(block, h), min(block, w)
    return bh, bw, h // bh, w // bw


def niqe_features(
    y255: np.ndarray, block: int = BLOCK, window: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Features (n_blocks, 36) of a 0-255 luma image, and each block's sharpness (mean local
    standard deviation at full scale), in block order (columns outer, rows inner)."""
    h, w = y255.shape
    bh, bw, nh, nw = _block_grid(h, w, block)
    img = y255[: nh * bh, : nw * bw].astype(np.float64)
    per_scale = []
    sharp = np.zeros(nh * nw)
    for scale in (1, 2):
        coeffs, sigma = mscn(img, window)
        sh, sw = max(1, bh // scale), max(1, bw // scale)
        feats = []
        for j in range(nw):
            for i in range(nh):
                feats.append(block_features(coeffs[i * sh : (i + 1) * sh, j * sw : (j + 1) * sw]))
                if scale == 1:
                    sharp[j * nh + i] = sigma[i * bh : (i + 1) * bh, j * bw : (j + 1) * bw].mean()
        per_scale.append(np.asarray(feats))
        if scale == 1:
            img = imresize_bicubic(img / 255.0, 0.5) * 255.0
    return np.concatenate(per_scale, axis=1), sharp


def niqe_distance(features: np.ndarray, mu: np.ndarray, cov: np.ndarray) -> float:
    """The NIQE distance between the test image's block features and a pristine model."""
    feats = features[~np.isnan(features).any(axis=1)]
    if feats.shape[0] == 0:
        feats = np.nan_to_num(features)
    mu_d = feats.mean(axis=0)
    cov_d = np.cov(feats, rowvar=False) if feats.shape[0] > 1 else np.zeros_like(cov)
    diff = (mu.ravel() - mu_d)[None]
    inv = np.linalg.pinv((cov + cov_d) / 2.0)
    return float(np.sqrt(max(0.0, float((diff @ inv @ diff.T).squeeze()))))


class NiqeModel:
    """A pristine multivariate Gaussian: mean (36,), covariance (36, 36), MSCN window."""

    def __init__(self, mu: np.ndarray, cov: np.ndarray, window: np.ndarray | None = None, **meta: Any) -> None:
        self.mu = np.asarray(mu, dtype=np.float64).ravel()
        self.cov = np.asarray(cov, dtype=np.float64)
        self.window = gaussian_window() if window is None else np.asarray(window, dtype=np.float64)
        self.meta = meta
        if self.mu.shape != (36,) or self.cov.shape != (36, 36):
            raise ValueError(f"NIQE model needs mu (36,) and cov (36, 36), got {self.mu.shape}, {self.cov.shape}")

    def __call__(self, img: np.ndarray) -> float:
        """NIQE of a canonical image (float32 (3, H, W) in [0, 1]), on its rounded 0-255 Y channel."""
        y255 = np.round(y_channel(img) * 255.0)
        feats, _ = niqe_features(y255, block_size(*y255.shape), self.window)
        return niqe_distance(feats, self.mu, self.cov)

    def save(self, path: str | Path) -> None:
        arrays = {"mu": self.mu, "cov": self.cov, "window": self.window, **{k: np.asarray(v) for k, v in self.meta.items()}}
        np.savez(path, **arrays)  # pyright: ignore[reportArgumentType] - numpy's stub reads the keys as its own options


def _asset(name: str) -> Path:
    return Path(str(resources.files("irpilot") / "assets" / name))


def load_niqe_model(path: str | Path) -> NiqeModel:
    """Load NIQE parameters from an npz (irpilot's keys ``mu``/``cov``/``window`` or BasicSR's
    ``mu_pris_param``/``cov_pris_param``/``gaussian_window``)."""
    with np.load(path, allow_pickle=False) as data:
        if "mu" in data:
            meta = {k: data[k] for k in data.files if k not in ("mu", "cov", "window")}
            return NiqeModel(data["mu"], data["cov"], data["window"] if "window" in data else None, **meta)
        return NiqeModel(data["mu_pris_param"], data["cov_pris_param"], data.get("gaussian_window"))


@METRICS.register()
class NIQE(Metric):
    name = "niqe"
    kind = "no_reference"
    higher_is_better = False
    needs_reference = False
    range = (2.0, 20.0)
    description = "NIQE with irpilot's pristine model (fitted on training photos only; lower is better)"
    asset = "niqe_irpilot.npz"

    def __init__(self) -> None:
        super().__init__()
        self.model: NiqeModel | None = None

    def check_available(self) -> None:
        if not _asset(self.asset).is_file():
            raise MetricUnavailableError(
                f"NIQE parameters {self.asset} are missing from irpilot/assets; "
                "refit them with: irpilot train niqe"
            )

    def setup(self) -> None:
        self.model = load_niqe_model(_asset(self.asset))

    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        assert self.model is not None
        return self.model(img)


@METRICS.register()
class NIQEBasicSR(NIQE):
    name = "niqe_basicsr"
    licence = "Apache-2.0 (parameters from BasicSR 1.4.2; irpilot's implementation)"
    description = "NIQE with the original pristine parameters as shipped by BasicSR (lower is better)"
    asset = "niqe_basicsr.npz"
