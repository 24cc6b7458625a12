"""The shipped learned policy: loads, acts on any image size with valid actions only, stops
within the call limit, never calls an unavailable tool, and keeps the tool-call format."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from irpilot.agent import Agent, AgentConfig, Observation  # noqa: E402
from irpilot.policies.base import POLICIES  # noqa: E402
from irpilot.policies.learned import (  # noqa: E402
    LearnedPolicy,
    decision_mask,
    default_weights,
    pending_tools,
    redirect_stop,
)
from irpilot.pool.result import CallResult  # noqa: E402


class _IdentityPool:
    """Pool stand-in: every call succeeds and returns its input (scaled x4 for SR tools)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def run(self, call, image, args=None, *, image_hash=None):
        from irpilot.tools import TOOLS

        tool_id = call.name
        self.calls.append(tool_id)
        s = TOOLS.get(tool_id).card.scale if tool_id in TOOLS else 1
        out = np.repeat(np.repeat(image, s, axis=1), s, axis=2) if s > 1 else image.copy()
        return CallResult(tool_id=tool_id, ok=True, image=out)


def test_shipped_weights_exist_and_describe_themselves():
    w = default_weights()
    assert w.is_file(), "the learned policy's weights ship in irpilot/assets"
    meta = json.loads(w.with_suffix(".json").read_text())
    assert meta["format"] == "irpilot-policy"
    assert meta["actions"]["tools"] and len(meta["actions"]["tools"]) == len(meta["actions"]["tasks"])


@pytest.mark.parametrize("shape", [(3, 20, 33), (3, 64, 64), (3, 97, 150), (3, 300, 200)])
def test_acts_on_any_size_with_valid_actions(shape):
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 1, shape).astype(np.float32)
    pool = _IdentityPool()
    agent = Agent(pool=pool, perceiver=None, config=AgentConfig(max_calls=6))
    traj = agent.run(img, "learned")
    pol = LearnedPolicy()
    names = [s.action["name"] for s in traj.steps]
    assert all(n in pol.actions for n in names)
    assert traj.tool_calls <= 6
    # a task runs at most twice (a repeat costs the model a 3-logit penalty), super-resolution once
    tasks = [pol.space.task_of(n) for n in names if n != "stop"]
    assert all(tasks.count(t) <= 2 for t in tasks)
    assert tasks.count("super_resolution") <= 1
    # trajectories keep the tool-call shape
    for m in traj.messages():
        for c in m.get("tool_calls", []):
            assert set(c["function"]) == {"name", "arguments"}


def test_never_calls_an_unavailable_tool():
    pol0 = LearnedPolicy()
    for t in pol0.space.tools:
        allowed = [x for x in pol0.space.tools if x != t]
        pol = LearnedPolicy(available_tools=allowed)
        rng = np.random.default_rng(1)
        for k in range(3):
            img = rng.uniform(0, 1, (3, 48 + 16 * k, 64)).astype(np.float32)
            obs = Observation(image=img, input_image=img, history=[], calls_left=6)
            pol.reset(obs)
            a = pol.act(obs)
            assert a.name != t


def test_mask_rules():
    pol = LearnedPolicy()
    sp = pol.space
    first = sp.tools[0]
    m = decision_mask(sp, [first], repeat_penalty=3.0)
    same = [i for i, k in enumerate(sp.tasks) if k == sp.task_of(first)]
    assert all(m[i] <= -3.0 for i in same)
    assert m[sp.stop_index] == 0.0
    m = decision_mask(sp, list(sp.tools[:2]), max_steps=2)
    assert np.all(np.isneginf(m[: sp.stop_index])) and m[sp.stop_index] == 0.0
    sr = [i for i, k in enumerate(sp.tasks) if k == "super_resolution"]
    if sr:
        m = decision_mask(sp, [], image_shape=(3, 2000, 2000))
        assert all(np.isneginf(m[i]) for i in sr)


def test_stop_is_redirected_to_the_pending_agenda():
    sp = LearnedPolicy().space
    task = "denoise" if "denoise" in sp.tasks else sp.tasks[0]
    tools = [i for i, k in enumerate(sp.tasks) if k == task]
    off = decision_mask(sp, [])
    assert off[sp.stop_index] == 0.0  # the mask itself always allows stop
    pend = pending_tools(sp, off, [], [task])
    assert set(np.flatnonzero(pend)) == set(tools)
    assert not pending_tools(sp, off, [sp.tools[tools[0]]], [task]).any()  # done once: no longer pending
    banned = decision_mask(sp, [], banned=[sp.tools[i] for i in tools])
    assert not pending_tools(sp, banned, [], [task]).any()  # nothing left that could treat it
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(sp.n))
    q = redirect_stop(p, pend, sp.stop_index)
    assert q[sp.stop_index] == 0.0 and abs(q.sum() - 1) < 1e-9
    others = [i for i in range(sp.stop_index) if i not in tools]
    assert np.allclose(q[others], p[others])  # only stop's probability moves
    gain = q[tools] - p[tools]
    assert np.allclose(gain / gain.sum(), p[tools] / p[tools].sum())  # in proportion
    assert np.array_equal(redirect_stop(p, np.zeros(sp.n, bool), sp.stop_index), p)


@dataclasses.dataclass
class _Perception:
    probs: dict[str, float]
    severity: dict[str, float]

    def as_dict(self):
        return {"probs": self.probs, "severity": self.severity}


