"""Full-reference scoring used by expert search and training bookkeeping.

The expert's scalar is explicit and simple so search results are easy to read:
``score = (PSNR_out - PSNR_in) + ssim_weight * (SSIM_out - SSIM_in) - call_cost * n_calls``
(delta-PSNR dominant, one unit = 1 dB).  A sequence that makes the image worse than the
input loses to doing nothing (``stop`` scores 0).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["ExpertScore", "fidelity", "psnr"]


def psnr(img: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((img.astype(np.float64) - ref.astype(np.float64)) ** 2))
    return 100.0 if mse <= 1e-12 else 10.0 * np.log10(1.0 / mse)


def fidelity(img: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """``(psnr, ssim)`` of ``img`` against ``ref`` (a 1/4-size image is upscaled x4 bicubic first)."""
    from skimage.metrics import structural_similarity

    from ..quality import align_to_reference

    img = align_to_reference(img, ref)
    return psnr(img, ref), float(structural_similarity(img, ref, channel_axis=0, data_range=1.0))


@dataclasses.dataclass(frozen=True)
class ExpertScore:
    """The expert search's scalar reward (see module docstring)."""

    ssim_weight: float = 5.0
    call_cost: float = 0.1

    def __call__(self, base: tuple[float, float], out: tuple[float, float], n_calls: int) -> float:
        return (out[0] - base[0]) + self.ssim_weight * (out[1] - base[1]) - self.call_cost * n_calls
