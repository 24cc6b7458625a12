"""``irpilot train tool TASK`` (``irpilot.train.compact``): training pairs, a short fit that lowers
the loss, and a few steps of the command on the training photos that write loadable weights."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from irpilot.train.compact import RECIPES, sample_batch  # noqa: E402


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """scikit-image's astronaut (a training photo: bundled with scikit-image), 3 x 160 x 160."""
    import skimage.data

    from irpilot.io import from_uint8

    return from_uint8(np.ascontiguousarray(skimage.data.astronaut()[40:200, 160:320]))


def test_every_recipe_names_registered_degradations_of_its_task() -> None:
    from irpilot.degrade import DEGRADATIONS

    for task, recipe in RECIPES.items():
        assert recipe.task == task and 0.0 <= recipe.clean_share < 1.0
        for name, share in recipe.degradations:
            assert DEGRADATIONS.get(name).task == task and share > 0


def test_batches_pair_degraded_and_clean_crops(photo: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    x, y = sample_batch(RECIPES["desnow"], [photo], np.array([1.0]), rng, 4, 32)
    assert x.shape == y.shape == (4, 3, 32, 32) and x.dtype == np.float32
    assert float(np.abs(x - y).mean()) > 0.005  # snow was added
    clean_only = dataclasses.replace(RECIPES["desnow"], clean_share=1.0)
    x, y = sample_batch(clean_only, [photo], np.array([1.0]), rng, 2, 32)
    np.testing.assert_array_equal(x, y)


def test_super_resolution_pairs_are_upscaled_low_resolution_crops(photo: np.ndarray) -> None:
    """The x4 recipe's input is the x1/4 crop brought back by the tool's own bicubic x4: it is
    the clean crop's size, blurred like bicubic upscaling, and no crop is left clean."""
    from irpilot.degrade import degrade
    from irpilot.tools.networks.dncnn import bicubic_upscale
    from irpilot.train.compact import upscaled

    recipe = RECIPES["super_resolution"]
    assert recipe.scale == 4 and recipe.clean_share == 0.0
    x, y = sample_batch(recipe, [photo], np.array([1.0]), np.random.default_rng(3), 4, 64)
    assert x.shape == y.shape == (4, 3, 64, 64)
    assert all(float(np.abs(a - b).mean()) > 0.005 for a, b in zip(x, y))
    small = degrade(y[0], ["low_resolution"], seed=1)[0]
    assert small.shape == (3, 16, 16)
    np.testing.assert_allclose(upscaled(recipe, small, y[0]), bicubic_upscale(small, 4), atol=1e-6)


def test_super_resolution_rejects_clean_crops_and_other_factors(tmp_path: Path) -> None:
    """Clean crops (not x1/4) and severity levels (other factors) would train the x4 network on
    pairs of the wrong size or content: the command refuses them before loading any photo."""
    from irpilot.cli import main

    for flag in ("--clean-share", "--level-share"):
        with pytest.raises(SystemExit, match="factor 4 only"):
            main(["train", "tool", "super_resolution", "--out", str(tmp_path / "run"), flag, "0.2", "--max-steps", "1"])


def test_a_short_fit_lowers_the_loss(photo: np.ndarray) -> None:
    from irpilot.tools.networks.compact import build_compact_net

    torch.manual_seed(0)
    x, y = (torch.from_numpy(a) for a in sample_batch(RECIPES["desnow"], [photo], np.array([1.0]),
                                                     np.random.default_rng(1), 4, 32))
    net = build_compact_net((8, 16))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(60):
        loss = (net(x) - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-5:]) < 0.9 * losses[0]


@pytest.mark.slow
def test_training_command_runs_checkpoints_and_exports(tmp_path: Path) -> None:
    """A few steps of ``irpilot train tool desnow`` on the training photos: log, best weights, export."""
    from irpilot.cli import main
    from irpilot.config import settings
    from irpilot.tools.networks.compact import load_compact_net

    if settings.data_dir is None or not (Path(settings.data_dir) / "T91").is_dir():
        pytest.skip("no training photos (IRPILOT_DATA_DIR)")
    out, exported = tmp_path / "run", tmp_path / "desnow.safetensors"
    code = main(["train", "tool", "desnow", "--out", str(out), "--max-steps", "5", "--widths", "4,8",
                 "--size", "32", "--batch", "2", "--val-crops", "1", "--select", "all", "--export", str(exported)])
    assert code == 0
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "export"
    evals = [e for e in events if e["event"] == "eval"]
    assert evals and evals[-1]["step"] == 5 and np.isfinite(evals[-1]["score"])
    assert evals[-1]["score_all"] > evals[-1]["score"]  # clean crops come back closer than degraded ones
    net, meta = load_compact_net(path=exported)
    assert meta["widths"] == "4,8" and meta["task"] == "desnow" and json.loads(meta["val"])["score"]
    assert float(net.tail.weight.detach().abs().sum()) > 0  # trained away from the zero (identity) start


