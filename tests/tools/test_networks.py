"""Pretrained-network tools: every one loads its real weights, runs on a small crop, keeps the
output contract, and measurably restores its degradation.

Needs the third-party weights directory (``settings.weights_dir``); skipped cleanly without it.
Crops come from scikit-image's bundled photos (never from the benchmark test sets).
"""

from __future__ import annotations

import numpy as np
import pytest

from irpilot.config import settings
from irpilot.io import from_uint8, to_uint8
from irpilot.tools import TOOLS, get_tool

pytestmark = pytest.mark.weights

NETWORK_TOOLS = (
    "dncnn_color_blind",
    "dncnn_gray_blind",
    "dncnn_kair_s25",
    "ffdnet_color",
    "dncnn3_dejpeg",
    "dncnn3_sr_x4",
    "fsrcnn_x4",
    "espcn_x4",
    "lapsrn_x4",
    "sci_easy",
    "sci_medium",
    "sci_difficult",
    "ruas_lol",
    "zero_dce",
    "zero_dce_pp",
    "aod_net",
    "prenet_rain100h",
    "prenet_rain100l",
    "prenet_real",
)


def _need(tool_id: str):
    if not settings.weights_dir.is_dir():
        pytest.skip(f"weights directory {settings.weights_dir} absent")
    cls = TOOLS.get(tool_id)
    reason = cls.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return get_tool(tool_id, device="cpu")


def _photo(name: str, y: int, x: int, size: int) -> np.ndarray:
    import skimage.data

    arr = getattr(skimage.data, name)()
    return from_uint8(np.ascontiguousarray(arr[y : y + size, x : x + size]))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def luma(img: np.ndarray) -> np.ndarray:
    return 0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    return _photo("astronaut", 40, 180, 96)


@pytest.fixture(autouse=True, scope="module")
def _few_threads():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _gaussian(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0.0, sigma / 255.0, img.shape), 0, 1).astype(np.float32)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, buf = cv2.imencode(".jpg", to_uint8(img)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return from_uint8(np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]))


