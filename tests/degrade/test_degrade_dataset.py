"""Degraded sets on disk: ``irpilot degrade`` / ``build_set`` are reproducible, resumable,
replayable, and robust to bad inputs; the presets hold the protocol's combinations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from irpilot.cli import main
from irpilot.config import settings
from irpilot.degrade import GROUP_A, GROUP_B, GROUP_C, PRESETS, build_set, read_manifest, replay_entry
from irpilot.io import read_image, write_image


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """Three small real photos (crops of images shipped with scikit-image)."""
    import skimage.data

    from irpilot.io import from_uint8

    d = tmp_path_factory.mktemp("clean")
    write_image(d / "astronaut.png", from_uint8(skimage.data.astronaut()[30:94, 170:266]))
    write_image(d / "coffee.png", from_uint8(skimage.data.coffee()[100:164, 200:299]))  # odd width
    write_image(d / "chelsea.png", from_uint8(skimage.data.chelsea()[50:113, 150:246]))  # odd height
    return d


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def set_c(src, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("set") / "c"
    assert main(["degrade", str(src), str(out), "--preset", "agenticir_c", "--seed", "0", "-q"]) == 0
    return out


def test_same_seed_same_bytes_and_manifest(src, set_c, tmp_path):
    out2 = tmp_path / "again"
    assert main(["degrade", str(src), str(out2), "--preset", "agenticir_c", "--seed", "0", "-q"]) == 0
    assert _files(set_c) == _files(out2)
    entries = read_manifest(set_c)
    assert len(entries) == 3 * 4
    e = entries[0]
    for key in ("clean", "degraded", "degradations", "params", "seed", "group", "preset", "records"):
        assert key in e
    assert e["preset"] == "agenticir_c" and e["group"] == "C"
    assert set(e["params"]) == set(e["degradations"])
    assert [tuple(x["degradations"]) for x in entries[:4]] == list(GROUP_C)
    out3 = tmp_path / "other_seed"
    build_set(src, out3, "agenticir_c", 1, progress=False)
    assert (out3 / entries[0]["degraded"]).read_bytes() != (set_c / entries[0]["degraded"]).read_bytes()


def test_every_entry_replays_bit_for_bit(src, set_c, tmp_path):
    import shutil

    moved = tmp_path / "moved_clean"
    shutil.copytree(src, moved)
    for e in read_manifest(set_c):
        stored = read_image(set_c / e["degraded"])
        assert np.array_equal(replay_entry(e), stored), e["degraded"]
        assert np.array_equal(replay_entry(e, clean_dir=moved), stored)
        assert stored.shape[1:] == tuple(e["size"])
        if "low_resolution" in e["degradations"]:
            h, w = e["clean_size"]
            assert tuple(e["size"]) == (-(-h // 4), -(-w // 4))


def test_resume_skips_and_never_rewrites(src, set_c, tmp_path):
    import shutil

    out = tmp_path / "resume"
    shutil.copytree(set_c, out)
    before = _files(out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    assert main(["degrade", str(src), str(out), "--preset", "agenticir_c", "--seed", "0", "-q"]) == 0
    assert _files(out) == before
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == mtimes
    # an interrupted run: the last manifest line is torn and one image is missing
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(lines[:-1]) + lines[-1][:40])
    last = json.loads(lines[-1])
    (out / last["degraded"]).unlink()
    build_set(src, out, "agenticir_c", 0, progress=False)
    entries = read_manifest(out)
    assert len(entries) == 12 and entries[-1] == last
    assert (out / last["degraded"]).read_bytes() == (set_c / last["degraded"]).read_bytes()
    # more images later: the old ones are untouched, seeds do not depend on --limit
    out_l = tmp_path / "limited"
    build_set(src, out_l, "agenticir_c", 0, limit=1, progress=False)
    assert len(read_manifest(out_l)) == 4
    for e in read_manifest(out_l):
        assert (out_l / e["degraded"]).read_bytes() == (set_c / e["degraded"]).read_bytes()


def test_existing_different_output_is_not_overwritten(src, set_c, tmp_path, capsys):
    import shutil

    out = tmp_path / "conflict"
    shutil.copytree(set_c, out)
    entry = read_manifest(out)[0]
    (out / "manifest.jsonl").unlink()
    (out / entry["degraded"]).write_bytes(b"someone else's file")
    assert main(["degrade", str(src), str(out), "--preset", "agenticir_c", "--seed", "0", "-q"]) == 1
    assert (out / entry["degraded"]).read_bytes() == b"someone else's file"
    assert "not overwritten" in capsys.readouterr().err
    assert len(read_manifest(out)) == 11


def test_refuses_to_mix_seeds_in_one_folder(src, set_c, tmp_path, capsys):
    import shutil

    out = tmp_path / "mixed"
    shutil.copytree(set_c, out)
    before = _files(out)
    assert main(["degrade", str(src), str(out), "--preset", "agenticir_c", "--seed", "5", "-q"]) == 1
    assert "another output folder" in capsys.readouterr().err
    assert _files(out) == before


def test_same_stem_different_extensions(src, tmp_path):
    import shutil

    s2 = tmp_path / "src"
    shutil.copytree(src, s2)
    shutil.copy(s2 / "coffee.png", s2 / "coffee.bmp")
    out = tmp_path / "out"
    build_set(s2, out, "agenticir_b", 0, progress=False)
    names = sorted(Path(e["degraded"]).name for e in read_manifest(out) if e["degradations"] == ["haze", "noise"])
    assert names == ["astronaut.png", "chelsea.png", "coffee_bmp.png", "coffee_png.png"]


def test_refuses_output_equal_to_input_and_bad_preset(src, capsys):
    before = _files(src)
    assert main(["degrade", str(src), str(src), "--preset", "agenticir_a", "-q"]) == 1
    assert "must differ" in capsys.readouterr().err
    assert _files(src) == before
    assert main(["degrade", str(src), str(src / "x"), "--preset", "agenticir_cc", "-q"]) == 1
    assert "Did you mean 'agenticir_c'" in capsys.readouterr().err
    assert main(["degrade", str(src), str(src / "y"), "--level", "noise=huge", "-q"]) == 1


def test_unreadable_input_is_reported_and_the_rest_continue(src, tmp_path, capsys):
    import shutil

    bad_src = tmp_path / "src"
    shutil.copytree(src, bad_src)
    (bad_src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out = tmp_path / "out"
    assert main(["degrade", str(bad_src), str(out), "--preset", "agenticir_b", "--seed", "3"]) == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and "[4/4]" in err  # progress output went on
    assert len(read_manifest(out)) == 3 * 4
    failed = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
    assert [Path(f["clean"]).name for f in failed] == ["broken.png"]


def test_contact_sheet_levels_and_crop(src, tmp_path):
    from PIL import Image

    out = tmp_path / "s"
    sheet = tmp_path / "sheet.png"
    args = ["degrade", str(src), str(out), "--preset", "single", "--crop", "48", "--level", "noise=mild"]
    assert main(args + ["--contact-sheet", str(sheet), "-q"]) == 0
    entries = read_manifest(out)
    assert len(entries) == 3 * 9
    im = Image.open(sheet)
    assert im.size[0] == 10 * 192 and im.size[1] > 3 * 48
    for e in entries:
        assert e["crop"] is not None and e["clean_size"] == [48, 48]
        assert read_image(out / e["reference"]).shape == (3, 48, 48)
        if e["degradations"] == ["noise"]:
            assert e["params"]["noise"]["level"] == "mild"
        assert np.array_equal(replay_entry(e), read_image(out / e["degraded"]))


def test_presets_hold_the_protocol_combinations():
    a = PRESETS["agenticir_a"].combinations("x.png", 0)
    assert [c for _, c in a] == list(GROUP_A) and {g for g, _ in a} == {"A"} and len(a) == 8
    assert [c for _, c in PRESETS["agenticir_b"].combinations()] == list(GROUP_B) and len(GROUP_B) == 4
    assert [c for _, c in PRESETS["agenticir_c"].combinations()] == list(GROUP_C) and len(GROUP_C) == 4
    assert len(PRESETS["agenticir"].combinations()) == 16
    assert len(PRESETS["single"].combinations()) == 9
    seen = {frozenset(c) for c in GROUP_A + GROUP_B}
    pairs = set()
    for key in ("a.png", "b.png", "c.png", "d.png", "e.png"):
        d2 = PRESETS["ood_d2"].combinations(key, 0)
        assert d2 == PRESETS["ood_d2"].combinations(key, 0)  # deterministic
        for g, c in d2:
            assert g == "D2" and len(c) == 2 and frozenset(c) not in seen and "snow" not in c
            pairs.add(frozenset(c))
        for g, c in PRESETS["ood_d3plus"].combinations(key, 0):
            assert 3 <= len(c) <= 5 and len(set(c)) == len(c) and "snow" not in c and g == f"D{len(c)}"
    assert len(pairs) > 4  # varies with the image
    assert PRESETS["ood_d2"].combinations("a.png", 0) != PRESETS["ood_d2"].combinations("a.png", 1)


@pytest.mark.weights
def test_kodak24_group_c_reproducible(tmp_path):
    """The real command on Kodak24 (two images here to stay fast)."""
    if settings.data_dir is None or not (Path(settings.data_dir) / "Kodak24").is_dir():
        pytest.skip("shared data folder with Kodak24 not available")
    kodak = Path(settings.data_dir) / "Kodak24"
    runs = []
    for name in ("one", "two"):
        out = tmp_path / name
        assert main(["degrade", str(kodak), str(out), "--preset", "agenticir_c", "--seed", "0", "--limit", "2", "-q"]) == 0
        runs.append(_files(out))
    assert runs[0] == runs[1]
    entries = read_manifest(tmp_path / "one")
    assert len(entries) == 2 * 4
    e = entries[-1]
    assert np.array_equal(replay_entry(e), read_image(tmp_path / "one" / e["degraded"]))
