"""``irpilot pool`` without Ray: status and one call through a pool."""

from __future__ import annotations

import numpy as np
import pytest

from irpilot.cli import main
from irpilot.io import read_image, write_image

pytestmark = pytest.mark.usefixtures("pool_tools")


def test_pool_status_lists_backends(capsys):
    assert main(["pool", "status"]) == 0
    out = capsys.readouterr().out
    assert "backend local" in out and "backend process" in out and "backend ray" in out


def test_pool_run_one_call_with_disk_cache(tmp_path, capsys):
    img = np.random.default_rng(0).random((3, 12, 12), dtype=np.float32)
    src = write_image(tmp_path / "in.png", img)
    argv = ["pool", "run", "pool_test_gain", str(src), "-o", str(tmp_path / "out.png"),
            "--args", '{"gain": 0.5}', "--cache-dir", str(tmp_path / "cache"), "--workers", "1", "--overwrite"]
    assert main(argv) == 0
    assert "(cached)" not in capsys.readouterr().out
    assert main(argv) == 0
    assert "(cached)" in capsys.readouterr().out
    np.testing.assert_allclose(read_image(tmp_path / "out.png"), read_image(src) * 0.5, atol=1 / 255 + 1e-6)
    assert main(["pool", "run", "no_such_tool", str(src), "-o", str(tmp_path / "x.png")]) == 1
