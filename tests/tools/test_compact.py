"""irpilot's compact networks (``irpilot.tools.networks.compact``) and their tools (``desnow_net``):
shapes, the identity start, the safetensors round trip, and the tool's contract on small images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from irpilot.tools.networks import compact  # noqa: E402
from irpilot.tools.networks.compact import build_compact_net, load_compact_net, save_compact_net  # noqa: E402


def test_untrained_net_is_the_identity_and_keeps_the_shape() -> None:
    torch.manual_seed(0)
    net = build_compact_net((4, 8, 8)).eval()
    x = torch.rand(2, 3, 32, 40)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, x)  # zero last layer: out = in
    with pytest.raises(ValueError, match="widths"):
        build_compact_net(())


def test_safetensors_round_trip_keeps_shape_and_outputs(tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = build_compact_net((4, 8)).eval()
    torch.nn.init.normal_(net.tail.weight, std=0.05)  # not the identity, so outputs can differ
    path = tmp_path / "net.safetensors"
    save_compact_net(net, path, {"task": "desnow", "widths": "4,8", "step": "3"})
    loaded, meta = load_compact_net(path=path)
    assert meta["step"] == "3" and meta["task"] == "desnow"
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), net(x).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="widths"):
        save_compact_net(net, path, {"task": "desnow"})


def test_weights_a_user_trained_are_read_from_the_weights_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``low_light_net`` ships without weights: exported into ``<weights folder>/irpilot/`` they are found,
    loaded, and the tool becomes available; without them the tool says where to put them."""
    from irpilot.config import settings
    from irpilot.tools import get_tool

    monkeypatch.setattr(settings, "weights_dir", tmp_path / "weights")
    monkeypatch.setattr(settings, "fetch_dir", tmp_path / "fetched")
    tool_cls = type(get_tool("low_light_net"))
    if compact.asset_exists("low_light"):
        pytest.skip("this install packages low_light_net's weights")
    reason = tool_cls.unavailable_reason()
    assert reason and str(tmp_path / "fetched" / "irpilot" / "compact_low_light.safetensors") in reason
    with pytest.raises(FileNotFoundError, match="irpilot/compact_low_light.safetensors"):
        load_compact_net("low_light")
    torch.manual_seed(4)
    net = build_compact_net((4, 8), head="exposure").eval()
    save_compact_net(net, tmp_path / "fetched" / "irpilot" / "compact_low_light.safetensors",
                     {"task": "low_light", "widths": "4,8", "head": "exposure", "step": "7"})
    assert compact.asset_exists("low_light") and tool_cls.unavailable_reason() is None
    loaded, meta = load_compact_net("low_light")
    assert meta["step"] == "7"
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), net(x).numpy(), atol=1e-6)


def test_tool_on_a_random_network_keeps_shape_range_and_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    """``desnow_net`` with a random network in place of the packaged one: odd sides are padded
    and cropped back, tiles are blended, the output is float32 in [0, 1]."""
    from irpilot.tools import get_tool

    torch.manual_seed(2)
    net = build_compact_net((4, 8, 8)).eval()
    torch.nn.init.normal_(net.tail.weight, std=0.05)
    monkeypatch.setattr(compact, "asset_exists", lambda task: True)
    monkeypatch.setattr(compact, "load_compact_net", lambda task=None, path=None: (net, {"task": "desnow"}))
    tool = get_tool("desnow_net", device="cpu")
    img = np.random.default_rng(0).random((3, 45, 70), dtype=np.float32)
    out = tool(img)
    assert out.shape == img.shape and out.dtype == np.float32
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    assert not np.allclose(out, img)  # the network ran
    tiled = tool(img, tile=40)
    assert tiled.shape == img.shape and float(np.abs(tiled - out).mean()) < 0.05


def _astronaut_crop_for_packaged(task: str, rows: slice, cols: slice) -> np.ndarray:
    """A crop of scikit-image's astronaut (a training photo), after checking that ``task``'s
    packaged weights rebuild from the file's metadata (skipped when not in this install)."""
    if not compact.asset_exists(task):
        pytest.skip(f"{task} weights not in this install")
    import skimage.data

    from irpilot.io import from_uint8

    net, meta = load_compact_net(task)
    assert sum(p.numel() for p in net.parameters()) == int(meta["params"]) < 300_000
    assert f"irpilot train tool {task}" in meta["command"] and meta["task"] == task
    return from_uint8(np.ascontiguousarray(skimage.data.astronaut()[rows, cols]))


