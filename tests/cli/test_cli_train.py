"""``irpilot train``: every learned part has its stage, and a cheap one runs end to end."""

from __future__ import annotations

import numpy as np

from irpilot.cli import build_parser, main


def test_every_training_stage_is_a_subcommand():
    parser = build_parser()
    for stage in ("perception", "niqe", "experience", "probe", "expert", "sft", "rl"):
        args = parser.parse_args(["train", stage])
        assert callable(args.func), stage


def test_train_niqe_fits_on_the_bundled_photos(tmp_path, capsys):
    from irpilot.imaging.photos import bundled_photo
    from irpilot.quality.niqe import load_niqe_model

    empty = tmp_path / "no_training_sets"
    empty.mkdir()
    out = tmp_path / "niqe.npz"
    assert main(["train", "niqe", "--out", str(out), "--data-dir", str(empty)]) == 0
    assert "from 9 photos (skimage)" in capsys.readouterr().out
    model = load_niqe_model(out)
    photo = bundled_photo("astronaut")[:, :192, :192]
    noisy = np.clip(photo + np.random.default_rng(0).normal(0, 0.1, photo.shape), 0, 1).astype(np.float32)
    assert model(noisy) > model(photo)  # a noisy photo is further from the pristine model

