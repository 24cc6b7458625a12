"""The agent loop and the baseline policies, on a toy world where the right answer is known.

Two toy degradations: ``dark`` (x * 0.5) then ``haze`` (y * 0.5 + 0.4).  Exact inverses exist,
so undoing haze first, then dark, recovers the clean image; the wrong order does not.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from irpilot.agent import Agent, AgentConfig, Trajectory, replay_trajectory
from irpilot.pool import Pool

pytestmark = pytest.mark.usefixtures("agent_tools")

TOOLBOX = {"dehaze": ["agent_test_dehaze_weak", "agent_test_dehaze"], "low_light": ["agent_test_brighten"]}


@dataclasses.dataclass
class ToyPerception:
    probs: dict[str, float]
    severity: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {"probs": self.probs, "severity": self.severity}


def toy_perceiver(img: np.ndarray) -> ToyPerception:
    """Haze lifts the minimum; darkness lowers the maximum."""
    lo, hi = float(img.min()), float(img.max())
    probs = {"haze": float(np.clip((lo - 0.05) / 0.2, 0, 1)), "dark": float(np.clip((0.8 - hi) / 0.2, 0, 1))}
    return ToyPerception(probs, dict(probs))


@pytest.fixture(scope="module")
def world(agent_tools):
    y, x = np.mgrid[0:32, 0:40].astype(np.float32)
    clean = np.stack([x / 39, y / 31, (x + y) / 70]).astype(np.float32)
    degraded = (clean * 0.5) * 0.5 + 0.4
    pool = Pool(backend="local", workers=1)
    yield clean, degraded, pool
    pool.close()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-12)))


def test_fixed_undoes_in_mair_order(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver)
    traj = agent.run(degraded, "fixed", tools=TOOLBOX)
    # MAIR: haze (scene) happened first, so it is undone last: dark first, then haze
    assert [c["name"] for c in traj.chain] == ["agent_test_brighten", "agent_test_dehaze_weak"]
    assert traj.tool_calls == 2
    assert traj.steps[-1].action["name"] == "stop"


def test_oracle_beats_every_other_policy(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver)
    scores = {}
    for policy in ("fixed", "random", "explore"):
        scores[policy] = psnr(agent.run(degraded, policy, tools=TOOLBOX).output, clean)
    oracle = agent.run(degraded, "oracle", reference=clean, tools=TOOLBOX)
    assert oracle.chain == [{"name": "agent_test_dehaze", "arguments": {}}, {"name": "agent_test_brighten", "arguments": {}}]
    assert psnr(oracle.output, clean) > 40
    assert all(psnr(oracle.output, clean) >= s for s in scores.values())


def test_explore_tries_tools_and_rolls_back(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver)
    traj = agent.run(degraded, "explore", tools=TOOLBOX)
    # the weak dehazer leaves haze behind, so explore must try the strong one too
    names = [s.action["name"] for s in traj.steps]
    assert "agent_test_dehaze" in names and "agent_test_dehaze_weak" in names
    assert traj.tool_calls > len(traj.chain)
    assert toy_perceiver(traj.output).probs["haze"] < 0.5
    assert any(not s.accepted for s in traj.steps)


def test_explore_tries_every_tool_unless_accepting_the_first(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver)
    toolbox = {"dehaze": ["agent_test_dehaze", "agent_test_dehaze_weak"], "low_light": ["agent_test_brighten"]}
    every = agent.run(degraded, "explore", tools=toolbox)
    # both dehazers run although the strong one alone clears the haze, and the strong one is kept
    assert {"agent_test_dehaze", "agent_test_dehaze_weak"} <= {s.action["name"] for s in every.steps}
    assert "agent_test_dehaze" in [c["name"] for c in every.chain]
    first = [Agent(pool=pool, perceiver=toy_perceiver, config=AgentConfig(seed=k)).run(degraded, "explore_first", tools=toolbox)
             for k in range(4)]
    assert min(t.tool_calls for t in first) < every.tool_calls
    with pytest.raises(ValueError, match="accept"):
        agent.run(degraded, "explore", tools=toolbox, accept="sometimes")


def test_failing_tool_is_reported_and_agent_goes_on(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver)
    toolbox = {"dehaze": ["agent_test_dehaze"], "low_light": ["agent_test_broken"]}
    traj = agent.run(degraded, "fixed", tools=toolbox)
    failed = [s for s in traj.steps if not s.ok]
    assert len(failed) == 1 and "always fails" in failed[0].error
    assert [c["name"] for c in traj.chain] == ["agent_test_dehaze"]


def test_a_tool_that_returns_the_image_unchanged_hands_over_to_its_fallback(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver)
    toolbox = {"dehaze": ["agent_test_dehaze_picky", "agent_test_dehaze"], "low_light": ["agent_test_brighten"]}
    traj = agent.run(degraded, "fixed", tools=toolbox)
    assert [c["name"] for c in traj.chain] == ["agent_test_brighten", "agent_test_dehaze_picky", "agent_test_dehaze"]
    picky = next(s for s in traj.steps if s.action["name"] == "agent_test_dehaze_picky")
    assert "fallback agent_test_dehaze" in picky.note
    direct = agent.run(degraded, "fixed", tools={"dehaze": ["agent_test_dehaze"], "low_light": ["agent_test_brighten"]})
    assert np.array_equal(traj.output, direct.output)
    assert np.array_equal(replay_trajectory(traj, degraded, pool=pool), traj.output)
    # no call left for the fallback: the unchanged image stays and the note says why
    limited = Agent(pool=pool, perceiver=toy_perceiver, config=AgentConfig(max_calls=2)).run(degraded, "fixed", tools=toolbox)
    assert [c["name"] for c in limited.chain] == ["agent_test_brighten", "agent_test_dehaze_picky"]
    assert "call limit" in limited.steps[1].note
    # a toolbox that leaves the fallback out is respected
    narrow = agent.run(degraded, "fixed", tools={"dehaze": ["agent_test_dehaze_picky"], "low_light": ["agent_test_brighten"]})
    assert [c["name"] for c in narrow.chain] == ["agent_test_brighten", "agent_test_dehaze_picky"]


def test_a_fallback_that_finds_nothing_either_hands_over_to_its_own(world):
    """A defocus tool whose kernels fit nothing hands over to a motion tool, whose line kernel
    fits nothing either, which hands over to the general deblurring tool; a user's toolbox lists
    each under its own task, and ``fixed`` does not plan the motion step again after it."""
    _, degraded, pool = world

    def reads_blur(img: np.ndarray) -> ToyPerception:
        return ToyPerception({"defocus_blur": 0.9, "motion_blur": 0.9}, {"defocus_blur": 0.9, "motion_blur": 0.9})

    agent = Agent(pool=pool, perceiver=reads_blur)
    both = {"defocus_deblur": ["agent_test_defocus_picky"],
            "motion_deblur": ["agent_test_motion_picky", "agent_test_general_deblur"]}
    traj = agent.run(degraded, "fixed", tools=both, tasks=["defocus_deblur", "motion_deblur"])
    assert [c["name"] for c in traj.chain] == ["agent_test_defocus_picky", "agent_test_motion_picky", "agent_test_general_deblur"]
    assert np.allclose(traj.output, degraded * 0.9)
    general = next(s for s in traj.steps if s.action["name"] == "agent_test_general_deblur")
    assert general.note == "fallback of agent_test_motion_picky"
    alone = agent.run(degraded, "fixed", tools={"defocus_deblur": ["agent_test_defocus_picky"]}, tasks=["defocus_deblur"])
    assert [c["name"] for c in alone.chain] == ["agent_test_defocus_picky"]


def test_the_fallback_runs_only_where_perception_still_reads_the_degradation(world):
    clean, degraded, pool = world

    def clears_after_the_first_step(img: np.ndarray) -> ToyPerception:
        seen = toy_perceiver(img)
        if not np.array_equal(img, degraded):  # haze no longer read once the image was brightened
            seen.probs["haze"] = 0.3
        return seen

    toolbox = {"dehaze": ["agent_test_dehaze_picky", "agent_test_dehaze"], "low_light": ["agent_test_brighten"]}
    traj = Agent(pool=pool, perceiver=clears_after_the_first_step).run(degraded, "fixed", tools=toolbox)
    assert [c["name"] for c in traj.chain] == ["agent_test_brighten", "agent_test_dehaze_picky"]
    assert "not run: perception reads haze at 0.30" in traj.steps[1].note
    # without a perception model the fallback runs as before
    blind = Agent(pool=pool, perceiver=None).run(degraded, "fixed", tools=toolbox, tasks=["low_light", "dehaze"])
    assert [c["name"] for c in blind.chain] == ["agent_test_brighten", "agent_test_dehaze_picky", "agent_test_dehaze"]


def test_check_rolls_back_a_step_that_makes_the_image_visibly_worse(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver)
    toolbox = {"dehaze": ["agent_test_darken"], "low_light": ["agent_test_brighten"]}
    kept = agent.run(degraded, "fixed", tools=toolbox)
    assert [c["name"] for c in kept.chain] == ["agent_test_brighten", "agent_test_darken"]
    checked = agent.run(degraded, "fixed", tools=toolbox, check="0.3")
    assert [c["name"] for c in checked.chain] == ["agent_test_brighten"]
    darken = [s for s in checked.steps if s.action["name"] == "agent_test_darken"]
    assert len(darken) == 1 and not darken[0].accepted and "rolled back" in darken[0].note
    assert checked.output_hash == checked.steps[0].output_hash  # the image after brightening
    # a good step passes the same check
    good = agent.run(degraded, "fixed", tools=TOOLBOX, check=0.3)
    assert len(good.chain) == 2
    from irpilot.errors import ConfigError

    with pytest.raises(ConfigError, match="check"):
        agent.run(degraded, "fixed", tools=toolbox, check="-1")


def test_call_limit(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver, config=AgentConfig(max_calls=1))
    traj = agent.run(degraded, "explore", tools=TOOLBOX)
    assert traj.tool_calls <= 1


def test_trace_round_trip_and_replay(world, tmp_path):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=toy_perceiver)
    traj = agent.run(degraded, "oracle", reference=clean, tools=TOOLBOX)
    path = traj.save(tmp_path / "t.trace.json")
    data = json.loads(path.read_text())
    calls = [m for m in data["messages"] if m.get("tool_calls")]
    assert calls and set(calls[0]["tool_calls"][0]["function"]) == {"name", "arguments"}
    loaded = Trajectory.load(path)
    assert loaded.chain == traj.chain and loaded.output_hash == traj.output_hash
    again = replay_trajectory(loaded, degraded, pool=pool)
    assert np.array_equal(again, traj.output)


def test_policy_needs_perception_or_tasks(world):
    clean, degraded, pool = world
    agent = Agent(pool=pool, perceiver=None)
    with pytest.raises(RuntimeError, match="perception"):
        agent.run(degraded, "fixed", tools=TOOLBOX)
    traj = agent.run(degraded, "fixed", tools=TOOLBOX, tasks="haze,dark")
    assert len(traj.chain) == 2


def test_unknown_policy_suggests(world):
    from irpilot.errors import RegistryError

    with pytest.raises(RegistryError, match="fixed"):
        Agent(pool=world[2], perceiver=None).run(world[1], "fixd")


def test_bench_policy_spec_carries_options():
    from irpilot.errors import ConfigError
    from irpilot.policies.base import parse_policy

    assert parse_policy("learned") == ("learned", {})
    assert parse_policy("learned:finish_agenda=0:threshold=0.6") == ("learned", {"finish_agenda": "0", "threshold": "0.6"})
    with pytest.raises(ConfigError):
        parse_policy("explore:first")


def test_policy_spec_label_names_the_variant():
    from irpilot.errors import ConfigError
    from irpilot.policies.base import parse_policy, split_label

    assert split_label("learned:finish_agenda=0") == ("learned:finish_agenda=0", "learned:finish_agenda=0")
    assert split_label("rl320=learned:weights=a/b.pt") == ("rl320", "learned:weights=a/b.pt")
    assert split_label("mine=fixed") == ("mine", "fixed")
    assert parse_policy("rl320=learned:weights=a/b.pt:threshold=0.6") == ("learned", {"weights": "a/b.pt", "threshold": "0.6"})
    for bad in ("=learned", "mine=", "mine=:x=1"):
        with pytest.raises(ConfigError):
            split_label(bad)


def test_run_takes_a_policy_spec_as_the_command_line_writes_it():
    """``Agent.run`` / ``irpilot.restore`` accept "name:key=value" like ``--policy``; keyword options win."""
    import irpilot

    img = np.full((3, 24, 24), 0.1, np.float32)
    traj = irpilot.restore(img, "fixed:tasks=low_light")
    assert [c["name"] for c in traj.chain] == ["hsv_value_inverse"]
    traj = irpilot.restore(img, "fixed:tasks=low_light", tasks="denoise")
    assert [c["name"] for c in traj.chain] == ["dncnn_color_blind"]
    from irpilot.errors import ConfigError

    with pytest.raises(ConfigError, match="'explore:accept=sometimes'"):  # the spec is named
        irpilot.restore(img, "explore:accept=sometimes")


def test_only_images_below_the_size_rule_are_upscaled(world):
    """Perception's CNN may call a 320 px photo low-resolution; no policy upscales an image whose
    longest side reaches SR_MAX_SIDE (AgenticIR's rule), a smaller one is upscaled."""
    from irpilot.policies.common import SR_MAX_SIDE, detected_degradations
    from irpilot.policies.learned import LearnedPolicy, decision_mask

    _, _, pool = world
    def says_small(img: np.ndarray) -> ToyPerception:  # wrong at exactly SR_MAX_SIDE
        p = 0.9 if max(img.shape[-2:]) <= SR_MAX_SIDE else 0.0
        return ToyPerception({"low_resolution": p}, {"low_resolution": p})

    agent = Agent(pool=pool, perceiver=says_small)
    toolbox = {"super_resolution": ["bicubic_x4"]}
    rng = np.random.default_rng(0)
    for side, upscaled in ((SR_MAX_SIDE, False), (SR_MAX_SIDE - 220, True)):
        img = rng.random((3, side - 20, side), dtype=np.float32)
        assert detected_degradations(says_small(img), image_shape=img.shape) == (["low_resolution"] if upscaled else [])
        for policy in ("fixed", "explore"):
            traj = agent.run(img, policy, tools=toolbox)
            assert [c["name"] for c in traj.chain] == (["bicubic_x4"] if upscaled else []), (policy, side)
            assert traj.output.shape[-1] == side * (4 if upscaled else 1)
    space = LearnedPolicy().space
    sr = [i for i, task in enumerate(space.tasks) if task == "super_resolution"]
    assert sr and all(np.isneginf(decision_mask(space, [], image_shape=(3, 200, SR_MAX_SIDE))[sr]))
    assert all(np.isfinite(decision_mask(space, [], image_shape=(3, 60, SR_MAX_SIDE - 1))[sr]))


def test_noise_revealed_by_brightening_is_treated(world):
    """A dark photo hides its noise: perception reads it only once the photo is brightened,
    and the plan then denoises (unless ``reveal`` is off, or the noise was treated first)."""
    clean, degraded, pool = world

    def night(img: np.ndarray) -> ToyPerception:
        seen = toy_perceiver(img)
        seen.probs["noise"] = 0.9 if float(img.max()) > 0.8 else 0.2
        return seen

    toolbox = {**TOOLBOX, "denoise": ["agent_test_denoise"]}
    agent = Agent(pool=pool, perceiver=night)
    traj = agent.run(degraded, "fixed", tools=toolbox)
    chain = [c["name"] for c in traj.chain]
    assert chain == ["agent_test_brighten", "agent_test_denoise", "agent_test_dehaze_weak"]
    # the trace says why the denoising step is there; the planned steps carry no note
    notes = {s.action["name"]: s.note for s in traj.steps}
    assert notes["agent_test_denoise"] == "added: the low_light step revealed noise (perception reads it at 0.90 on its output)"
    assert notes["agent_test_brighten"] == notes["agent_test_dehaze_weak"] == ""
    off = [c["name"] for c in agent.run(degraded, "fixed", tools=toolbox, reveal=False).chain]
    assert off == ["agent_test_brighten", "agent_test_dehaze_weak"]
    named = [c["name"] for c in agent.run(degraded, "fixed", tools=toolbox, tasks=["low_light", "dehaze"]).chain]
    assert "agent_test_denoise" not in named  # the user named the tasks
    # a revealed call the check rolls back is not planned again
    darkening = {**TOOLBOX, "denoise": ["agent_test_denoise_dark"]}
    traj = agent.run(degraded, "fixed", tools=darkening, check=0.1)
    assert [c["name"] for c in traj.chain] == ["agent_test_brighten", "agent_test_dehaze_weak"]
    assert [s.action["name"] for s in traj.steps].count("agent_test_denoise_dark") == 1
    dropped = next(s for s in traj.steps if s.action["name"] == "agent_test_denoise_dark")
    assert dropped.note.startswith("added: the low_light step revealed noise") and "; rolled back: " in dropped.note
    assert dropped.note.count("rolled back") == 1


def test_noise_treated_before_brightening_is_not_treated_again(world):
    clean, degraded, pool = world

    def noisy(img: np.ndarray) -> ToyPerception:
        seen = toy_perceiver(img)
        seen.probs["noise"] = 0.9
        return seen

    toolbox = {**TOOLBOX, "denoise": ["agent_test_denoise"]}
    chain = [c["name"] for c in Agent(pool=pool, perceiver=noisy).run(degraded, "fixed", tools=toolbox).chain]
    assert chain.count("agent_test_denoise") == 1 and chain.index("agent_test_denoise") < chain.index("agent_test_brighten")
