"""The Tool contract, checked on every registered tool (built-in, external and user tools).

For each available tool: output shape (x scale), float32, in [0, 1], finite; deterministic;
accepts grey (equal-channel) input, odd sizes and tiny inputs (the tool pads); and, when its
card allows tiling, tiled output stays close to untiled output.  Unavailable tools are
skipped with their reason.  Images are small natural crops; slow tools get smaller ones.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from irpilot.tools import TOOLS, Tool, get_tool, may_fall_back, task_of_tool

NAMES = TOOLS.names()

#: PSNR (dB) between tiled and untiled outputs below which tiling is considered broken
TILING_MIN_PSNR = 30.0


def _photo(h: int, w: int, scale: int = 1) -> np.ndarray:
    """A natural crop (scikit-image's astronaut photo), reduced by ``scale`` for SR inputs."""
    import cv2
    import skimage.data

    from irpilot.io import from_uint8

    base = from_uint8(skimage.data.astronaut())  # 512x512
    hh, ww = min(512, h * scale), min(512, w * scale)
    crop = base[:, 40 : 40 + hh, 100 : 100 + ww].transpose(1, 2, 0)
    crop = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA) if (hh, ww) != (h, w) else crop
    return np.ascontiguousarray(np.clip(crop, 0, 1).transpose(2, 0, 1), dtype=np.float32)


def _tool(name: str) -> Tool:
    cls = TOOLS.get(name)
    reason = cls.unavailable_reason()
    if reason:
        pytest.skip(f"{name} unavailable: {reason}")
    return get_tool(name)


_COSTS: dict[str, float] = {}


def _cost(tool: Tool) -> float:
    """Seconds per 512x512 image (SR: per 512x512 output): the card's figure, or, when the
    card has none, extrapolated from one timed run on a 32x32 (SR: 16x16) input.  Used only
    to pick test image sizes, never asserted."""
    card = tool.card
    if card.cpu_seconds_512:
        return float(card.cpu_seconds_512)
    if card.id not in _COSTS:
        side = 32 // card.scale if card.scale > 1 else 32
        img = _photo(side, side, card.scale)
        tool(img)  # weights load outside the timing
        t0 = time.perf_counter()
        tool(img)
        _COSTS[card.id] = (time.perf_counter() - t0) * (512 * 512) / (side * card.scale) ** 2
    return _COSTS[card.id]


def _check(tool: Tool, img: np.ndarray, out: np.ndarray) -> None:
    s = tool.card.scale
    assert out.shape == (3, img.shape[1] * s, img.shape[2] * s)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    assert out.min() >= 0.0 and out.max() <= 1.0


def _base_size(tool: Tool) -> tuple[int, int]:
    """Input size for the plain checks: 48x64 normally, 16x16 for very slow tools."""
    if tool.card.scale > 1:
        return (16, 20) if _cost(tool) > 5 else (24, 32)
    return (16, 16) if _cost(tool) > 5 else (48, 64)


@pytest.mark.parametrize("name", NAMES)
def test_card_is_consistent(name: str) -> None:
    cls = TOOLS.get(name)
    card = cls.card
    assert card.id == name
    assert (card.scale == 4) == (card.task == "super_resolution")
    assert card.kind in ("network", "classical")
    assert card.tile_size > 2 * card.tile_overlap or not card.tiling
    assert card.min_size >= 1 and card.multiple_of >= 1
    assert card.description
    assert task_of_tool(name) == card.task
    if card.fallback is not None:  # the agent's hand-over when the tool returns its input unchanged
        assert card.fallback != name and may_fall_back(card.task, task_of_tool(card.fallback))


def test_a_fallback_stays_within_its_task_or_the_deblurring_family() -> None:
    assert may_fall_back("dehaze", "dehaze")
    assert may_fall_back("defocus_deblur", "motion_deblur") and may_fall_back("motion_deblur", "defocus_deblur")
    assert not may_fall_back("dehaze", "low_light") and not may_fall_back("defocus_deblur", None)
    # a defocus kernel that fits nothing (motion blur or camera shake read as defocus) hands over to the
    # line kernel, which hands over to the general one
    assert {TOOLS.get(n).card.fallback for n in ("defocus_deblur_wiener", "defocus_deblur_hqs")} == {"motion_deblur_hqs"}
    assert TOOLS.get("motion_deblur_hqs").card.fallback == "shake_deblur_pnp"


def test_task_of_a_name_that_is_no_tool_is_none() -> None:
    assert task_of_tool("stop") is None and task_of_tool("no_such_tool") is None


