"""``irpilot train linecheck`` (``irpilot.train.line_check``) and the check it trains
(``irpilot.tools.classical.line_check``): the protocol's line blur or camera shake, read from the
anisotropic part of a photo's log spectrum."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")


def _photo(seed: int = 0, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    from scipy.ndimage import gaussian_filter

    return np.clip(gaussian_filter(rng.random((3, size, size)), (0, 1.5, 1.5)) * 1.8 - 0.4, 0, 1).astype(np.float32)


def test_the_anisotropy_map_is_centred_band_free_and_follows_the_photo() -> None:
    """Each radial band of the map has mean zero (what remains is the spectrum's anisotropy); a
    transposed photo gives the transposed map; a horizontal blur leaves a horizontal stripe of
    low power through the centre, where a sharp photo's map is near flat."""
    from irpilot.tools.classical.spectra import N_WELCH, anisotropy_map, freq_grid

    img = _photo(size=128)
    m = anisotropy_map(img)
    assert m.shape == (N_WELCH, N_WELCH) and m.dtype == np.float32
    band = np.fft.fftshift(freq_grid()[2])
    for r in (1, 7, 20, 31):
        assert abs(float(m[band == r].mean())) < 1e-4
    np.testing.assert_allclose(anisotropy_map(img.transpose(0, 2, 1).copy()), m.T, atol=1e-4)
    from scipy.ndimage import uniform_filter1d

    blurred = uniform_filter1d(img, 9, axis=2)  # blurred along x
    mb = anisotropy_map(blurred)
    c = N_WELCH // 2
    # high horizontal frequencies (the row through the centre) lose power; vertical ones do not
    assert mb[c, c + 12 : c + 20].mean() < mb[c + 12 : c + 20, c].mean() - 2.0
    assert abs(m[c, c + 12 : c + 20].mean() - m[c + 12 : c + 20, c].mean()) < 1.5


def test_without_its_weights_the_check_says_nothing_and_the_tools_do_not_ask(monkeypatch: pytest.MonkeyPatch) -> None:
    from irpilot.tools.classical import deblur, line_check

    photo = _photo(size=256)
    assert line_check.shake_probability(photo) is not None  # the shipped check reads it
    monkeypatch.setattr(line_check, "_shipped", lambda: None)
    assert line_check.shake_probability(photo) is None
    assert deblur._reads_as_shake(photo) is False


def test_the_check_does_not_read_photos_smaller_than_it_trained_on() -> None:
    """Under 192 px a side (a 64 px Welch spectrum of a few patches) the check gives no reading,
    so the motion tools decide as version 4 did."""
    from irpilot.tools.classical import line_check

    assert line_check.shake_probability(_photo(size=line_check.MIN_SIDE - 1)) is None
    assert line_check.shake_probability(_photo(size=line_check.MIN_SIDE)) is not None


def test_a_few_training_steps_write_a_check_that_loads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Collect a handful of crops (the context *alone* only, to keep it fast), train two epochs,
    export: the file loads with its width, gives the same probabilities, and the run wrote its
    log and its report."""
    from irpilot.tools.classical.line_check import load_line_check
    from irpilot.train import line_check

    monkeypatch.setattr(line_check, "CONTEXTS", {"alone": ("motion_blur", "real_motion_blur", 1.0)})
    monkeypatch.setattr(line_check, "SIZES", (96,))
    from irpilot.train import compact

    # two small photos stand in for the training photos (loading those takes seconds)
    monkeypatch.setattr(compact, "split_photos", lambda: ([_photo(1, 128)], [_photo(2, 128)], ["held"]))
    data = line_check.collect(3, 3)
    assert data["maps"].shape == (6, 64, 64) and list(data["labels"]) == [0, 1] * 3
    assert np.isnan(data["ratios"]).all()
    val = line_check.collect(4, 1, part="val")
    assert np.isfinite(val["ratios"]).all()  # the held-out part records the line misfit ratio
    args = argparse.Namespace(out=tmp_path, seeds="3", n=3, val_seed=4, val_n=1, collect_only=False, epochs=2,
                              width=4, lr=1e-3, seed=0, threads=1, contexts="", extra="", val_extra="",
                              export=tmp_path / "check.safetensors")
    assert line_check.run(args) == 0
    assert (tmp_path / "data_train_seed3_n3.npz").exists() and (tmp_path / "data_val_seed4_n1.npz").exists()
    log = [json.loads(line) for line in open(tmp_path / "train_log.jsonl")]
    assert [r["epoch"] for r in log] == [1, 2] and all("val_accuracy" in r for r in log)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["train_cases"] == 6 and summary["rows"][0]["cases"] == 2
    net, meta = load_line_check(tmp_path / "check.safetensors")
    assert meta["width"] == "4"
    p = net.probability(val["maps"])
    assert p.shape == (2,) and ((p >= 0) & (p <= 1)).all()


def test_bad_context_and_extra_specs_are_refused_with_the_form_expected() -> None:
    from irpilot.train import line_check

    assert line_check.parse_contexts("alone:1,x4:0.5") == {"alone": 1.0, "x4": 0.5}
    with pytest.raises(SystemExit, match="NAME:SHARE"):
        line_check.parse_contexts("blur:1")
    with pytest.raises(SystemExit, match="no context a positive share"):
        line_check.parse_contexts("alone:0")
    assert line_check._extra("3:1500:alone:1;5:10:rain:1,haze:1") == [(3, 1500, "alone:1"), (5, 10, "rain:1,haze:1")]
    with pytest.raises(SystemExit, match="SEED:N:CONTEXTS"):
        line_check._extra("3:alone:1")
