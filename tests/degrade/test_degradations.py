"""Each degradation follows its recipe; sampling, records and replay are exact."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from irpilot.degrade import (
    DEGRADATION_TO_TASK,
    DEGRADATIONS,
    LEVELS,
    DegradationRecord,
    degrade,
    get_degradation,
    imresize,
    imresize_u8,
    replay,
)
from irpilot.degrade.classical import disk_kernel, motion_offsets
from irpilot.degrade.weather import depth_proxy, rain_streak_kernel
from irpilot.errors import RegistryError
from irpilot.imaging.convert import from_uint8, to_uint8
from irpilot.vocab import TASKS

NAMES = ("low_resolution", "noise", "motion_blur", "defocus_blur", "haze", "rain", "dark", "jpeg", "snow")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photo crop (scikit-image ships it), 96 x 128, on the 8-bit grid."""
    import skimage.data

    return from_uint8(skimage.data.astronaut()[40:136, 180:308])


def grey(value: int, h: int = 64, w: int = 64) -> np.ndarray:
    return np.full((3, h, w), value / 255.0, dtype=np.float32)


# -- registry and contract -----------------------------------------------------------------
def test_registry_names_and_tasks():
    # the protocol's nine, and their realistic models (tests/test_degrade_realistic.py)
    assert set(DEGRADATIONS.names()) == set(NAMES) | {f"real_{n}" for n in NAMES}
    for name in NAMES:
        cls = DEGRADATIONS.get(name)
        assert cls.name == name
        assert cls.task == DEGRADATION_TO_TASK[name]
        assert cls.task in TASKS
    with pytest.raises(RegistryError, match="Did you mean 'motion_blur'"):
        DEGRADATIONS.get("motion_blurr")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("level", (None,) + LEVELS)
def test_contract_every_degradation(name, level, photo):
    deg = get_degradation(name)
    params = deg.sample(np.random.default_rng(3), level)
    # params are JSON-safe and carry the perception label
    params2 = json.loads(json.dumps(params))
    assert params2 == params
    assert params["level"] in LEVELS
    assert 0.0 <= params["severity"] <= 1.0
    if level is not None:
        assert params["level"] == level
    out = deg.apply(photo, params)
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[0] == 3
    assert np.allclose(out * 255.0, np.round(out * 255.0), atol=1e-3)  # on the 8-bit grid
    assert out.min() >= 0.0 and out.max() <= 1.0
    if name != "low_resolution":
        assert out.shape == photo.shape
        assert not np.array_equal(out, photo)
    # pure: same params (after a JSON round trip) -> same bits
    assert np.array_equal(deg.apply(photo, params2), out)


@pytest.mark.parametrize("name", NAMES)
def test_severity_grows_with_level(name):
    deg = get_degradation(name)
    sev = [np.mean([deg.sample(np.random.default_rng(s), lv)["severity"] for s in range(6)]) for lv in LEVELS]
    assert all(a < b for a, b in zip(sev, sev[1:])), sev


def test_protocol_ranges_by_default():
    rng = np.random.default_rng(0)
    kinds, dark_modes, mb, df = set(), set(), set(), set()
    for _ in range(300):
        n = get_degradation("noise").sample(rng)
        kinds.add(n["kind"])
        if n["kind"] == "gaussian":
            assert 20 <= n["sigma"] <= 50
        else:
            assert 1 <= n["scale"] <= 3
        assert 10 <= get_degradation("jpeg").sample(rng)["quality"] < 30
        h = get_degradation("haze").sample(rng)
        assert 0.6 <= h["beta"] <= 1.8 and 0.7 <= h["airlight"] <= 1.0
        d = get_degradation("dark").sample(rng)
        dark_modes.add(d["mode"])
        if d["mode"] == "shift":
            assert 30 <= d["shift"] < 50
        elif d["mode"] == "gamma":
            assert 0.5 <= d["gamma"] < 0.7
        else:
            assert 100 <= d["dst_max"] < 150
        m = get_degradation("motion_blur").sample(rng)
        mb.add((m["radius"], m["sigma"]))
        assert -90 <= m["angle"] <= 90
        f = get_degradation("defocus_blur").sample(rng)
        df.add((f["radius"], f["alias_sigma"]))
        r = get_degradation("rain").sample(rng)
        assert 50 <= r["value"] < 100 and 20 <= r["length"] < 40 and -30 <= r["angle"] < 30
        assert get_degradation("low_resolution").sample(rng)["factor"] == 4
    assert kinds == {"gaussian", "poisson"}
    assert dark_modes == {"shift", "gamma", "stretch"}
    assert mb == {(10, 3.0), (15, 5.0), (15, 8.0)}
    assert df == {(3, 0.1), (4, 0.5), (6, 0.5)}


