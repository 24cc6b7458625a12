"""Training pieces of the learned policy on small fakes: expert search, perturbation, GRPO,
and one-step smoke runs of the SFT and RL scripts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from irpilot.policies.learned.actions import ActionSpace  # noqa: E402
from irpilot.pool import Pool  # noqa: E402
from irpilot.train.expert import search  # noqa: E402
from irpilot.train.perturb import PerturbConfig, perturb_sequence  # noqa: E402

# --- planted problem: degraded = (clean + 0.1) / 2; the right fix is gain x2 THEN shift -0.1 ----


pytestmark = pytest.mark.usefixtures("train_tools")

CANDS = {"low_light": ["trainfake_gain15", "trainfake_gain2"], "dehaze": ["trainfake_shift2", "trainfake_shift1"]}
SPACE = ActionSpace.from_candidates(CANDS)


def _clean(seed: int = 0, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.25, 0.75, (3, size // 4, size // 4)).astype(np.float32)
    return np.kron(base, np.ones((1, 4, 4), np.float32))


def _degrade(clean: np.ndarray) -> np.ndarray:
    return ((clean + 0.1) / 2.0).astype(np.float32)


def _dark_haze_case(rng, photos, size, case_id, **_):
    """A stand-in for ``make_case``: the planted problem on a random 32 px crop."""
    from irpilot.train.data import Case

    clean = _clean(int(rng.integers(1000)), 32)
    return Case(case_id, "fake", (0, 0, 32, 32), ["dark", "haze"], [None, None], 0, clean, _degrade(clean), [])


@pytest.fixture(scope="module")
def pool():
    p = Pool(workers=2)
    yield p
    p.close()


def test_search_finds_planted_order(pool):
    clean = _clean()
    res = search(pool, _degrade(clean), clean, ["low_light", "dehaze"], CANDS, beam=None, eps=0.5)
    assert res.best == ("trainfake_gain2", "trainfake_shift1")
    # full tree for D=2, k=2: 2*2 + 2*2*2 = 12 calls
    assert res.calls == 12
    scores = res.scores()
    assert scores[("trainfake_shift1", "trainfake_gain2")] < scores[res.best] - 3  # order matters
    assert scores[()] == 0.0
    # a second search on the same image is served by the cache: nothing executes
    res2 = search(pool, _degrade(clean), clean, ["low_light", "dehaze"], CANDS, beam=None)
    assert res2.executed == 0 and res2.best == res.best


def test_search_stops_when_every_tool_hurts(pool):
    clean = _clean(1)
    res = search(pool, clean.copy(), clean, ["low_light"], CANDS)
    assert res.best == ()


def _scores_all_good(seq):
    tasks = {"trainfake_gain2": "low_light", "trainfake_gain15": "low_light", "trainfake_shift1": "dehaze", "trainfake_shift2": "dehaze"}
    import itertools

    out = {}
    for a, b in itertools.product(["trainfake_gain2", "trainfake_gain15"], ["trainfake_shift1", "trainfake_shift2"]):
        out[(a, b)] = 1.0
        out[(b, a)] = 0.9
    return out, tasks


def test_perturbation_rate_and_validity():
    scores, tasks = _scores_all_good(None)
    seq = ("trainfake_gain2", "trainfake_shift1")
    rng = np.random.default_rng(0)
    alts = lambda t: SPACE.tools_for(tasks[t])  # noqa: E731
    cfg = PerturbConfig(p_swap=0.5, p_sub=0.0, eps=0.5)
    changed = 0
    n = 4000
    for _ in range(n):
        new, applied = perturb_sequence(seq, scores, alts, rng, cfg)
        assert sorted(tasks[t] for t in new) == ["dehaze", "low_light"]  # each task once
        assert all(t in SPACE.tools for t in new)
        changed += new != seq
    assert abs(changed / n - 0.5) < 0.04
    # substitution at rate 1 always picks the other tool of a task
    new, applied = perturb_sequence(seq, scores, alts, rng, PerturbConfig(0.0, 1.0, 0.5))
    assert applied["sub"] and new != seq and len(new) == 2
    # a perturbation that would fall below best - eps is refused
    bad = dict(scores)
    bad[("trainfake_shift1", "trainfake_gain2")] = -5.0
    for _ in range(50):
        new, _ = perturb_sequence(seq, bad, alts, rng, PerturbConfig(1.0, 0.0, 0.5))
        assert new == seq
    # disabled perturbation never changes anything
    assert perturb_sequence(seq, scores, alts, rng, PerturbConfig(0.0, 0.0))[0] == seq


def _net_and_encoder():
    from irpilot.policies.learned.checkpoint import build_net
    from irpilot.policies.learned.network import StateEncoder

    enc = StateEncoder(SPACE, crop=16, n_crops=2, max_steps=3)
    torch.manual_seed(0)
    return build_net(SPACE, enc, width=8), enc


def test_grpo_update_raises_probability_of_better_action():
    from irpilot.policies.learned import decision_mask
    from irpilot.policies.learned.network import stack_states
    from irpilot.train.rl import group_advantages, grpo_loss

    net, enc = _net_and_encoder()
    rng = np.random.default_rng(0)
    img = _clean(2, 32)
    state = enc.encode(img, [], rng=rng)
    mask = decision_mask(SPACE, [])
    good = SPACE.index("trainfake_gain2")
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)

    def prob() -> np.ndarray:
        with torch.no_grad():
            z = net(*stack_states([state]))[0] + torch.from_numpy(mask)
            return torch.softmax(z, 0).numpy()

    p0 = prob()[good]
    for _ in range(15):
        p = prob()
        acts = rng.choice(len(p), size=8, p=p)
        acts[0] = good  # make sure the group is not degenerate
        rewards = [1.0 if a == good else 0.0 for a in acts]
        adv = group_advantages(rewards)
        loss, _ = grpo_loss(net, [state] * 8, np.stack([mask] * 8), acts, np.log(p[acts]), adv)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert prob()[good] > p0 + 0.2


def test_grpo_ratios_use_the_redirected_policy():
    """With stop redirected to a pending task, the loss's log-probabilities are those the
    rollout sampled from: every ratio is 1 before the first update, and stop has none."""
    from irpilot.policies.learned import decision_mask, pending_tools, redirect_stop
    from irpilot.policies.learned.network import stack_states
    from irpilot.train.rl import grpo_loss

    net, enc = _net_and_encoder()
    rng = np.random.default_rng(0)
    state = enc.encode(_clean(2, 32), [], rng=rng)
    mask = decision_mask(SPACE, [])
    task = SPACE.tasks[0]
    pend = pending_tools(SPACE, mask, [], [task])
    assert pend.any()
    with torch.no_grad():
        p = torch.softmax(net(*stack_states([state]))[0] + torch.from_numpy(mask), 0).numpy()
    q = redirect_stop(p, pend, SPACE.stop_index)
    acts = np.array([i for i in range(SPACE.n) if q[i] > 0])
    n = len(acts)
    _, stats = grpo_loss(net, [state] * n, np.stack([mask] * n), acts, np.log(q[acts]), np.ones(n),
                         pending=np.stack([pend] * n))
    assert abs(stats["ratio"] - 1.0) < 1e-4
    _, plain = grpo_loss(net, [state] * n, np.stack([mask] * n), acts, np.log(q[acts]), np.ones(n))
    assert abs(plain["ratio"] - 1.0) > 1e-3  # without the redirect the ratios would be off


def test_rollouts_are_charged_the_execution_time_of_shared_calls():
    """Rollouts of a group that make the same call share one execution (the pool serves the
    others from the cache); each is still charged its time, so a time cost sees every call."""
    from irpilot.train.rl import rollout_group

    net, enc = _net_and_encoder()
    executed, shared = [], []

    class ClockPool:
        def __init__(self, inner):
            self.inner = inner

        def map(self, calls):
            results = self.inner.map(calls)
            for r in results:
                if not r.cached:
                    r.seconds = 0.25  # every execution "takes" a quarter second
                (shared if r.cached else executed).append(r.tool_id)
            return results

    with Pool(workers=1) as fresh:
        rolls = rollout_group(net, enc, ClockPool(fresh), _degrade(_clean(5, 32)), 8, np.random.default_rng(1),
                              finish_agenda=False)
    assert shared, "no two rollouts made the same call: the test shows nothing"
    for r in rolls:
        assert r.seconds == pytest.approx(0.25 * len(r.names))
    assert sum(r.seconds for r in rolls) > 0.25 * len(executed)


def test_expert_counts_weight_the_number_of_degradations():
    """``irpilot train expert --counts 0,0.8,0.2`` draws pairs and triples only, in both proportions."""
    from irpilot.cli.train import _counts
    from irpilot.errors import ConfigError
    from irpilot.train.data import sample_combination

    w = _counts("0,0.8,0.2")
    assert w == (0.0, 0.8, 0.2) and _counts(None) is None
    rng = np.random.default_rng(0)
    sizes = [len(sample_combination(rng, w)) for _ in range(500)]
    assert set(sizes) == {2, 3}
    assert 0.72 < sizes.count(2) / 500 < 0.88
    assert all(len(set(sample_combination(rng, (0, 0, 1)))) == 3 for _ in range(20))
    for bad in ("x", "0,0", "-1,2"):
        with pytest.raises(ConfigError):
            _counts(bad)


def test_group_advantages():
    from irpilot.train.rl import group_advantages

    assert np.all(group_advantages([1.0, 1.0, 1.0]) == 0)
    a = group_advantages([0.0, 1.0])
    assert a[1] > 0 > a[0] and abs(a.sum()) < 1e-6


@dataclasses.dataclass
class _ToyReward:
    """Reward adapter stand-in: PSNR gain minus a call cost (the real one is irpilot.train.reward)."""

    def components(self, input_img, output, ref, n_calls, valid=True):
        from irpilot.train.scoring import psnr

        return {"psnr": psnr(output, ref) - psnr(input_img, ref), "cost": -0.05 * n_calls}

    def combine(self, comps):
        return [c["psnr"] + c["cost"] for c in comps]

    def update(self, groups):
        pass

    def weights(self):
        return {"psnr": 1.0}

    def state_dict(self):
        return {}

    def load_state_dict(self, d):
        pass


def test_expert_sft_rl_smoke(tmp_path, pool):
    """One tiny run of each training script: expert search -> SFT -> one GRPO update -> policy loads."""
    from irpilot.policies.learned import LearnedPolicy
    from irpilot.policies.learned.network import StateEncoder
    from irpilot.train.expert import load_expert, run_expert
    from irpilot.train.rl import RLConfig, train_rl
    from irpilot.train.sft import SFTConfig, train_sft

    photos = [("fake/a", _clean(3, 160)), ("fake/b", _clean(4, 160))]

    fake_case = _dark_haze_case

    import irpilot.train.data as data_mod

    orig = data_mod.make_case
    data_mod.make_case = fake_case
    try:
        jsonl = run_expert(tmp_path / "expert", 6, pool=pool, candidates=CANDS, photos=photos, beam=None)
    finally:
        data_mod.make_case = orig
    recs = load_expert(jsonl)
    assert len(recs) == 6 and all(r["best"] == ["trainfake_gain2", "trainfake_shift1"] for r in recs)
    assert recs[0]["calls"][-1]["name"] == "stop"
    assert recs[0]["messages"][1]["tool_calls"][0]["function"]["name"] == "trainfake_gain2"
    # resumable: a second run adds nothing
    data_mod.make_case = fake_case
    try:
        run_expert(tmp_path / "expert", 6, pool=pool, candidates=CANDS, photos=photos, beam=None)
    finally:
        data_mod.make_case = orig
    assert len(load_expert(jsonl)) == 6

    enc = StateEncoder(SPACE, crop=16, n_crops=2, max_steps=3)
    out = tmp_path / "sft.pt"
    res = train_sft(tmp_path / "expert", out, SFTConfig(epochs=2, batch_size=8, width=8, bank_crops=4, train_crops=2), space=SPACE, encoder=enc)
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert len(res["history"]) == 2

    def cases(rng, i):
        c = _clean(int(rng.integers(1000)), 32)
        return _degrade(c), c

    rl_out = tmp_path / "rl.pt"
    cfg = RLConfig(group_size=4, groups_per_update=2, updates=1, checkpoint_every=1)
    r = train_rl(out, rl_out, cfg, pool=pool, cases=cases, reward=_ToyReward())
    row = r["history"][0]
    assert 0.0 <= row["identical_groups"] <= 1.0 and "c_psnr" in row
    assert rl_out.is_file() and rl_out.with_name("rl_state.pt").is_file()
    # resume: asking for 2 updates runs only the second
    r2 = train_rl(out, rl_out, dataclasses.replace(cfg, updates=2), pool=pool, cases=cases, reward=_ToyReward())
    assert [h["update"] for h in r2["history"]] == [1, 2]

    pol = LearnedPolicy(weights=rl_out)
    assert pol.actions == SPACE.names

    # the command line, fine-tuning a trained policy (--init keeps its action space, which here
    # holds this module's test tools; from scratch the CLI uses the real toolbox's actions)
    from irpilot.cli import main
    from irpilot.policies.learned.checkpoint import load_policy

    ft_out = tmp_path / "cli_ft.pt"
    assert main(["train", "sft", "--expert", str(tmp_path / "expert"), "--out", str(ft_out), "--epochs", "1", "--lr", "1e-4",
                 "--init", str(out)]) == 0
    before, after = load_policy(out), load_policy(ft_out)
    assert after[1].names == before[1].names and after[3]["info"]["init"] == out.name
    assert any(not torch.equal(a, b) for a, b in zip(before[0].state_dict().values(), after[0].state_dict().values()))

    # --add-tools grows the trained policy by a registered tool of one of its tasks
    grown_out = tmp_path / "cli_grown.pt"
    assert main(["train", "sft", "--expert", str(tmp_path / "expert"), "--out", str(grown_out), "--epochs", "1",
                 "--init", str(out), "--add-tools", "gamma_auto"]) == 0
    grown = load_policy(grown_out)[1]
    old_tools = list(before[1].tools)
    at = old_tools.index("trainfake_gain2") + 1  # after the last tool of its task, low_light
    assert list(grown.tools) == [*old_tools[:at], "gamma_auto", *old_tools[at:]]


def test_expert_searches_chosen_cases_again_and_sft_takes_the_new_records(tmp_path, pool):
    """--only-tasks searches the same cases again (same ids and images) with other tools; SFT's
    merge keeps the later record of a case and refuses a different case under the same id."""
    from irpilot.train.data import Case
    from irpilot.train.expert import load_expert, load_images, run_expert
    from irpilot.train.sft import _merge_records

    def fake_case(rng, photos, size, case_id, **_):
        clean = _clean(int(rng.integers(1000)), 32)
        if rng.random() < 0.5:
            return Case(case_id, "fake", (0, 0, 32, 32), ["dark", "haze"], [None, None], 0, clean, _degrade(clean), [])
        return Case(case_id, "fake", (0, 0, 32, 32), ["haze"], [None], 0, clean, (clean + 0.1).astype(np.float32) / 1.1, [])

    import irpilot.train.data as data_mod

    orig = data_mod.make_case
    data_mod.make_case = fake_case
    try:
        first = load_expert(run_expert(tmp_path / "a", 8, pool=pool, candidates=CANDS, photos=[], beam=None))
        weaker = {**CANDS, "low_light": ["trainfake_gain15"]}
        again = load_expert(run_expert(tmp_path / "b", 8, pool=pool, candidates=weaker, photos=[], beam=None,
                                       only_tasks=("low_light",)))
    finally:
        data_mod.make_case = orig
    dark = [r["id"] for r in first if "low_light" in r["tasks"]]
    assert 0 < len(dark) < len(first) and [r["id"] for r in again] == dark
    for cid in dark:
        assert np.array_equal(load_images(tmp_path / "a", cid)["degraded"], load_images(tmp_path / "b", cid)["degraded"])
    assert all("trainfake_gain15" in r["best"] for r in again)

    merged = {r["id"]: r for r in _merge_records([tmp_path / "a", tmp_path / "b"])}
    assert sorted(merged) == sorted(r["id"] for r in first)
    assert all(merged[c]["_root"] == str(tmp_path / "b") and "trainfake_gain15" in merged[c]["best"] for c in dark)
    assert all(merged[r["id"]]["_root"] == str(tmp_path / "a") for r in first if r["id"] not in dark)

    lines = (tmp_path / "b" / "expert.jsonl").read_text().splitlines()
    import json

    other = json.loads(lines[0])
    other["box"] = [1, 1, 32, 32]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "expert.jsonl").write_text(json.dumps(other) + "\n")
    with pytest.raises(ValueError, match="not the case of that id"):
        _merge_records([tmp_path / "a", tmp_path / "c"])


def _stops_early():
    """A step policy that brightens and stops."""
    from irpilot.policies.base import StepPolicy
    from irpilot.toolcall import ToolCall

    class StopsEarly(StepPolicy):
        name = "stops_early"

        def act(self, obs):
            return ToolCall("stop") if obs.history else ToolCall("trainfake_gain2")

    return StopsEarly()


def test_on_policy_labels_say_what_to_do_where_the_policy_stops_early(tmp_path, pool, monkeypatch):
    """A policy that brightens and stops leaves the shift undone: --on-policy searches on from the
    states it passed through, labels the shift after its step (where the off-policy data has no
    decision to learn from), and SFT learns only the decisions from a record's state on."""
    import irpilot.train.data as data_mod
    from irpilot.policies.learned.network import StateEncoder
    from irpilot.train.expert import load_expert, run_expert
    from irpilot.train.sft import _pairs, build_bank, split_cases

    monkeypatch.setattr(data_mod, "make_case", _dark_haze_case)
    jsonl = run_expert(tmp_path / "onp", 2, pool=pool, candidates=CANDS, photos=[], beam=None, policy=_stops_early())
    run_expert(tmp_path / "onp", 2, pool=pool, candidates=CANDS, photos=[], beam=None, policy=_stops_early())  # resumes: nothing new
    recs = load_expert(jsonl)
    assert [(r["case"], r["start"]) for r in recs] == [("c00_00000", 0), ("c00_00000", 1), ("c00_00001", 0), ("c00_00001", 1)]
    # a run stopped after the first state of the second case (its record half written): the
    # resumed run labels the whole case again instead of taking it for done
    whole = jsonl.read_text().splitlines()
    jsonl.write_text("\n".join(whole[:3]) + "\n" + whole[3][:40])
    run_expert(tmp_path / "onp", 2, pool=pool, candidates=CANDS, photos=[], beam=None, policy=_stops_early())
    again = load_expert(jsonl)
    assert [(r["case"], r["start"]) for r in again] == [(r["case"], r["start"]) for r in recs]
    assert [r["best"] for r in again] == [r["best"] for r in recs]
    assert all(r["states"] == 2 for r in again)
    after = [r for r in recs if r["start"] == 1]
    assert all(r["best"] == ["trainfake_gain2", "trainfake_shift1"] for r in recs)
    assert all(r["id"].endswith("_p1") and r["nodes"][0]["seq"] == ["trainfake_gain2"] for r in after)

    enc = StateEncoder(SPACE, crop=16, n_crops=2, max_steps=3)
    bank = build_bank(after, tmp_path / "onp", enc, n_crops=2)
    pairs, _ = _pairs(after, bank, SPACE, np.random.default_rng(0), None)
    # per record: the shift after the policy's step, then stop; not the policy's own step
    assert sorted(a for _, a in pairs) == sorted([SPACE.index("trainfake_shift1"), SPACE.stop_index] * 2)
    assert all(i != bank.get(r["id"], ()) for r in after for i, _ in pairs)
    train, val = split_cases(recs, 0.5, seed=1)
    assert {r["case"] for r in train}.isdisjoint({r["case"] for r in val})

    # a state that cannot be scored against the reference ends the chain (x4 of a full-size crop)
    from irpilot.agent import Agent
    from irpilot.policies.base import StepPolicy
    from irpilot.toolcall import ToolCall
    from irpilot.train.expert import policy_states

    class UpscalesFirst(StepPolicy):
        name = "upscales_first"

        def act(self, obs):
            return ToolCall("stop") if obs.history else ToolCall("lanczos_x4")

    clean = _clean(5, 32)
    agent = Agent(pool=pool)
    assert [p for p, _ in policy_states(agent, UpscalesFirst(), _degrade(clean))] == [(), ("lanczos_x4",)]
    assert [p for p, _ in policy_states(agent, UpscalesFirst(), _degrade(clean), clean.shape)] == [()]


