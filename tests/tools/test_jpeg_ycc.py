"""The colour JPEG tool ``jpeg_ycc_net``: its chroma network, the packaged safetensors weights,
block-aligned tiling, the tool on a JPEG crop of a training photo, and ``irpilot train dejpeg``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from irpilot.io import from_uint8
from irpilot.tools.tiling import run_tiled, tile_starts

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from irpilot.tools.networks.jpeg_chroma import (  # noqa: E402
    asset_exists,
    build_chroma_net,
    load_chroma_net,
    quant_scale,
    save_chroma_net,
)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    from irpilot.io import to_uint8
    from irpilot.train.dejpeg import jpeg_rgb_u8

    return from_uint8(jpeg_rgb_u8(to_uint8(img), quality))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 144 x 176 crop of scikit-image's astronaut (a training photo: bundled with scikit-image)."""
    import skimage.data

    return from_uint8(np.ascontiguousarray(skimage.data.astronaut()[40:184, 160:336]))


def test_quant_scale_follows_libjpeg() -> None:
    assert quant_scale(50) == 1.0 and quant_scale(10) == 5.0 and quant_scale(75) == 0.5
    assert quant_scale(0) == quant_scale(1) == 50.0  # clamped to the valid range


@pytest.mark.parametrize("arch", ["plain", "unet"])
def test_chroma_net_shapes_conditioning_and_guided_filter_start(arch: str) -> None:
    torch.manual_seed(0)
    net = build_chroma_net(width=8, blocks=2, arch=arch).eval()
    ycc = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        lo = net(ycc, torch.tensor([5.0, 5.0]))
        hi = net(ycc, torch.tensor([0.2, 0.2]))
    assert lo.shape == (2, 2, 32, 48)
    assert not torch.allclose(lo, hi)  # the quality plane reaches the output
    # untrained, it is a guided filter: chroma that is a linear function of luma comes back
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 48), indexing="ij")
    y = (0.2 + 0.6 * (xx + yy) / 2)[None, None]
    smooth = torch.cat([y, 0.5 + 0.3 * (y - 0.5), 0.4 - 0.2 * (y - 0.5)], dim=1)
    with torch.no_grad():
        out = net(smooth, torch.tensor([2.0]))
    assert float((out - smooth[:, 1:]).abs().max()) < 0.01


@pytest.mark.parametrize("arch", ["plain", "unet"])
def test_safetensors_round_trip_keeps_shape_and_outputs(tmp_path: Path, arch: str) -> None:
    net = build_chroma_net(width=8, blocks=1, arch=arch).eval()
    path = tmp_path / "chroma.safetensors"
    save_chroma_net(net, path, {"width": "8", "blocks": "1", "arch": arch, "step": "3"})
    loaded, meta = load_chroma_net(path)
    assert meta["step"] == "3" and meta["arch"] == arch
    x, s = torch.rand(1, 3, 16, 16), torch.tensor([2.0])
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x, s).numpy(), net(x, s).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="blocks"):
        save_chroma_net(net, path, {"width": "8"})
    with pytest.raises(ValueError, match="arch"):
        build_chroma_net(width=8, blocks=1, arch="resnet")


def test_packaged_weights_load_as_safetensors() -> None:
    if not asset_exists():
        pytest.skip("chroma weights not in this install")
    net, meta = load_chroma_net()
    assert sum(p.numel() for p in net.parameters()) == int(meta["params"]) < 2_000_000
    assert "irpilot train dejpeg" in meta["command"]


@pytest.mark.parametrize("length,tile,overlap,align", [(1000, 512, 48, 16), (530, 512, 48, 16), (1000, 300, 32, 1)])
def test_aligned_tiles_cover_the_image_on_the_grid(length: int, tile: int, overlap: int, align: int) -> None:
    starts = tile_starts(length, tile, overlap, align)
    assert all(s % align == 0 for s in starts) and starts[0] == 0
    assert starts[-1] + tile >= length - (align - 1)
    img = np.random.default_rng(0).random((3, 40, length), dtype=np.float32)
    out = run_tiled(lambda x: x * 2.0, img, tile, overlap, align=align)
    np.testing.assert_allclose(out, img * 2.0, rtol=1e-5)