def test_an_argument_its_card_rules_out_is_refused_before_the_tool_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value outside the card's ``enum`` or ``minimum`` / ``maximum`` is a clear ``ToolError``
    naming the allowed values, raised before any weights load (a missing network still says what
    is wrong with the argument); values inside, and an optional argument left unset, run."""
    from irpilot.errors import ToolError

    img = _photo(48, 48)
    with pytest.raises(ToolError, match=r"argument 'omega' must be from 0.5 to 1.0, got 1.5"):
        get_tool("dark_channel_prior")(img, omega=1.5)
    with pytest.raises(ToolError, match=r"argument 'target' must be from 0.2 to 0.7, got 0.1"):
        get_tool("gamma_auto")(img, target=0.1)
    cls = TOOLS.get("shake_deblur_pnp")
    monkeypatch.setattr(cls, "unavailable_reason", classmethod(lambda c: "weights missing (a stand-in)"))
    with pytest.raises(ToolError, match=r"argument 'space' must be one of 'auto', 'linear', 'srgb', got 'log'"):
        cls()(img, space="log")
    assert get_tool("dark_channel_prior")(img, omega=1.0).shape == img.shape
    assert get_tool("motion_deblur_wiener")(img, noise_sigma=None).shape == img.shape

@pytest.mark.parametrize("name", NAMES)
def test_output_contract_and_determinism(name: str) -> None:
    tool = _tool(name)
    img = _photo(*_base_size(tool))
    out1 = tool(img)
    _check(tool, img, out1)
    out2 = tool(img.copy())
    # equal up to float32 rounding (multithreaded FFT/BLAS may sum in a different order)
    np.testing.assert_allclose(out1, out2, rtol=0, atol=1e-6, err_msg=f"{name} is not deterministic")
    assert not np.shares_memory(out1, img)


@pytest.mark.parametrize("name", NAMES)
def test_grey_input(name: str) -> None:
    tool = _tool(name)
    img = _photo(*_base_size(tool))
    grey = np.repeat(img.mean(axis=0, keepdims=True), 3, axis=0).astype(np.float32)
    _check(tool, grey, tool(grey))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(37, 45), (9, 11)], ids=["odd_37x45", "small_9x11"])
def test_odd_and_small_sizes(name: str, size: tuple[int, int]) -> None:
    tool = _tool(name)
    h, w = size
    if _cost(tool) > 5 and h > 16:
        h, w = 17, 21  # still odd, cheaper
    img = _photo(h, w, tool.card.scale)
    _check(tool, img, tool(img))


#: MAXIM's six npm graphs come in two layouts: the 3-stage one (deblurring, denoising: 42,959 nodes,
#: 17,944 weight entries) and the 2-stage one (the other four: 27,809 nodes, 11,590 entries), run by
#: the same executor and tiled by the same code.  Tiling depends on the layout, not on the weights,
#: so each layout's tiling is checked on one graph: at 20-40 s a tool these are the slowest tests
TILED_LIKE = {
    "maxim_denoise": "maxim_deblur",
    "maxim_derain": "maxim_dehaze_outdoor",
    "maxim_dehaze_indoor": "maxim_dehaze_outdoor",
    "maxim_low_light": "maxim_dehaze_outdoor",
}


@pytest.mark.weights
@pytest.mark.parametrize("name", sorted(TILED_LIKE))
def test_graphs_tiled_alike_share_one_layout(name: str) -> None:
    """What :data:`TILED_LIKE` assumes: the graph has the same nodes, ops and wiring as the one
    whose tiling is checked; only the constants' values differ."""
    import json

    def layout(tool_name: str) -> list[tuple]:
        model = _tool(tool_name).card.weights[0].resolve()
        nodes = json.loads(model.read_text())["modelTopology"]["node"]
        return [(n["name"], n["op"], tuple(n.get("input", ()))) for n in nodes]

    assert layout(name) == layout(TILED_LIKE[name])


@pytest.mark.parametrize("name", NAMES)
def test_tiling_consistency(name: str) -> None:
    """Tiled (tile 128, the card's overlap) vs untiled on a 300x300 crop (smaller for slow
    tools; SR tools: a 76x76 input, tile 32)."""
    tool = _tool(name)
    card = tool.card
    if not card.tiling:
        pytest.skip(f"{name}: card says tiling is not supported")
    if name in TILED_LIKE:
        pytest.skip(f"{name}: the same graph layout as {TILED_LIKE[name]}, whose tiling is checked")
    cost = _cost(tool)
    if card.scale > 1:
        size, tile = (76, 32) if cost <= 3 else (64, 32)  # outputs 304x304 / 256x256
    elif cost <= 1:
        size, tile = 300, 128
    elif cost <= 5:
        size, tile = 200, 128
    else:
        size, tile = 128, 64
    tile = max(tile, 3 * card.tile_overlap)  # tiles must advance past their overlap
    size = max(size, tile + tile // 2)  # at least two tiles per side
    img = _photo(size, size, card.scale)
    tiled = tool(img, tile=tile)
    whole = tool(img, tile=0)
    _check(tool, img, tiled)
    mse = float(np.mean((tiled.astype(np.float64) - whole) ** 2))
    psnr = 99.0 if mse == 0 else 10 * np.log10(1.0 / mse)
    assert psnr >= TILING_MIN_PSNR, (
        f"{name}: tiled output (tile {tile}, overlap {card.tile_overlap}) differs from untiled: "
        f"PSNR {psnr:.1f} dB, max |diff| {np.abs(tiled - whole).max():.3f}; "
        "the tool uses global image statistics: set tiling=False on its card or make it tile-safe"
    )
