"""User checkpoints through spandrel: random small networks saved as .pth / .safetensors,
registered as tools, must give the same output as the network run directly."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
spandrel = pytest.importorskip("spandrel")

from irpilot.cli import main  # noqa: E402
from irpilot.errors import ConfigError, ToolError  # noqa: E402
from irpilot.tools import (  # noqa: E402
    TOOLS,
    get_tool,
    user,  # noqa: E402
)


def _dncnn():
    from spandrel.architectures.DnCNN import DnCNN

    return DnCNN(in_nc=3, out_nc=3, nc=16, nb=5, act_mode="BR")


def _dncnn_gray():
    from spandrel.architectures.DnCNN import DnCNN

    return DnCNN(in_nc=1, out_nc=1, nc=8, nb=4, act_mode="BR")


def _nafnet():
    from spandrel.architectures.NAFNet import NAFNet

    return NAFNet(img_channel=3, width=8, middle_blk_num=1, enc_blk_nums=[1, 1], dec_blk_nums=[1, 1])


def _swinir():
    from spandrel.architectures.SwinIR import SwinIR

    return SwinIR(
        img_size=16, in_chans=3, embed_dim=12, depths=[2], num_heads=[2], window_size=4, mlp_ratio=2.0,
        upscale=1, img_range=1.0, upsampler="", resi_connection="1conv",
    )


def _scunet():
    from spandrel.architectures.SCUNet import SCUNet

    return SCUNet(in_nc=3, config=[1, 1, 1, 1, 1, 1, 1], dim=64)


def _compact_x4():
    from spandrel.architectures.Compact import Compact

    return Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=3, upscale=4, act_type="prelu")


MODELS = {
    "dncnn": (_dncnn, "denoise", 1, "DnCNN"),
    "dncnn_gray": (_dncnn_gray, "denoise", 1, "DnCNN"),
    "nafnet": (_nafnet, "denoise", 1, "NAFNet"),
    "swinir": (_swinir, "denoise", 1, "SwinIR"),
    "scunet": (_scunet, "denoise", 1, "SCUNet"),
    "compact_x4": (_compact_x4, "super_resolution", 4, "RealESRGAN Compact"),
}


def _randomise(net) -> None:
    """Random BatchNorm statistics too, so eval()/train() mode differences would show."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


@pytest.fixture()
def user_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "user_tools.json"
    monkeypatch.setenv(user.ENV_VAR, str(path))
    yield path
    for name in list(user._USER_TOOLS):
        TOOLS.remove(name)
        user._USER_TOOLS.discard(name)


def _save(net, path: Path) -> Path:
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


@pytest.mark.parametrize("ext", [".pth", ".safetensors"])
@pytest.mark.parametrize("key", list(MODELS))
def test_registered_checkpoint_matches_direct_run(key: str, ext: str, tmp_path: Path, user_file: Path) -> None:
    build, task, scale, arch = MODELS[key]
    torch.manual_seed(0)
    net = build()
    _randomise(net)
    net.eval()
    ckpt = _save(net, tmp_path / f"{key}{ext}")
    name = f"t_{key}_{ext[1:]}"
    cls = user.register_checkpoint(name, task, ckpt, scale=scale, description="test model")
    assert TOOLS.get(name) is cls
    card = cls.card
    assert (card.task, card.scale, card.kind) == (task, scale, "network")
    assert cls.spec.architecture == arch
    assert cls.available(), cls.unavailable_reason()

    rng = np.random.default_rng(1)
    h, w = (12, 20) if scale == 4 else (64, 64)  # multiples of every test model's size rule
    img = rng.random((3, h, w), dtype=np.float32)
    out = get_tool(name)(img, tile=0)
    assert out.shape == (3, h * scale, w * scale)
    with torch.no_grad():
        x = torch.from_numpy(img)[None]
        if cls.spec.input_channels == 1:
            ref = net(x.permute(1, 0, 2, 3)).permute(1, 0, 2, 3)[0]
        else:
            ref = net(x)[0]
    np.testing.assert_allclose(out, ref.clamp(0, 1).numpy(), atol=1e-5)


def test_card_reflects_size_rules_and_licence(tmp_path: Path, user_file: Path) -> None:
    torch.manual_seed(0)
    cls = user.register_checkpoint("t_swin", "denoise", _save(_swinir(), tmp_path / "s.pth"))
    desc = user.load_model(tmp_path / "s.pth")
    assert not desc.model.training  # eval() mode
    req = desc.size_requirements
    assert (cls.card.min_size, cls.card.multiple_of) == (max(1, req.minimum), max(1, req.multiple_of))
    assert cls.card.tiling == (desc.tiling.name != "INTERNAL")
    assert "spandrel" in cls.card.code_license
    assert cls.card.weights[0].sha256 == user.sha256_file(tmp_path / "s.pth")
    out = get_tool("t_swin")(np.random.default_rng(0).random((3, 9, 11), dtype=np.float32))
    assert out.shape == (3, 9, 11)  # padded to the window multiple and cropped back


