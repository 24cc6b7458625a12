"""GRPO for the tool-calling policy.

For each training crop, G rollouts sample actions from the current policy; their tool calls
go through the shared pool, whose content-addressed cache makes repeated prefixes (every
rollout of a group starts from the same image) free.  Each finished rollout gets reward
components from :mod:`irpilot.train.reward` (improvement over the input in full-reference
and no-reference metrics, a per-call cost, a validity flag); the reward model combines them
(``static`` weighted sum, ``gdpo`` normalise-then-sum, or ``adaptive`` weights on top of GDPO).
Advantages are group-normalised; the loss is the PPO clipped objective over a few inner epochs,
plus a KL term to the SFT policy and an entropy bonus.

Logged per update: every reward component (means), the reward weights, the share of groups
whose G rollouts made identical call sequences ("exploration stagnation"), entropy, KL, calls.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..policies.learned.network import EncodedState, StateEncoder, stack_states
from .data import perception_size_hint

__all__ = ["RLConfig", "Rollout", "rollout_group", "grpo_loss", "group_advantages", "train_rl", "RewardAdapter"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class RLConfig:
    group_size: int = 8
    groups_per_update: int = 2
    updates: int = 60
    lr: float = 3e-4
    clip: float = 0.2
    inner_epochs: int = 2
    kl_coef: float = 0.05
    entropy_coef: float = 0.01
    temperature: float = 1.0
    rollout_crops: int = 4
    strategy: str = "adaptive"  #: reward combination: static | gdpo | adaptive
    call_cost: float = 0.05
    #: reward cost per second of tool execution per megapixel (RewardConfig.time_cost)
    time_cost: float = 0.0
    seed: int = 0
    checkpoint_every: int = 10
    time_budget: float | None = None
    case_size: tuple[int, int] = (72, 104)
    #: while a degradation perception rates present in the input is untreated, a rollout's
    #: probability of stop goes to that task's tools (what ``--policy learned`` does)
    finish_agenda: bool = True
    #: the adaptive reward's lag rule (irpilot.train.reward.RewardConfig.lag)
    reward_lag: str = "relative"
    #: the adaptive reward's normalisation (irpilot.train.reward.RewardConfig.norm; None:
    #: the strategy's own, "group" for adaptive)
    reward_norm: str | None = None
    #: degradations the agenda leaves to the network (default: the policy's, AGENDA_SKIP)
    agenda_skip: tuple[str, ...] | None = None
    #: weights of 1, 2, 3, ... degradations per training crop (default: sample_combination's)
    counts: tuple[float, ...] | None = None
    #: share of crops degraded with the realistic family (``make_case``'s ``realistic_p``)
    realistic_p: float = 0.0


@dataclasses.dataclass
class Rollout:
    """One sampled trajectory: encoded states, masks, actions, old log-probs, final image."""

    states: list[EncodedState] = dataclasses.field(default_factory=list)
    masks: list[np.ndarray] = dataclasses.field(default_factory=list)
    #: per step, the tools stop was redirected to (all False when stopping was allowed)
    pending: list[np.ndarray] = dataclasses.field(default_factory=list)
    actions: list[int] = dataclasses.field(default_factory=list)
    logps: list[float] = dataclasses.field(default_factory=list)
    names: list[str] = dataclasses.field(default_factory=list)
    image: np.ndarray | None = None
    failed: int = 0
    done: bool = False
    #: execution seconds of its tool calls (a call served by the cache or by an identical call
    #: of another rollout is charged what the execution took)
    seconds: float = 0.0


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def rollout_group(
    net: Any,
    encoder: StateEncoder,
    pool: Any,
    image: np.ndarray,
    group_size: int,
    rng: np.random.Generator,
    *,
    temperature: float = 1.0,
    n_crops: int = 4,
    available: np.ndarray | None = None,
    perceiver: Any = None,
    ref_shape: tuple[int, ...] | None = None,
    finish_agenda: bool = True,
    agenda_skip: Sequence[str] | None = None,
) -> list[Rollout]:
    """Run ``group_size`` rollouts from ``image`` in lock step (one batched forward per step).

    With ``ref_shape`` (the clean reference's shape), a x4 call on an image that is not 1/4 of
    the reference ends the rollout as invalid *without running the tool*: its result could
    not be compared with the reference whatever its pixels, so the reward is the same and
    the (expensive) call is saved.
    """
    import torch

    from ..io import image_hash
    from ..policies.learned.decisions import AGENDA_SKIP, agenda, decision_mask, pending_tools, redirect_stop
    from ..tools import TOOLS

    space = encoder.space
    rolls = [Rollout(image=image) for _ in range(group_size)]
    seen: dict[str, Any] = {}

    def perceive(img: np.ndarray) -> Any:
        if perceiver is None or not encoder.perc_dim:
            return None
        h = image_hash(img)
        if h not in seen:
            hint = perception_size_hint(img.shape, ref_shape) if ref_shape is not None else None
            seen[h] = perceiver(img, size_hint=hint)
        return seen[h]

    banned: list[set[str]] = [set() for _ in rolls]
    spent: dict[tuple[str, str], float] = {}  # (image hash, tool) -> execution seconds
    required = agenda(perceive(image), skip=AGENDA_SKIP if agenda_skip is None else agenda_skip) if finish_agenda else []
    for _step in range(encoder.max_steps + 1):
        active = [r for r in rolls if not r.done]
        if not active:
            break
        states, masks, pendings = [], [], []
        for i, r in enumerate(rolls):
            if r.done:
                continue
            perc = perceive(r.image)
            states.append(encoder.encode(r.image, r.names, perc, rng=rng, n_crops=n_crops, input_perception=perceive(image)))
            masks.append(
                decision_mask(space, r.names, available=available, banned=banned[i], image_shape=r.image.shape,
                              max_steps=encoder.max_steps)
            )
            pendings.append(pending_tools(space, masks[-1], r.names, required))
        with torch.inference_mode():
            logits = net(*stack_states(states)).numpy().astype(np.float64)
        probs = redirect_stop(_softmax(logits / temperature + np.stack(masks)), np.stack(pendings), space.stop_index)
        calls = []
        for r, st, m, pend, p in zip(active, states, masks, pendings, probs):
            a = int(rng.choice(len(p), p=p / p.sum()))
            r.states.append(st)
            r.masks.append(m)
            r.pending.append(pend)
            r.actions.append(a)
            r.logps.append(float(np.log(max(p[a], 1e-12))))
            if a == space.stop_index:
                r.done = True
                continue
            name = space.names[a]
            scale = TOOLS.get(name).card.scale if name in TOOLS else 1
            if ref_shape is not None and scale > 1 and (r.image.shape[1] * scale, r.image.shape[2] * scale) != tuple(ref_shape[1:]):
                r.failed += 1
                r.done = True
                continue
            calls.append((r, name))
        if calls:
            results = pool.map([(name, r.image, {}) for r, name in calls])
            keys = [(image_hash(r.image), name) for r, name in calls]
            for key, res in zip(keys, results):
                spent[key] = max(spent.get(key, 0.0), float(getattr(res, "seconds", 0.0) or 0.0))
            for (r, name), res, key in zip(calls, results, keys):
                r.seconds += spent[key]
                if res.ok and res.image is not None:
                    r.image = res.image
                    r.names.append(name)
                else:
                    r.failed += 1
                    banned[rolls.index(r)].add(name)
    for r in rolls:
        r.done = True
    return rolls


def group_advantages(rewards: Sequence[float], eps: float = 1e-6) -> np.ndarray:
    """GRPO advantages: (r - mean) / (std + eps) within the group (all zero if all equal)."""
    r = np.asarray(rewards, dtype=np.float64)
    sd = r.std()
    if sd < 1e-9:
        return np.zeros_like(r)
    return (r - r.mean()) / (sd + eps)


def grpo_loss(
    net: Any,
    states: list[EncodedState],
    masks: np.ndarray,
    actions: np.ndarray,
    old_logp: np.ndarray,
    adv: np.ndarray,
    *,
    ref_net: Any = None,
    clip: float = 0.2,
    kl_coef: float = 0.0,
    entropy_coef: float = 0.0,
    temperature: float = 1.0,
    pending: np.ndarray | None = None,
) -> tuple[Any, dict[str, float]]:
    """PPO-clipped policy loss per step (each step carries its rollout's advantage), plus
    ``kl_coef`` * KL(pi || pi_ref) and minus ``entropy_coef`` * entropy.  ``pending`` (steps x
    actions, bool) marks where the probability of stop was redirected
    (:func:`irpilot.policies.learned.redirect_stop`), so the ratios use the policy that sampled."""
    import torch

    crops, st, hi, pe = stack_states(states)
    # masked actions get a large finite offset: -inf would turn 0 * log 0 into NaN gradients
    m = torch.from_numpy(np.maximum(np.asarray(masks, dtype=np.float32), -1e4))
    redirect = None if pending is None or not np.any(pending) else torch.from_numpy(np.asarray(pending, dtype=np.float32))

    def log_policy(logits: Any) -> Any:
        logp = torch.log_softmax(logits, dim=-1)
        if redirect is None:
            return logp
        p = logp.exp()
        stop = p.shape[1] - 1
        q = p * redirect
        share = q / q.sum(dim=1, keepdim=True).clamp_min(1e-12)
        moved = p + p[:, stop : stop + 1] * share
        moved = torch.cat([moved[:, :stop], torch.zeros_like(moved[:, stop:])], dim=1)
        has = redirect.sum(dim=1, keepdim=True) > 0
        return torch.where(has, torch.log(moved.clamp_min(1e-12)), logp)

    logits = net(crops, st, hi, pe) / temperature + m
    logp_all = log_policy(logits)
    a = torch.from_numpy(np.asarray(actions, dtype=np.int64))
    logp = logp_all.gather(1, a[:, None])[:, 0]
    A = torch.from_numpy(np.asarray(adv, dtype=np.float32))
    ratio = torch.exp(logp - torch.from_numpy(np.asarray(old_logp, dtype=np.float32)))
    pg = -torch.min(ratio * A, torch.clamp(ratio, 1 - clip, 1 + clip) * A).mean()
    p = logp_all.exp()
    entropy = -(p * logp_all).sum(dim=1).mean()
    loss = pg - entropy_coef * entropy
    kl = torch.zeros(())
    if ref_net is not None and kl_coef > 0:
        with torch.no_grad():
            ref_logp = log_policy(ref_net(crops, st, hi, pe) / temperature + m)
        kl = (p * (logp_all - ref_logp)).sum(dim=1).mean()
        loss = loss + kl_coef * kl
    return loss, {"pg": pg.item(), "entropy": entropy.item(), "kl": kl.item(), "ratio": ratio.mean().item()}


class RewardAdapter:
    """Reward components of finished rollouts (:func:`irpilot.train.reward.reward_components`)
    and their combination by :class:`irpilot.train.reward.RewardModel` (``static`` / ``gdpo`` /
    ``adaptive``).  The input's metrics are computed once per group."""

    def __init__(self, strategy: str = "adaptive", call_cost: float = 0.05, metrics: Sequence[str] | None = None, **config: Any) -> None:
        from .reward import DEFAULT_REWARD_METRICS, RewardConfig, RewardModel

        self.model = RewardModel(RewardConfig(strategy=strategy, call_cost=call_cost, **config))
        self.strategy = strategy
        self.metrics = list(metrics or DEFAULT_REWARD_METRICS)
        self._input_key: str | None = None
        self._input_scores: dict[str, float] = {}

    def _inputs(self, input_img: np.ndarray, ref: np.ndarray) -> dict[str, float]:
        from ..io import image_hash
        from ..quality import get_metric

        key = image_hash(input_img)
        if key != self._input_key:
            self._input_scores = {}
            for m in self.metrics:
                metric = get_metric(m)
                self._input_scores[m] = float(metric(input_img, ref if metric.needs_reference else None))
            self._input_key = key
        return self._input_scores

    def components(
        self, input_img: np.ndarray, output: np.ndarray, ref: np.ndarray, n_calls: int, valid: bool = True, seconds: float | None = None
    ) -> dict[str, float]:
        from .reward import reward_components

        if output is not None and output.shape != ref.shape and (output.shape[1] * 4, output.shape[2] * 4) != ref.shape[1:]:
            output, valid = None, False  # e.g. x4 super-resolution of an image that was not small
        return dict(
            reward_components(
                input_img, output, ref, n_calls=n_calls, valid=valid, metrics=self.metrics, input_scores=self._inputs(input_img, ref),
                seconds=seconds,
            )
        )

    def combine(self, comps: list[dict[str, float]]) -> list[float]:
        return [float(x) for x in self.model.combine(comps)]

    def update(self, groups: list[list[dict[str, float]]]) -> None:
        for g in groups:
            self.model.update(g)

    def weights(self) -> dict[str, float]:
        return {str(k): float(v) for k, v in dict(self.model.weights).items()}

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state_dict(self, d: dict[str, Any]) -> None:
        if d:
            self.model.load_state_dict(d)


def _fmt(row: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if not isinstance(v, dict))


def train_rl(
    init: str | Path,
    out: str | Path,
    cfg: RLConfig | None = None,
    *,
    pool: Any = None,
    cases: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]] | None = None,
    reward: Any = None,
    perceiver: Any = None,
    progress: Callable[[str], None] | None = None,
    log_path: str | Path | None = None,
    resume: bool = True,
) -> dict[str, Any]:
    """GRPO from the policy ``init`` (.pt with meta); writes ``out`` and ``out``-state for resume.

    ``cases(rng, i) -> (degraded, clean)`` supplies training crops (default: fresh degraded
    crops of the training photos, never the benchmark test sets).
    """
    import copy
    import io

    import torch

    from ..io import atomic_write_bytes
    from ..policies.learned.checkpoint import load_policy, save_policy

    cfg = cfg or RLConfig()
    out = Path(out)
    net, space, encoder, meta = load_policy(init)
    ref_net = copy.deepcopy(net)
    ref_net.eval()
    for p in ref_net.parameters():
        p.requires_grad_(False)
    # eval mode throughout (dropout off): PPO ratios must compare the same deterministic network
    net.eval()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    reward = reward or RewardAdapter(cfg.strategy, cfg.call_cost, lag=cfg.reward_lag, norm=cfg.reward_norm, time_cost=cfg.time_cost)
    if pool is None:
        from ..pool import Pool

        pool = Pool(workers=2)
    # the x4 cases keep the benchmark's proportion (a 320 px crop is 80 px degraded)
    sr_size = (max(32, cfg.case_size[0] // 4), max(48, cfg.case_size[1] // 4))
    if cases is None:
        from .data import make_case, training_photos

        photos = training_photos()

        def cases(rng: np.random.Generator, i: int) -> tuple[np.ndarray, np.ndarray]:
            c = make_case(rng, photos, size=cfg.case_size, sr_size=sr_size, counts=cfg.counts, realistic_p=cfg.realistic_p)
            return c.degraded, c.clean

    state_path = out.with_name(out.stem + "_state.pt")
    start = 0
    history: list[dict[str, Any]] = []
    if resume and state_path.is_file():
        st = torch.load(state_path, map_location="cpu", weights_only=True)
        net.load_state_dict(st["net"])
        opt.load_state_dict(st["opt"])
        start = int(st["update"])
        rs = json.loads(bytes(st["extra"].numpy()).decode())
        reward.load_state_dict(rs.get("reward", {}))
        history = rs.get("history", [])
        if progress:
            progress(f"resumed at update {start}")
    if perceiver is None and encoder.perc_dim:
        from ..perceive import load_default_perceiver

        perceiver = load_default_perceiver()
    available = space.availability()
    t0 = time.perf_counter()

    def checkpoint(u: int) -> None:
        info = {**meta.get("info", {}), "stage": "rl", "init": Path(init).name, "updates": u, "strategy": cfg.strategy, "rl": dataclasses.asdict(cfg)}
        save_policy(out, net, space, encoder, width=int(meta["net"]["width"]), info=info)
        extra = json.dumps({"reward": reward.state_dict(), "history": history}, default=float).encode()
        buf = io.BytesIO()
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "update": torch.tensor(u), "extra": torch.frombuffer(bytearray(extra), dtype=torch.uint8)}, buf)
        atomic_write_bytes(state_path, buf.getvalue())

    for u in range(start, cfg.updates):
        rng = np.random.default_rng([cfg.seed, u])
        groups: list[tuple[list[Rollout], list[dict[str, float]]]] = []
        t_roll = time.perf_counter()
        for g in range(cfg.groups_per_update):
            degraded, clean = cases(rng, u * cfg.groups_per_update + g)
            rolls = rollout_group(
                net, encoder, pool, degraded, cfg.group_size, rng,
                temperature=cfg.temperature, n_crops=cfg.rollout_crops, available=available, perceiver=perceiver,
                ref_shape=clean.shape, finish_agenda=cfg.finish_agenda, agenda_skip=cfg.agenda_skip,
            )
            comps = [
                reward.components(degraded, r.image, clean, n_calls=len(r.names) + r.failed, valid=r.failed == 0,
                                  **({"seconds": r.seconds} if cfg.time_cost else {}))
                for r in rolls
            ]
            groups.append((rolls, comps))
        t_roll = time.perf_counter() - t_roll
        # rewards: the reward model combines per group (gdpo normalises within the group)
        states, masks, pending, actions, old, adv = [], [], [], [], [], []
        identical = 0
        rewards_all = []
        for rolls, comps in groups:
            r = reward.combine(comps)
            rewards_all.extend(r)
            A = group_advantages(r)
            identical += len({tuple(x.names) for x in rolls}) == 1
            for roll, a_i in zip(rolls, A):
                for st, m, pend, act, lp in zip(roll.states, roll.masks, roll.pending, roll.actions, roll.logps):
                    states.append(st)
                    masks.append(m)
                    pending.append(pend)
                    actions.append(act)
                    old.append(lp)
                    adv.append(a_i)
        reward.update([c for _, c in groups])
        stats: dict[str, float] = {}
        if any(abs(a) > 0 for a in adv):
            for _ in range(cfg.inner_epochs):
                loss, stats = grpo_loss(
                    net, states, np.stack(masks), np.array(actions), np.array(old), np.array(adv),
                    ref_net=ref_net, clip=cfg.clip, kl_coef=cfg.kl_coef, entropy_coef=cfg.entropy_coef, temperature=cfg.temperature,
                    pending=np.stack(pending),
                )
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
        all_comps = [c for _, cs in groups for c in cs]
        row: dict[str, Any] = {
            "update": u + 1,
            "reward": float(np.mean(rewards_all)),
            "identical_groups": identical / len(groups),
            "calls": float(np.mean([len(r.names) for rs, _ in groups for r in rs])),
            "distinct_seqs": float(np.mean([len({tuple(x.names) for x in rs}) for rs, _ in groups])),
            **{f"c_{k}": float(np.mean([c.get(k, 0.0) for c in all_comps])) for k in sorted(all_comps[0])},
            **stats,
            "rollout_s": round(t_roll, 2),
            "seconds": round(time.perf_counter() - t0, 1),
            "weights": reward.weights(),
        }
        history.append(row)
        if log_path:
            with open(log_path, "a") as f:
                f.write(json.dumps(row, default=float) + "\n")
        if progress:
            progress(_fmt(row))
        if (u + 1) % cfg.checkpoint_every == 0 or u + 1 == cfg.updates:
            checkpoint(u + 1)
        if cfg.time_budget is not None and time.perf_counter() - t0 > cfg.time_budget:
            checkpoint(u + 1)
            if progress:
                progress(f"time budget reached after {u + 1} updates")
            break
    return {"history": history, "out": str(out)}