def test_packaged_desnow_weights_load_and_leave_a_clean_photo_nearly_alone() -> None:
    from irpilot.tools import get_tool

    clean = _astronaut_crop_for_packaged("desnow", slice(40, 168), slice(160, 288))
    out = get_tool("desnow_net", device="cpu")(clean)
    assert out.shape == clean.shape
    assert float(10 * np.log10(1.0 / np.mean((out.astype(np.float64) - clean) ** 2))) > 30.0


@pytest.mark.parametrize("model", ["rain", "real_rain"])
def test_packaged_derain_weights_remove_rain_from_a_training_photo(model: str) -> None:
    """``derain_net``'s packaged weights, rebuilt from the file's metadata, clearly remove either
    rain model from a crop of a training photo and leave the clean crop nearly as it was."""
    from irpilot.degrade import get_degradation
    from irpilot.quality.full_reference import psnr
    from irpilot.tools import get_tool

    clean = _astronaut_crop_for_packaged("derain", slice(40, 200), slice(160, 320))
    deg = get_degradation(model)
    rainy = deg.apply(clean, deg.sample(np.random.default_rng(3)))
    tool = get_tool("derain_net", device="cpu")
    assert psnr(tool(rainy), clean) > psnr(rainy, clean) + 3.0
    assert psnr(tool(clean), clean) > 30.0


@pytest.mark.parametrize("asset,tool_id", [("dehaze", "dehaze_net"), ("dehaze_lite", "dehaze_net_lite")])
def test_packaged_dehaze_weights_load_and_dehaze_a_training_photo(asset: str, tool_id: str) -> None:
    """The packaged weights of ``dehaze_net`` and ``dehaze_net_lite``: the haze head with its guided
    refinement, rebuilt from the file's metadata, clearly dehazes a crop of a training photo under
    the protocol's haze."""
    if not compact.asset_exists(asset):
        pytest.skip(f"{asset} weights not in this install")
    import skimage.data

    from irpilot.degrade import degrade
    from irpilot.io import from_uint8
    from irpilot.tools import get_tool

    net, meta = load_compact_net(asset)
    assert meta["head"] == "haze" and net.refine == int(meta["refine"]) > 0
    assert "irpilot train tool dehaze" in meta["command"]
    clean = from_uint8(np.ascontiguousarray(skimage.data.chelsea()[:256, :256]))
    hazy = degrade(clean, ["haze"], seed=0)[0]
    out = get_tool(tool_id, device="cpu")(hazy)

    def psnr(a: np.ndarray) -> float:
        return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - clean) ** 2)))

    assert out.shape == clean.shape and psnr(out) > psnr(hazy) + 3.0


def test_dehaze_net_can_keep_a_flat_hazy_sky_and_dehaze_the_scene_below() -> None:
    """``dehaze_net`` with ``sky=true`` on a hazy photo under a flat, banded sky: the sky comes back
    as it was (the sky mask), the scene below is dehazed as by default."""
    if not compact.asset_exists("dehaze"):
        pytest.skip("dehaze weights not in this install")
    import skimage.data

    from irpilot.degrade import degrade
    from irpilot.io import from_uint8
    from irpilot.tools import get_tool

    scene = degrade(from_uint8(np.ascontiguousarray(skimage.data.chelsea()[:200, :320])), ["haze"], seed=0)[0]
    airlight = float(scene.max())
    sky = np.round(np.linspace(airlight, airlight - 0.06, 120, dtype=np.float32) * 255) / 255
    img = np.concatenate([np.broadcast_to(sky[None, :, None], (3, 120, 320)), scene], axis=1).astype(np.float32)
    tool = get_tool("dehaze_net")
    kept, inverted = tool(img, sky=True), tool(img)
    assert np.abs(kept[:, :100] - img[:, :100]).max() < 0.02  # the sky as it was
    assert np.abs(inverted[:, :100] - img[:, :100]).max() > 0.05  # inverted, it changes
    np.testing.assert_allclose(kept[:, 150:], inverted[:, 150:], atol=0.02)  # the scene: dehazed alike
    assert np.abs(kept[:, 150:] - img[:, 150:]).mean() > 0.03