# -- recipes -------------------------------------------------------------------------------
def test_gaussian_noise_sigma_matches():
    img = grey(128, 128, 128)
    deg = get_degradation("noise")
    for sigma in (20.0, 35.0, 50.0):
        out = deg.apply(img, {"kind": "gaussian", "sigma": sigma, "seed": 1})
        measured = float(np.std(out * 255.0 - 128.0))
        assert abs(measured - sigma) / sigma < 0.04, (sigma, measured)
        # colour noise: channels independent
        c = np.corrcoef(out.reshape(3, -1))
        assert abs(c[0, 1]) < 0.05


def test_poisson_noise_basicsr_style():
    # 2 distinct values -> L = 2, very strong noise; 200 distinct values -> L = 256
    img = np.zeros((3, 100, 100), np.float32)
    img[:, :, 50:] = 128 / 255.0
    deg = get_degradation("noise")
    out = deg.apply(img, {"kind": "poisson", "scale": 1.0, "seed": 0})
    # Poisson(x * 2) / 2 has std ~0.5 before clipping; with L = 256 it would be ~0.044
    assert float(np.std(out[:, :, 50:])) > 0.3
    ramp = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (3, 64, 1))
    out2 = deg.apply(ramp, {"kind": "poisson", "scale": 2.0, "seed": 0})
    resid = (out2 - ramp)[:, :, 100:150]  # values ~0.4-0.6, far from clipping
    expected = 2.0 * math.sqrt(float(ramp[:, :, 100:150].mean()) / 256.0)
    assert abs(float(resid.std()) - expected) / expected < 0.1
    assert abs(float(resid.mean())) < 0.01


def test_low_resolution_is_quarter_size_ceil():
    rng = np.random.default_rng(0)
    img = rng.random((3, 50, 37)).astype(np.float32)
    out = get_degradation("low_resolution").apply(img, {"factor": 4})
    assert out.shape == (3, 13, 10)  # ceil(50/4), ceil(37/4), as MATLAB
    flat = get_degradation("low_resolution").apply(grey(77, 40, 40), {"factor": 4})
    assert np.all(np.round(flat * 255) == 77)


def test_imresize_matches_bicubic_antialias_in_the_interior():
    """Away from borders MATLAB's bicubic equals Pillow's float bicubic (same kernel, same
    antialiasing); at borders MATLAB mirrors where Pillow truncates."""
    from PIL import Image

    a = np.random.default_rng(1).random((60, 48)).astype(np.float32)
    for scale, size in ((0.25, (12, 15)), (4.0, (192, 240)), (0.5, (24, 30))):
        ours = imresize(a, scale)
        ref = np.asarray(Image.fromarray(a, mode="F").resize(size, Image.Resampling.BICUBIC))
        b = 10 if scale > 1 else 3
        assert ours.shape == ref.shape
        assert np.abs(ours - ref)[b:-b, b:-b].max() < 1e-4
    # symmetric border: a left-right mirrored image resizes to the mirrored result
    u8 = (a * 255).astype(np.uint8)[:, :, None].repeat(3, axis=2)
    assert np.array_equal(imresize_u8(u8[:, ::-1], 0.25), imresize_u8(u8, 0.25)[:, ::-1])


def test_jpeg_decodes_at_the_sampled_quality(photo):
    import cv2

    deg = get_degradation("jpeg")

    def rejpeg_err(img: np.ndarray, q: int) -> float:
        arr = to_uint8(img)[:, :, ::-1]
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(arr), [cv2.IMWRITE_JPEG_QUALITY, q])
        return float(np.abs(cv2.imdecode(buf, cv2.IMREAD_COLOR).astype(int) - arr.astype(int)).mean())

    for q in (10, 20, 29):
        out = deg.apply(photo, {"quality": q})
        same = rejpeg_err(out, q)
        assert same < 1.5  # re-encoding at the same quality is near-idempotent
        assert same < rejpeg_err(out, max(q - 6, 2))
        assert same < 0.5 * float(np.abs(out - photo).mean() * 255)


