"""The pixel helpers (:mod:`irpilot.imaging`): conversions, colour spaces, resizing, the dark
channel, the blocking measures and the bundled photos."""

from __future__ import annotations

import numpy as np
import pytest

from irpilot.imaging import (
    as_image,
    bundled_photo,
    dark_channel,
    from_uint8,
    imresize_bicubic,
    luma,
    on_8bit_grid,
    rgb_to_ycbcr,
    to_uint8,
    ycbcr_to_rgb,
)
from irpilot.imaging.blocks import boundary_step_ratio, grid_peak_log_ratio, grid_peak_to_median


def _photo(size: int = 128) -> np.ndarray:
    """A crop of scikit-image's astronaut photo (a training photo, bundled offline)."""
    return bundled_photo("astronaut")[:, 80 : 80 + size, 150 : 150 + size]


def test_uint8_round_trip_and_the_8bit_grid():
    img = np.random.default_rng(0).random((3, 9, 7), dtype=np.float32)
    u8 = to_uint8(img)
    assert u8.shape == (9, 7, 3) and u8.dtype == np.uint8
    assert np.array_equal(to_uint8(from_uint8(u8)), u8)
    grid = on_8bit_grid(img)
    assert np.allclose(grid * 255, np.round(grid * 255), atol=1e-3)
    assert np.abs(grid - img).max() <= 0.5 / 255 + 1e-6
    assert as_image(u8).shape == (3, 9, 7)


@pytest.mark.parametrize("studio", [False, True])
def test_ycbcr_round_trip(studio):
    img = np.random.default_rng(1).random((3, 16, 12), dtype=np.float32)
    ycc = rgb_to_ycbcr(img, studio=studio)
    assert ycc.dtype == np.float32 and np.allclose(ycc[0], luma(img) * (219 / 255 if studio else 1) + (16 / 255 if studio else 0), atol=1e-5)
    assert np.abs(ycbcr_to_rgb(ycc, studio=studio) - img).max() < 1e-5


def test_luma_dtype_and_weights():
    img = np.stack([np.full((2, 2), v, np.float32) for v in (1.0, 0.0, 0.0)])
    assert luma(img).dtype == np.float32 and luma(img, np.float64).dtype == np.float64
    assert float(luma(img)[0, 0]) == pytest.approx(0.299)


def test_dark_channel_fits_small_images_on_request():
    img = np.ones((3, 6, 40), np.float32)
    img[2, 0, 0] = 0.1
    assert float(dark_channel(img, 15)[0, 39]) == 1.0  # far from (0, 0)
    assert float(dark_channel(img, 15)[0, 0]) == pytest.approx(0.1)
    fit = dark_channel(img, 15, fit=True)  # a 6 x 6 window on a 6-pixel-high image
    assert float(fit[2, 2]) == pytest.approx(0.1) and float(fit[0, 10]) == 1.0
    assert float(dark_channel(img, 15)[0, 7]) == pytest.approx(0.1)  # the 15 px window reaches (0, 0)


def test_resize_keeps_a_floating_dtype_and_the_size_rule():
    x = np.ones((3, 10, 9), np.float32)
    assert imresize_bicubic(x, 0.25).shape == (3, 3, 3) and imresize_bicubic(x, 0.25).dtype == np.float32
    assert imresize_bicubic(x.astype(np.float64), size=(4, 5)).shape == (3, 4, 5)
    with pytest.raises(ValueError, match="positive"):
        imresize_bicubic(x, size=(0, 4))


def test_blocking_measures_see_jpeg():
    from irpilot.degrade.base import get_degradation

    clean = _photo(128)
    jpeg = get_degradation("jpeg")
    compressed = jpeg.apply(clean, {**jpeg.sample(np.random.default_rng(0), "extreme"), "quality": 10})
    assert boundary_step_ratio(compressed) > boundary_step_ratio(clean) + 0.1
    y0, y1 = (np.abs(np.diff(luma(im), axis=a)) for im in (clean,) for a in (1, 0))
    z0, z1 = (np.abs(np.diff(luma(im), axis=a)) for im in (compressed,) for a in (1, 0))
    assert sum(grid_peak_to_median(z0, z1)) > sum(grid_peak_to_median(y0, y1))
    assert grid_peak_to_median(z0[:, :10], z1) is None  # too few steps to see the grid


def test_grid_peak_log_ratio_sees_jpeg_without_knowing_the_grid():
    from irpilot.degrade.base import get_degradation

    clean = _photo(128)
    jpeg = get_degradation("jpeg")
    compressed = jpeg.apply(clean, {**jpeg.sample(np.random.default_rng(0), "extreme"), "quality": 10})
    assert grid_peak_log_ratio(compressed) > grid_peak_log_ratio(clean) + 0.1
    assert grid_peak_log_ratio(compressed[:, 3:, 5:]) > grid_peak_log_ratio(clean[:, 3:, 5:]) + 0.1  # grid phase unknown
    assert grid_peak_log_ratio(np.zeros((3, 10, 10), np.float32)) == 0.0  # too small to tell


def test_bundled_photo_names_the_known_ones():
    assert bundled_photo("astronaut").shape == (3, 512, 512)
    with pytest.raises(KeyError, match="astronaut"):
        bundled_photo("no_such_photo")


def test_srgb_linear_round_trip_and_dtypes():
    from irpilot.imaging.color import linear_to_srgb, srgb_to_linear

    x = np.linspace(0.0, 1.0, 257, dtype=np.float32)
    assert np.abs(linear_to_srgb(srgb_to_linear(x)) - x).max() < 1e-5
    assert srgb_to_linear(np.float32(0.5)) < 0.25  # mid-grey is dark in linear light
    # computed in the input's dtype: the degradations' float64 stays float64, a tool's float32 float32
    assert srgb_to_linear(x.astype(np.float64)).dtype == np.float64
    assert linear_to_srgb(x).dtype == np.float32
    assert srgb_to_linear(x.astype(np.float64), np.float32).dtype == np.float32
    assert np.array_equal(srgb_to_linear(np.array([-0.5, 2.0])), [0.0, 1.0])  # clipped first
