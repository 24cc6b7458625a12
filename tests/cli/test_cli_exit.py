"""The ``irpilot`` program ends cleanly when a call is abandoned: a call that timed out on the
``local`` backend (its thread cannot be stopped) or Ctrl-C during ``bench`` gives the contract's
exit status, not an abort of the interpreter ("terminate called without an active exception")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import irpilot
from irpilot.io import write_image

pytest.importorskip("torch")
SRC = Path(irpilot.__file__).resolve().parents[1]  # the irpilot these tests import

#: runs ``irpilot`` (``main()`` as the program calls it) with a denoiser that works in torch for
#: a long time and touches the file $SLOW_STARTED when it starts
HARNESS = '''
import os, sys
from pathlib import Path
from typing import Any, ClassVar
import numpy as np
from irpilot.tools.base import TOOLS, Tool, ToolCard
from irpilot.policies import common

class SlowTorch(Tool):
    card: ClassVar[ToolCard] = ToolCard(id="test_slow_torch", task="denoise", description="test", tiling=False)

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        import torch
        Path(os.environ["SLOW_STARTED"]).touch()
        x, w = torch.rand(1, 16, 256, 256), torch.rand(16, 16, 3, 3)
        for _ in range(2000):
            x = torch.nn.functional.conv2d(x, w, padding=1).tanh()
        return img

TOOLS.add("test_slow_torch", SlowTorch)
common.PREFERRED_TOOLS["denoise"] = ("test_slow_torch",)
from irpilot.cli import main
sys.argv[0] = "irpilot"
sys.exit(main())
'''


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    script = tmp_path / "harness.py"
    script.write_text(HARNESS)
    started = tmp_path / "started"
    env = dict(os.environ, PYTHONPATH=str(SRC), SLOW_STARTED=str(started), OMP_NUM_THREADS="2")
    # Ctrl-C as in a terminal, also when the tests themselves run in the background (where SIGINT
    # is ignored, and an ignored SIGINT stays ignored in children)
    proc = subprocess.Popen([sys.executable, str(script), *args], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return proc, started


def test_a_timed_out_call_on_the_local_backend_exits_cleanly(tmp_path: Path) -> None:
    src = write_image(tmp_path / "in.png", np.full((3, 32, 32), 0.5, np.float32))
    proc, _ = _start(tmp_path, "restore", str(src), "-o", "out", "--policy", "fixed", "--tasks", "noise",
                     "--timeout", "0.5")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert "terminate called" not in err and "Traceback" not in err
    assert "call test_slow_torch failed (timeout after 0.5 s)" in err
    assert (tmp_path / "out" / "in.png").is_file()


def test_ctrl_c_during_bench_exits_130(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "a.png", np.random.default_rng(0).uniform(0.3, 0.6, (3, 48, 48)).astype(np.float32))
    proc, started = _start(tmp_path, "bench", "--sets", str(photos), "--groups", "B", "--crop", "32",
                           "--policies", "fixed:tasks=noise", "--out", "runs")
    deadline = time.monotonic() + 240
    while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started.exists(), proc.communicate()[1][-2000:]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "irpilot: interrupted" in err
    assert "terminate called" not in err and "Traceback" not in err
