"""``irpilot restore`` on a small batch: one bad file does not stop the rest, inputs are never
overwritten, and policy options travel on the command line (name:key=value)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from irpilot.cli import main
from irpilot.io import read_image, write_image


@pytest.fixture()
def batch(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        write_image(folder / f"{name}.png", (rng.uniform(0.05, 0.3, (3, 40, 48))).astype(np.float32))
    (folder / "broken.png").write_bytes(b"not a png at all")
    return folder


def test_batch_goes_on_past_a_bad_file(batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in batch.iterdir()}
    out = tmp_path / "out"
    code = main(["restore", str(batch), "-o", str(out), "--policy", "fixed:threshold=0.5", "--tasks", "low_light",
                 "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 1  # some inputs failed
    assert json.loads(captured.out.strip().splitlines()[-1]) == {"images": 3, "restored": 2, "failed": 1}
    assert "broken.png" in captured.err
    for name in ("a", "b"):
        restored = read_image(out / f"{name}.png")
        assert restored.mean() > read_image(batch / f"{name}.png").mean()  # brightened
        trace = json.loads((out / f"{name}.trace.json").read_text())
        assert trace["policy"] == "fixed"
    assert {p.name: p.read_bytes() for p in batch.iterdir()} == before  # inputs untouched


def test_refuses_to_overwrite_an_input(batch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["restore", str(batch / "a.png"), "-o", str(batch), "--tasks", "low_light", "--workers", "1"])
    assert code == 1
    assert "would replace an input file" in capsys.readouterr().err


def test_bad_policy_options_are_a_clear_error(batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["restore", str(batch / "a.png"), "-o", str(tmp_path / "o"), "--policy", "fixed:threshold"])
    assert code != 0
    assert "key=value" in capsys.readouterr().err


def test_a_bad_policy_value_is_reported_once_before_any_image(batch: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    code = main(["restore", str(batch), "-o", str(out), "--policy", "explore:accept=sometimes", "--workers", "1"])
    err = capsys.readouterr().err
    assert code != 0
    assert len(err.strip().splitlines()) == 1  # once for the batch, not once per image
    assert "explore:accept=sometimes" in err and "'best' or 'first'" in err
    assert not out.exists() or not any(out.iterdir())
