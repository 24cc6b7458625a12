"""``irpilot tools``: listing (table, JSON, task filter), ``show`` (one card), ``run`` (atomic, never over the input)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from irpilot.cli import main
from irpilot.io import read_image, write_image
from irpilot.tools import TASKS, TOOLS

REPO = Path(__file__).resolve().parents[2]


def _json(capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:
    assert main(["tools", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_lists_every_tool_with_card_fields(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(capsys)
    assert sorted(r["id"] for r in rows) == TOOLS.names()
    for r in rows:
        assert r["task"] in TASKS
        assert isinstance(r["available"], bool)
        assert (r["unavailable_reason"] is None) == r["available"]
        for key in ("description", "scale", "kind", "code_license", "weights_license", "tiling", "cpu_seconds_512"):
            assert key in r


def test_task_filter(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(capsys, "--task", "denoise")
    assert rows and {r["task"] for r in rows} == {"denoise"}
    assert main(["tools", "--task", "no_such_task"]) == 1
    assert "unknown task" in capsys.readouterr().err


def test_show_prints_the_card_with_its_arguments_and_labels(capsys: pytest.CaptureFixture[str]) -> None:
    """``tools show`` gives a user the card: the protocol-fitted label, each argument's range and
    default, the fallback; an unknown tool is a clear error."""
    assert main(["tools", "show", "motion_deblur_hqs"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("motion_deblur_hqs  (task motion_deblur, classical, x1, version ")
    assert "Fitted to the benchmark protocol's one-sided line kernel" in " ".join(out.split())
    assert "fallback: shake_deblur_pnp" in out
    assert "  strength (number, from 0.1 to 10.0, default 1.0): multiplies the regularisation weight" in out
    assert main(["tools", "show", "bicubic_x4"]) == 0
    assert "available: yes" in capsys.readouterr().out
    assert main(["tools", "show", "no_such_tool"]) == 1
    assert "unknown tool 'no_such_tool'" in capsys.readouterr().err


def test_table_has_header_and_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--task", "super_resolution"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:7] == ["id", "task", "kind", "scale", "available", "sec/512", "licence"]
    ids = [line.split()[0] for line in out[2:] if line and not line.startswith(" ")]
    assert "bicubic_x4" in ids or ids  # at least the rows of this task


def test_run_writes_output_and_refuses_input_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    img = rng.random((3, 20, 24), dtype=np.float32)
    src = write_image(tmp_path / "in.png", img)
    before = src.read_bytes()
    dst = tmp_path / "out.png"
    tool = "bicubic_x4" if "bicubic_x4" in TOOLS else "oidn_denoise"
    assert main(["tools", "run", tool, str(src), str(dst)]) == 0
    out = read_image(dst)
    scale = TOOLS.get(tool).card.scale
    assert out.shape == (3, 20 * scale, 24 * scale)
    # OUT == IN (also through another spelling of the path) is refused and the input is untouched
    assert main(["tools", "run", tool, str(src), str(tmp_path / "." / "in.png")]) == 2  # a usage error: the output is an input
    assert "is the input" in capsys.readouterr().err
    assert src.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_run_passes_arguments_and_reports_bad_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not TOOLS.get("realcugan_denoise").available():
        pytest.skip(TOOLS.get("realcugan_denoise").unavailable_reason())
    src = write_image(tmp_path / "in.png", np.full((3, 16, 16), 0.5, np.float32))
    assert main(["tools", "run", "realcugan_denoise", str(src), str(tmp_path / "o.png"), "--arg", "level=denoise1x"]) == 0
    assert main(["tools", "run", "realcugan_denoise", str(src), str(tmp_path / "o2.png"), "--arg", "level"]) == 1
    assert "KEY=VALUE" in capsys.readouterr().err


def test_arguments_are_read_as_their_card_types_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--arg`` values are JSON unless the card types the argument as a string (``subsampling=420``
    is the text "420", not the number); a value the card rules out is refused before the tool
    loads, with the allowed values, and nothing is written."""
    from irpilot.cli.tools import parse_args_kv
    from irpilot.tools import get_tool

    schema = get_tool("jpeg_ycc_net").card.arguments
    assert parse_args_kv(["subsampling=420", "quality=20"], schema) == {"subsampling": "420", "quality": 20}
    assert parse_args_kv(["subsampling=420"]) == {"subsampling": 420}  # no schema: JSON
    src = write_image(tmp_path / "in.png", np.full((3, 16, 16), 0.5, np.float32))
    out = tmp_path / "o.png"
    assert main(["tools", "run", "dark_channel_prior", str(src), str(out), "--arg", "omega=3"]) == 1
    assert "'omega' must be from 0.5 to 1.0, got 3" in capsys.readouterr().err and not out.exists()
    assert main(["tools", "run", "shake_deblur_pnp", str(src), str(out), "--arg", "guide=maybe"]) == 1
    assert "must be one of 'none', 'auto', 'maxim'" in capsys.readouterr().err and not out.exists()


def test_unknown_tool_suggests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write_image(tmp_path / "in.png", np.zeros((3, 8, 8), np.float32))
    assert main(["tools", "run", "oidn_denoize", str(src), str(tmp_path / "o.png")]) == 1
    assert "oidn_denoise" in capsys.readouterr().err


def test_listing_is_cheap_and_imports_no_torch() -> None:
    code = "import sys; from irpilot.cli import main; main(['tools', '--json']); assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3]"
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)


@pytest.mark.weights
def test_toolbox_has_two_available_tools_per_task(capsys: pytest.CaptureFixture[str]) -> None:
    """The toolbox promise: >= 2 runnable tools for each of the 8 protocol tasks, >= 24 in all."""
    from irpilot.config import settings

    if not Path(settings.weights_dir).is_dir():
        pytest.skip(f"weights directory {settings.weights_dir} is absent")
    rows = [r for r in _json(capsys) if r["available"]]
    tasks = [t for t in TASKS if t != "desnow"][:8]
    per_task = {t: sorted(r["id"] for r in rows if r["task"] == t) for t in tasks}
    short = {t: ids for t, ids in per_task.items() if len(ids) < 2}
    assert not short, f"tasks with fewer than 2 available tools: {short}"
    assert len(rows) >= 24, f"only {len(rows)} available tools"


def test_measured_speed_replaces_the_card_figure(monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    import irpilot.tools

    fake = {"date": "2026-01-02", "machine": "test CPU", "precision": "float32", "seconds_512": {"bicubic_x4": 12.5}}
    monkeypatch.setattr(irpilot.tools, "measured_speeds", lambda: fake)
    rows = {r["id"]: r for r in _json(capsys, "--task", "super_resolution")}
    assert rows["bicubic_x4"]["cpu_seconds_512"] == 12.5 and rows["bicubic_x4"]["cpu_seconds_512_measured"]
    others = [r for name, r in rows.items() if name != "bicubic_x4"]
    assert all("cpu_seconds_512_measured" not in r for r in others)
    assert others and all(r["cpu_seconds_512"] == TOOLS.get(r["id"]).card.cpu_seconds_512 for r in others)
    assert main(["tools", "--task", "super_resolution"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("bicubic_x4") and " 12 " in f"{line} " for line in out.splitlines())
    assert "measured 2026-01-02 on test CPU" in out


def test_shipped_speeds_file_is_readable() -> None:
    from irpilot.tools import measured_speeds

    speeds = measured_speeds()
    if not speeds:
        pytest.skip("no measured speeds shipped")
    assert {"date", "machine", "seconds_512"} <= set(speeds)
    assert all(name in TOOLS and s > 0 for name, s in speeds["seconds_512"].items())