def test_dehaze_net_at_a_photos_border_sees_the_photo_mirrored_beyond_it() -> None:
    """The haze tools run with a mirrored margin: on a photo that really continues as its mirror
    image beyond a crop's border, the crop's outermost pixels come out as inside the larger photo
    (without the margin they were far off: the U-Net's zero padding, the dark channel's and the
    guided filters' replicated border)."""
    if not compact.asset_exists("dehaze"):
        pytest.skip("dehaze weights not in this install")
    import skimage.data

    from irpilot.degrade import degrade
    from irpilot.io import from_uint8
    from irpilot.tools import TOOLS

    crop = degrade(from_uint8(np.ascontiguousarray(skimage.data.coffee()[:128, :192])), ["haze"], seed=0)[0]
    larger = np.pad(crop, ((0, 0), (64, 64), (64, 64)), mode="reflect")
    tool = TOOLS.get("dehaze_net")(device="cpu")
    tool.ensure_setup()
    airlight = tool._airlight(crop)
    inside = tool(larger, airlight=airlight)[:, 64:-64, 64:-64]

    def edge_error() -> float:
        d = np.abs(tool(crop, airlight=airlight) - inside).max(axis=0)
        return float(np.concatenate([d[:, :4].ravel(), d[:, -4:].ravel(), d[:4].ravel(), d[-4:].ravel()]).mean())

    with_margin = edge_error()
    tool.margin = 0
    assert with_margin < 3 / 255 and edge_error() > 2 * with_margin


def test_a_boolean_argument_given_as_text_is_refused_not_read_as_true() -> None:
    """``sky=False`` from a command line arrives as the text "False", which ``bool()`` reads as
    true: the tool refuses it with a clear error (a real boolean works); a number given as text
    is refused likewise."""
    from irpilot.errors import ToolError
    from irpilot.tools import get_tool

    img = np.full((3, 32, 40), 0.7, dtype=np.float32)
    tool = get_tool("dehaze_net", device="cpu")
    with pytest.raises(ToolError, match="'sky' must be a boolean"):
        tool(img, sky="False")
    with pytest.raises(ToolError, match="'omega' must be a number"):
        get_tool("dark_channel_prior")(img, omega="0.7")
    assert tool(img, sky=False).shape == img.shape


def test_haze_head_starts_near_the_identity_and_inverts_the_scattering_model() -> None:
    """The dehazing head: near the identity untrained (t ~ 1); with a known t and airlight
    forced into its outputs it returns the haze-free image of ``I = J t + A (1 - t)``."""
    torch.manual_seed(3)
    net = build_compact_net((4, 8), head="haze").eval()
    j = torch.rand(1, 3, 32, 32) * 0.6
    with torch.no_grad():
        assert float((net(j) - j).abs().max()) < 0.01
        t, a = 0.5, torch.tensor([[0.9, 0.85, 0.8]])
        hazy = j * t + a[:, :, None, None] * (1 - t)
        net.tail.bias.zero_()  # t = 0.1 + 0.9 * sigmoid(b0): b0 = logit(0.4 / 0.9)
        net.tail.bias[0] = float(torch.logit(torch.tensor(0.4 / 0.9)))
        net.tail.bias[1] = -30.0  # all sRGB inversion
        torch.testing.assert_close(net(hazy, a), j, atol=1e-4, rtol=0)
        assert net.estimate_airlight(hazy).shape == (1, 3)
    with pytest.raises(ValueError, match="head"):
        build_compact_net((4, 8), head="nope")