def test_wrapped_checkpoint_params_key(tmp_path: Path, user_file: Path) -> None:
    torch.manual_seed(0)
    net = _dncnn()
    path = tmp_path / "wrapped.pth"
    torch.save({"params": net.state_dict()}, path)
    cls = user.register_checkpoint("t_wrapped", "denoise", path)
    assert cls.spec.architecture == "DnCNN"


def test_non_checkpoint_files_give_clear_errors(tmp_path: Path, user_file: Path) -> None:
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(ToolError, match="not a readable weights-only checkpoint"):
        user.register_checkpoint("t_bad", "denoise", text)
    img = tmp_path / "photo.png"
    img.write_bytes(b"\x89PNG\r\n")
    with pytest.raises(ToolError, match="unsupported checkpoint type"):
        user.register_checkpoint("t_bad", "denoise", img)
    with pytest.raises(ToolError, match="does not exist"):
        user.register_checkpoint("t_bad", "denoise", tmp_path / "missing.pth")
    unknown = tmp_path / "unknown.pth"
    torch.save({"foo.weight": torch.zeros(3, 3)}, unknown)
    with pytest.raises(ToolError, match="does not recognise"):
        user.register_checkpoint("t_bad", "denoise", unknown)
    assert "t_bad" not in TOOLS


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickled_code_is_not_executed(tmp_path: Path, user_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        pickle.dump({"x": _Evil()}, f)
    with pytest.raises(ToolError):
        user.register_checkpoint("t_evil", "denoise", path)
    assert "pwned" not in capsys.readouterr().out


def test_scale_and_task_are_checked(tmp_path: Path, user_file: Path) -> None:
    torch.manual_seed(0)
    sr = _save(_compact_x4(), tmp_path / "sr.pth")
    with pytest.raises(ConfigError, match="scales by 4"):
        user.register_checkpoint("t_sr", "super_resolution", sr, scale=2)
    with pytest.raises(ConfigError, match="super_resolution"):
        user.register_checkpoint("t_sr", "denoise", sr)
    with pytest.raises(ConfigError, match="built-in"):
        user.register_checkpoint("bicubic_x4" if "bicubic_x4" in TOOLS else "oidn_denoise", "super_resolution", sr)


def test_cli_add_list_run_remove(tmp_path: Path, user_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from irpilot.io import read_image, write_image

    torch.manual_seed(0)
    ckpt = _save(_nafnet(), tmp_path / "naf.safetensors")
    assert main(["tools", "add", "my_nafnet", "--task", "denoise", "--checkpoint", str(ckpt)]) == 0
    stored = json.loads(user_file.read_text())
    assert [t["name"] for t in stored["tools"]] == ["my_nafnet"]
    assert stored["tools"][0]["architecture"] == "NAFNet"
    capsys.readouterr()
    assert main(["tools", "--json", "--task", "denoise"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["my_nafnet"]["available"] is True

    # a fresh registry load (as in a new process) rebuilds the tool from the file alone
    TOOLS.remove("my_nafnet")
    user._USER_TOOLS.discard("my_nafnet")
    assert user.load_user_tools() == ["my_nafnet"]
    src = write_image(tmp_path / "in.png", np.random.default_rng(0).random((3, 16, 16), dtype=np.float32))
    assert main(["tools", "run", "my_nafnet", str(src), str(tmp_path / "out.png")]) == 0
    assert read_image(tmp_path / "out.png").shape == (3, 16, 16)

    assert main(["tools", "remove", "my_nafnet"]) == 0
    assert "my_nafnet" not in TOOLS
    assert json.loads(user_file.read_text())["tools"] == []
    assert main(["tools", "remove", "my_nafnet"]) == 1


def test_missing_checkpoint_makes_tool_unavailable(tmp_path: Path, user_file: Path) -> None:
    torch.manual_seed(0)
    ckpt = _save(_dncnn(), tmp_path / "d.pth")
    user.add_user_tool("t_gone", "denoise", ckpt)
    ckpt.unlink()
    reason = TOOLS.get("t_gone").unavailable_reason()
    assert reason and "d.pth" in reason


def test_broken_user_file_does_not_break_the_registry(user_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    user_file.write_text("{not json")
    assert user.load_user_tools() == []
    assert "not valid JSON" in caplog.text
