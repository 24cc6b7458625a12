"""irpilot's quality-conditioned JPEG network: architecture, checkpoint round trip, training script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from irpilot.tools.networks.jpeg_qnet import build_jpeg_qnet, load_jpeg_qnet  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_shapes_quality_conditioning_and_near_identity_start() -> None:
    torch.manual_seed(0)
    model = build_jpeg_qnet(width=16, depth=4).eval()
    x = torch.rand(2, 3, 24, 30)
    with torch.no_grad():
        y10 = model(x, torch.tensor([10.0, 10.0]))
        y90 = model(x, torch.tensor([90.0, 90.0]))
    assert y10.shape == x.shape
    assert not torch.allclose(y10, y90)  # the quality plane reaches the output
    # the last layer starts small: the untrained network is close to the identity, not far off
    assert float((y10 - x).abs().mean()) < 0.05


def test_checkpoint_round_trip_loads_weights_only(tmp_path: Path) -> None:
    model = build_jpeg_qnet(width=8, depth=3)
    path = tmp_path / "net.pt"
    torch.save({"state_dict": model.state_dict(), "meta": {"width": 8, "depth": 3, "step": 1}}, path)
    loaded, meta = load_jpeg_qnet(path)
    assert meta["width"] == 8
    x = torch.rand(1, 3, 16, 16)
    q = torch.tensor([25.0])
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x, q).numpy(), model.eval()(x, q).numpy(), atol=1e-6)


@pytest.mark.slow
def test_training_script_runs_and_checkpoints(tmp_path: Path) -> None:
    """A few seconds of training on the training photos: logs, best.pt and an export load."""
    from irpilot.config import settings

    if settings.data_dir is None or not (Path(settings.data_dir) / "T91").is_dir():
        pytest.skip("no training photos (IRPILOT_DATA_DIR)")
    out = tmp_path / "run"
    cmd = [sys.executable, str(REPO / "scripts" / "train_jpeg_qnet.py"), "--out", str(out), "--minutes", "0.1",
           "--width", "8", "--depth", "3", "--size", "32", "--batch", "2", "--val-crops", "2", "--threads", "1",
           "--export", str(tmp_path / "exported.pt")]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600, cwd=REPO)
    events = [json.loads(line)["event"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert events[0] == "start" and "eval" in events and events[-1] == "export"
    model, meta = load_jpeg_qnet(tmp_path / "exported.pt")
    assert meta["width"] == 8 and "gain_est_q" in meta
