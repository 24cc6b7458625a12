"""``irpilot score``: table, JSON and CSV output, reference matching, bad files."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import skimage.data
from scipy import ndimage

from irpilot.cli import main
from irpilot.io import from_uint8, write_image


@pytest.fixture()
def folders(tmp_path):
    out, ref = tmp_path / "out", tmp_path / "ref"
    for name in ("astronaut", "coffee"):
        clean = from_uint8(getattr(skimage.data, name)())[:, :120, :150]
        write_image(ref / f"{name}.png", clean)
        write_image(out / f"{name}.png", ndimage.gaussian_filter(clean, (0, 1, 1)))
    return out, ref


def test_score_folder_with_refs_json_csv(folders, tmp_path, capsys):
    out, ref = folders
    (out / "broken.png").write_bytes(b"not an image")
    write_image(ref / "broken.png", np.zeros((3, 8, 8), np.float32))
    rc = main(["score", "--metric", "psnr,ssim,niqe", str(out), "--ref", str(ref),
               "--json", str(tmp_path / "s.json"), "--csv", str(tmp_path / "s.csv")])
    captured = capsys.readouterr()
    assert rc == 1  # one bad file, reported; the others are scored
    assert "broken.png" in captured.err and "astronaut.png" in captured.out and "mean" in captured.out
    data = json.loads((tmp_path / "s.json").read_text())
    assert set(data) == {str(out / "astronaut.png"), str(out / "coffee.png")}
    for row in data.values():
        assert set(row) == {"psnr", "ssim", "niqe"} and 20 < row["psnr"] < 60 and 0 < row["ssim"] <= 1
    rows = list(csv.reader((tmp_path / "s.csv").open()))
    assert rows[0] == ["image", "psnr", "ssim", "niqe"] and rows[-1][0] == "mean" and len(rows) == 4
    mean_psnr = np.mean([r["psnr"] for r in data.values()])
    assert float(rows[-1][1]) == pytest.approx(mean_psnr)


def test_missing_references(folders, tmp_path, capsys):
    out, ref = folders
    write_image(out / "orphan.png", np.zeros((3, 16, 16), np.float32))
    assert main(["score", "-m", "psnr", str(out), "--ref", str(ref)]) == 1
    assert "no reference image named orphan" in capsys.readouterr().err
    empty = tmp_path / "empty_ref"
    write_image(empty / "other.png", np.zeros((3, 16, 16), np.float32))
    assert main(["score", "-m", "psnr", str(out), "--ref", str(empty)]) == 1
    assert "matches any image" in capsys.readouterr().err
    assert main(["score", "-m", "psnr", str(out)]) == 1
    assert "--ref" in capsys.readouterr().err


def test_no_reference_defaults_list_and_bad_names(folders, capsys):
    out, _ = folders
    assert main(["score", str(out / "coffee.png")]) == 0
    assert "noise_sigma" in capsys.readouterr().out
    assert main(["score", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "niqe_basicsr" in listing and "lpips" in listing
    assert main(["score", "-m", "pnsr", str(out)]) == 1
    assert "Did you mean 'psnr'" in capsys.readouterr().err
