"""The reward: components, static / GDPO / adaptive combination, the fidelity gate, and a
planted reward-hacking scenario on real photos."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
from scipy import ndimage

from irpilot.io import from_uint8
from irpilot.quality import score
from irpilot.train.reward import (
    RewardConfig,
    RewardModel,
    group_advantages,
    reward,
    reward_components,
)

METRICS = ("psnr", "ssim", "niqe", "contrast", "sharpness")
CANDIDATES = ("stop", "restore", "restore_mild", "hack", "contrast_only", "blur_more")


def _usm(x: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    return np.clip(x + amount * (x - ndimage.gaussian_filter(x, (0, sigma, sigma))), 0, 1).astype(np.float32)


def _stretch(x: np.ndarray, k: float) -> np.ndarray:
    m = x.mean()
    return np.clip((x - m) * k + m, 0, 1).astype(np.float32)


def _to8(x: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(x, 0, 1) * 255) / 255).astype(np.float32)


def _make_group(photo: np.ndarray, rng: np.random.Generator) -> list[dict[str, float]]:
    """One GRPO-like group: a blurred crop and six candidate outputs of varied quality.

    ``hack`` is the planted cheat: heavy unsharp masking plus a contrast stretch.  It raises
    the no-reference signals (sharpness and contrast rise, NIQE often improves) while fidelity to the clean photo
    drops; ``restore`` is a moderate unsharp mask that genuinely improves PSNR on a blur.
    """
    size = 224
    y = int(rng.integers(0, photo.shape[1] - size))
    x = int(rng.integers(0, photo.shape[2] - size))
    clean = photo[:, y : y + size, x : x + size]
    sigma = float(rng.uniform(1.4, 1.8))
    inp = _to8(ndimage.gaussian_filter(clean, (0, sigma, sigma)))
    outs = {
        "stop": (inp, 0),
        "restore": (_to8(_usm(inp, rng.uniform(0.8, 1.1), sigma)), 1),
        "restore_mild": (_to8(_usm(inp, rng.uniform(0.4, 0.6), sigma)), 1),
        "hack": (_to8(_stretch(_usm(inp, rng.uniform(3.5, 5.0), sigma), rng.uniform(1.25, 1.4))), 2),
        "contrast_only": (_to8(_stretch(inp, rng.uniform(1.15, 1.3))), 1),
        "blur_more": (_to8(ndimage.gaussian_filter(inp, (0, 1.0, 1.0))), 1),
    }
    before = score(inp, clean, METRICS)
    return [
        reward_components(inp, outs[c][0], clean, n_calls=outs[c][1], metrics=METRICS, input_scores=before)
        for c in CANDIDATES
    ]


@pytest.fixture(scope="module")
def groups() -> list[list[dict[str, float]]]:
    rng = np.random.default_rng(7)
    photos = [from_uint8(getattr(skimage.data, n)()) for n in ("astronaut", "coffee", "chelsea", "rocket")]
    return [_make_group(photos[i % len(photos)], rng) for i in range(8)]


NR_HEAVY = {"d_psnr": 0.1, "d_ssim": 0.1, "d_niqe": 1.0, "d_contrast": 1.0, "d_sharpness": 1.0}
HACK = CANDIDATES.index("hack")


def _winner(rewards: list[float]) -> int:
    return int(np.argmax(rewards))


def test_planted_hack_is_really_a_hack(groups):
    for g in groups:
        hack, restore = g[HACK], g[CANDIDATES.index("restore")]
        assert hack["d_psnr"] < -1.0 and hack["d_psnr"] < restore["d_psnr"]
        assert hack["d_contrast"] > restore["d_contrast"]
        assert restore["d_psnr"] > 0
    # the no-reference model itself is fooled on most crops
    assert sum(g[HACK]["d_niqe"] > g[CANDIDATES.index("restore")]["d_niqe"] for g in groups) >= 5


def test_hack_wins_under_static_nr_heavy_and_plain_gdpo(groups):
    static = RewardModel(RewardConfig(strategy="static", weights=NR_HEAVY, gate=False))
    gdpo = RewardModel(RewardConfig(strategy="gdpo", weights=NR_HEAVY, gate=False))
    static_wins = sum(_winner(static.combine(g)) == HACK for g in groups)
    gdpo_wins = sum(_winner(gdpo.combine(g)) == HACK for g in groups)
    assert static_wins >= 6, static_wins
    assert gdpo_wins >= 6, gdpo_wins  # normalising alone does not stop hacking


def _train(groups, config: RewardConfig, epochs: int = 2) -> tuple[RewardModel, list[int]]:
    model = RewardModel(config)
    winners = []
    for _ in range(epochs):
        for g in groups:
            winners.append(_winner(model.combine(g)))
            model.update(g)
    return model, winners


def test_adaptive_weights_alone_learn_to_reject_the_hack(groups):
    """No gate: the hack wins at first (same bad starting weights), then the agreement signal
    (no-reference gains anti-correlated with fidelity within groups) moves weight back to
    fidelity, and the hack loses (within 48 updates at the default rates, which are slow
    because real GRPO groups are noisy)."""
    cfg = RewardConfig(strategy="adaptive", weights=NR_HEAVY, gate=False)
    model, winners = _train(groups, cfg, epochs=6)
    assert winners[0] == HACK
    assert all(w != HACK for w in winners[-8:]), winners
    w = model.weights
    assert w["d_niqe"] < NR_HEAVY["d_niqe"] and w["d_contrast"] < NR_HEAVY["d_contrast"]
    assert w["d_psnr"] > NR_HEAVY["d_psnr"] and w["d_ssim"] > NR_HEAVY["d_ssim"]
    assert all(cfg.w_min - 1e-9 <= v <= cfg.w_max + 1e-9 for v in w.values())
    # the hacking signal is visible in the log
    assert model.history[-1]["agreement_ema"]["d_contrast"] < 0
    assert len(model.history) == 48 and set(model.history[0]["components"]) == set(NR_HEAVY)


@pytest.mark.parametrize("lag", ["relative", "level", "none"])
def test_adaptive_with_gate_never_lets_the_hack_win(groups, lag):
    model, winners = _train(groups, RewardConfig(strategy="adaptive", weights=NR_HEAVY, gate=True, lag=lag))
    assert HACK not in winners, winners
    assert all(h["gate_rate"] > 0 for h in model.history)  # the hack's gains were gated every time


# -- unit behaviour -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return from_uint8(skimage.data.astronaut())[:, 20:212, 150:342]


def test_components_signs_and_penalties(photo):
    blurred = _to8(ndimage.gaussian_filter(photo, (0, 1.5, 1.5)))
    same = reward_components(blurred, blurred, photo, metrics=("psnr", "ssim", "gmsd", "niqe"))
    assert same == {"d_psnr": 0.0, "d_ssim": 0.0, "d_gmsd": 0.0, "d_niqe": 0.0, "calls": 0.0, "valid": 0.0}
    worse = reward_components(blurred, _to8(ndimage.gaussian_filter(blurred, (0, 2, 2))), photo, n_calls=3,
                              metrics=("psnr", "ssim", "gmsd", "niqe"))
    assert worse["d_psnr"] < 0 and worse["d_ssim"] < 0 and worse["d_gmsd"] < 0 and worse["d_niqe"] < 0
    assert worse["calls"] == -3.0
    bad = reward_components(blurred, None, photo, valid=False, metrics=("psnr",))
    assert bad == {"d_psnr": 0.0, "calls": 0.0, "valid": -1.0}
    no_ref = reward_components(blurred, photo, None)
    assert set(no_ref) == {"d_niqe", "calls", "valid"} and no_ref["d_niqe"] > 0


def test_time_cost_prefers_the_faster_of_equal_results(photo):
    blurred = _to8(ndimage.gaussian_filter(photo, (0, 1.5, 1.5)))
    mp = photo.shape[1] * photo.shape[2] / 1e6
    slow = reward_components(blurred, photo, photo, n_calls=1, seconds=2.0, metrics=("psnr",))
    fast = reward_components(blurred, photo, photo, n_calls=1, seconds=0.1, metrics=("psnr",))
    assert slow["seconds"] == pytest.approx(-2.0 / mp) and slow["d_psnr"] == fast["d_psnr"]
    # x4 tools run at the reference's size: time is counted per megapixel of the reference
    small = blurred[:, ::4, ::4]
    sr = reward_components(small, photo, photo, n_calls=1, seconds=2.0, metrics=("psnr",))
    assert sr["seconds"] == pytest.approx(slow["seconds"])
    cfg = RewardConfig(strategy="static", weights={"d_psnr": 1.0}, time_cost=0.002)
    r_slow, r_fast = RewardModel(cfg).combine([slow, fast])
    assert r_fast - r_slow == pytest.approx(0.002 * 1.9 / mp)
    free = RewardModel(dataclasses_replace(cfg, time_cost=0.0)).combine([slow, fast])
    assert free[0] == pytest.approx(free[1])
    model = RewardModel(dataclasses_replace(cfg, strategy="adaptive"))
    model.update([slow, fast])
    assert "seconds" not in model.weights  # a penalty, never a weighted quality component


def test_scalar_reward(photo):
    blurred = _to8(ndimage.gaussian_filter(photo, (0, 1.5, 1.5)))
    assert reward(blurred, blurred, photo) == 0.0
    good = reward(blurred, photo, photo, n_calls=1)
    bad = reward(blurred, _to8(ndimage.gaussian_filter(blurred, (0, 2, 2))), photo, n_calls=1)
    assert good > 0 > bad
    cfg = RewardConfig(strategy="adaptive", call_cost=0.5)
    assert reward(blurred, blurred, photo, n_calls=2, config=cfg) == pytest.approx(-1.0)
    assert reward(blurred, None, photo, valid=False) == pytest.approx(-RewardConfig().invalid_penalty)


def test_combine_formulas_and_gate():
    group = [
        {"d_psnr": 2.0, "d_niqe": 1.0, "calls": -1.0, "valid": 0.0},
        {"d_psnr": -1.0, "d_niqe": 3.0, "calls": -2.0, "valid": 0.0},
        {"d_psnr": 0.0, "d_niqe": 0.0, "calls": 0.0, "valid": 0.0},
    ]
    cfg = RewardConfig(strategy="static", weights={"d_psnr": 1.0, "d_niqe": 1.0}, gate=False, call_cost=0.1)
    r = RewardModel(cfg).combine(group)
    assert r == pytest.approx([2.0 + 0.5 - 0.1, -1.0 + 1.5 - 0.2, 0.0])
    gated = RewardModel(dataclasses_replace(cfg, gate=True)).combine(group)
    assert gated[1] == pytest.approx(-1.0 + 0.0 - 0.2)  # NIQE gain ignored: PSNR fell by > 0.2 dB
    z = RewardModel(dataclasses_replace(cfg, strategy="gdpo", call_cost=0.0)).combine(group)
    p, n = np.array([2.0, -1.0, 0.0]), np.array([1.0, 3.0, 0.0])
    expected = (p - p.mean()) / p.std() + (n - n.mean()) / n.std()
    assert z == pytest.approx(list(expected), abs=1e-4)
    # a component constant within the group contributes nothing under GDPO
    flat = [{"d_psnr": 1.0, "d_niqe": v} for v in (0.0, 1.0)]
    assert RewardModel(RewardConfig(strategy="gdpo", gate=False)).combine(flat)[0] < 0
    assert group_advantages([1.0, 1.0]) == [0.0, 0.0]
    assert sum(group_advantages([1.0, 2.0, 4.0])) == pytest.approx(0.0)


def test_adaptive_on_unit_scales_is_static_with_moving_weights(groups):
    """``norm="scale"``: before any update ``adaptive`` gives exactly ``static``'s rewards; after
    updates, the static formula with the moved weights."""
    static = RewardModel(RewardConfig(strategy="static", weights=NR_HEAVY, gate=False))
    adaptive = RewardModel(RewardConfig(strategy="adaptive", norm="scale", weights=NR_HEAVY, gate=False))
    assert adaptive.combine(groups[0]) == pytest.approx(static.combine(groups[0]))
    for g in groups:
        adaptive.update(g)
    assert adaptive.weights != pytest.approx(NR_HEAVY)
    moved = RewardModel(RewardConfig(strategy="static", weights=dict(adaptive.weights), gate=False))
    assert adaptive.combine(groups[1]) == pytest.approx(moved.combine(groups[1]))
    # the agreement signal still moves weight from the hacked metrics to fidelity
    assert adaptive.weights["d_contrast"] < NR_HEAVY["d_contrast"]
    assert adaptive.weights["d_psnr"] > NR_HEAVY["d_psnr"]


def dataclasses_replace(cfg: RewardConfig, **kw) -> RewardConfig:
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def test_state_dict_round_trip(groups):
    model, _ = _train(groups[:3], RewardConfig(strategy="adaptive", weights=NR_HEAVY), epochs=1)
    state = json.loads(json.dumps(model.state_dict()))
    clone = RewardModel()
    clone.load_state_dict(state)
    assert clone.weights == model.weights and clone.step == 3 and clone.history == model.history
    assert clone.combine(groups[3]) == pytest.approx(model.combine(groups[3]))
    model.update(groups[3])
    clone.update(groups[3])
    assert clone.weights == pytest.approx(model.weights)


def test_config_validation():
    with pytest.raises(ValueError, match="strategy"):
        RewardConfig(strategy="greedy")
    with pytest.raises(ValueError, match="w_min"):
        RewardConfig(w_min=0.0)
    with pytest.raises(ValueError, match="norm"):
        RewardConfig(norm="rank")
    # static and gdpo have one normalisation each: a contradicting value is an error, not ignored
    with pytest.raises(ValueError, match="contradicts strategy 'static'"):
        RewardConfig(strategy="static", norm="group")
    with pytest.raises(ValueError, match="contradicts strategy 'gdpo'"):
        RewardConfig(strategy="gdpo", norm="scale")
    assert RewardConfig(strategy="static").normalisation == RewardConfig(strategy="static", norm="scale").normalisation == "scale"
    assert RewardConfig(strategy="gdpo").normalisation == RewardConfig(strategy="adaptive").normalisation == "group"


def _steady_weights(lag: str) -> dict[str, float]:
    """Adaptive weights after 200 groups of i.i.d. gains, metrics of very different units."""
    rng = np.random.default_rng(0)
    model = RewardModel(RewardConfig(strategy="adaptive", lag=lag, gate=False, weights={"d_psnr": 1.0, "d_ssim": 1.0, "d_gmsd": 0.5}))
    for _ in range(200):
        model.update([
            {"d_psnr": rng.normal(2, 1), "d_ssim": rng.normal(0.1, 0.05), "d_gmsd": rng.normal(0.02, 0.01),
             "calls": -2.0, "valid": 0.0}
            for _ in range(8)
        ])
    return model.weights


def _improving_weights(lag: str) -> dict[str, float]:
    """Adaptive weights after 150 groups in which PSNR's gain keeps rising."""
    rng = np.random.default_rng(1)
    model = RewardModel(RewardConfig(strategy="adaptive", lag=lag, gate=False, weights={"d_psnr": 1.0, "d_ssim": 1.0}))
    for t in range(150):
        model.update([
            {"d_psnr": 1.0 + 0.02 * t + rng.normal(0, 0.3), "d_ssim": rng.normal(0.05, 0.01), "calls": -2.0, "valid": 0.0}
            for _ in range(8)
        ])
    return model.weights