@pytest.mark.parametrize("finish", [True, False])
def test_learned_treats_every_perceived_degradation(finish):
    """With ``finish_agenda`` the policy does not stop before each degradation that perception
    rates present in the input has been treated; without it, it may."""
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 1, (3, 96, 96)).astype(np.float32)
    probs = {"noise": 0.9, "dark": 0.8, "haze": 0.7, "rain": 0.1}
    perceiver = lambda im, **_: _Perception(dict(probs), dict(probs))  # noqa: E731 - the same verdict on every image
    pol = LearnedPolicy()
    agent = Agent(pool=_IdentityPool(), perceiver=perceiver, config=AgentConfig(max_calls=pol.encoder.max_steps))
    traj = agent.run(img, "learned", finish_agenda=finish)
    treated = {pol.space.task_of(c["name"]) for c in traj.chain}
    if finish:
        assert {"denoise", "low_light", "dehaze"} <= treated
    assert traj.tool_calls <= pol.encoder.max_steps


def test_agenda_task_without_an_action_gets_its_default_tool():
    """Snow on the agenda of a policy with no desnowing action: before stopping, the policy
    calls the task's default tool once (and never without the agenda)."""
    from irpilot.policies.common import default_tool

    pol = LearnedPolicy()
    assert "desnow" not in pol.space.tasks
    img = np.random.default_rng(4).uniform(0, 1, (3, 64, 64)).astype(np.float32)
    for probs, finish, expected in (({"snow": 0.9}, True, 1), ({"snow": 0.9}, False, 0), ({"snow": 0.1}, True, 0)):
        perceiver = lambda im, probs=probs, **_: _Perception(dict(probs), dict(probs))  # noqa: E731
        agent = Agent(pool=_IdentityPool(), perceiver=perceiver, config=AgentConfig(max_calls=6))
        traj = agent.run(img, "learned", finish_agenda=finish)
        assert [c["name"] for c in traj.chain].count(default_tool("desnow")) == expected


def test_registered_and_sampling_mode():
    assert POLICIES.get("learned") is LearnedPolicy
    pol = LearnedPolicy(greedy=False, temperature=1.0)
    img = np.full((3, 40, 40), 0.3, np.float32)
    obs = Observation(image=img, input_image=img, history=[], calls_left=3, rng=np.random.default_rng(0))
    p = pol.probabilities(obs)
    assert p.shape == (pol.space.n,) and abs(p.sum() - 1) < 1e-6
    assert pol.act(obs).name in pol.actions


def test_input_perception_features_and_round_trip(tmp_path):
    """With ``input_perception`` the state carries what was wrong with the input and which of
    those tasks are still undone; the input evidence stops pushing a task once it is done; the
    policy file round-trips with the same outputs."""
    import torch

    from irpilot.policies.learned.actions import default_action_space
    from irpilot.policies.learned.checkpoint import build_net, load_policy, save_policy
    from irpilot.policies.learned.network import StateEncoder, stack_states

    space = default_action_space(only_available=False)
    labels = ["noise", "haze", "dark"]
    enc = StateEncoder(space, perception_labels=labels, input_perception=True)
    assert enc.perc_dim == 5 * len(labels) + 1
    img = np.random.default_rng(0).random((3, 64, 64), dtype=np.float32)
    cur = {"noise": 0.1, "haze": 0.2, "dark": 0.05}
    given = {"noise": 0.95, "haze": 0.9, "dark": 0.05}
    denoise = space.tools_for("denoise")[0]
    st = enc.encode(img, [denoise], cur, input_perception=given)
    n = len(labels)
    assert st.perc[2 * n : 3 * n].tolist() == pytest.approx([0.95, 0.9, 0.05])
    assert st.perc[4 * n : 5 * n].tolist() == [0.0, 1.0, 1.0]  # denoise done, dehaze and low light not
    assert st.perc[-1] == 1.0

    torch.manual_seed(0)
    net = build_net(space, enc, dropout=0.1)
    net.eval()
    for p in net.head.parameters():  # only the evidence terms speak
        torch.nn.init.zeros_(p)
    with torch.inference_mode():
        before = net(*stack_states([enc.encode(img, [], cur, input_perception=given)]))[0]
        after = net(*stack_states([st]))[0]
    dehaze, dn = space.index(space.tools_for("dehaze")[0]), space.index(denoise)
    assert before[dn] > 0 and before[dehaze] > 0  # input evidence asks for both
    assert after[dn] < before[dn]  # done: the input no longer asks for it
    assert float(after[dehaze]) == pytest.approx(float(before[dehaze]), abs=1e-5)  # still undone: unchanged
    stop = space.stop_index
    assert float(before[stop]) < 0  # noise and haze pending: stop is pushed down
    with torch.inference_mode():
        all_done = enc.encode(img, [denoise, space.tools_for("dehaze")[0]], cur, input_perception=given)
        assert float(net(*stack_states([all_done]))[0][stop]) == pytest.approx(0.0, abs=1e-5)  # nothing pending

    path = save_policy(tmp_path / "p.pt", net, space, enc)
    net2, _, enc2, meta = load_policy(path)
    assert enc2.input_perception and meta["net"]["dropout"] == pytest.approx(0.1)
    with torch.inference_mode():
        assert torch.allclose(net2(*stack_states([st]))[0], after)