def test_jpeg_quantisation_tables_are_the_sampled_quality(photo):
    import io

    from PIL import Image

    # the IJG base luminance table (JPEG standard, Annex K) scaled for quality q
    base = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69,
                     56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104,
                     113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]).reshape(8, 8)
    jpeg = DEGRADATIONS.get("jpeg")
    for q in (10, 17, 29):
        data = jpeg.encode(to_uint8(photo), {"quality": q})
        table = np.array(Image.open(io.BytesIO(data)).quantization[0])
        scale = 5000 // q if q < 50 else 200 - 2 * q
        expected = np.clip((base * scale + 50) // 100, 1, 255)
        assert np.array_equal(table.reshape(8, 8), expected), q


def test_motion_kernel_is_one_sided():
    dy, dx, w = motion_offsets(10, 3.0, 0.0)
    assert len(w) == 21 and np.all(dy == 0) and np.array_equal(dx, np.arange(21))
    assert np.isclose(w.sum(), 1.0) and np.all(np.diff(w) < 0)
    dy, dx, _ = motion_offsets(15, 5.0, 90.0)
    assert np.all(dx == 0) and np.array_equal(dy, np.arange(31))
    dy, dx, _ = motion_offsets(15, 5.0, -45.0)
    assert np.all(dy <= 0) and np.all(dx >= 0)
    # an impulse spreads only to one side (out(y, x) reads img(y, x + i))
    img = np.zeros((3, 9, 41), np.float32)
    img[:, 4, 30] = 1.0
    out = get_degradation("motion_blur").apply(img, {"radius": 10, "sigma": 3.0, "angle": 0.0})
    row = out[0, 4]
    assert row[31:].max() == 0 and row[30] > 0 and row[25] > 0
    assert row[30] == row.max()


def test_defocus_disk_kernel():
    k = disk_kernel(3, 0.1)
    assert np.isclose(k.sum(), 1.0) and np.allclose(k, k.T) and np.allclose(k, k[::-1, ::-1])
    c = k.shape[0] // 2
    assert k[c, c + 3] > 0 and k[c, c + 4] < 1e-6  # sigma 0.1: no visible blur beyond the disk
    k2 = disk_kernel(4, 0.5)
    assert k2[c + 1, c + 1 + 5] > 0  # sigma 0.5 spreads one pixel past the radius
    out = get_degradation("defocus_blur").apply(grey(90), {"radius": 6, "alias_sigma": 0.5})
    assert np.all(np.round(out * 255) == 90)


def _v(img: np.ndarray) -> np.ndarray:
    return (img * 255).round().max(axis=0)


@pytest.mark.parametrize("mode", ["shift", "gamma", "stretch"])
def test_dark_modes_on_value_channel(mode, photo):
    deg = get_degradation("dark")
    v = _v(photo)
    if mode == "shift":
        out = deg.apply(photo, {"mode": "shift", "shift": 40})
        expected = np.clip(v - 40, 0, 255)
    elif mode == "gamma":
        out = deg.apply(photo, {"mode": "gamma", "gamma": 0.6})
        expected = np.floor(255 * (v / 255) ** (1 / 0.6) + 0.5)
    else:
        out = deg.apply(photo, {"mode": "stretch", "dst_max": 120})
        expected = np.floor((v - v.min()) / (v.max() - v.min()) * 120 + 0.5)
    vo = _v(out)
    assert np.abs(vo - expected).max() <= 1.0
    assert vo.mean() < v.mean()


def test_haze_monotone_in_beta_and_depth_options(photo, tmp_path):
    deg = get_degradation("haze")
    dists = []
    for beta in (0.6, 1.0, 1.4, 1.8):
        out = deg.apply(photo, {"beta": beta, "airlight": 0.9})
        dists.append(float(np.abs(out - photo).mean()))
    assert all(a < b for a, b in zip(dists, dists[1:])), dists
    # constant real depth: d = 1 everywhere -> one transmission
    depth = np.full((10, 10), 30.0)
    out = deg.apply(photo, {"beta": 1.0, "airlight": 0.8}, depth=depth)
    t = math.exp(-1.0)
    assert np.abs(out - (photo * t + 0.8 * (1 - t))).max() <= 0.5 / 255 + 1e-6
    np.save(tmp_path / "d.npy", depth)
    out2 = deg.apply(photo, {"beta": 1.0, "airlight": 0.8, "depth_path": str(tmp_path / "d.npy")})
    assert np.array_equal(out, out2)
    # a chain with a real depth map records it; replaying without the map is refused
    real = np.random.default_rng(0).random((24, 32)) + 1
    lq, recs = degrade(photo, ["haze", "noise"], seed=0, depth=real)
    assert recs[0].params["depth"] == "array"
    assert np.array_equal(replay(photo, recs, depth=real), lq)
    with pytest.raises(ValueError, match="depth="):
        replay(photo, recs)
    # the proxy looks like metric depth, far at the top
    d = depth_proxy(to_uint8(photo))
    assert d.shape == photo.shape[1:] and 7.0 <= d.min() and d.max() <= 82.0
    assert d[:10].mean() > d[-10:].mean()


def test_rain_adds_bright_streaks(photo):
    deg = get_degradation("rain")
    rain = DEGRADATIONS.get("rain")()
    for value in (50, 99):
        params = {"value": value, "length": 30, "angle": 10, "width": 3, "seed": 4}
        frac = float(rain.seed_mask((400, 400), params).mean())
        assert 0.8 * value / 100 / 256 < frac < 1.2 * value / 100 / 256  # 0.2-0.4 % of pixels
        out = deg.apply(photo, params)
        assert np.all(out >= photo)  # rain only adds light
        layer = rain.streaks(photo.shape[1:], params)
        assert layer.max() == 255 and layer.min() == 0
    # a vertical streak kernel has its mass in the centre column
    k = rain_streak_kernel(21, 0.0)
    assert k[:, 9:13].sum() > 0.9 * k.sum() and k.shape == (21, 21)  # centre L/2 = 10.5
    k30 = rain_streak_kernel(21, 30.0)
    ys, xs = np.nonzero(k30 > 0.1 * k30.max())
    slope = np.polyfit(ys, xs, 1)[0]  # x changes by tan(30 deg) per row
    assert abs(slope - math.tan(math.radians(30))) < 0.1


def test_snow_brightens_and_grows_with_level(photo):
    deg = get_degradation("snow")
    means = []
    for lv in LEVELS:
        out = deg.apply(photo, deg.sample(np.random.default_rng(0), lv))
        means.append(float((out - photo).mean()))
    assert means[0] > 0 and all(a < b for a, b in zip(means, means[1:])), means


# -- chains, records, replay -------------------------------------------------------------
def test_degrade_and_replay_bit_exact(photo):
    for names in (["rain", "haze"], ["haze", "motion_blur", "low_resolution"], ["dark", "noise", "jpeg", "snow"]):
        lq, records = degrade(photo, names, seed=11)
        assert [r.name for r in records] == names
        again, _ = degrade(photo, names, seed=11)
        assert np.array_equal(lq, again)
        dicts = json.loads(json.dumps([r.to_dict() for r in records]))
        assert np.array_equal(replay(photo, dicts), lq)
        assert [DegradationRecord.from_dict(d) for d in dicts] == records
    lq2, _ = degrade(photo, ["rain", "haze"], seed=12)
    assert not np.array_equal(lq2, degrade(photo, ["rain", "haze"], seed=11)[0])


def test_degrade_levels_and_errors(photo):
    _, recs = degrade(photo, ["noise", "jpeg"], seed=0, levels={"noise": "mild"})
    assert recs[0].params["level"] == "mild" and recs[0].task == "denoise"
    with pytest.raises(RegistryError, match="Did you mean 'haze'"):
        degrade(photo, ["hazee"], seed=0)
    with pytest.raises(ValueError, match="once"):
        degrade(photo, ["noise", "noise"], seed=0)
    with pytest.raises(ValueError, match="not in the chain"):
        degrade(photo, ["noise"], seed=0, levels={"jpeg": "mild"})
    with pytest.raises(ValueError, match="severity level"):
        get_degradation("noise").sample(np.random.default_rng(0), "huge")
    with pytest.raises(ValueError, match="not a degradation record"):
        DegradationRecord.from_dict({"name": "noise"})


def test_upscale_to_keeps_grids_aligned():
    from irpilot.degrade import upscale_to

    # a smooth ramp survives down x4 / up x4 nearly exactly when the grids stay aligned,
    # also for sides that are not multiples of 4
    yy, xx = np.mgrid[0:81, 0:61].astype(np.float32)
    img = np.stack([(yy + xx) / 200.0] * 3)
    lr = get_degradation("low_resolution").apply(img, {"factor": 4})
    assert lr.shape == (3, 21, 16)
    up = upscale_to(lr, (81, 61))
    assert up.shape == img.shape
    assert np.abs(up - img)[:, 4:-4, 4:-4].max() < 2 / 255  # resizing to (81, 61) instead: ~8 / 255
    with pytest.raises(ValueError, match="smaller"):
        upscale_to(lr, (90, 61))