def _downscale4(img: np.ndarray) -> np.ndarray:
    import cv2

    hwc = to_uint8(img)
    h, w = hwc.shape[:2]
    return from_uint8(cv2.resize(hwc, (w // 4, h // 4), interpolation=cv2.INTER_AREA))


# -- contract: every tool loads and runs ------------------------------------------------
@pytest.mark.parametrize("tool_id", NETWORK_TOOLS)
def test_network_runs_and_keeps_contract(tool_id: str) -> None:
    tool = _need(tool_id)
    img = _photo("coffee", 100, 200, 40)[:, :, :37]  # odd width exercises padding
    out = tool(img)
    s = tool.card.scale
    assert out.shape == (3, 40 * s, 37 * s)
    assert out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    card = tool.card
    assert card.kind == "network" and card.weights and card.weights_license
    assert all(w.sha256 and w.url.startswith("https://") for w in card.weights)


@pytest.mark.parametrize("tool_id", ["dncnn_color_blind", "ffdnet_color", "dncnn3_sr_x4", "zero_dce"])
def test_tiled_run_matches_whole_image(tool_id: str) -> None:
    tool = _need(tool_id)
    size = 112 if tool.card.scale == 1 else 48
    img = _gaussian(_photo("chelsea", 60, 120, size)[:, :, : size - 8], 15, seed=3)
    args = {"sigma": 15} if tool_id == "ffdnet_color" else {}
    whole = tool(img, tile=0, **args)
    tiled = tool(img, tile=tool.card.tile_overlap + 32, **args)  # 2x2 or 3x3 tiles
    assert np.mean(np.abs(whole - tiled)) < 0.005


@pytest.mark.parametrize("tool_id", ["dncnn3_sr_x4", "ffdnet_color", "prenet_rain100l", "zero_dce"])
def test_channels_last_layout_gives_the_nchw_output(tool_id: str) -> None:
    import torch

    tool = _need(tool_id)
    tool = get_tool(tool_id, device="cpu", precision="float32")
    nchw = get_tool(tool_id, device="cpu", channels_last=False, precision="float32")
    size = 64 if tool.card.scale == 1 else 24
    img = _gaussian(_photo("astronaut", 100, 180, size), 15, seed=4)
    out, ref = tool(img), nchw(img)
    assert tool.model is not nchw.model
    conv = next(m for m in tool.model.modules() if isinstance(m, torch.nn.Conv2d) and m.in_channels > 1)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert out.flags.c_contiguous and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-4)


@pytest.mark.parametrize("tool_id", ["dncnn_color_blind", "ffdnet_color", "prenet_rain100l", "zero_dce"])
def test_bfloat16_runs_the_convolutions_in_bfloat16_and_agrees_with_float32(tool_id: str) -> None:
    import torch

    _need(tool_id)
    f32 = get_tool(tool_id, device="cpu", precision="float32")
    b16 = get_tool(tool_id, device="cpu", precision="bfloat16")
    assert (f32.dtype, b16.dtype) == ("float32", "bfloat16")
    img = _gaussian(_photo("astronaut", 100, 180, 64), 15, seed=5)
    ref = f32(img)
    b16.ensure_setup()
    seen: list[torch.dtype] = []
    conv = next(m for m in b16.model.modules() if isinstance(m, torch.nn.Conv2d))
    handle = conv.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    try:
        out = b16(img)
    finally:
        handle.remove()
    assert seen and set(seen) == {torch.bfloat16}
    assert out.dtype == np.float32 and out.shape == ref.shape
    assert not np.array_equal(out, ref)
    assert psnr(out, ref) > 40.0  # rounding, far below what the tool changes


# -- quality: each tool restores its degradation -----------------------------------------
def test_cdncnn_gains_4db_on_sigma25(crop: np.ndarray) -> None:
    tool = _need("dncnn_color_blind")
    noisy = _gaussian(crop, 25)
    assert psnr(tool(noisy), crop) >= psnr(noisy, crop) + 4.0


@pytest.mark.parametrize("tool_id", ["dncnn_gray_blind", "dncnn_kair_s25"])
def test_grey_dncnn_denoises_colour_noise(tool_id: str, crop: np.ndarray) -> None:
    tool = _need(tool_id)
    noisy = _gaussian(crop, 25, seed=1)
    assert psnr(tool(noisy), crop) >= psnr(noisy, crop) + 4.0
    # luma-only leaves chroma noise: per-channel must be the better default
    assert psnr(tool(noisy), crop) > psnr(tool(noisy, mode="luma"), crop)


def test_ffdnet_blind_and_given_sigma(crop: np.ndarray) -> None:
    tool = _need("ffdnet_color")
    noisy = _gaussian(crop, 30, seed=2)
    base = psnr(noisy, crop)
    assert psnr(tool(noisy, sigma=30), crop) >= base + 4.0
    assert psnr(tool(noisy), crop) >= base + 4.0  # sigma estimated
    # a far too small level barely denoises
    assert psnr(tool(noisy, sigma=2), crop) < psnr(tool(noisy, sigma=30), crop) - 2.0


def test_ffdnet_removes_the_grain_left_after_dejpeg() -> None:
    """Noise -> JPEG -> dncnn3_dejpeg leaves correlated grain that the full-size estimate reads
    as about 1; FFDNet's own level (version 2) sees it and restores 1.3-1.6 dB more."""
    from irpilot.noise import estimate_noise_sigma

    tool, dejpeg = _need("ffdnet_color"), _need("dncnn3_dejpeg")
    assert tool.card.version == "2"
    img = _photo("chelsea", 50, 150, 128)
    x = dejpeg(_jpeg(_gaussian(img, 25, seed=0), 20))
    fine = estimate_noise_sigma(x)
    assert fine < 3.0
    assert psnr(tool(x), img) >= psnr(tool(x, sigma=fine), img) + 1.0


def test_cdncnn_grain_check_removes_the_grain_left_after_dejpeg(crop: np.ndarray) -> None:
    """Version 2 runs FFDNet after CDnCNN-B when correlated grain remains (noise -> JPEG ->
    dncnn3_dejpeg), and leaves white Gaussian noise to CDnCNN-B alone."""
    tool, dejpeg = _need("dncnn_color_blind"), _need("dncnn3_dejpeg")
    _need("ffdnet_color")
    assert tool.card.version == "2"
    img = _photo("chelsea", 50, 150, 128)
    x = dejpeg(_jpeg(_gaussian(img, 25, seed=0), 20))
    assert psnr(tool(x), img) >= psnr(tool(x, grain=False), img) + 1.0
    for name, y, x in (("astronaut", 40, 180), ("coffee", 150, 250)):
        noisy = _gaussian(_photo(name, y, x, 192), 25)
        assert np.array_equal(tool(noisy), tool(noisy, grain=False))
    small = _gaussian(crop, 25)  # 96 px: too small for the half-size reading, never checked
    assert np.array_equal(tool(small), tool(small, grain=False))


def test_dncnn3_improves_jpeg_q20(crop: np.ndarray) -> None:
    tool = _need("dncnn3_dejpeg")
    lq = _jpeg(crop, 20)
    assert psnr(tool(lq), crop) >= psnr(lq, crop) + 0.3


def test_dncnn3_ycbcr420_mode_restores_chroma_at_half_size(crop: np.ndarray) -> None:
    """``ycbcr420``: luma as in ``luma`` mode, chroma through the network at half size; odd
    sizes come back whole, and the JPEG artefacts of chroma are reduced too."""
    tool = _need("dncnn3_dejpeg")
    lq = _jpeg(crop, 20)
    half = tool(lq, mode="ycbcr420")
    assert half.shape == lq.shape and np.isfinite(half).all()
    assert psnr(half, crop) >= psnr(lq, crop) + 0.3
    assert not np.allclose(half, tool(lq, mode="luma"), atol=1e-3)  # chroma changed as well
    odd = lq[:, :77, :61]
    assert tool(odd, mode="ycbcr420").shape == odd.shape
    with pytest.raises(Exception, match="ycbcr420"):
        tool(lq, mode="rgb")


def test_dncnn3_sr_beats_bicubic(crop: np.ndarray) -> None:
    from irpilot.tools.networks.dncnn import bicubic_upscale

    tool = _need("dncnn3_sr_x4")
    lr = _downscale4(crop)
    bic = bicubic_upscale(lr, 4)
    assert psnr(luma(tool(lr)), luma(crop)) > psnr(luma(bic), luma(crop)) + 0.2


@pytest.mark.parametrize("tool_id", ["fsrcnn_x4", "espcn_x4", "lapsrn_x4"])
def test_opencv_sr_beats_bicubic_on_luma(tool_id: str) -> None:
    import cv2

    tool = _need(tool_id)
    hr = _photo("astronaut", 20, 160, 128)
    # these graphs were trained on cv2 bicubic (non-antialiased) downscaling
    lr = from_uint8(cv2.resize(to_uint8(hr), (32, 32), interpolation=cv2.INTER_CUBIC))
    up = from_uint8(cv2.resize(to_uint8(lr), (128, 128), interpolation=cv2.INTER_CUBIC))
    inner = (slice(8, -8), slice(8, -8))
    assert psnr(luma(tool(lr))[inner], luma(hr)[inner]) > psnr(luma(up)[inner], luma(hr)[inner]) + 0.2


@pytest.mark.parametrize("tool_id", ["sci_easy", "sci_medium", "sci_difficult", "ruas_lol", "zero_dce", "zero_dce_pp"])
def test_low_light_brightens(tool_id: str, crop: np.ndarray) -> None:
    tool = _need(tool_id)
    dark = (crop**2.2 * 0.35).astype(np.float32)
    out = tool(dark)
    assert out.mean() > dark.mean() + 0.08
    assert np.corrcoef(luma(out).ravel(), luma(crop).ravel())[0, 1] > 0.8  # content kept


@pytest.mark.parametrize("tool_id", ["sci_easy", "zero_dce"])
def test_mild_low_light_tools_restore(tool_id: str, crop: np.ndarray) -> None:
    tool = _need(tool_id)
    dark = (crop**1.6 * 0.6).astype(np.float32)
    assert psnr(tool(dark), crop) > psnr(dark, crop) + 2.0


def test_aod_net_dehazes() -> None:
    tool = _need("aod_net")
    clean = _photo("coffee", 120, 200, 96)
    hazy = (clean * 0.55 + 0.9 * 0.45).astype(np.float32)  # transmission 0.55, airlight 0.9
    out = tool(hazy)
    assert out.mean() < hazy.mean() - 0.05  # darker
    assert out.std() > hazy.std() * 1.2  # more contrast
    assert psnr(out, clean) > psnr(hazy, clean) + 2.0


def _rainy(img: np.ndarray, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    seeds = (rng.random(img.shape[1:]) > 0.992).astype(np.float32)
    kernel = np.zeros((15, 15), np.float32)
    cv2.line(kernel, (9, 0), (5, 14), 1.0, 1)
    streaks = cv2.GaussianBlur(cv2.filter2D(seeds, -1, kernel), (3, 3), 0)
    streaks = 0.8 * streaks / max(float(streaks.max()), 1e-6)
    return np.clip(img + streaks[None], 0, 1).astype(np.float32)


@pytest.mark.parametrize("tool_id", ["prenet_rain100l", "prenet_real"])
def test_prenet_removes_streaks(tool_id: str, crop: np.ndarray) -> None:
    tool = _need(tool_id)
    rainy = _rainy(crop)
    assert psnr(tool(rainy), crop) > psnr(rainy, crop) + 2.0


def test_derain_cascade_runs_derain_net_on_prenets_output(crop: np.ndarray) -> None:
    """``derain_cascade`` is ``derain_net`` applied to ``prenet_rain100l``'s output, and takes
    streaks out of a rainy crop (+2 dB over it at least)."""
    prenet = _need("prenet_rain100l")
    cascade = _need("derain_cascade")
    rainy = _rainy(crop)
    by_prenet = prenet(rainy)
    out = cascade(rainy)
    np.testing.assert_allclose(out, get_tool("derain_net", device="cpu")(by_prenet), atol=1e-6)
    assert psnr(out, crop) > psnr(rainy, crop) + 2.0


# -- noise-level estimator ---------------------------------------------------------------
@pytest.mark.parametrize("sigma", [15, 25, 35, 50])
def test_noise_estimator_within_20_percent(sigma: float) -> None:
    from irpilot.noise import estimate_noise_sigma

    for k, (name, y, x) in enumerate([("astronaut", 40, 180), ("chelsea", 50, 150), ("coffee", 150, 250)]):
        img = _photo(name, y, x, 128)
        est = estimate_noise_sigma(_gaussian(img, sigma, seed=10 + k))
        assert abs(est - sigma) <= 0.2 * sigma, (name, sigma, est)


def test_every_noise_estimator_measures_unclipped_noise() -> None:
    """The estimators of irpilot.noise agree on an unclipped noisy photo (within 10 %)."""
    from irpilot.noise import METHODS, estimate_noise_sigma
    from irpilot.quality import get_metric

    img = _photo("astronaut", 40, 180, 128)
    noisy = (img + np.random.default_rng(1).normal(0, 25 / 255, img.shape)).astype(np.float32)
    for method in METHODS:
        assert abs(estimate_noise_sigma(noisy, method=method) - 25) <= 2.5, method
    clipped = np.clip(noisy, 0, 1)  # what a metric sees
    assert get_metric("noise_sigma")(clipped, None) == pytest.approx(estimate_noise_sigma(clipped, method="immerkaer"))
    with pytest.raises(ValueError, match="pca"):
        estimate_noise_sigma(noisy, method="median")


def test_noise_estimator_low_on_clean_smooth_image() -> None:
    from irpilot.noise import estimate_noise_sigma

    yy, xx = np.mgrid[0:96, 0:96] / 96.0
    img = np.stack([yy, xx, 0.5 * (yy + xx)]).astype(np.float32)
    assert estimate_noise_sigma(img) < 2.0


def test_bicubic_upscale_stays_in_range_at_edges():
    from irpilot.tools.networks.dncnn import bicubic_upscale

    step = np.zeros((1, 8, 8), np.float32)
    step[:, :, 4:] = 1.0  # Keys bicubic overshoots a hard edge by about 7 %
    up = bicubic_upscale(step, 4)
    assert up.shape == (1, 32, 32) and up.min() == 0.0 and up.max() == 1.0