def test_agenda_threshold_and_skip():
    from irpilot.policies.learned import agenda

    perc = _Perception({"noise": 0.9, "haze": 0.6, "motion_blur": 0.7, "rain": 0.2}, {})
    assert set(agenda(perc)) == {"denoise", "dehaze", "motion_deblur"}
    assert set(agenda(perc, 0.65)) == {"denoise", "motion_deblur"}
    assert set(agenda(perc, skip=["motion_blur"])) == {"denoise", "dehaze"}
    # a skipped degradation comes back when perception is sure enough of it
    assert set(agenda(perc, skip=["motion_blur"], skip_threshold=0.65)) == {"denoise", "dehaze", "motion_deblur"}
    assert set(agenda(perc, skip=["motion_blur", "noise"], skip_threshold=0.95)) == {"dehaze"}
    assert agenda(None) == []
    assert LearnedPolicy(skip_threshold="0.8").options.skip_threshold == 0.8 and LearnedPolicy().options.skip_threshold is None
    from irpilot.errors import ConfigError

    with pytest.raises(ConfigError, match="min_prob"):
        LearnedPolicy(min_prob="abc")
    assert LearnedPolicy(agenda_skip="motion_blur+defocus_blur").options.agenda_skip == ("motion_blur", "defocus_blur")


def test_ensemble_averages_the_logits_of_its_members(tmp_path):
    """``weights="a.pt+b.pt"``: one decision from the mean of the members' logits."""
    from irpilot.cli import main

    # the SFT start of the default, with the tools the default calls in dncnn3_sr_x4's, prenet_rain100h's
    # and prenet_rain100l's places and the tool it was grown by: the same actions
    static = tmp_path / "sft_start.pt"
    assert main(["train", "grow", "--init", "mix_sft_dehaze", "--replace",
                 "dncnn3_sr_x4=sr_ensemble_x4,prenet_rain100h=derain_net,prenet_rain100l=derain_cascade",
                 "--add-tools", "jpeg_deblur_defocus", "--offset", "-20", "--out", str(static)]) == 0
    single = LearnedPolicy(finish_agenda=False, repeat_penalty=0.0)
    twice = LearnedPolicy(weights=f"{default_weights()}+{default_weights()}", finish_agenda=False, repeat_penalty=0.0)
    pair = LearnedPolicy(weights=[default_weights(), static], finish_agenda=False, repeat_penalty=0.0)
    other = LearnedPolicy(weights=static, finish_agenda=False, repeat_penalty=0.0)
    img = np.random.default_rng(3).uniform(0, 1, (3, 64, 80)).astype(np.float32)
    obs = Observation(image=img, input_image=img, history=[], calls_left=6)
    p1, p2, pp, po = (pol.probabilities(obs) for pol in (single, twice, pair, other))
    assert np.allclose(p1, p2)
    # mean logits: the ensemble's log-probabilities are the mean of the members' up to a constant
    d = np.log(pp) - (np.log(p1) + np.log(po)) / 2
    ok = np.isfinite(d)
    assert ok.sum() > 2 and np.allclose(d[ok], d[ok][0], atol=1e-5)
    assert not np.allclose(pp, p1)


def test_trace_records_the_policy_choices_of_each_step(tmp_path):
    """Each decision of ``learned`` keeps its most probable actions in the trace; decoding by
    tool, the greedy action is the first of them (by task, the default, it is the most probable
    tool of the most probable task, which need not be the most probable tool), and they survive
    saving and loading the trace."""
    from irpilot.agent import Trajectory

    img = np.random.default_rng(1).uniform(0, 1, (3, 64, 64)).astype(np.float32)
    agent = Agent(pool=_IdentityPool(), perceiver=None, config=AgentConfig(max_calls=4))
    traj = agent.run(img, "learned", decode="tool")
    assert traj.steps
    for s in traj.steps:
        probs = list(s.choices.values())
        assert 1 <= len(probs) <= 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1.0 + 1e-6
        assert next(iter(s.choices)) == s.action["name"]
    loaded = Trajectory.load(traj.save(tmp_path / "t.trace.json"))
    assert [s.choices for s in loaded.steps] == [s.choices for s in traj.steps]
    fixed = agent.run(img, "fixed", tasks="noise")
    assert all(s.choices == {} for s in fixed.steps)


def test_min_prob_keeps_only_confident_calls_off_the_agenda():
    """``min_prob`` above every probability: with nothing on perception's agenda the policy
    stops at once; with noise on it, it still denoises (the agenda's tools are exempt), and
    calls nothing else."""
    img = np.random.default_rng(2).uniform(0, 1, (3, 64, 64)).astype(np.float32)
    pol = LearnedPolicy()
    for probs, expected in (({"noise": 0.1, "dark": 0.2}, set()), ({"noise": 0.9, "dark": 0.2}, {"denoise"})):
        perceiver = lambda im, probs=probs, **_: _Perception(dict(probs), dict(probs))  # noqa: E731
        agent = Agent(pool=_IdentityPool(), perceiver=perceiver, config=AgentConfig(max_calls=4))
        traj = agent.run(img, "learned", min_prob=1.01)
        assert {pol.space.task_of(c["name"]) for c in traj.chain} == expected
        free = agent.run(img, "learned")  # without the floor the network's choices stand
        assert free.tool_calls > traj.tool_calls  # ... and it calls tools the floor refused