def test_a_flat_sky_as_bright_as_the_haze_keeps_its_banding_small() -> None:
    """The haze head's run-time sky settings: with a small transmission everywhere, faint banding
    in a flat sky at the airlight's colour is amplified ~5x without them and stays near its own
    size with either (``tolerance``; ``flat_variance``), while a textured object far from the
    airlight is inverted about as before; ``dehaze_net`` turns both on."""
    from irpilot.tools import get_tool

    torch.manual_seed(4)
    net = build_compact_net((4, 8), head="haze").eval()
    a = torch.tensor([[0.8, 0.8, 0.8]])
    x = torch.full((1, 3, 64, 128), 0.8)
    x[..., 96:] = 0.4 + 0.2 * torch.rand(1, 1, 64, 32)  # a textured object well below the airlight
    x[:, :, ::4, :48] += 0.01  # faint banding in a wide flat sky (left), as JPEG leaves it
    with torch.no_grad():
        net.tail.bias.zero_()
        net.tail.bias[0] = float(torch.logit(torch.tensor(0.1 / 0.9)))  # t = 0.2
        net.tail.bias[1] = -30.0
        plain = net(x, a)
        outs = []
        for tolerance, flat in ((0.12, 0.0), (0.0, (3 / 255) ** 2)):
            net.tolerance, net.flat_variance = tolerance, flat
            outs.append(net(x, a))
    band_in = float(x[0, :, 20:44, 20:40].std())
    assert float(plain[0, :, 20:44, 20:40].std()) > 3.0 * band_in  # the banding amplified ~5x
    for out in outs:
        assert float(out[0, :, 20:44, 20:40].std()) < 1.5 * band_in
    torch.testing.assert_close(outs[0][..., 112:], plain[..., 112:])  # 0.4 from the airlight: as before
    assert float((outs[1][..., 104:124] - plain[..., 104:124]).abs().mean()) < 0.02  # texture still inverted
    with pytest.raises(ValueError, match="haze head only"):
        build_compact_net((4, 8), head="residual", refine=16)
    if compact.asset_exists("dehaze"):
        tool = get_tool("dehaze_net")
        tool.ensure_setup()
        assert tool.model.tolerance == tool.tolerance > 0
        assert tool.model.flat_variance == tool.flat_variance > 0


def test_guided_refinement_puts_the_transmission_edge_on_the_photo_edge(tmp_path: Path) -> None:
    """The haze head's ``refine``: a transmission that bleeds across an edge of the photo (as the
    dark channel's window makes it) is pulled back onto that edge; the radius is saved with the
    weights and rebuilt on loading; only the haze head takes it."""
    from irpilot.tools.networks.compact import _guided_filter

    guide = torch.zeros(1, 1, 32, 64)
    guide[..., 32:] = 1.0  # a dark object (left) against a bright sky (right)
    bled = torch.where(torch.arange(64) < 40, 0.9, 0.3).expand(1, 1, 32, 64)  # the edge 8 px off
    out = _guided_filter(guide, bled, 8, 1e-3)
    step = out[..., 32] - out[..., 31]
    assert float(step.max()) < -0.05  # a step appears at the photo's edge (none there before)
    halo = float((out[..., 32:40] - 0.3).abs().mean())
    assert halo < 0.75 * float((bled[..., 32:40] - 0.3).abs().mean())  # the bright halo shrinks
    assert float((out[..., :24] - bled[..., :24]).abs().max()) < 0.1  # far from the edge: about the same

    torch.manual_seed(6)
    net = build_compact_net((4, 8), head="haze", refine=8).eval()
    torch.nn.init.normal_(net.tail.weight, std=0.05)
    path = tmp_path / "haze.safetensors"
    save_compact_net(net, path, {"task": "dehaze", "widths": "4,8", "head": "haze", "refine": "8"})
    loaded, _ = load_compact_net(path=path)
    assert loaded.refine == 8
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x))
        plain = build_compact_net((4, 8), head="haze").eval()
        plain.load_state_dict(net.state_dict())
        assert not torch.allclose(plain(x), net(x))  # the same weights without refinement differ
    with pytest.raises(ValueError, match="refine"):
        build_compact_net((4, 8), head="residual", refine=8)
    with pytest.raises(ValueError, match="refine"):
        compact.build_net("aod", refine=8)


def test_aod_architecture_starts_as_the_identity() -> None:
    net = compact.build_net("aod").eval()
    x = torch.rand(1, 3, 20, 28)
    with torch.no_grad():
        torch.testing.assert_close(net(x), x)
    with pytest.raises(ValueError, match="arch"):
        compact.build_net("nope")


