"""The realistic degradation family (``real_*``): contract, seeds, exact replay, the direction
each model moves an image, the presets, and the protocol left exactly as it was."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from irpilot.degrade import (
    DEGRADATIONS,
    GROUP_A,
    GROUP_B,
    GROUP_C,
    LEVELS,
    PHYSICAL_ORDER,
    PRESETS,
    REALISTIC,
    degrade,
    get_degradation,
    kind_of,
    replay,
)
from irpilot.degrade.real_camera import RealJpeg, jpeg_roundtrip
from irpilot.degrade.real_common import scene_depth
from irpilot.degrade.real_optics import defocus_psf, shake_kernel
from irpilot.degrade.real_scene import RealHaze
from irpilot.imaging.color import linear_to_srgb, srgb_to_linear
from irpilot.imaging.convert import from_uint8 as from_u8
from irpilot.imaging.convert import to_uint8 as to_u8
from irpilot.tools.base import TASKS

KINDS = ("low_resolution", "noise", "motion_blur", "defocus_blur", "haze", "rain", "dark", "jpeg", "snow")
REAL_NAMES = tuple(f"real_{k}" for k in KINDS)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A real photo crop (scikit-image ships it), 48 x 64, on the 8-bit grid."""
    import skimage.data

    return from_u8(skimage.data.astronaut()[60:108, 200:264])


def grey(value: float, h: int = 48, w: int = 48) -> np.ndarray:
    return np.full((3, h, w), round(value * 255) / 255.0, dtype=np.float32)


def grad_energy(img: np.ndarray) -> float:
    return float((np.diff(img, axis=1) ** 2).mean() + (np.diff(img, axis=2) ** 2).mean())


# -- registry and contract -----------------------------------------------------------------
def test_registry_kinds_and_tasks():
    from irpilot.degrade import DEGRADATION_TO_TASK

    for kind in KINDS:
        cls = DEGRADATIONS.get(REALISTIC[kind])
        assert cls.name == f"real_{kind}" and cls.kind == kind and cls.family == "realistic"
        assert cls.task == DEGRADATION_TO_TASK[kind] and cls.task in TASKS
        assert kind_of(cls.name) == kind and kind_of(kind) == kind
        assert DEGRADATIONS.get(kind).family == "protocol"