def test_task_decoding_takes_a_task_whose_probability_is_split_between_its_tools():
    """stop 0.4 against two motion deblurring tools at 0.3 each: ``decode=tool`` stops,
    ``decode=task`` deblurs with the more probable of the two."""
    from irpilot.errors import ConfigError

    by_tool, by_task = LearnedPolicy(decode="tool"), LearnedPolicy()
    assert by_task.options.decode == "task"  # the default
    names = by_tool.space.names
    p = np.zeros(len(names))
    p[names.index("stop")] = 0.4
    p[names.index("motion_deblur_hqs")] = 0.28
    p[names.index("motion_deblur_wiener")] = 0.32
    img = np.zeros((3, 8, 8), np.float32)
    obs = Observation(image=img, input_image=img, history=[], calls_left=5)
    for pol in (by_tool, by_task):
        pol.probabilities = lambda _obs, p=p: p
    assert by_tool.act(obs).is_stop
    assert by_task.act(obs).name == "motion_deblur_wiener"
    # one dominant tool: both decodings agree
    q = np.zeros(len(names))
    q[names.index("stop")], q[names.index("motion_deblur_hqs")], q[names.index("dncnn3_dejpeg")] = 0.2, 0.3, 0.5
    for pol in (by_tool, by_task):
        pol.probabilities = lambda _obs, q=q: q
        assert pol.act(obs).name == "dncnn3_dejpeg"
    with pytest.raises(ConfigError, match="decode"):
        LearnedPolicy(decode="beam")


def test_sure_dark_skips_the_darkening_check_only_when_perception_is_sure():
    """``sure_dark=0.9``: ``hsv_value_inverse`` is called with ``check=false`` when perception
    rates the image dark at 0.9 or more, as it is without the option below that; other tools
    never get the argument."""
    names = LearnedPolicy().space.names
    img = np.zeros((3, 8, 8), np.float32)

    def act(tool: str, p_dark: float, **options) -> dict:
        pol = LearnedPolicy(**options)
        p = np.zeros(len(names))
        p[names.index(tool)] = 1.0
        pol.probabilities = lambda _obs: p
        perception = _Perception({"dark": p_dark}, {"dark": p_dark})
        obs = Observation(image=img, input_image=img, history=[], calls_left=5, perception=perception)
        return pol.act(obs).arguments

    assert act("hsv_value_inverse", 0.95, sure_dark=0.9) == {"check": False}
    assert act("hsv_value_inverse", 0.85, sure_dark=0.9) == {}
    assert act("hsv_value_inverse", 0.99) == {}  # off by default
    assert act("gamma_auto", 0.99, sure_dark=0.9) == {}  # a tool without the check


def test_after_sr_takes_the_x4_step_before_a_task_that_waits_for_it():
    """``after_sr=derain`` (the default): where the network would derain while super-resolution
    is on the agenda and not done, its most probable x4 tool comes first; once the x4 step is
    done, or when low resolution is not on the agenda, with ``none``, or for a task that does not
    wait, the network's choice stands; an unknown task is refused.  ``wait_for`` does the same for
    any two tasks."""
    from irpilot.errors import ConfigError
    from irpilot.session import Step, ToolCall

    names = LearnedPolicy().space.names
    img = np.zeros((3, 40, 40), np.float32)

    def act(choice: dict[str, float], seen: dict[str, float], done: tuple[str, ...] = (), **options) -> str:
        pol = LearnedPolicy(**options)
        p = np.zeros(len(names))
        for tool, v in choice.items():
            p[names.index(tool)] = v
        perception = _Perception(seen, seen)

        def probabilities(obs):
            pol._sync(obs)
            pol._agenda = [{"low_resolution": "super_resolution", "rain": "derain", "haze": "dehaze"}[d] for d, v in seen.items() if v >= 0.5]
            return p

        pol.probabilities = probabilities
        history = [Step(index=i, action=ToolCall(n, {}), task=None, input_hash="") for i, n in enumerate(done)]
        obs = Observation(image=img, input_image=img, history=history, calls_left=5, perception=perception)
        return pol.act(obs).name

    derain = {"derain_cascade": 0.6, "derain_net": 0.1, "sr_ensemble_x4": 0.2, "lanczos_x4": 0.1}
    small_rain = {"rain": 0.9, "low_resolution": 0.9}
    assert act(derain, small_rain) == "sr_ensemble_x4"  # the default; the more probable x4 tool
    assert act(derain, small_rain, after_sr="none") == "derain_cascade"
    assert act(derain, {"rain": 0.9, "low_resolution": 0.2}, after_sr="derain") == "derain_cascade"
    assert act(derain, small_rain, ("sr_ensemble_x4",), after_sr="derain") == "derain_cascade"
    assert act(derain, small_rain, after_sr="dehaze") == "derain_cascade"
    # no x4 tool can run (the mask gives them 0, as on a photo too large for x4): no waiting
    assert act({"derain_cascade": 0.9, "derain_net": 0.1}, small_rain) == "derain_cascade"
    with pytest.raises(ConfigError, match="after_sr"):
        LearnedPolicy(after_sr="rain")  # a degradation, not a task
    # wait_for=dehaze>derain, the same for any pair of tasks (off by default)
    rain = {"derain_cascade": 0.6, "dehaze_net": 0.3, "dark_channel_prior": 0.1}
    hazy_rain = {"rain": 0.9, "haze": 0.9}
    assert act(rain, hazy_rain, wait_for="dehaze>derain") == "dehaze_net"
    assert act(rain, hazy_rain) == "derain_cascade"
    assert act(rain, {"rain": 0.9, "haze": 0.2}, wait_for="dehaze>derain") == "derain_cascade"  # no haze read
    assert act(rain, hazy_rain, ("dehaze_net",), wait_for="dehaze>derain") == "derain_cascade"  # dehazed
    with pytest.raises(ConfigError, match="FIRST>TASK"):
        LearnedPolicy(wait_for="haze>derain")  # a degradation, not a task