@pytest.mark.parametrize("tool_id,head", [("dehaze_net", "haze"), ("dehaze_net_lite", "haze"), ("dehaze_aod_net", None)])
def test_dehaze_tools_share_one_airlight_across_tiles(monkeypatch: pytest.MonkeyPatch, tool_id: str,
                                                     head: str | None) -> None:
    """Both dehazing networks as tools, with random weights: shape and range kept; the U-Net's
    airlight is read once from the whole image, so tiles agree with the untiled run; a tile no
    larger than the card's overlap is refused, not run pixel by pixel."""
    from irpilot.errors import ToolError
    from irpilot.tools.base import TOOLS

    torch.manual_seed(4)
    net = compact.build_net("unet" if head else "aod", (4, 8, 8), head=head or "residual").eval()
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.05) if p.ndim > 1 else None
    monkeypatch.setattr(compact, "asset_exists", lambda task: True)
    monkeypatch.setattr(compact, "load_compact_net", lambda task=None, path=None: (net, {"task": "dehaze"}))
    tool = TOOLS.get(tool_id)(device="cpu")  # not get_tool's shared instance: this one holds the test's network
    img = np.random.default_rng(0).random((3, 150, 230), dtype=np.float32) * 0.5 + 0.3
    out = tool(img)
    assert out.shape == img.shape and out.dtype == np.float32 and not np.allclose(out, img)
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    tiled = tool(img, tile=128)
    assert float(np.abs(tiled - out).mean()) < 0.05
    with pytest.raises(ToolError, match="cannot overlap"):
        tool(img, tile=tool.card.tile_overlap)


