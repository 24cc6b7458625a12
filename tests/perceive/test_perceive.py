"""Tests of irpilot.perceive: the API and the shipped weights (training: tests/train/test_perception_training.py)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import irpilot.perceive as perceive  # noqa: E402
from irpilot.perceive import DEFAULT_WEIGHTS, DEGRADATION_NAMES, Perceiver, Perception  # noqa: E402
from irpilot.perceive.model import PerceptionNet  # noqa: E402


def _random_perceiver(**kw) -> Perceiver:
    torch.manual_seed(0)
    return Perceiver(PerceptionNet(len(DEGRADATION_NAMES)), DEGRADATION_NAMES, device="cpu", **kw)


def _photo(size: int = 192) -> np.ndarray:
    """A crop of scikit-image's astronaut photo (a training photo, bundled offline)."""
    import skimage.data

    arr = skimage.data.astronaut()[80 : 80 + size, 150 : 150 + size]
    return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32) / 255.0


# -- Perception -----------------------------------------------------------------------------
def test_perception_present_threshold_and_dict():
    p = Perception(probs={"noise": 0.9, "haze": 0.5, "dark": 0.2}, severity={"noise": 0.7, "haze": 0.1, "dark": 0.0},
                   seconds=0.01, size=(10, 20))
    assert p.present() == ["noise", "haze"]  # >= threshold, most probable first
    assert p.present(0.6) == ["noise"]
    assert p.present(0.1) == ["noise", "haze", "dark"]
    assert p.present(0.95) == []
    d = p.as_dict()
    json.dumps(d)
    assert d["present"] == ["noise", "haze"] and d["size"] == [10, 20]
    assert p.features().shape == (3 + 3 + 1,)


# -- Perceiver on any input -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(3, 20, 20), (3, 37, 53), (3, 1, 1), (3, 300, 41), (45, 61)])
def test_random_perceiver_any_size(shape):
    perceiver = _random_perceiver()
    img = np.random.default_rng(0).random(shape, dtype=np.float32)
    p = perceiver(img)
    assert set(p.probs) == set(DEGRADATION_NAMES) == set(p.severity)
    for name in DEGRADATION_NAMES:
        assert 0.0 <= p.probs[name] <= 1.0 and math.isfinite(p.probs[name])
        assert 0.0 <= p.severity[name] <= 1.0
    assert p.size == shape[-2:]
    f = perceiver.features(img)
    assert f.shape == (perceiver.feature_dim,) and np.isfinite(f).all()


def test_crop_boxes_cover_image_and_stay_inside():
    perceiver = _random_perceiver(crop=96, n_crops=7)
    boxes = perceiver.crop_boxes(128, 200)
    assert len(boxes) == 7
    for t, l, h, w in boxes:
        assert (h, w) == (96, 96) and 0 <= t <= 128 - 96 and 0 <= l <= 200 - 96
    assert perceiver.crop_boxes(20, 20) == [(0, 0, 20, 20)]  # small image: read whole, once


def test_low_resolution_rule_uses_size():
    perceiver = _random_perceiver()
    small, large = perceiver.low_resolution_logit(0.0, 128, 192), perceiver.low_resolution_logit(0.0, 512, 768)
    assert small > 2.0 and large < -5.0
    size_only = _random_perceiver(lr_mode="size")
    assert size_only.low_resolution_logit(5.0, 512, 768) < 0 < size_only.low_resolution_logit(-5.0, 100, 299)
    with pytest.raises(ValueError):
        _random_perceiver(lr_mode="bogus")


def test_size_hint_decides_low_resolution_for_crops():
    """A 128 px training crop of a full-size photo is told the photo's size: only the
    low-resolution decision changes, the other degradations are read from the pixels alone."""
    from irpilot.train.data import perception_size_hint

    perceiver = _random_perceiver()
    img = np.random.default_rng(3).random((3, 128, 128), dtype=np.float32)
    own = perceiver(img)
    hint = perception_size_hint(img.shape, (3, 128, 128))
    assert hint == (384, 384)
    told = perceiver(img, size_hint=hint)
    assert own.probs["low_resolution"] > 0.5 > told.probs["low_resolution"]
    assert {k: v for k, v in own.probs.items() if k != "low_resolution"} == pytest.approx(
        {k: v for k, v in told.probs.items() if k != "low_resolution"}
    )
    # a x4 low-resolution input (32 px for a 128 px reference) stays low-resolution
    assert perception_size_hint((3, 32, 32), (3, 128, 128)) == (96, 96)


def test_stacking_applies_and_validates():
    plain = _random_perceiver()
    stacked = _random_perceiver(stacking={"jpeg": {"cnn": 0.0, "cue": 0.0, "bias": 3.0}})
    img = _photo(100)
    assert abs(stacked(img).probs["jpeg"] - 1.0 / (1.0 + math.exp(-3.0))) < 1e-6
    assert stacked(img).cnn_probs["jpeg"] == pytest.approx(plain(img).probs["jpeg"], abs=1e-6)
    with pytest.raises(ValueError, match="no hand-made cue"):
        _random_perceiver(stacking={"haze": {"cnn": 1.0, "cue": 0.0, "bias": 0.0}})