def test_swap_after_calls_another_tool_once_a_named_step_is_done(tmp_path):
    """``swap_after=low_light>prenet_rain100l=derain_net`` (the default's first entry), on the
    default policy before ``derain_cascade`` took ``prenet_rain100l``'s place: the network's
    ``prenet_rain100l`` is called as ``derain_net`` once a low-light step is done, not before,
    not for other tools, not with ``none``, and not when the replacement cannot run; badly
    written entries are refused.  The default policy itself has no ``prenet_rain100l`` action."""
    from irpilot.cli import main
    from irpilot.errors import ConfigError
    from irpilot.session import Step, ToolCall

    assert "prenet_rain100l" not in LearnedPolicy().space.tools
    before = tmp_path / "before_cascade.pt"
    assert main(["train", "grow", "--init", "learned", "--replace", "derain_cascade=prenet_rain100l",
                 "--out", str(before)]) == 0
    names = LearnedPolicy(weights=before).space.names
    img = np.zeros((3, 40, 40), np.float32)
    swap = "low_light>prenet_rain100l=derain_net"

    def act(tool: str, done: tuple[str, ...] = (), **options) -> str:
        pol = LearnedPolicy(weights=before, **options)
        p = np.zeros(len(names))
        p[names.index(tool)] = 1.0
        pol.probabilities = lambda obs: (pol._sync(obs), p)[1]
        history = [Step(index=i, action=ToolCall(n, {}), task=None, input_hash="") for i, n in enumerate(done)]
        obs = Observation(image=img, input_image=img, history=history, calls_left=5)
        return pol.act(obs).name

    assert act("prenet_rain100l", ("hsv_value_inverse",), swap_after=swap) == "derain_net"
    pol = LearnedPolicy(weights=before, swap_after=swap)
    p = np.zeros(len(names))
    p[names.index("prenet_rain100l")] = 1.0
    pol.probabilities = lambda obs: (pol._sync(obs), p)[1]
    step = Step(index=0, action=ToolCall("hsv_value_inverse", {}), task=None, input_hash="")
    pol.act(Observation(image=img, input_image=img, history=[step], calls_left=5))
    assert pol.last_note == "derain_net in place of the network's prenet_rain100l (swap_after)"  # the trace says why
    assert act("prenet_rain100l", ("hsv_value_inverse",)) == "derain_net"  # the default
    assert act("prenet_rain100l", ("hsv_value_inverse",), swap_after="none") == "prenet_rain100l"
    assert act("prenet_rain100l", ("dehaze_net",), swap_after=swap) == "prenet_rain100l"
    assert act("prenet_rain100l", ("dehaze_net",)) == "derain_net"  # the default's second entry
    assert act("prenet_rain100l", (), swap_after=swap) == "prenet_rain100l"
    assert act("dehaze_net", ("hsv_value_inverse",), swap_after=swap) == "dehaze_net"
    unavailable = [n for n in names if n not in ("derain_net", "stop")]
    assert act("prenet_rain100l", ("hsv_value_inverse",), swap_after=swap,
               available_tools=unavailable) == "prenet_rain100l"
    with pytest.raises(ConfigError, match="TASK>OLD=NEW"):
        LearnedPolicy(swap_after="low_light:prenet_rain100l")
    with pytest.raises(ConfigError, match="tools of one task"):
        LearnedPolicy(swap_after="low_light>prenet_rain100l=dehaze_net")  # another task's tool
    with pytest.raises(ConfigError, match="tools of one task"):
        LearnedPolicy(swap_after="low_light>prenet_rain100l=derain_nett")  # a typo
    # a shipped variant older than derain_net keeps the default and decides as its network does
    old = LearnedPolicy(variant="sft3")
    assert "derain_net" not in old.space.tools
    p = np.zeros(len(old.space.names))
    p[old.space.names.index("prenet_rain100l")] = 1.0
    old.probabilities = lambda obs: (old._sync(obs), p)[1]
    step = Step(index=0, action=ToolCall("hsv_value_inverse", {}), task=None, input_hash="")
    assert old.act(Observation(image=img, input_image=img, history=[step], calls_left=5)).name == "prenet_rain100l"