def test_tiles_of_a_large_photo_share_the_context_of_the_whole_photo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The U-Net's context bias (a mean and a maximum over its coarsest features) is read once
    over the whole photo, from the cores of its tiles: it matches the untiled network's, and the
    tiled output is much closer to the untiled one than with a bias read tile by tile."""
    import skimage.data

    from irpilot.io import from_uint8
    from irpilot.tools.base import TOOLS, Tool

    torch.manual_seed(5)
    net = compact.build_net("unet", (4, 8, 8)).eval()
    for p in net.parameters():
        torch.nn.init.normal_(p, std=0.3 if p.ndim > 1 else 0.05)
    monkeypatch.setattr(compact, "asset_exists", lambda task: True)
    monkeypatch.setattr(compact, "load_compact_net", lambda task=None, path=None: (net, {"task": "desnow"}))
    tool = TOOLS.get("desnow_net")(device="cpu")  # not get_tool's shared instance: this network only
    img = from_uint8(np.ascontiguousarray(skimage.data.astronaut()[::2, ::2][:200, :232]))
    tool.ensure_setup()
    with torch.inference_mode():
        f = net.coarse(torch.from_numpy(img[None]))
    whole_context = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)[0].numpy()
    np.testing.assert_allclose(tool._photo_context(img, 96, None), whole_context, atol=0.05 * np.abs(whole_context).max())

    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        return float(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - b) ** 2)))

    whole = tool(img, tile=0)
    per_tile = Tool.__call__(tool, img, tile=96)  # the bias of each tile's own features
    assert psnr(tool(img, tile=96), whole) > psnr(per_tile, whole) + 6.0


@pytest.mark.parametrize("tool_id,head,k", [("dehaze_net", "haze", 1), ("low_light_net", "exposure", 3)])
def test_tiles_of_a_large_photo_share_the_heads_whole_image_terms(monkeypatch: pytest.MonkeyPatch, tool_id: str,
                                                                  head: str, k: int) -> None:
    """What a head reads as a mean over the whole image (the haze head's weight of the inversion in
    linear light, the exposure head's colour correction) is read once, on a copy of the photo
    shrunk to one tile, and every tile gets the same; a photo within one tile reads its own."""
    import skimage.data

    from irpilot.io import from_uint8
    from irpilot.tools.base import TOOLS

    torch.manual_seed(7)
    net = compact.build_net("unet", (4, 8, 8), head=head).eval()
    for p in net.tail.parameters():
        torch.nn.init.normal_(p, std=0.3 if p.ndim > 1 else 0.05)
    monkeypatch.setattr(compact, "asset_exists", lambda task: True)
    monkeypatch.setattr(compact, "load_compact_net", lambda task=None, path=None: (net, {"task": head}))
    tool = TOOLS.get(tool_id)(device="cpu")  # not get_tool's shared instance: this network only
    img = from_uint8(np.ascontiguousarray(skimage.data.astronaut()[::2, ::2][:240, :256]))
    seen: list[torch.Tensor | None] = []
    forward = net.forward

    def spy(x: torch.Tensor, *extra: torch.Tensor | None) -> torch.Tensor:
        seen.append(extra[2] if len(extra) > 2 else None)
        return forward(x, *extra)

    monkeypatch.setattr(net, "forward", spy)
    tool(img, tile=160)
    assert len(seen) > 1 and all(t is not None and t.shape == (1, k) for t in seen)
    assert all(torch.equal(t, seen[0]) for t in seen)
    seen.clear()
    tool(img[:, :96, :96])
    assert seen == [None]  # within one tile: its own


def test_exposure_head_starts_as_the_identity_and_applies_a_gain() -> None:
    torch.manual_seed(5)
    net = build_compact_net((4, 8), head="exposure").eval()
    x = torch.rand(1, 3, 16, 16) * 0.3
    with torch.no_grad():
        torch.testing.assert_close(net(x), x)
        net.tail.bias[0] = float(4.0 * torch.atanh(torch.tensor(float(np.log(2.0)) / 4.0)))  # gain 2
        torch.testing.assert_close(net(x), 2 * x)


def test_x4_tool_upscales_then_restores_and_pads_odd_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sr_net_x4``: an odd-sized input comes back exactly 4x, tiled or not; with the identity
    network (an untrained U-Net) an input of even sides comes back as its bicubic x4."""
    from irpilot.tools import TOOLS
    from irpilot.tools.networks.dncnn import bicubic_upscale

    torch.manual_seed(5)
    identity = build_compact_net((4, 8, 8, 8)).eval()
    monkeypatch.setattr(compact, "asset_exists", lambda task: True)
    monkeypatch.setattr(compact, "load_compact_net", lambda task=None, path=None: (identity, {"task": "super_resolution"}))
    img = np.random.default_rng(1).random((3, 21, 30), dtype=np.float32)
    tool = TOOLS.get("sr_net_x4")(device="cpu")  # not get_tool's shared instance: this one holds the test's network
    out = tool(img)
    assert out.shape == (3, 84, 120) and out.dtype == np.float32
    even = img[:, :20]  # no padding: exactly the bicubic upscaling
    np.testing.assert_allclose(tool(even), bicubic_upscale(even, 4), atol=1e-5)
    torch.nn.init.normal_(identity.tail.weight, std=0.05)
    tiled, whole = tool(img, tile=16), tool(img, tile=0)
    assert tiled.shape == whole.shape == (3, 84, 120) and float(np.abs(tiled - whole).mean()) < 0.05


@pytest.mark.parametrize(("chain", "seed", "margin"), [
    (["low_resolution"], 0, 0.2),
    # version 2, trained on blur before the x1/4 too, +2.84 dB; version 1 +0.26
    (["real_defocus_blur", "real_low_resolution"], 1, 1.5),
])
def test_packaged_x4_weights_beat_bicubic_on_a_held_out_photo(chain: list[str], seed: int, margin: float) -> None:
    """The shipped ``sr_net_x4`` on a crop of a held-out photo (the astronaut) made small by the
    protocol's x1/4, or by a camera's after lens blur: closer to the crop than bicubic x4."""
    if not compact.asset_exists("super_resolution"):
        pytest.skip("super-resolution weights not in this install")
    import skimage.data

    from irpilot.degrade import degrade
    from irpilot.io import from_uint8
    from irpilot.tools import get_tool
    from irpilot.tools.networks.dncnn import bicubic_upscale

    net, meta = load_compact_net("super_resolution")
    assert sum(p.numel() for p in net.parameters()) == int(meta["params"])
    assert "irpilot train tool super_resolution" in meta["command"]
    clean = from_uint8(np.ascontiguousarray(skimage.data.astronaut()[40:200, 160:320]))
    small = degrade(clean, chain, seed=seed)[0]
    out = get_tool("sr_net_x4", device="cpu")(small)

    def psnr(a: np.ndarray) -> float:
        return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1).astype(np.float64) - clean) ** 2)))

    assert out.shape == clean.shape
    assert psnr(out) > psnr(bicubic_upscale(small, 4)) + margin


