"""LPIPS: the real loading path with randomly initialised weights, and a clear message when
the weight files are absent (they are never bundled or downloaded)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import torch

from irpilot.config import configure, settings
from irpilot.io import from_uint8
from irpilot.quality import MetricUnavailableError, compute_metric
from irpilot.quality.lpips import LPIPS, build_lpips_network


@pytest.fixture()
def no_lpips_files(tmp_path, monkeypatch):
    old = settings.weights_dir
    configure(weights_dir=tmp_path / "weights")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("IRPILOT_LPIPS_WEIGHTS", raising=False)
    monkeypatch.delenv("IRPILOT_LPIPS_BACKBONE", raising=False)
    yield
    configure(weights_dir=old)


def test_unavailable_message_names_files_and_sources(no_lpips_files):
    img = from_uint8(skimage.data.astronaut())[:, :64, :64]
    with pytest.raises(MetricUnavailableError) as info:
        LPIPS()(img, img)
    msg = str(info.value)
    assert "alex.pth" in msg and "alexnet-owt-7be5be79.pth" in msg
    assert "PerceptualSimilarity" in msg and "download.pytorch.org" in msg
    assert "IRPILOT_LPIPS_WEIGHTS" in msg
    assert not LPIPS().available()


def _random_weight_files(tmp_path):
    torch.manual_seed(0)
    net = build_lpips_network("alex")
    trunk = {k: v for k, v in net.backbone.state_dict().items() if k.startswith("features.")}
    lins = {k: v.abs() for k, v in net.state_dict().items() if k.startswith("lin")}  # LPIPS weights are >= 0
    assert sorted(lins) == [f"lin{i}.model.1.weight" for i in range(5)]
    torch.save(trunk, tmp_path / "alexnet.pth")
    torch.save(lins, tmp_path / "alex.pth")
    return tmp_path / "alex.pth", tmp_path / "alexnet.pth"


def test_loading_path_with_random_weights(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    lin, trunk = _random_weight_files(tmp_path)
    metric = LPIPS(lin_path=lin, backbone_path=trunk)
    assert metric.available()
    photo = from_uint8(skimage.data.astronaut())[:, 100:196, 150:246]
    rng = np.random.default_rng(0)
    noisy = np.clip(photo + rng.normal(0, 0.1, photo.shape), 0, 1).astype(np.float32)
    d = metric(noisy, photo)
    assert np.isfinite(d) and d > 0
    assert metric(photo, photo) == pytest.approx(0.0, abs=1e-7)
    assert np.isfinite(metric(noisy[:, :37, :53], photo[:, :37, :53]))  # small images are padded
    # the same files through the settings path and the registry
    monkeypatch.setenv("IRPILOT_LPIPS_WEIGHTS", str(lin))
    monkeypatch.setenv("IRPILOT_LPIPS_BACKBONE", str(trunk))
    from irpilot.quality import base

    base._instances.pop("lpips", None)
    try:
        assert compute_metric("lpips", noisy, photo) == pytest.approx(d, rel=1e-5)
    finally:
        base._instances.pop("lpips", None)


def test_wrong_file_is_reported(tmp_path):
    lin, trunk = _random_weight_files(tmp_path)
    torch.save({"something": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(MetricUnavailableError, match="not an LPIPS"):
        LPIPS(lin_path=tmp_path / "bad.pth", backbone_path=trunk)(np.zeros((3, 64, 64), np.float32),
                                                                 np.zeros((3, 64, 64), np.float32))


def test_trunk_matches_torchvision_layout():
    """Real torchvision AlexNet files load: same parameter names and shapes in ``features``."""
    import torchvision

    tv = {k: v.shape for k, v in torchvision.models.alexnet(weights=None).state_dict().items() if k.startswith("features.")}
    mine = {k: v.shape for k, v in build_lpips_network("alex").backbone.state_dict().items()}
    assert mine == tv
