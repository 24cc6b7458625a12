"""``irpilot train deconv`` (``irpilot.train.deconv``): the refinement network of
``shake_deblur_pnp`` reads a blurred photo beside its deconvolution (and, with the ``deconv2``
head, a second one at a lower noise floor); triples are made by the tool itself, and a few
training steps write weights the tool can load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")


def test_the_deconv_head_starts_as_the_deconvolution_itself() -> None:
    from irpilot.tools.networks.compact import build_compact_net

    net = build_compact_net((4, 8), context=False, head="deconv")
    x = torch.rand(2, 6, 16, 24)
    torch.testing.assert_close(net(x), x[:, 3:6])
    torch.nn.init.normal_(net.tail.weight, std=0.1)
    assert net(x).shape == (2, 3, 16, 24) and not torch.allclose(net(x), x[:, 3:6])


def test_a_grown_deconv2_network_starts_as_the_deconv_one_and_reads_nine_channels() -> None:
    """``--init`` from a network of one deconvolution: the second deconvolution's input weights
    start at zero, so the grown network computes what it started from; the tool's refinement then
    needs both deconvolutions, and says so when given one."""
    from irpilot.tools.classical.blind_deblur import refine_deconvolution, refiner_inputs
    from irpilot.tools.networks.compact import build_compact_net
    from irpilot.train.deconv import grow_inputs

    torch.manual_seed(0)
    start = build_compact_net((4, 8), context=False, head="deconv").eval()
    torch.nn.init.normal_(start.tail.weight, std=0.1)
    grown = build_compact_net((4, 8), context=False, head="deconv2").eval()
    grow_inputs(grown, start)
    x = torch.rand(1, 9, 16, 24)
    torch.testing.assert_close(grown(x), start(x[:, :6]))
    assert (refiner_inputs(start), refiner_inputs(grown)) == (6, 9)
    img = np.random.default_rng(0).random((3, 16, 24), dtype=np.float32)
    out = refine_deconvolution(grown, img, img * 0.9, img * 0.8)
    assert out.shape == img.shape
    with pytest.raises(ValueError, match="reads 9 channels, given 6"):
        refine_deconvolution(grown, img, img * 0.9)
    with pytest.raises(SystemExit, match="enc.0.0.weight"):
        grow_inputs(start, grown)  # a network cannot shrink its inputs


def test_refinement_runs_any_size_and_large_photos_in_tiles_that_agree() -> None:
    """Sides need not be multiples of 8; above 1 MP the photo runs in 512 px tiles, which (no
    per-image bias) give what one pass over the whole photo gives, up to the blending of the
    overlaps."""
    from irpilot.tools.classical import blind_deblur
    from irpilot.tools.networks.compact import build_compact_net

    torch.manual_seed(0)
    net = build_compact_net((4, 8), context=False, head="deconv").eval()
    torch.nn.init.normal_(net.tail.weight, std=0.02)
    rng = np.random.default_rng(0)
    small = rng.random((3, 37, 50), dtype=np.float32)
    out = blind_deblur.refine_deconvolution(net, small, small[::-1].copy())
    assert out.shape == (3, 37, 50) and out.dtype == np.float32 and 0.0 <= out.min() and out.max() <= 1.0
    big = np.repeat(np.repeat(rng.random((3, 130, 130), dtype=np.float32), 8, axis=1), 8, axis=2)
    assert big.shape[1] * big.shape[2] > blind_deblur._WHOLE_PIXELS // 2
    tiled = blind_deblur.refine_deconvolution(net, big, big * 0.9)
    with torch.inference_mode():
        whole = net(torch.from_numpy(np.concatenate([big, big * 0.9])[None]))[0].clamp(0, 1).numpy()
    assert float(np.abs(tiled - whole).max()) < 0.01


@pytest.mark.slow
def test_triples_and_a_few_training_steps_write_loadable_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from irpilot.cli import main
    from irpilot.config import settings
    from irpilot.tools.networks.compact import load_compact_net
    from irpilot.train.deconv import make_triples

    if settings.data_dir is None or not (Path(settings.data_dir) / "T91").is_dir():
        pytest.skip("no training photos (IRPILOT_DATA_DIR)")
    data = tmp_path / "data"
    assert make_triples(3, data, seed=1, photos="train", crop=64, second=True) == 3
    assert make_triples(2, data, seed=2, photos="val", crop=64, second=True) == 2
    shard = np.load(data / "train_1_0.npz")
    assert shard["x"].shape == shard["d"].shape == shard["low"].shape == shard["c"].shape == (3, 3, 64, 64)
    assert shard["x"].dtype == np.uint8 and shard["d"].dtype == shard["low"].dtype == np.float16
    # the stored deconvolutions are the tool's own, before its refinement network (which it trains):
    # at its noise floor and at LOW_FLOOR
    from irpilot.tools import get_tool
    from irpilot.tools.classical.blind_deblur import LOW_FLOOR

    tool = get_tool("shake_deblur_pnp")
    x0 = shard["x"][0].astype(np.float32) / 255
    np.testing.assert_allclose(shard["d"][0].astype(np.float32), tool(x0, refine=False), atol=2e-3)
    both = tool.deconvolutions(x0, (None, LOW_FLOOR)) or [x0, x0]
    np.testing.assert_allclose(shard["low"][0].astype(np.float32), both[1], atol=2e-3)
    out, exported = tmp_path / "run", tmp_path / "deconv.safetensors"
    assert main(["train", "deconv", "--data", str(data), "--out", str(out), "--max-steps", "3", "--widths", "4,8",
                 "--size", "32", "--batch", "2", "--export", str(exported)]) == 0
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    evals = [e for e in events if e["event"] == "eval"]
    assert evals and evals[-1]["step"] == 3 and np.isfinite(evals[-1]["gain_out"])
    capsys.readouterr()
    assert main(["train", "deconv", "--data", str(data), "--check", str(exported)]) == 0
    checked = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # --check scores the exported weights as training last scored them (the best are the last here or earlier)
    assert checked["gain_deconv"] == pytest.approx(evals[-1]["gain_deconv"], abs=1e-3)
    assert 0 <= checked["refined"] <= 2 and 0.0 <= checked["worse_out"] <= 1.0
    net, meta = load_compact_net(path=exported)
    assert meta["head"] == "deconv" and meta["context"] == "0" and meta["widths"] == "4,8"
    assert net(torch.rand(1, 6, 32, 32)).shape == (1, 3, 32, 32)
    # grown by --init into a network that also reads the second deconvolution
    assert main(["train", "deconv", "--data", str(data), "--out", str(tmp_path / "two"), "--head", "deconv2",
                 "--init", str(exported), "--max-steps", "1", "--size", "32", "--batch", "2"]) == 0
    two, meta = load_compact_net(path=tmp_path / "two" / "best.safetensors")
    assert meta["head"] == "deconv2" and two(torch.rand(1, 9, 32, 32)).shape == (1, 3, 32, 32)


def test_a_deconv2_network_needs_triples_with_the_second_deconvolution(tmp_path: Path) -> None:
    from irpilot.train.deconv import _load

    img = np.zeros((1, 3, 8, 8), np.uint8)
    np.savez(tmp_path / "train_1_0.npz", x=img, d=img.astype(np.float16), c=img, model=np.array(["clean"]))
    x, d, low, c, model = _load(tmp_path, "train")
    assert low is None and x.shape == c.shape == (1, 3, 8, 8)
    with pytest.raises(SystemExit, match="no second deconvolution"):
        _load(tmp_path, "train", second=True)