def _need_tool():
    from irpilot.config import settings
    from irpilot.tools import TOOLS, get_tool

    if not settings.weights_dir.is_dir():
        pytest.skip(f"weights directory {settings.weights_dir} absent")
    reason = TOOLS.get("jpeg_ycc_net").unavailable_reason()
    if reason:
        pytest.skip(reason)
    return get_tool("jpeg_ycc_net", device="cpu")


@pytest.mark.weights
def test_tool_improves_a_jpeg_crop_more_than_dncnn3(photo: np.ndarray) -> None:
    from irpilot.tools import get_tool

    tool = _need_tool()
    lq = _jpeg(photo, 15)
    out = tool(lq)
    assert out.shape == lq.shape and out.dtype == np.float32 and np.isfinite(out).all()
    assert _psnr(out, photo) >= _psnr(lq, photo) + 1.0
    assert _psnr(out, photo) > _psnr(get_tool("dncnn3_dejpeg", device="cpu")(lq), photo)
    # the quality given or estimated from the pixels (exact here) gives the same result
    np.testing.assert_allclose(tool(lq, quality=15), out, atol=1e-6)


@pytest.mark.weights
def test_a_grey_jpeg_stays_grey(photo: np.ndarray) -> None:
    """A greyscale photo saved as a colour JPEG has neutral chroma: the chroma network must not tint it."""
    tool = _need_tool()
    grey = np.repeat(photo.mean(axis=0, keepdims=True), 3, axis=0)
    lq = _jpeg(grey, 20)
    assert float(np.abs(lq[0] - lq[1]).max()) == 0.0
    out = tool(lq)
    assert float(np.abs(out - out[:1]).max()) < 1e-6
    assert _psnr(out, grey) > _psnr(lq, grey)


@pytest.mark.weights
def test_tool_tiles_on_the_block_grid(photo: np.ndarray) -> None:
    """Tiled (tiles of 64 px) and whole-image runs agree closely: tiles keep the 8x8 grid."""
    tool = _need_tool()
    lq = _jpeg(photo, 20)
    whole, tiled = tool(lq, quality=20), tool(lq, quality=20, tile=64)
    assert tiled.shape == whole.shape
    assert _psnr(tiled, whole) > 40.0
    odd = lq[:, :77, :61]
    assert tool(odd, quality=20).shape == odd.shape


@pytest.mark.slow
def test_training_command_runs_checkpoints_and_exports(tmp_path: Path) -> None:
    """A few seconds of ``irpilot train dejpeg`` on the training photos: log, best weights, export."""
    from irpilot.cli import main
    from irpilot.config import settings

    if settings.data_dir is None or not (Path(settings.data_dir) / "T91").is_dir():
        pytest.skip("no training photos (IRPILOT_DATA_DIR)")
    out, exported = tmp_path / "run", tmp_path / "chroma.safetensors"
    code = main(["train", "dejpeg", "--out", str(out), "--minutes", "0.05", "--width", "8", "--blocks", "1",
                 "--size", "32", "--batch", "2", "--val-crops", "2", "--export", str(exported)])
    assert code == 0
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "export"
    assert any(e["event"] == "eval" and np.isfinite(e["psnr_est_q"]) for e in events)
    net, meta = load_chroma_net(exported)
    assert meta["width"] == "8" and "val_gain_db" in meta
    # --init starts a new run from those weights, their shape replacing the options'
    again = tmp_path / "again"
    code = main(["train", "dejpeg", "--out", str(again), "--init", str(exported), "--minutes", "0.02", "--width", "16",
                 "--size", "32", "--batch", "2", "--val-crops", "2"])
    assert code == 0
    start = json.loads((again / "log.jsonl").read_text().splitlines()[0])
    assert start["width"] == 8 and start["init"] == str(exported)
    with pytest.raises(SystemExit, match="give one of them"):
        main(["train", "dejpeg", "--out", str(again), "--init", str(exported), "--resume"])