def test_relative_lag_does_not_drift_toward_the_metric_with_small_units():
    """Steady gains (i.i.d. groups) carry no lag signal.  The absolute rule still moves weight
    to the metric whose scaled gains happen to be smallest (GMSD here); the relative rule,
    measuring each metric against its own running level, does not."""

    absolute, relative = _steady_weights("absolute"), _steady_weights("relative")
    assert absolute["d_gmsd"] > 1.5 and absolute["d_psnr"] < 0.4
    assert relative["d_gmsd"] < 1.0 and relative["d_psnr"] > 0.5
    with pytest.raises(ValueError, match="lag"):
        RewardConfig(lag="sideways")


def test_level_lag_neither_drifts_nor_punishes_an_improving_metric():
    """``lag="level"`` does not accumulate the lag: steady noisy gains leave the weights near
    the configured ones, and a metric the policy keeps improving loses at most exp(eta_level),
    where the accumulating relative rule drives it to the lower bound.  (The price: weights
    stay anchored to the configured ones, so a badly configured 10:1 no-reference weighting
    is not undone without the fidelity gate, as the relative rule undoes it above.)"""

    w = _steady_weights("level")
    assert all(0.75 <= w[k] / w0 <= 1.33 for k, w0 in {"d_psnr": 1.0, "d_ssim": 1.0, "d_gmsd": 0.5}.items()), w
    assert _improving_weights("relative")["d_psnr"] < 0.3
    assert _improving_weights("level")["d_psnr"] > 0.6
    state = RewardModel(RewardConfig(lag="level"))
    state.update([{"d_psnr": 1.0, "d_ssim": 0.1}, {"d_psnr": 2.0, "d_ssim": 0.2}, {"d_psnr": 0.5, "d_ssim": 0.0}])
    again = RewardModel()
    again.load_state_dict(json.loads(json.dumps(state.state_dict())))
    assert again.fast_gain == state.fast_gain and again.agree_u == state.agree_u