def measure_exploration(
    policy_path: str | Path,
    n_groups: int = 10,
    group_size: int = 8,
    *,
    pool: Any = None,
    seed: int = 4242,
    case_size: tuple[int, int] = (72, 104),
    temperature: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Exploration of a policy as GRPO would see it, without updating: over ``n_groups`` fresh
    training crops, the share of groups whose ``group_size`` sampled rollouts are identical
    ("exploration stagnation"), the mean number of distinct call sequences per group, and the
    mean entropy of the first decision."""
    from ..perceive import load_default_perceiver
    from ..policies.learned.checkpoint import load_policy
    from .data import make_case, training_photos

    net, space, encoder, _ = load_policy(policy_path)
    perceiver = load_default_perceiver() if encoder.perc_dim else None
    if pool is None:
        from ..pool import Pool

        pool = Pool(workers=2)
    photos = training_photos()
    rng = np.random.default_rng(seed)
    available = space.availability()
    identical, distinct, ent = 0, [], []
    for g in range(n_groups):
        c = make_case(np.random.default_rng([seed, g]), photos, size=case_size, sr_size=(32, 48))  # same cases for every policy
        rolls = rollout_group(net, encoder, pool, c.degraded, group_size, rng, temperature=temperature,
                              available=available, perceiver=perceiver, ref_shape=c.clean.shape)
        seqs = {tuple(r.names) for r in rolls}
        identical += len(seqs) == 1
        distinct.append(len(seqs))
        import torch

        with torch.inference_mode():
            z = net(*stack_states([rolls[0].states[0]])).numpy()[0] / temperature + rolls[0].masks[0]
        p = _softmax(z[None])[0]
        ent.append(float(-(p[p > 0] * np.log(p[p > 0])).sum()))
        if progress:
            progress(f"group {g + 1}/{n_groups}: {len(seqs)} distinct sequences")
    return {
        "identical_groups": identical / max(1, n_groups),
        "distinct_per_group": float(np.mean(distinct)),
        "first_step_entropy": float(np.mean(ent)),
        "groups": n_groups,
        "group_size": group_size,
    }