def test_agenda_after_puts_a_skipped_blur_on_the_agenda_once_a_named_step_is_done():
    """``agenda_after=super_resolution>motion_blur`` (the default): motion blur, which the agenda
    leaves to the network, joins it once an x4 step is done, when perception read it on the input;
    stopping then waits for a motion step (stop's probability goes to the motion tools).  Not
    before the x4 step, not when perception did not read it, not with ``none``; badly written
    entries are refused."""
    from irpilot.errors import ConfigError
    from irpilot.session import Step, ToolCall

    img = np.random.default_rng(5).uniform(0, 1, (3, 96, 96)).astype(np.float32)

    def observation(seen: dict[str, float], done: tuple[str, ...]) -> Observation:
        perception = _Perception(dict(seen), dict(seen))
        history = [Step(index=i, action=ToolCall(n, {}), task=None, input_hash="") for i, n in enumerate(done)]
        return Observation(image=img, input_image=img, history=history, calls_left=5, perception=perception,
                           input_perception=perception)

    def probs(seen: dict[str, float], done: tuple[str, ...], **options) -> dict[str, float]:
        pol = LearnedPolicy(**options)
        return dict(zip(pol.space.names, pol.probabilities(observation(seen, done))))

    rule = "super_resolution>motion_blur"
    shaken = {"motion_blur": 0.8, "low_resolution": 0.9}
    p = probs(shaken, ("sr_ensemble_x4",), agenda_after=rule)
    assert p["stop"] == 0.0 and p["motion_deblur_hqs"] + p["motion_deblur_wiener"] + p["shake_deblur_pnp"] > 0.0
    assert probs(shaken, ("sr_ensemble_x4",))["stop"] == 0.0  # the default
    pol = LearnedPolicy(available_tools="sr_ensemble_x4,motion_deblur_hqs,motion_deblur_wiener,shake_deblur_pnp")
    call = pol.act(observation(shaken, ("sr_ensemble_x4",)))
    assert pol.space.task_of(call.name) == "motion_deblur"  # stop must wait; nothing else can run
    assert pol.last_note == "added: motion_blur read on the input at 0.80 is treated after the super_resolution step (agenda_after)"
    assert probs(shaken, ("sr_ensemble_x4",), agenda_after="none")["stop"] > 0.0  # the network may stop
    assert probs({"motion_blur": 0.3, "low_resolution": 0.9}, ("sr_ensemble_x4",), agenda_after=rule)["stop"] > 0.0
    assert probs({"motion_blur": 0.8}, ("ffdnet_color",), agenda_after=rule)["stop"] > 0.0  # no x4 step done
    assert probs(shaken, ("sr_ensemble_x4", "shake_deblur_pnp"), agenda_after=rule)["stop"] > 0.0  # treated
    with pytest.raises(ConfigError, match="TASK>DEGRADATION"):
        LearnedPolicy(agenda_after="super_resolution>motion_deblur")  # a task, not a degradation
    with pytest.raises(ConfigError, match="TASK>DEGRADATION"):
        LearnedPolicy(agenda_after="low_resolution>motion_blur")  # a degradation, not a task
    with pytest.raises(ConfigError, match="TASK>DEGRADATION"):
        LearnedPolicy(agenda_after="super_resolution")


def test_after_a_jpeg_step_defocus_blur_is_treated_by_the_jpeg_step_network():
    """The default's entries for a JPEG step: defocus blur perception read on the input joins the
    agenda once the JPEG step is done (the network mostly stops there), and the network's defocus
    tool is called as ``jpeg_deblur_defocus``, trained on the JPEG network's output.  The network
    itself gives that tool next to nothing (it was added with a logit offset of -20): only the
    entry calls it.  Before a JPEG step, or for motion blur, nothing changes."""
    from irpilot.session import Step, ToolCall

    img = np.random.default_rng(6).uniform(0, 1, (3, 96, 96)).astype(np.float32)
    pol = LearnedPolicy()
    names = pol.space.names
    assert "jpeg_deblur_defocus" in names and "jpeg_deblur_motion" not in names

    def observation(seen: dict[str, float], done: tuple[str, ...]) -> Observation:
        perception = _Perception(dict(seen), dict(seen))
        history = [Step(index=i, action=ToolCall(n, {}), task=None, input_hash="") for i, n in enumerate(done)]
        return Observation(image=img, input_image=img, history=history, calls_left=5, perception=perception,
                           input_perception=perception)

    blurred = {"defocus_blur": 0.8, "jpeg": 0.9}
    p = dict(zip(names, LearnedPolicy().probabilities(observation(blurred, ("jpeg_ycc_net",)))))
    assert p["stop"] == 0.0 and p["defocus_deblur_hqs"] + p["defocus_deblur_wiener"] > 0.0
    assert p["jpeg_deblur_defocus"] < 1e-4
    assert dict(zip(names, LearnedPolicy(agenda_after="none").probabilities(
        observation(blurred, ("jpeg_ycc_net",)))))["stop"] > 0.0
    assert dict(zip(names, LearnedPolicy().probabilities(
        observation({"motion_blur": 0.8, "jpeg": 0.9}, ("jpeg_ycc_net",)))))["stop"] > 0.0  # motion: the network's

    def act(tool: str, done: tuple[str, ...]) -> str:
        pol = LearnedPolicy()
        q = np.zeros(len(names))
        q[names.index(tool)] = 1.0
        pol.probabilities = lambda obs: (pol._sync(obs), q)[1]
        return pol.act(observation(blurred, done)).name

    assert act("defocus_deblur_hqs", ("jpeg_ycc_net",)) == "jpeg_deblur_defocus"
    assert act("defocus_deblur_wiener", ("dncnn3_dejpeg",)) == "jpeg_deblur_defocus"
    assert act("defocus_deblur_hqs", ()) == "defocus_deblur_hqs"
    assert act("defocus_deblur_hqs", ("ffdnet_color",)) == "defocus_deblur_hqs"
    assert act("motion_deblur_hqs", ("jpeg_ycc_net",)) == "motion_deblur_hqs"