def test_sr_ensemble_runs_sr_net_alone_without_srmd_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sr_ensemble_x4`` without SRMD's fetched files stays available and runs ``sr_net_x4`` alone
    (the default policy's x4 step never falls to lanczos for a missing download); its cache tag
    tells those outputs apart from the average's."""
    if not compact.asset_exists("super_resolution"):
        pytest.skip("super-resolution weights not in this install")
    from irpilot.tools import TOOLS, get_tool

    srmd = TOOLS.get("srmd_x4")
    monkeypatch.setattr(srmd, "unavailable_reason", classmethod(lambda c: "files not fetched (a stand-in)"))
    cls = TOOLS.get("sr_ensemble_x4")
    assert cls.available()
    assert "sr_net_x4-only" in cls.precision_tag()
    small = np.random.default_rng(0).random((3, 24, 30)).astype(np.float32)
    np.testing.assert_array_equal(cls(device="cpu")(small), get_tool("sr_net_x4", device="cpu")(small))


def test_derain_cascade_runs_derain_net_alone_without_prenet(monkeypatch: pytest.MonkeyPatch) -> None:
    """``derain_cascade`` without PReNet's weights (no weights folder) stays available and runs
    ``derain_net`` alone; its cache tag tells those outputs apart from the cascade's."""
    if not compact.asset_exists("derain"):
        pytest.skip("derain weights not in this install")
    from irpilot.tools import TOOLS, get_tool

    monkeypatch.setattr(TOOLS.get("prenet_rain100l"), "unavailable_reason",
                        classmethod(lambda c: "weights absent (a stand-in)"))
    cls = TOOLS.get("derain_cascade")
    assert cls.available()
    assert "derain_net-only" in cls.precision_tag()
    img = np.random.default_rng(1).random((3, 40, 48)).astype(np.float32)
    np.testing.assert_array_equal(cls(device="cpu")(img), get_tool("derain_net", device="cpu")(img))


def test_a_composite_tools_cache_tag_names_its_members_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A member retrained (its card version bumped) changes the composite's cache tag, so the
    pool never serves the composite's outputs made with the member's earlier weights."""
    import dataclasses

    from irpilot.tools import TOOLS

    cls, member = TOOLS.get("sr_ensemble_x4"), TOOLS.get("sr_net_x4")
    before = cls.precision_tag()
    monkeypatch.setattr(member, "card", dataclasses.replace(member.card, version="99"))
    after = cls.precision_tag()
    assert "sr_net_x4@99" in after and after != before


@pytest.mark.parametrize("chain", [("real_defocus_blur", "real_jpeg"), ("defocus_blur", "jpeg")])
def test_jpeg_deblur_sharpens_what_the_jpeg_step_left_blurred(chain: tuple[str, str]) -> None:
    """``jpeg_deblur_defocus`` (the default policy's defocus tool once a JPEG step is done): on a
    blurred, JPEG-compressed crop of a held-out photo (scikit-image's astronaut), after the agent's
    JPEG network, it gains where the classical deconvolution changes nothing."""
    from irpilot.degrade import degrade
    from irpilot.quality.full_reference import psnr
    from irpilot.tools import get_tool

    if not compact.asset_exists("jpeg_deblur"):
        pytest.skip("jpeg_deblur weights not in this install")
    import skimage.data

    from irpilot.io import from_uint8

    net, meta = load_compact_net("jpeg_deblur")
    assert sum(p.numel() for p in net.parameters()) == int(meta["params"]) < 300_000
    assert ">dejpeg" in meta["degradations"] and "--data" in meta["command"]
    clean = from_uint8(np.ascontiguousarray(skimage.data.astronaut()[40:232, 160:352]))
    for seed in (1, 2):
        after_jpeg = get_tool("jpeg_ycc_net")(degrade(clean, list(chain), seed=seed)[0])
        base = psnr(after_jpeg, clean)
        assert psnr(get_tool("jpeg_deblur_defocus", device="cpu")(after_jpeg), clean) > base + 0.5
        assert psnr(get_tool("defocus_deblur_hqs")(after_jpeg), clean) < base + 0.1