def test_on_policy_labels_perceive_a_crop_as_the_photo_it_stands_for(tmp_path, pool, monkeypatch):
    """The agent that labels on-policy states shows the policy what SFT and GRPO show it: the
    perception of a crop with its size hint (a bare 32 px crop would read as low resolution)."""
    import irpilot.agent as agent_mod
    import irpilot.train.data as data_mod
    from irpilot.train.data import perception_size_hint
    from irpilot.train.expert import run_expert

    seen = []

    def perceiver(img, size_hint=None):
        seen.append((img.shape, size_hint))

    monkeypatch.setattr(agent_mod, "_default_perceiver", lambda: perceiver)
    monkeypatch.setattr(data_mod, "make_case", _dark_haze_case)
    run_expert(tmp_path / "onp", 1, pool=pool, candidates=CANDS, photos=[], beam=None, policy=_stops_early())
    assert seen and all(hint == perception_size_hint(shape, (3, 32, 32)) != shape[-2:] for shape, hint in seen)


def test_validation_times_each_policy_without_the_other_policies_results():
    """Two runs of the same policy on the same case: with a fresh cache both execute their tools
    (neither is timed on the other's results); without it the second run is served from the cache."""
    from irpilot.policies.base import POLICIES
    from irpilot.train.evaluate import evaluate_policies, validation_cases

    cases = validation_cases(1, seed=5, size=(48, 48), sr_size=(12, 12))
    twice = [("a", POLICIES.get("fixed")()), ("b", POLICIES.get("fixed")())]
    for fresh, runs_executed in ((True, 2), (False, 1)):
        with Pool(workers=1) as pool:
            res = evaluate_policies(twice, cases, pool=pool, fresh_cache=fresh)
            total = pool.stats()["total"]
        calls = res["a"]["calls_per_degradation"] * len(cases[0].tasks)
        assert calls >= 1
        assert total["executions"] == round(runs_executed * calls)


