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
