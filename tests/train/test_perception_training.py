"""Training the perception CNN (:mod:`irpilot.train.perception`): its metrics, the test-set
guard and a one-epoch smoke run on scikit-image's bundled photos."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from irpilot.imaging.photos import bundled_photo  # noqa: E402
from irpilot.perceive import Perceiver  # noqa: E402
from irpilot.train.perception import TrainConfig, binary_auc, class_metrics, train  # noqa: E402
from irpilot.vocab import DEGRADATION_NAMES  # noqa: E402


# -- metrics --------------------------------------------------------------------------------------
def test_binary_auc():
    assert binary_auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert binary_auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert binary_auc(np.array([0.5, 0.5, 0.5, 0.5]), np.array([0, 1, 0, 1])) == 0.5
    assert math.isnan(binary_auc(np.array([0.1, 0.2]), np.array([1, 1])))
    m = class_metrics(np.array([[0.9], [0.1], [0.6]]), np.array([[1.0], [0.0], [0.0]]), ["x"])["x"]
    assert m["precision"] == 0.5 and m["recall"] == 1.0 and abs(m["accuracy"] - 2 / 3) < 1e-9


def test_training_refuses_test_sets():
    from irpilot.train.perception_data import load_sources

    with pytest.raises(ValueError, match="test sets"):
        load_sources(folders=("T91", "Kodak24"))


# -- training smoke run ---------------------------------------------------------------------------
def test_training_smoke(tmp_path):
    cfg = TrainConfig(out=str(tmp_path / "run"), folders=(), skimage=True, n_images=12, n_val_images=4,
                      val_fraction=0.25, crops_per_image=1, crop=48, epochs=1, batch_size=4, widths=(8, 8, 8, 8),
                      embed_dim=16)
    summary = train(cfg)
    rec = summary["history"][0]
    assert math.isfinite(rec["train_loss"]) and math.isfinite(rec["val_bce"])
    p = Perceiver.load(summary["weights"], device="cpu")
    assert p.crop == 48 and p.names == DEGRADATION_NAMES
    out = p(bundled_photo("astronaut")[:, 80:144, 150:214])
    assert all(0.0 <= v <= 1.0 for v in out.probs.values())
    assert set(summary["stacking"]) == {"jpeg"} and set(p.stacking) == {"jpeg"}
    log_lines = (tmp_path / "run" / "train.log").read_text().splitlines()
    assert json.loads(log_lines[0])["epoch"] == 0


# -- both families, photo variations, thresholds --------------------------------------------------
def _sources():
    from irpilot.train.perception_data import Source

    img = (bundled_photo("astronaut") * 255).astype(np.uint8).transpose(1, 2, 0)
    return [Source("skimage/astronaut", np.ascontiguousarray(img))]


def test_mix_draws_benchmark_combinations_and_realistic_models():
    from irpilot.degrade import GROUP_A, GROUP_B, GROUP_C
    from irpilot.train.perception_data import Mix, make_example, sample_combination

    rng = np.random.default_rng(0)
    groups = set(GROUP_A + GROUP_B + GROUP_C)
    for _ in range(10):
        chain, levels = sample_combination(rng, DEGRADATION_NAMES, Mix(group_p=1.0))
        assert tuple(chain) in groups and len(levels) == len(chain)
    mix = Mix(realistic_p=1.0, group_p=1.0)
    crops, presence, severity, info = make_example(_sources(), rng, DEGRADATION_NAMES, crop=48, crops_per_image=2, mix=mix)
    assert crops.shape == (2, 48, 48, 3) and crops.dtype == np.uint8
    assert info["realistic"] and all(r["name"] == f"real_{k}" for r, k in zip(info["records"], info["chain"]))
    assert [DEGRADATION_NAMES[i] for i in np.flatnonzero(presence)] == sorted(info["chain"], key=DEGRADATION_NAMES.index)
    assert np.all(severity[presence == 0] == 0)


def test_clean_photos_of_other_exposures_and_sizes():
    from irpilot.train.perception_data import Mix, make_example

    rng = np.random.default_rng(1)
    mix = Mix(clean_p=1.0, tone_p=1.0, small_p=1.0)
    for _ in range(4):
        crops, presence, _, info = make_example(_sources(), rng, DEGRADATION_NAMES, crop=96, crops_per_image=1, mix=mix)
        assert not presence.any() and "tone" in info
        assert max(info["shape"]) <= 95 and crops.shape == (1, 96, 96, 3)  # a small photo, mirror-padded
    mix = Mix(clean_p=1.0, scale_p=1.0)
    _, _, _, info = make_example(_sources(), rng, DEGRADATION_NAMES, crop=96, crops_per_image=1, mix=mix)
    assert 1 / 2.0 - 1e-6 <= info["scale"] < 1.0


def test_original_mix_draws_as_before():
    """``Mix()`` takes exactly the random draws the protocol-only generator took."""
    from irpilot.train.perception_data import Mix, sample_combination

    a = [sample_combination(np.random.default_rng(5), DEGRADATION_NAMES) for _ in range(3)]
    b = [sample_combination(np.random.default_rng(5), DEGRADATION_NAMES, Mix()) for _ in range(3)]
    assert a == b


def test_best_offset_separates_and_favours_recall():
    from irpilot.train.perception_calibrate import MAX_OFFSET, best_offset

    logits = np.array([-3.0, -2.0, -1.5, -1.0, 0.5, 1.0])
    labels = np.array([0, 0, 1, 1, 1, 1])
    off, f = best_offset(logits, labels, beta=1.0)
    assert f == 1.0 and np.all((logits + off >= 0) == (labels > 0))
    # one negative above the positives' lowest logit: beta 2 accepts the false positive, beta 0.5 not
    logits = np.array([-3.0, -1.2, -1.5, 0.5, 1.0, 2.0])
    labels = np.array([0, 0, 1, 1, 1, 1])
    assert best_offset(logits, labels, beta=2.0)[0] > 1.5 > best_offset(logits, labels, beta=0.5)[0]
    assert best_offset(np.array([1.0, 2.0]), np.array([1, 1]), beta=1.0)[0] == 0.0
    assert abs(best_offset(np.array([-9.0, 5.0]), np.array([1, 0]), beta=1.0)[0]) <= MAX_OFFSET


def test_calibration_images_cover_both_families_and_exposures():
    from irpilot.degrade import GROUP_A, GROUP_B, GROUP_C
    from irpilot.train.perception_calibrate import EXPOSURES, calibration_images

    photo = bundled_photo("astronaut")[:, :64, :64]
    items = list(calibration_images([("a", photo)], seed=0, repeats=1))
    n = len(GROUP_A + GROUP_B + GROUP_C)
    assert len(items) == len(EXPOSURES) + 2 * n
    assert [g for _, _, g in items].count("realistic") == n
    assert {k for _, kinds, _ in items for k in kinds} <= set(DEGRADATION_NAMES)
    assert all(img.shape[0] == 3 and img.dtype == np.float32 for img, _, _ in items)


def test_head_only_training_with_cues_and_calibration(tmp_path):
    """A cue network fine-tuned on cached features from a checkpoint, then calibrated on held-out photos."""
    from irpilot.train.perception_calibrate import best_offset, fit_offsets

    base = TrainConfig(out=str(tmp_path / "a"), folders=(), skimage=True, n_images=8, n_val_images=3,
                       val_fraction=0.25, crops_per_image=1, crop=48, epochs=1, batch_size=4, widths=(8, 8, 8, 8),
                       embed_dim=16, mix="both")
    first = train(base)
    tuned = TrainConfig(**{**base.__dict__, "out": str(tmp_path / "b"), "data": str(tmp_path / "a" / "data.npz"),
                           "cues": True, "head_only": True, "init": first["weights"], "epochs": 2})
    summary = train(tuned)
    assert len(summary["history"]) == 2
    before = torch.load(first["weights"], weights_only=True)["state_dict"]
    after = torch.load(summary["weights"], weights_only=True)["state_dict"]
    assert torch.equal(before["features.1.0.weight"], after["features.1.0.weight"])  # convolutions frozen
    assert not torch.equal(before["presence.weight"], after["presence.weight"])
    report = fit_offsets(summary["weights"], tmp_path / "a" / "data.npz", repeats=1)
    cache = np.load(summary["weights"] + ".calibration.npz")
    assert cache["logits"].shape == (report["images"], len(DEGRADATION_NAMES))
    again = fit_offsets(summary["weights"], tmp_path / "a" / "data.npz", beta=0.5, repeats=1)  # from the kept logits
    for name, off in again["offsets"].items():
        k = DEGRADATION_NAMES.index(name)
        assert off == pytest.approx(best_offset(cache["logits"][:, k], cache["labels"][:, k], 0.5)[0], abs=1e-4)
    report = fit_offsets(summary["weights"], tmp_path / "a" / "data.npz", repeats=1)
    p = Perceiver.load(summary["weights"], device="cpu")
    assert p.net.cues and p.pad_small and p.offsets == report["offsets"]
    assert set(report["offsets"]) == set(DEGRADATION_NAMES) - {"snow", "low_resolution"}