def test_validation_cases_can_mix_in_the_realistic_family():
    """``realistic_p`` makes that share of the crops with the realistic family; at 0 a seed gives
    the cases it always gave (no random number is drawn for the family)."""
    from irpilot.degrade import DEGRADATIONS
    from irpilot.train.evaluate import validation_cases

    kw = {"size": (48, 48), "sr_size": (12, 12)}
    protocol = validation_cases(6, seed=4, **kw)
    again = validation_cases(6, seed=4, realistic_p=0.0, **kw)
    assert [c.names for c in protocol] == [c.names for c in again]
    np.testing.assert_array_equal(protocol[0].degraded, again[0].degraded)
    families = {DEGRADATIONS.get(n).family for c in validation_cases(6, seed=4, realistic_p=1.0, **kw) for n in c.names}
    assert families == {"realistic"}
    assert {DEGRADATIONS.get(n).family for c in protocol for n in c.names} != {"realistic"}


def test_validation_cases_can_be_limited_to_given_combinations():
    """``combos``: the cases take the given combinations in turn (the realistic family's twins
    where ``realistic_p`` picks that family)."""
    from irpilot.degrade import REALISTIC, kind_of
    from irpilot.train.evaluate import validation_cases

    kw = {"size": (48, 48), "sr_size": (12, 12)}
    combos = [["motion_blur", "dark"], ["noise"]]
    cases = validation_cases(4, seed=4, combos=combos, **kw)
    assert [list(c.names) for c in cases] == combos * 2
    twins = validation_cases(2, seed=4, combos=combos, realistic_p=1.0, **kw)
    assert [list(c.names) for c in twins] == [[REALISTIC[kind_of(n)] for n in combo] for combo in combos]