def test_reveals_reads_a_step_output_for_the_degradations_it_names():
    """``reveals`` (``TASK>DEGRADATION``, read on the current image once a TASK step is done):
    the default names noise after brightening; an entry for motion blur puts a motion step on the
    agenda when perception reads the blur on the brightened photo, not when it read it on the dark
    input only; the trace says which step revealed it."""
    from irpilot.errors import ConfigError
    from irpilot.session import Step, ToolCall

    img = np.random.default_rng(6).uniform(0, 0.3, (3, 96, 96)).astype(np.float32)

    def observation(now: dict[str, float], before: dict[str, float], done: tuple[str, ...]) -> Observation:
        history = [Step(index=i, action=ToolCall(n, {}), task=None, input_hash="") for i, n in enumerate(done)]
        return Observation(image=img, input_image=img, history=history, calls_left=5,
                           perception=_Perception(dict(now), dict(now)), input_perception=_Perception(dict(before), dict(before)))

    rule = "low_light>noise;low_light>motion_blur"
    dark = {"low_light": 0.9}
    shown = observation({"motion_blur": 0.8}, dark, ("hsv_value_inverse",))
    assert LearnedPolicy().options.reveals == (("low_light", "noise"),)
    pol = LearnedPolicy(reveals=rule, available_tools="hsv_value_inverse,motion_deblur_hqs,motion_deblur_wiener,shake_deblur_pnp")
    p = dict(zip(pol.space.names, pol.probabilities(shown)))
    assert p["stop"] == 0.0 and p["motion_deblur_hqs"] + p["motion_deblur_wiener"] + p["shake_deblur_pnp"] > 0.0
    call = pol.act(shown)
    assert pol.space.task_of(call.name) == "motion_deblur"
    assert pol.last_note == "added: the low_light step revealed motion_blur (perception reads it at 0.80 on its output)"
    default = LearnedPolicy(available_tools="hsv_value_inverse,motion_deblur_hqs,motion_deblur_wiener,shake_deblur_pnp")
    assert dict(zip(default.space.names, default.probabilities(shown)))["stop"] > 0.0  # not named: the network decides
    only_input = observation({"motion_blur": 0.2}, dict(dark, motion_blur=0.8), ("hsv_value_inverse",))
    assert dict(zip(pol.space.names, LearnedPolicy(reveals=rule).probabilities(only_input)))["stop"] > 0.0
    # reveal_changed: a brightening step that returned its input (declined) reveals nothing
    for out_hash, revealed in (("a", False), ("b", True)):
        step = Step(index=0, action=ToolCall("hsv_value_inverse", {}), task="low_light", input_hash="a",
                    output_hash=out_hash, accepted=True)
        obs = Observation(image=img, input_image=img, history=[step], calls_left=5,
                          perception=_Perception({"motion_blur": 0.8}, {}), input_perception=_Perception(dict(dark), {}))
        q = dict(zip(pol.space.names, LearnedPolicy(reveals=rule, reveal_changed=True).probabilities(obs)))
        assert bool(q["stop"] == 0.0) is revealed
    with pytest.raises(ConfigError, match="TASK>DEGRADATION"):
        LearnedPolicy(reveals="low_light>motion_deblur")


def test_grown_policy_decides_as_before_until_fine_tuned():
    """``train sft --add-tools`` grows a shipped policy: the old actions' logits are unchanged
    for any history without the new tools, each new tool sits beside its task's tools with its
    task's first tool's row lowered by one, and a task the policy lacks is refused."""
    import torch

    from irpilot.policies.learned.checkpoint import grow_policy, load_policy
    from irpilot.policies.learned.network import stack_states

    net, space, enc, meta = load_policy(default_weights("sft3"))  # a shipped policy without the two tools
    add = [("shake_deblur_pnp", "motion_deblur"), ("jpeg_ycc_net", "dejpeg")]
    net2, space2, enc2 = grow_policy(net, space, enc, add, width=meta["net"]["width"])
    assert space2.n == space.n + 2 and space2.tools_for("motion_deblur")[-1] == "shake_deblur_pnp"
    rng = np.random.default_rng(1)
    img = rng.random((3, 80, 96), dtype=np.float32)
    perc = {label: float(rng.random()) for label in enc.perception_labels}
    keep = [space2.index(n) for n in space.names]
    for called in ([], ["dncnn3_dejpeg"], ["ffdnet_color", "motion_deblur_hqs"]):
        with torch.inference_mode():
            old = net(*stack_states([enc.encode(img, called, perc, input_perception=perc)]))[0]
            new = net2(*stack_states([enc2.encode(img, called, perc, input_perception=perc)]))[0]
        assert torch.allclose(new[keep], old, atol=1e-4)
        first = space2.index(space2.tools_for("motion_deblur")[0])
        # the new tool shares its task's first tool's weights, one logit lower
        assert float(new[space2.index("shake_deblur_pnp")]) < float(new[first])
    with pytest.raises(ValueError, match="no tool in the policy"):
        grow_policy(net, space, enc, [("desnow_median", "desnow")])