@pytest.mark.parametrize("name", REAL_NAMES)
@pytest.mark.parametrize("level", (None,) + LEVELS)
def test_contract_every_realistic_degradation(name, level, photo):
    deg = get_degradation(name)
    params = deg.sample(np.random.default_rng(5), level)
    params2 = json.loads(json.dumps(params))  # JSON-safe, and carries the perception label
    assert params2 == params
    assert params["level"] in LEVELS and 0.0 <= params["severity"] <= 1.0
    if level is not None:
        assert params["level"] == level
    out = deg.apply(photo, params)
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[0] == 3
    assert np.allclose(out * 255.0, np.round(out * 255.0), atol=1e-3)  # on the 8-bit grid
    assert out.min() >= 0.0 and out.max() <= 1.0
    if name == "real_low_resolution":
        f = params["factor"]
        assert out.shape[1:] == (-(-48 // f), -(-64 // f))
    else:
        assert out.shape == photo.shape
        assert not np.array_equal(out, photo)
    assert np.array_equal(deg.apply(photo, params2), out)  # pure


@pytest.mark.parametrize("name", REAL_NAMES)
def test_severity_grows_with_level(name):
    deg = get_degradation(name)
    sev = [np.mean([deg.sample(np.random.default_rng(s), lv)["severity"] for s in range(6)]) for lv in LEVELS]
    assert all(a < b for a, b in zip(sev, sev[1:])), sev


@pytest.mark.parametrize("name", REAL_NAMES)
def test_seeded_and_replayed_bit_for_bit(name, photo):
    lq, records = degrade(photo, [name], seed=3)
    assert np.array_equal(degrade(photo, [name], seed=3)[0], lq)
    others = [degrade(photo, [name], seed=s)[0] for s in (4, 5)]
    assert any(o.shape != lq.shape or not np.array_equal(o, lq) for o in others)
    dicts = json.loads(json.dumps([r.to_dict() for r in records]))
    assert np.array_equal(replay(photo, dicts), lq)
    assert records[0].kind == kind_of(name)


def test_chains_of_every_realistic_preset_replay(photo):
    combos = [c for p in ("realistic_a", "realistic_b", "realistic_c") for _, c in PRESETS[p].combinations()]
    combos += [c for _, c in PRESETS["realistic_mix"].combinations("x.png", 0)]
    for i, combo in enumerate(combos):
        lq, records = degrade(photo, combo, seed=i)
        assert [r.name for r in records] == list(combo)
        assert np.array_equal(replay(photo, json.loads(json.dumps([r.to_dict() for r in records]))), lq)


# -- each model moves the image the expected way -------------------------------------------
def test_shake_kernels_are_curved_centred_and_blur(photo):
    deg = get_degradation("real_motion_blur")
    ratios = []
    for s in range(12):
        p = deg.sample(np.random.default_rng(s))
        k = shake_kernel(p)
        assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1 and k.min() >= 0 and abs(k.sum() - 1) < 1e-9
        yy, xx = np.indices(k.shape) - k.shape[0] // 2
        cy, cx = (k * yy).sum(), (k * xx).sum()
        assert abs(cy) < 1.0 and abs(cx) < 1.0  # centred: the blur does not shift the photo
        cov = np.cov(np.stack([yy.ravel(), xx.ravel()]), aweights=k.ravel())
        ev = np.linalg.eigvalsh(cov)
        ratios.append(ev[0] / ev[1])
        out = deg.apply(photo, p)
        assert grad_energy(out) < 0.8 * grad_energy(photo)
    # hand shake, not straight lines: most kernels have real width across their main direction
    assert np.median(ratios) > 0.03 and max(ratios) > 0.15, ratios
    # a longer blur path (higher level) gives a larger kernel
    sizes = [np.mean([shake_kernel(deg.sample(np.random.default_rng(s), lv)).shape[0] for s in range(4)]) for lv in LEVELS]
    assert all(a < b for a, b in zip(sizes, sizes[1:])), sizes


@pytest.mark.parametrize("shape", ("gaussian", "disk", "lens"))
def test_defocus_psfs_and_blur(shape, photo):
    k = defocus_psf(shape, 3.0, rim=0.6, softness=0.2)
    assert abs(k.sum() - 1) < 1e-9 and k.min() >= 0
    assert np.allclose(k, k[::-1, ::-1]) and np.allclose(k, k.T)  # symmetric
    deg = get_degradation("real_defocus_blur")
    for spatial in ("uniform", "depth"):
        p = {"shape": shape, "radius": 3.0, "rim": 0.6, "softness": 0.2, "space": "linear", "spatial": spatial,
             "focus": 0.0, "horizon": 0.3, "tilt": 0.0, "sky_weight": 0.2}
        assert grad_energy(deg.apply(photo, p)) < 0.8 * grad_energy(photo)
    if shape == "lens":  # a bright rim: the edge of the disk outweighs its centre
        c = k.shape[0] // 2
        assert k[c, c + 2] > k[c, c]


def test_poisson_gaussian_noise_variance_grows_with_signal():
    deg = get_degradation("real_noise")
    p = {"model": "poisson_gaussian", "sigma_mid": 25.0, "a": 0.012, "b": 0.01, "seed": 1}
    dark, bright = grey(0.15, 64, 64), grey(0.8, 64, 64)
    v_dark = float((deg.apply(dark, p) - dark).var())
    v_bright = float((deg.apply(bright, p) - bright).var())
    assert v_bright > 2.0 * v_dark
    # the sampled strength is the std at mid-grey on the 0-255 scale
    rng = np.random.default_rng(0)
    q = deg.sample(rng)
    while q["model"] != "poisson_gaussian":
        q = deg.sample(rng)
    mid = grey(0.5, 96, 96)
    assert abs(255 * float((deg.apply(mid, q) - mid).std()) - q["sigma_mid"]) < 0.15 * q["sigma_mid"]


def test_raw_noise_is_colour_correlated_and_weakest_in_highlights():
    deg = get_degradation("real_noise")
    p = {"model": "raw", "sigma_mid": 20.0, "a": 0.0025, "b": 0.001, "wb_gains": [2.0, 1.0, 1.6], "bayer": "RGGB",
         "seed": 2}
    mid, bright = grey(0.5, 64, 64), grey(0.95, 64, 64)
    n_mid, n_bright = deg.apply(mid, p) - mid, deg.apply(bright, p) - bright
    assert float(n_bright.std()) < float(n_mid.std())
    # demosaicking spreads each noise sample to its neighbours: adjacent pixels correlate
    g = n_mid[1]
    assert np.corrcoef(g[:, :-1].ravel(), g[:, 1:].ravel())[0, 1] > 0.1


def test_dark_lowers_the_mean_and_casts_a_colour(photo):
    deg = get_degradation("real_dark")
    for s in range(6):
        p = deg.sample(np.random.default_rng(s))
        out = deg.apply(photo, p)
        assert out.mean() < 0.85 * photo.mean()
        assert abs(np.mean(p["cast"]) - 1.0) < 1e-9
    p = dict(p, cast=[1.2, 1.0, 0.8], a=1e-6, b=0.0, curve="srgb", exposure=0.3)
    out = deg.apply(grey(0.6), p)
    assert out[0].mean() > out[2].mean() + 0.02  # a warm cast
    assert abs(float(linear_to_srgb(srgb_to_linear(np.array(0.37)))) - 0.37) < 1e-9


def test_haze_brightens_and_thickens_with_depth():
    deg = get_degradation("real_haze")
    rng = np.random.default_rng(0)
    textured = from_u8((rng.random((64, 64, 3)) * 120 + 20).astype(np.uint8))
    p = {"mode": "depth", "beta": 1.5, "horizon": 0.3, "tilt": 0.0, "sky_weight": 0.0, "airlight": 0.9,
         "tint": [1.0, 1.0, 1.0], "space": "srgb"}
    t = RealHaze.transmission(to_u8(textured), p)
    assert t[:8].mean() < t[-8:].mean() - 0.3  # far (top, at the horizon) hazier than near (bottom)
    out = deg.apply(textured, p)
    assert out.mean() > textured.mean()
    contrast_top, contrast_bottom = out[:, :16].std(), out[:, -16:].std()
    assert contrast_top < 0.7 * contrast_bottom
    u = dict(p, mode="uniform", transmission=0.6)
    assert np.ptp(RealHaze.transmission(to_u8(textured), u)) == 0.0
    assert deg.apply(textured, u).std() < 0.7 * textured.std()
    d = scene_depth(to_u8(textured), 0.3, 0.1, 0.3)
    assert d.shape == (64, 64) and d.min() >= 0.0 and d.max() <= 1.0


def test_jpeg_subsampling_and_double_compression(photo):
    arr = to_u8(photo)
    err = {s: np.abs(jpeg_roundtrip(arr, 40, s).astype(float) - arr).mean() for s in ("444", "420")}
    assert err["420"] > err["444"]
    deg = RealJpeg()
    single = deg.apply(photo, {"quality": 30, "subsampling": "420", "first": None})
    double = deg.apply(photo, {"quality": 30, "subsampling": "420",
                               "first": {"quality": 70, "subsampling": "444", "shift": [3, 5]}})
    assert double.shape == photo.shape and not np.array_equal(single, double)
    with pytest.raises(ValueError, match="subsampling"):
        jpeg_roundtrip(arr, 30, "411")


def test_downscale_kernels_differ_and_keep_the_protocol_size(photo):
    deg = get_degradation("real_low_resolution")
    outs = {}
    for kernel in deg.KERNELS:
        p = {"factor": 4, "kernel": kernel, "blur": 1.0, "sharpen": 0.0}
        outs[kernel] = deg.apply(photo, p)
        assert outs[kernel].shape == (3, 12, 16)
        assert abs(outs[kernel].mean() - photo.mean()) < 0.02
    assert len({o.tobytes() for o in outs.values()}) == len(outs)


@pytest.mark.parametrize("name", ("real_rain", "real_snow"))
def test_rain_and_snow_add_bright_particles(name, photo):
    deg = get_degradation(name)
    for s in range(3):
        out = deg.apply(photo, deg.sample(np.random.default_rng(s)))
        assert out.mean() > photo.mean()
        assert (out.mean(0) - photo.mean(0) > 0.15).mean() > 0.002  # visible streaks or flakes


# -- presets and the protocol ---------------------------------------------------------------
def test_realistic_presets_are_the_protocol_groups_with_realistic_models():
    for preset, group in (("realistic_a", GROUP_A), ("realistic_b", GROUP_B), ("realistic_c", GROUP_C)):
        combos = PRESETS[preset].combinations("x.png", 0)
        assert {g for g, _ in combos} == {preset}
        assert [tuple(kind_of(n) for n in c) for _, c in combos] == list(group)
        assert all(DEGRADATIONS.get(n).family == "realistic" for _, c in combos for n in c)
    seen = set()
    for key in ("a.png", "b.png", "c.png"):
        mix = PRESETS["realistic_mix"].combinations(key, 0)
        assert mix == PRESETS["realistic_mix"].combinations(key, 0)  # deterministic
        assert len(mix) == 4 and len({c for _, c in mix}) == 4
        for group, combo in mix:
            kinds = [kind_of(n) for n in combo]
            assert 1 <= len(combo) <= 3 and group == f"realistic_d{len(combo)}"
            assert kinds == sorted(kinds, key=PHYSICAL_ORDER.index) and len(set(kinds)) == len(kinds)
            seen.add(combo)
    assert len(seen) > 4
    assert [c for _, c in PRESETS["realistic_single"].combinations()] == [(n,) for n in REAL_NAMES]


def test_bench_and_cli_know_the_realistic_groups():
    from irpilot.bench import GROUP_PRESETS

    for g in ("realistic_a", "realistic_b", "realistic_c", "realistic_mix"):
        assert GROUP_PRESETS[g] in PRESETS


def test_build_set_records_the_kinds(tmp_path, photo):
    from irpilot.degrade import build_set, read_manifest, replay_entry
    from irpilot.io import write_image

    src = tmp_path / "clean"
    src.mkdir()
    write_image(src / "p.png", photo)
    manifest = build_set(src, tmp_path / "out", "realistic_b", seed=0, progress=False)
    entries = read_manifest(manifest)
    assert [tuple(e["kinds"]) for e in entries] == list(GROUP_B)
    for e in entries:
        from irpilot.io import read_image

        assert np.array_equal(replay_entry(e), read_image(tmp_path / "out" / e["degraded"]))


#: sha256 (first 16 hex digits) of each protocol degradation's output on the fixture photo of
#: test_degrade.py with seed 5, taken before the realistic family was added: the protocol must
#: not change (a new OpenCV could move ``jpeg``'s bytes; then check its quantisation test).
PROTOCOL_DIGESTS = {
    "low_resolution": "4d63868325871930",
    "noise": "c884959e1423d34b",
    "motion_blur": "05a387e600229b88",
    "defocus_blur": "c088adf6b5c2611e",
    "haze": "dfd1d7c53d5a52f0",
    "rain": "40c71a5442fa28c0",
    "dark": "e76b42fc800040e8",
    "jpeg": "7a0ad2ee300ef5b6",
    "snow": "a050ded5cff2baae",
    "dark+noise": "0e33ad71c9446e06",
    "haze+motion_blur+low_resolution": "f0f379d9b4ee7beb",
}


def test_protocol_outputs_are_unchanged():
    import skimage.data

    photo = from_u8(skimage.data.astronaut()[40:136, 180:308])
    for chain, digest in PROTOCOL_DIGESTS.items():
        lq, _ = degrade(photo, chain.split("+"), seed=5)
        assert hashlib.sha256(lq.tobytes()).hexdigest()[:16] == digest, chain