def test_load_default_returns_none_when_absent(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(perceive, "DEFAULT_WEIGHTS", tmp_path / "missing.pt")
    assert perceive.load_default_perceiver() is None
    assert "absent" in caplog.text


# -- the shipped weights --------------------------------------------------------------------------
needs_weights = pytest.mark.skipif(not DEFAULT_WEIGHTS.is_file(), reason="shipped perception weights absent")


@needs_weights
def test_shipped_weights_load_weights_only():
    ckpt = torch.load(str(DEFAULT_WEIGHTS), map_location="cpu", weights_only=True)
    assert tuple(ckpt["names"]) == DEGRADATION_NAMES
    perceiver = perceive.load_default_perceiver(device="cpu")
    assert perceiver is not None
    for shape in [(3, 20, 20), (3, 81, 121), (64, 50)]:
        p = perceiver(np.random.default_rng(1).random(shape, dtype=np.float32))
        assert all(0.0 <= p.probs[n] <= 1.0 for n in DEGRADATION_NAMES)


@needs_weights
@pytest.mark.parametrize(
    "name,level",
    [("noise", "extreme"), ("dark", "extreme"), ("haze", "extreme"), ("jpeg", "extreme")],
)
def test_shipped_weights_see_strong_degradations(name, level):
    from irpilot.degrade.base import get_degradation

    perceiver = perceive.load_default_perceiver(device="cpu")
    clean = _photo(192)
    deg = get_degradation(name)
    params = deg.sample(np.random.default_rng(3), level)
    if name == "jpeg":
        params["quality"] = 10
    degraded = deg.apply(clean, params)
    p_clean, p_deg = perceiver(clean).probs[name], perceiver(degraded).probs[name]
    assert p_deg > p_clean, f"{name}: degraded {p_deg:.3f} <= clean {p_clean:.3f}"


# -- small images, per-degradation thresholds, a network with cues ------------------------------------
def test_pad_to_crop_mirrors_small_images_only():
    from irpilot.perceive import pad_to_crop

    a = np.arange(5 * 3, dtype=np.float32).reshape(5, 3, 1)
    b = pad_to_crop(a, 12)
    assert b.shape == (12, 12, 1)
    assert np.array_equal(b[:5, :3], a) and np.array_equal(b[5:10, :3], a[::-1])  # mirrored, repeatedly
    big = np.zeros((20, 30, 3))
    assert pad_to_crop(big, 12) is big


def test_pad_small_shows_the_network_full_crops():
    seen: list[tuple[int, ...]] = []
    perceiver = _random_perceiver(pad_small=True)
    perceiver.net.register_forward_hook(lambda m, args, out: seen.append(tuple(args[0].shape)))
    perceiver(np.random.default_rng(0).random((3, 40, 130), dtype=np.float32))
    assert seen[-1][1:] == (3, 96, 96)
    unpadded = _random_perceiver()
    unpadded.net.register_forward_hook(lambda m, args, out: seen.append(tuple(args[0].shape)))
    unpadded(np.random.default_rng(0).random((3, 40, 130), dtype=np.float32))
    assert seen[-1][1:] == (3, 40, 96)


def test_offsets_move_one_decision():
    img = _photo(100)
    plain, shifted = _random_perceiver()(img), _random_perceiver(offsets={"motion_blur": 2.0})(img)
    z = math.log(plain.probs["motion_blur"] / (1 - plain.probs["motion_blur"]))
    assert shifted.probs["motion_blur"] == pytest.approx(1 / (1 + math.exp(-(z + 2.0))), abs=1e-6)
    assert shifted.cnn_probs == pytest.approx(plain.cnn_probs)
    assert {k: v for k, v in shifted.probs.items() if k != "motion_blur"} == pytest.approx(
        {k: v for k, v in plain.probs.items() if k != "motion_blur"})
    with pytest.raises(ValueError, match="unknown degradations"):
        _random_perceiver(offsets={"fog": 1.0})


def test_checkpoint_with_cues_offsets_and_padding_round_trips(tmp_path):
    torch.manual_seed(0)
    net = PerceptionNet(len(DEGRADATION_NAMES), widths=(8, 8, 8, 8), embed_dim=16, cues=True)
    ckpt = {"state_dict": net.state_dict(), "names": list(DEGRADATION_NAMES),
            "arch": {"widths": [8, 8, 8, 8], "embed_dim": 16, "cues": True},
            "inference": {"crop": 64, "n_crops": 5, "pad_small": True}, "offsets": {"noise": -0.5}}
    torch.save(ckpt, tmp_path / "p.pt")
    p = Perceiver.load(tmp_path / "p.pt", device="cpu")
    assert p.net.cues and p.pad_small and p.offsets == {"noise": -0.5} and p.crop == 64
    out = p(_photo(50))
    assert all(0.0 <= v <= 1.0 for v in out.probs.values()) and out.embedding.shape == (16,)