def test_light_sources_are_drawn_alike_into_the_clean_and_the_dark_crop(photo: np.ndarray) -> None:
    from irpilot.train.compact import light_sources

    dark = photo * 0.2
    clean2, dark2 = light_sources(photo, dark, np.random.default_rng(0))
    lit = np.abs(dark2 - dark).max(axis=0) > 0.05
    assert lit.any() and lit.mean() < 0.2  # a few small spots
    assert float(dark2.max(axis=0)[lit].max()) == pytest.approx(1.0, abs=1e-6)  # saturated cores
    np.testing.assert_allclose(np.maximum(clean2, dark2)[:, lit], clean2[:, lit])  # lamps in both
    assert np.all(clean2 >= photo) and np.all(dark2 >= dark)


def test_a_training_model_can_chain_degradations_and_end_with_the_agents_denoiser(photo: np.ndarray) -> None:
    """``--models``: ``real_haze+real_noise>denoised`` is the hazy, noisy crop as the agent hands it
    to a dehazing tool, after one of its denoisers; the chain is the two degradations in order."""
    from irpilot.degrade import degrade
    from irpilot.tools import get_tool
    from irpilot.train.compact import model_degrade, parse_models

    assert parse_models("real_haze:0.5, real_haze+real_noise>denoised:0.5") == (
        ("real_haze", 0.5), ("real_haze+real_noise>denoised", 0.5))
    assert parse_models("real_haze,haze:2") == (("real_haze", 1.0), ("haze", 2.0))  # no share: 1
    for bad in ("real_haze+nothing:1", "real_haze>sharpened:1", ":1", "real_haze:x", "real_haze:0", "rain>upscaled:1"):
        with pytest.raises(SystemExit, match="--models"):
            parse_models(bad)
    crop = np.ascontiguousarray(photo[:, :64, :64])
    noisy = model_degrade("real_haze+real_noise", crop, seed=5)
    np.testing.assert_array_equal(noisy, degrade(crop, ["real_haze", "real_noise"], seed=5)[0])
    denoised = model_degrade("real_haze+real_noise>denoised", crop, seed=5)  # no rng: the first tool
    np.testing.assert_allclose(denoised, get_tool("dncnn_color_blind")(noisy), atol=1e-6)
    assert float(np.abs(denoised - noisy).mean()) > 0.005
    # ``>upscaled``: a x1/4 crop brought back by the agent's x4 network, the clean crop's size again
    small = model_degrade("rain+low_resolution", crop, seed=5)
    upscaled = model_degrade("rain+low_resolution>upscaled", crop, seed=5)
    assert small.shape == (3, 16, 16) and upscaled.shape == crop.shape
    np.testing.assert_allclose(upscaled, get_tool("sr_net_x4")(small), atol=1e-6)