def test_without_a_lag_only_disagreeing_no_reference_metrics_move():
    """``lag="none"``: full-reference gains, steady or improving, leave every weight where it was
    configured; a no-reference metric whose gains run against fidelity's loses weight, and the
    renormalisation gives it to the full-reference metrics."""
    assert _steady_weights("none") == pytest.approx({"d_psnr": 1.0, "d_ssim": 1.0, "d_gmsd": 0.5})
    assert _improving_weights("none") == pytest.approx({"d_psnr": 1.0, "d_ssim": 1.0})
    rng = np.random.default_rng(2)
    model = RewardModel(RewardConfig(strategy="adaptive", norm="scale", lag="none", gate=False))
    for _ in range(30):
        psnr = rng.normal(2, 1, size=8)
        model.update([
            {"d_psnr": p, "d_ssim": 0.05 * p, "d_gmsd": 0.01 * p, "d_niqe": -p + rng.normal(0, 0.2), "calls": -1.0, "valid": 0.0}
            for p in psnr
        ])
    w = model.weights
    assert w["d_niqe"] < 0.5 and w["d_psnr"] > 1.0 and w["d_ssim"] > 1.0
    assert w["d_psnr"] / w["d_ssim"] == pytest.approx(1.0) and sum(w.values()) == pytest.approx(3.0)
