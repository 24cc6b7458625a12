"""Pixel helpers shared by every part of irpilot: conversions (:mod:`.convert`), colour
spaces (:mod:`.color`), MATLAB-style resizing (:mod:`.resize`), windowed minimum and dark
channel (:mod:`.filters`), JPEG blocking measures (:mod:`.blocks`) and scikit-image's bundled
photos (:mod:`.photos`).

Images are float32 RGB (3, H, W) in [0, 1].  Importing this package is cheap (numpy only;
OpenCV and scikit-image are imported inside the functions that need them).
"""

from __future__ import annotations

from .blocks import boundary_step_ratio, grid_peak_log_ratio, grid_peak_to_median
from .color import luma, rgb_to_ycbcr, y_channel, ycbcr_to_rgb
from .convert import as_image, from_uint8, on_8bit_grid, quantize, to_chw, to_float_rgb, to_hwc, to_uint8
from .filters import dark_channel, min_filter
from .photos import SKIMAGE_PHOTOS, bundled_photo
from .resize import imresize, imresize_bicubic, imresize_u8, upscale_to

__all__ = [
    "as_image",
    "to_float_rgb",
    "to_uint8",
    "from_uint8",
    "on_8bit_grid",
    "quantize",
    "to_hwc",
    "to_chw",
    "luma",
    "y_channel",
    "rgb_to_ycbcr",
    "ycbcr_to_rgb",
    "imresize",
    "imresize_bicubic",
    "imresize_u8",
    "upscale_to",
    "min_filter",
    "dark_channel",
    "boundary_step_ratio",
    "grid_peak_log_ratio",
    "grid_peak_to_median",
    "SKIMAGE_PHOTOS",
    "bundled_photo",
]