def test_train_grow_command_writes_a_policy_whose_new_tool_takes_its_task_first_place(tmp_path: Path) -> None:
    """``irpilot train grow --offset 2``: the grown policy loads, holds the new tool, and ranks it
    two logits above its task's first tool for any state."""
    import torch

    from irpilot.cli import main
    from irpilot.policies.learned.checkpoint import load_policy
    from irpilot.policies.learned.network import stack_states

    out = tmp_path / "grown.pt"
    assert main(["train", "grow", "--init", "sft3", "--add-tools", "jpeg_ycc_net", "--offset", "2", "--out", str(out)]) == 0
    net, space, enc, meta = load_policy(out)
    assert "jpeg_ycc_net" in space.tools and meta["info"]["grown"]["offset"] == 2.0
    rng = np.random.default_rng(2)
    img = rng.random((3, 64, 64), dtype=np.float32)
    perc = {label: float(rng.random()) for label in enc.perception_labels}
    with torch.inference_mode():
        logits = net(*stack_states([enc.encode(img, [], perc, input_perception=perc)]))[0]
    first = space.index(space.tools_for("dejpeg")[0])
    assert float(logits[space.index("jpeg_ycc_net")] - logits[first]) == pytest.approx(2.0, abs=1e-4)


def test_train_grow_replace_puts_a_tool_in_anothers_place_with_every_weight_kept(tmp_path: Path) -> None:
    """``irpilot train grow --replace OLD=NEW``: the same network, the new tool at the old one's
    index (so its logits, and the history input after calling it, are the old one's); a tool of
    another task, or one the policy lacks, is refused."""
    import torch

    from irpilot.cli import main
    from irpilot.policies.learned.checkpoint import load_policy
    from irpilot.policies.learned.network import stack_states

    out = tmp_path / "replaced.pt"
    assert main(["train", "grow", "--init", "sft3", "--replace", "dncnn3_sr_x4=sr_net_x4", "--out", str(out)]) == 0
    old_net, old_space, old_enc, _ = load_policy(default_weights("sft3"))
    net, space, enc, meta = load_policy(out)
    assert meta["info"]["grown"]["replaced"] == {"dncnn3_sr_x4": "sr_net_x4"}
    assert "dncnn3_sr_x4" not in space.tools and space.index("sr_net_x4") == old_space.index("dncnn3_sr_x4")
    rng = np.random.default_rng(3)
    img = rng.random((3, 64, 64), dtype=np.float32)
    perc = {label: float(rng.random()) for label in enc.perception_labels}
    with torch.inference_mode():
        before = old_net(*stack_states([old_enc.encode(img, ["dncnn3_sr_x4"], perc, input_perception=perc)]))[0]
        after = net(*stack_states([enc.encode(img, ["sr_net_x4"], perc, input_perception=perc)]))[0]
    torch.testing.assert_close(after, before)
    for bad in ("dncnn3_sr_x4=bm3d", "dncnn3_sr_x4=ffdnet_color", "bicubic_x4=sr_net_x4", "dncnn3_sr_x4"):
        assert main(["train", "grow", "--init", "sft3", "--replace", bad, "--out", str(tmp_path / "bad.pt")]) == 1
    assert not (tmp_path / "bad.pt").exists()
    # growing a grown policy keeps the earlier record: every replacement stays on file
    again = tmp_path / "again.pt"
    assert main(["train", "grow", "--init", str(out), "--replace", "prenet_rain100h=derain_net", "--out", str(again)]) == 0
    grown = load_policy(again)[3]["info"]["grown"]
    assert grown["replaced"] == {"prenet_rain100h": "derain_net"}
    assert grown["earlier"]["replaced"] == {"dncnn3_sr_x4": "sr_net_x4"}


class _BrighteningPool(_IdentityPool):
    """Low-light tools double the image; every other tool returns it as it is."""

    def run(self, call, image, args=None, *, image_hash=None):
        from irpilot.tools import TOOLS

        result = super().run(call, image, args, image_hash=image_hash)
        if TOOLS.get(call.name).card.task == "low_light":
            result.image = np.clip(image * 2.0, 0.0, 1.0)
        return result


def _hidden_noise_perceiver(img, **_):
    """Dark and clean-looking while dark; noisy once brightened, as a night photo."""
    bright = float(img.mean()) >= 0.3
    probs = {"dark": 0.1 if bright else 0.95, "noise": 0.9 if bright else 0.2}
    return _Perception(probs, dict(probs))


def test_noise_revealed_by_brightening_joins_the_agenda():
    from irpilot.policies.common import revealed_degradations

    seen = _Perception({"noise": 0.8, "haze": 0.9}, {})
    assert revealed_degradations(["low_light"], seen) == ["noise"]
    assert revealed_degradations(["low_light", "denoise"], seen) == []  # already treated
    assert revealed_degradations(["dehaze"], seen) == []  # dehazing reveals nothing
    assert revealed_degradations(["low_light"], seen, threshold=0.85) == []
    img = np.random.default_rng(5).uniform(0.0, 0.4, (3, 64, 64)).astype(np.float32)
    pol = LearnedPolicy()
    agent = Agent(pool=_BrighteningPool(), perceiver=_hidden_noise_perceiver, config=AgentConfig(max_calls=6))
    traj = agent.run(img, "learned")
    tasks = [pol.space.task_of(c["name"]) for c in traj.chain]
    assert "low_light" in tasks and "denoise" in tasks[tasks.index("low_light") + 1 :]
    # the trace says why: the denoising step carries the note, the brightening step none
    notes = {pol.space.task_of(s.action["name"]): s.note for s in traj.steps if s.action["name"] != "stop"}
    assert notes["denoise"].startswith("added: the low_light step revealed noise (perception reads it at ")
    assert notes["low_light"] == ""
