"""NIQE fitting: the recipe on a few photos, and the pristine set never touching test sets."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from irpilot.config import settings
from irpilot.io import from_uint8
from irpilot.quality.niqe import NiqeModel, load_niqe_model
from irpilot.train.niqe import LIVE1_KODAK_DUPLICATES, fit_niqe, pristine_photos


def test_fit_on_bundled_photos_and_round_trip(tmp_path):
    names = ("astronaut", "coffee", "rocket", "grass", "gravel", "brick")
    photos = [(n, from_uint8(getattr(skimage.data, n)())) for n in names]
    model = fit_niqe(iter(photos))
    assert model.mu.shape == (36,) and model.cov.shape == (36, 36)
    assert np.allclose(model.cov, model.cov.T) and np.all(np.isfinite(model.cov))
    assert int(model.meta["n_photos"]) == len(names) and int(model.meta["n_blocks"]) >= 37
    model.save(tmp_path / "m.npz")
    again = load_niqe_model(tmp_path / "m.npz")
    assert isinstance(again, NiqeModel) and np.allclose(again.mu, model.mu)
    clean = from_uint8(skimage.data.chelsea())  # not among the fitted photos
    noisy = np.clip(clean + np.random.default_rng(0).normal(0, 0.08, clean.shape), 0, 1).astype(np.float32)
    assert again(clean) < again(noisy)


def test_fit_refuses_too_few_blocks():
    with pytest.raises(ValueError, match="too few|no pristine"):
        fit_niqe(iter([("tiny", np.zeros((3, 50, 50), np.float32))]))


@pytest.mark.weights
def test_pristine_photos_exclude_test_sets():
    if settings.data_dir is None or not (settings.data_dir / "LIVE1").is_dir():
        pytest.skip("shared data not present")
    labels = [label for label, _ in pristine_photos()]
    assert not any(label.split("/")[0] in ("Kodak24", "CBSD68", "McMaster") for label in labels)
    live = {label.split("/")[1].rsplit(".", 1)[0] for label in labels if label.startswith("LIVE1/")}
    assert live and not (live & LIVE1_KODAK_DUPLICATES)
    assert any(label.startswith("T91/") for label in labels)
