"""The command line's contract (README, "Errors and exit codes"): 0 all done, 1 some inputs
failed, 2 usage error; outputs go only where they are asked for; an input is never replaced and
an existing file only with --overwrite; errors are one line, never a traceback."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image

from irpilot.cli import main
from irpilot.io import read_image, write_image
from irpilot.tools.base import Tool, ToolCard

FAST = ["--policy", "fixed", "--tasks", "low_light", "--workers", "1"]


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _dark(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.05, 0.25, (3, 24, 32)).astype(np.float32)


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err


@pytest.fixture()
def same(tmp_path: Path) -> Path:
    """A folder holding x.jpg and an unrelated x.png."""
    folder = tmp_path / "same"
    folder.mkdir()
    write_image(folder / "x.jpg", _dark(0))
    write_image(folder / "x.png", _dark(1))
    return folder


def test_restore_into_the_input_folder_replaces_no_input(same: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _digests(same)
    code = main(["restore", str(same), "-o", str(same), *FAST])
    err = capsys.readouterr().err
    assert code == 1
    assert _digests(same) == before  # nothing replaced, nothing added
    assert "would replace an input file" in err
    _no_traceback(err)


def test_restore_does_not_replace_an_unrelated_existing_file(same: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _digests(same)
    code = main(["restore", str(same / "x.jpg"), "-o", str(same), *FAST])
    err = capsys.readouterr().err
    assert code == 1
    assert _digests(same) == before
    assert "exists; not replaced (give --overwrite" in err
    # with --overwrite it is replaced (x.png is not an input of this run)
    assert main(["restore", str(same / "x.jpg"), "-o", str(same), "--overwrite", *FAST]) == 0
    assert _digests(same)["x.png"] != before["x.png"] and _digests(same)["x.jpg"] == before["x.jpg"]


def test_restore_skips_its_own_earlier_outputs(same: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["restore", str(same / "x.jpg"), "-o", str(out), *FAST]) == 0
    first = _digests(out)
    assert main(["restore", str(same / "x.jpg"), "-o", str(out), *FAST]) == 0
    assert "done before, skipped" in capsys.readouterr().out
    assert _digests(out) == first


@pytest.mark.parametrize("kind", ["file", "under_file"])
def test_restore_to_an_output_that_cannot_be_a_folder_is_a_usage_error(
    same: Path, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "blocker.txt"
    blocker.write_text("x")
    out = blocker if kind == "file" else blocker / "sub"
    code = main(["restore", str(same / "x.jpg"), "-o", str(out), *FAST])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "blocker.txt" in err
    assert blocker.read_text() == "x"


def test_an_unwritable_output_fails_that_image_not_the_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        write_image(src / f"{name}.png", _dark())
    out = tmp_path / "ro"
    out.mkdir()
    real = tempfile.mkstemp

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:  # a read-only folder (tests may run as root)
        if Path(str(kwargs.get("dir"))) == out and "a.png" in str(kwargs.get("prefix")):
            raise PermissionError(13, "Permission denied", str(out / ".a.png.part"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    code = main(["restore", str(src), "-o", str(out), *FAST])
    cap = capsys.readouterr()
    assert code == 1
    assert "cannot write" in cap.err and "Permission denied" in cap.err
    _no_traceback(cap.err)
    assert json.loads(cap.out.strip().splitlines()[-1]) == {"images": 2, "restored": 1, "failed": 1}
    assert (out / "b.png").is_file()


def test_restore_exits_1_when_some_images_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    write_image(src / "good.png", _dark())
    (src / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert main(["restore", str(src), "-o", str(tmp_path / "out"), *FAST]) == 1
    assert main(["restore", str(src / "good.png"), "-o", str(tmp_path / "out2"), *FAST]) == 0


def test_a_gif_in_a_folder_is_restored_like_a_named_one(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.full((20, 24, 3), 40, np.uint8)).save(src / "a.gif")
    assert main(["restore", str(src), "-o", str(tmp_path / "o1"), *FAST]) == 0
    assert main(["restore", str(src / "a.gif"), "-o", str(tmp_path / "o2"), *FAST]) == 0
    assert (tmp_path / "o1" / "a.png").read_bytes() == (tmp_path / "o2" / "a.png").read_bytes()


class _Broken(Tool):
    card: ClassVar[ToolCard] = ToolCard(id="test_contract_broken", task="denoise", description="test: fails", tiling=False)

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        raise RuntimeError("worker crashed (exit code -9)")


def test_a_failed_call_is_reported_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from irpilot.policies import common
    from irpilot.tools import TOOLS

    TOOLS.add("test_contract_broken", _Broken)
    try:
        monkeypatch.setitem(common.PREFERRED_TOOLS, "denoise", ("test_contract_broken",))
        write_image(tmp_path / "a.png", _dark())
        code = main(["restore", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), "--policy", "fixed",
                     "--tasks", "noise", "--workers", "1"])
        err = capsys.readouterr().err
    finally:
        TOOLS.remove("test_contract_broken")
    assert code == 0  # the image was restored, with a changed chain, and the user is told
    assert "call test_contract_broken failed (" in err and "worker crashed (exit code -9)" in err
    assert "went on without it" in err


def test_score_outputs_follow_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "a.png", _dark())
    base = ["score", str(tmp_path / "a.png"), "--metric", "noise_sigma"]
    existing = tmp_path / "scores.json"
    existing.write_text("keep")
    assert main([*base, "--json", str(existing)]) == 2
    assert existing.read_text() == "keep"
    assert main([*base, "--json", str(existing), "--overwrite"]) == 0
    assert "a.png" in json.loads(existing.read_text()).__iter__().__next__()
    assert main([*base, "--csv", str(tmp_path / "a.png")]) == 2  # an input
    assert main([*base, "--json", str(existing / "sub.json")]) == 2  # under a file
    assert main([*base, "--csv", str(tmp_path)]) == 2  # a folder
    err = capsys.readouterr().err
    _no_traceback(err)
    assert read_image(tmp_path / "a.png").shape == (3, 24, 32)


def test_tools_run_outputs_follow_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_image(tmp_path / "a.png", _dark())
    out = tmp_path / "b.png"
    out.write_bytes(b"keep")
    assert main(["tools", "run", "gamma_auto", str(tmp_path / "a.png"), str(out)]) == 2
    assert out.read_bytes() == b"keep"
    assert main(["tools", "run", "gamma_auto", str(tmp_path / "a.png"), str(out), "--overwrite"]) == 0
    assert read_image(out).shape == (3, 24, 32)
    assert main(["tools", "run", "gamma_auto", str(tmp_path / "a.png"), str(out / "c.png")]) == 2
    assert main(["tools", "run", "gamma_auto", str(tmp_path / "a.png"), str(tmp_path / "c.txt")]) == 2
    _no_traceback(capsys.readouterr().err)


def test_pool_run_output_follows_the_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_image(tmp_path / "a.png", _dark())
    out = tmp_path / "b.png"
    out.write_bytes(b"keep")
    assert main(["pool", "run", "gamma_auto", str(src), "-o", str(out), "--workers", "1"]) == 2
    assert out.read_bytes() == b"keep"
    assert main(["pool", "run", "gamma_auto", str(src), "-o", str(src), "--workers", "1"]) == 2
    assert main(["pool", "run", "gamma_auto", str(src), "-o", str(out), "--args", "{bad", "--workers", "1"]) == 2
    assert main(["pool", "run", "gamma_auto", str(src), "-o", str(out), "--overwrite", "--workers", "1"]) == 0
    assert read_image(out).shape == (3, 24, 32)
    _no_traceback(capsys.readouterr().err)


def test_bench_and_degrade_outputs_that_cannot_be_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["bench", "--out", str(blocker), "--sets", str(tmp_path), "--policies", "fixed"]) == 2
    assert main(["bench", "--out", str(blocker / "sub"), "--sets", str(tmp_path), "--policies", "fixed"]) == 2
    src = tmp_path / "clean"
    src.mkdir()
    write_image(src / "a.png", _dark())
    assert main(["degrade", str(src), str(blocker), "-q"]) == 2
    sheet = tmp_path / "sheet.png"
    sheet.write_bytes(b"keep")
    assert main(["degrade", str(src), str(tmp_path / "deg"), "-q", "--preset", "single", "--contact-sheet", str(sheet)]) == 2
    assert sheet.read_bytes() == b"keep" and blocker.read_text() == "x"
    _no_traceback(capsys.readouterr().err)


@pytest.mark.parametrize("name", ["../../x", "a/b", "UPPER", ""])
def test_tools_add_with_a_bad_name_is_a_usage_error(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("IRPILOT_USER_TOOLS", str(tmp_path / "user_tools.json"))
    code = main(["tools", "add", name, "--task", "denoise", "--checkpoint", str(tmp_path / "m.pth")])
    err = capsys.readouterr().err
    assert code == 2
    assert "snake_case" in err and err.strip().count("\n") == 0
    assert not (tmp_path / "user_tools.json").exists()


@pytest.mark.parametrize("content", ["[1, 2, 3]", '{"tools": [1]}', '{"tools": [{"name": "only_a_name"}]}',
                                     '{"tools": "x"}', "{not json"])
def test_a_malformed_user_tools_file_does_not_break_the_builtin_tools(
    content: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from irpilot.errors import ConfigError
    from irpilot.tools.user import load_user_tools, read_user_tools, remove_user_tool

    path = tmp_path / "user_tools.json"
    path.write_text(content)
    monkeypatch.setenv("IRPILOT_USER_TOOLS", str(path))
    assert load_user_tools(path) == []  # logged, not raised
    with pytest.raises(ConfigError, match=str(path)):
        read_user_tools(path)  # so that add/remove never rewrite the file without its entries
    with pytest.raises(ConfigError):
        remove_user_tool("anything", path=path)
    assert path.read_text() == content
    assert main(["tools", "--task", "low_light"]) == 0
    assert "gamma_auto" in capsys.readouterr().out
    write_image(tmp_path / "a.png", _dark())
    assert main(["restore", str(tmp_path / "a.png"), "-o", str(tmp_path / "out"), *FAST]) == 0
