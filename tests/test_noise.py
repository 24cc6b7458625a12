"""irpilot.noise's correlated-noise reading (``multiscale_sigma``, FFDNet's level): white noise
and clean photos read as the patch-PCA estimate does; noise spread over neighbouring pixels,
which the full-size estimate reads as almost nothing, is seen at half size."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from irpilot.io import from_uint8
from irpilot.noise import METHODS, estimate_noise_sigma, flat_block_sigma, grain_sigma, half_size, multiscale_sigma

PHOTOS = [("astronaut", 20, 150), ("chelsea", 50, 150), ("coffee", 150, 250)]


def _photo(name: str, y: int, x: int, size: int = 128) -> np.ndarray:
    import skimage.data

    return from_uint8(np.ascontiguousarray(getattr(skimage.data, name)()[y : y + size, x : x + size]))


def _correlated(shape: tuple[int, ...], std: float, seed: int = 0) -> np.ndarray:
    """Gaussian noise blurred over about one pixel (no fine grain left), scaled to ``std`` / 255."""
    n = gaussian_filter(np.random.default_rng(seed).normal(0, 1, shape), (0, 1.0, 1.0))
    return (n * (std / 255) / n.std()).astype(np.float32)


@pytest.mark.parametrize("name,y,x", PHOTOS)
def test_white_noise_reads_as_the_pca_estimate(name: str, y: int, x: int) -> None:
    img = _photo(name, y, x)
    for sigma in (15, 25):
        noisy = np.clip(img + np.random.default_rng(sigma).normal(0, sigma / 255, img.shape), 0, 1).astype(np.float32)
        assert multiscale_sigma(noisy) == estimate_noise_sigma(noisy)
        assert grain_sigma(noisy) == 0.0  # white noise is not grain
        assert abs(multiscale_sigma(noisy) - sigma) <= 0.2 * sigma
    assert multiscale_sigma(img) == estimate_noise_sigma(img) < 8  # a clean photo: no correlated reading


@pytest.mark.parametrize("name,y,x", PHOTOS)
def test_correlated_noise_is_seen_at_half_size(name: str, y: int, x: int) -> None:
    smooth = gaussian_filter(_photo(name, y, x), (0, 1, 1)).astype(np.float32)  # fine detail gone, as after JPEG
    noisy = smooth + _correlated(smooth.shape, 12.0)
    assert estimate_noise_sigma(noisy) < 1.0  # the full-size estimate misses it
    assert 12.0 <= multiscale_sigma(noisy) <= 30.0
    assert estimate_noise_sigma(noisy, method="multiscale") == multiscale_sigma(noisy)
    assert multiscale_sigma(smooth) < 1.0  # without the noise, nothing is read
    assert grain_sigma(noisy) == multiscale_sigma(noisy) and grain_sigma(smooth) == 0.0


def test_flat_blocks_read_white_noise_and_skip_clipped_blocks() -> None:
    rng = np.random.default_rng(3)
    grey = np.full((3, 96, 96), 0.5, np.float32)
    assert flat_block_sigma(grey + rng.normal(0, 20 / 255, grey.shape).astype(np.float32)) == pytest.approx(20, rel=0.15)
    half_black = grey.copy()
    half_black[:, :, :48] = 0.0
    noisy = np.clip(half_black + rng.normal(0, 20 / 255, grey.shape), 0, 1).astype(np.float32)
    assert flat_block_sigma(noisy) == pytest.approx(20, rel=0.15)  # the clipped black half is left out


def test_small_images_and_half_size() -> None:
    tiny = np.random.default_rng(0).random((3, 40, 40)).astype(np.float32)
    assert multiscale_sigma(tiny) == estimate_noise_sigma(tiny)  # too small for the half-size reading
    assert half_size(np.ones((3, 9, 7), np.float32)).shape == (3, 4, 3)
    assert "multiscale" in METHODS


def test_sampled_patches_are_those_of_the_full_copy() -> None:
    """The patch PCA copies only the patches it samples; they are the ones (same draw, same
    order) that choosing from a copy of every patch gives, so readings do not depend on it."""
    from irpilot.noise import _patches

    channel = np.random.default_rng(0).random((61, 83)).astype(np.float32)
    full = np.lib.stride_tricks.sliding_window_view(channel, (7, 7)).reshape(-1, 49).astype(np.float64)
    for max_patches in (100, 3000, full.shape[0], 10**6):
        got = _patches(channel, 7, max_patches, np.random.default_rng(5))
        rng = np.random.default_rng(5)
        want = full[rng.choice(full.shape[0], max_patches, replace=False)] if full.shape[0] > max_patches else full
        assert got.dtype == np.float64 and np.array_equal(got, want)
