"""The linters, configured in pyproject.toml, pass on the source: ruff (style, imports, bugbear,
no module-level import of torch or another heavy optional package) and basedpyright (types of
the floors it covers).  Each is skipped, with the reason, where it is not installed (both are in
the ``test`` extra)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _tool(module: str, executable: str) -> list[str]:
    """How to run a linter: as a module of this Python, else from PATH; skip when absent."""
    probe = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", module]
    path = shutil.which(executable)
    if path is None:
        pytest.skip(f"{executable} is not installed (pip install -e '.[test]')")
    return [path]


def test_ruff_passes():
    cmd = _tool("ruff", "ruff") + ["check", "--no-cache", "src", "tests", "benchmarks"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.slow  # about a minute on two cores
def test_basedpyright_passes():
    cmd = _tool("basedpyright", "basedpyright") + ["--pythonpath", sys.executable]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