def test_training_can_start_from_trained_weights_of_the_same_network(tmp_path: Path) -> None:
    """``--init``: a new run from saved weights (a fine-tune with other models); a network of
    another shape is refused before training."""
    from irpilot.cli import main
    from irpilot.tools.networks.compact import build_compact_net, save_compact_net

    start = tmp_path / "start.safetensors"
    save_compact_net(build_compact_net((4, 8)), start, {"task": "desnow", "widths": "4,8", "head": "residual"})
    with pytest.raises(SystemExit, match="widths 4,8"):
        main(["train", "tool", "desnow", "--out", str(tmp_path / "run"), "--init", str(start), "--widths", "8,16",
              "--max-steps", "1"])
    with pytest.raises(SystemExit, match="without --resume"):
        main(["train", "tool", "desnow", "--out", str(tmp_path / "run"), "--init", str(start), "--widths", "4,8",
              "--resume", "--max-steps", "1"])
    from irpilot.config import settings
    from irpilot.tools.networks.compact import load_compact_net

    if settings.data_dir is None or not (Path(settings.data_dir) / "T91").is_dir():
        pytest.skip("no training photos (IRPILOT_DATA_DIR)")
    torch.manual_seed(7)
    trained = build_compact_net((4, 8))
    torch.nn.init.normal_(trained.tail.weight, std=0.05)  # weights a random start would not have
    save_compact_net(trained, start, {"task": "desnow", "widths": "4,8", "head": "residual"})
    out = tmp_path / "run"
    assert main(["train", "tool", "desnow", "--out", str(out), "--init", str(start), "--widths", "4,8", "--size", "32",
                 "--batch", "2", "--lr", "1e-9", "--max-steps", "1", "--val-crops", "1", "--val-size", "32"]) == 0
    net, _ = load_compact_net(path=out / "best.safetensors")
    torch.testing.assert_close(net.tail.weight, trained.tail.weight, atol=1e-6, rtol=0)  # one tiny step from the start


def test_stored_pairs_keep_crop_and_clean_aligned(photo: np.ndarray) -> None:
    """``sample_stored``: a sub-crop of a stored pair, rotated and flipped alike for the input
    and its clean crop (the input here is the clean crop shifted by a constant, so any
    misalignment would show)."""
    from irpilot.train.compact import sample_stored

    c = np.round(photo[None, :, :64, :64] * 255).astype(np.uint8)
    x = (c.astype(np.float32) / 255.0 + 0.1).astype(np.float16)
    xs, ys = sample_stored(x, c, np.random.default_rng(0), 6, 32)
    assert xs.shape == ys.shape == (6, 3, 32, 32) and xs.dtype == ys.dtype == np.float32
    np.testing.assert_allclose(xs - ys, 0.1, atol=2e-3)
    assert len({a.tobytes() for a in ys}) == 6  # different crops and orientations
    with pytest.raises(SystemExit, match="larger than the stored crops"):
        sample_stored(x, c, np.random.default_rng(0), 1, 96)


@pytest.mark.slow
def test_pairs_made_once_train_a_network(tmp_path: Path) -> None:
    """``--make N --data DIR`` writes degraded pairs (here after the agent's JPEG step, the slow
    part), once for training and once from the held-out photos; ``--data DIR`` then trains on
    them and validates on the held-out pairs, per model."""
    from irpilot.cli import main
    from irpilot.config import settings
    from irpilot.train.compact import load_pairs

    if settings.data_dir is None or not (Path(settings.data_dir) / "T91").is_dir():
        pytest.skip("no training photos (IRPILOT_DATA_DIR)")
    data = tmp_path / "pairs"
    models = "real_defocus_blur+real_jpeg>dejpeg:1"
    base = ["train", "tool", "defocus_deblur", "--models", models, "--clean-share", "0", "--data", str(data)]
    with pytest.raises(SystemExit, match="--crop must be a multiple of 8"):
        main([*base, "--make", "1", "--crop", "50"])
    assert main([*base, "--make", "2", "--crop", "48", "--seed", "3"]) == 0
    assert main([*base, "--make", "1", "--crop", "48", "--photos", "val"]) == 0
    x, c, m = load_pairs(data, "train")
    assert x.shape == c.shape == (2, 3, 48, 48) and x.dtype == np.float16 and c.dtype == np.uint8
    assert list(m) == ["real_defocus_blur+real_jpeg>dejpeg"] * 2
    # the stored input is the JPEG network's output, off the 8-bit grid a JPEG file is on
    assert not np.allclose(x[0].astype(np.float32) * 255, np.round(x[0].astype(np.float32) * 255), atol=1e-3)
    out = tmp_path / "run"
    assert main([*base, "--out", str(out), "--max-steps", "3", "--widths", "4,8", "--size", "32", "--batch", "2"]) == 0
    events = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert "2 stored pairs of 48 px" in events[0]["data"] and events[0]["val_crops"] == 1
    assert events[0]["degradations"] == "real_defocus_blur+real_jpeg>dejpeg"
    evals = [e for e in events if e["event"] == "eval"]
    assert evals[-1]["step"] == 3 and np.isfinite(evals[-1]["real_defocus_blur+real_jpeg>dejpeg_out"])