def test_validation_details_record_the_learned_policys_choices():
    from irpilot.policies.learned import LearnedPolicy
    from irpilot.tools import TOOLS
    from irpilot.train.evaluate import evaluate_policies, validation_cases

    cases = validation_cases(2, seed=3, size=(48, 48), sr_size=(12, 12))
    with Pool(workers=1) as pool:
        res = evaluate_policies([("learned", LearnedPolicy(decode="tool"))], cases, pool=pool, details=True)
    for case in res["learned"]["cases"]:
        actions = [d["action"] for d in case["decisions"]]
        # every call the policy made (no rollback here), in order; a tool that declined may hand
        # over to its fallback (its card's ``fallback``), a call of the agent's, not a decision
        chain = case["chain"]
        decided = [n for i, n in enumerate(chain) if i == 0 or TOOLS.get(chain[i - 1]).card.fallback != n]
        assert [a for a in actions if a != "stop"] == decided
        for d in case["decisions"]:
            top = d["choices"]
            assert 0 < len(top) <= 3 and all(0.0 <= p <= 1.0 for p in top.values())
            assert max(top, key=top.get) == d["action"]  # greedy by tool: the most probable action is taken


def test_rl_command_rejects_a_normalisation_its_strategy_does_not_have(tmp_path, capsys):
    """``--norm`` belongs to ``adaptive``: with ``static`` or ``gdpo`` a contradicting value is an
    error before any policy or tool loads (the start policy here does not even exist); so is an
    unknown task in ``train expert --only-tasks``, and an ``--on-policy`` policy the labelling agent
    cannot run."""
    from irpilot.cli import main

    for strategy, norm in (("static", "group"), ("gdpo", "scale")):
        code = main(["train", "rl", "--init", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "rl.pt"),
                     "--strategy", strategy, "--norm", norm])
        assert code == 1
        assert f"contradicts strategy '{strategy}'" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
    assert main(["train", "expert", "--out", str(tmp_path / "e"), "--only-tasks", "deblur"]) == 1
    assert "--only-tasks takes task names" in capsys.readouterr().err
    for spec in ("oracle", "explore"):  # needs the clean image / searches instead of stepping
        assert main(["train", "expert", "--out", str(tmp_path / "e"), "--on-policy", spec]) == 1
        assert "--on-policy takes a step policy" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_realistic_share_of_training_cases():
    """``--realistic P`` degrades that share of the crops with the realistic family (each name its
    ``real_*`` model, the tasks unchanged); at 0 the cases replay exactly as before."""
    from irpilot.train.data import make_case

    photos = [("p", np.random.default_rng(0).random((3, 300, 300), dtype=np.float32))]
    cases = [make_case(np.random.default_rng([3, i]), photos, size=(64, 80), realistic_p=0.5) for i in range(40)]
    real = [c for c in cases if all(n.startswith("real_") for n in c.names)]
    assert 8 <= len(real) <= 32 and all(not any(n.startswith("real_") for n in c.names) for c in cases if c not in real)
    for c in real:
        assert c.degraded.shape[1] * (4 if "super_resolution" in c.tasks else 1) in range(c.clean.shape[1] - 3, c.clean.shape[1] + 1)
    a = make_case(np.random.default_rng([3, 0]), photos, size=(64, 80))
    b = make_case(np.random.default_rng([3, 0]), photos, size=(64, 80), realistic_p=0.0)
    assert a.names == b.names and np.array_equal(a.degraded, b.degraded)
