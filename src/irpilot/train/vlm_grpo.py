"""GRPO of a vision-language model on irpilot's environment (``irpilot train vlm-grpo``).

For each training crop, G rollouts play the agent: each turn is the ``vlm`` policy's turn
(:func:`irpilot.policies.chat.turn_messages`: input and current image, perception summary,
earlier calls with their results); the model's next call is sampled from its distribution over
the offered calls (:meth:`~irpilot.train.vlm_model.VLM.action_logprobs`), run through irpilot's
pool, whose content-addressed cache serves every prefix the group's rollouts share; a rollout
ends on ``stop``, a failed call, or ``max_steps``.  Each finished rollout gets reward components
(:mod:`irpilot.train.reward`: improvement over the input in full-reference and no-reference
metrics, the call cost, validity), combined by the ``static`` / ``gdpo`` / ``adaptive`` reward
model with its fidelity gate; advantages are normalised within the group.

The update is the clipped GRPO objective over every turn of every rollout, with the exact KL
(over the offered calls) to the reference model: the model with its LoRA adapters switched off,
or a frozen copy for full fine-tuning.

Why not TRL's ``GRPOTrainer``: it generates one completion per prompt and scores it with
reward functions; its multi-turn tool support runs text tools inside the trainer, one call per
sample.  irpilot's rollouts are multi-step with a new image after every call, their calls must
go through the shared, cached pool (G rollouts of a group share prefixes), and the reward is
computed per group (GDPO, adaptive weights) from the final image and the reference.  This
loop does that in ~200 lines over the HF model.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..policies.chat import CallRecord, template_messages, tool_schemas, turn_messages
from ..toolcall import ToolCall
from .vlm_model import VLM, add_lora

__all__ = ["VLMGRPOConfig", "Turn", "VRollout", "rollout_group", "train_vlm_grpo"]


@dataclasses.dataclass(frozen=True)
class VLMGRPOConfig:
    group_size: int = 4
    groups_per_update: int = 2
    updates: int = 50
    lr: float = 5e-5
    clip: float = 0.2
    kl_coef: float = 0.04
    inner_epochs: int = 1
    temperature: float = 1.0
    max_steps: int = 4  #: calls per rollout before it is cut (as the vlm policy's max_steps)
    strategy: str = "adaptive"  #: static | gdpo | adaptive (irpilot.train.reward)
    call_cost: float = 0.05
    metrics: tuple[str, ...] | None = None  #: reward metrics (default: irpilot.train.reward's)
    lora_r: int = 16  #: 0: full fine-tuning against a frozen copy
    max_side: int = 448
    seed: int = 0
    time_budget: float | None = None


@dataclasses.dataclass
class Turn:
    prompt: list[dict[str, Any]]
    images: list[np.ndarray]
    action: int
    old_logp: float
    ref_logp: np.ndarray  #: the reference model's log-probabilities of every candidate


@dataclasses.dataclass
class VRollout:
    turns: list[Turn] = dataclasses.field(default_factory=list)
    records: list[CallRecord] = dataclasses.field(default_factory=list)
    image: np.ndarray | None = None
    valid: bool = True
    done: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.call.name for r in self.records)


class _Reference:
    """Log-probabilities of the reference model: the base model under LoRA, else a frozen copy."""

    def __init__(self, vlm: VLM) -> None:
        self.vlm = vlm
        self.copy = None if hasattr(vlm.model, "disable_adapter") else dataclasses.replace(vlm, model=copy.deepcopy(vlm.model).eval())

    def __call__(self, prompt: list[dict[str, Any]], images: list[np.ndarray], cands: Sequence[ToolCall], tools: Any) -> Any:
        if self.copy is not None:
            return self.copy.action_logprobs(prompt, images, cands, tools)
        with self.vlm.model.disable_adapter():
            return self.vlm.action_logprobs(prompt, images, cands, tools)


def rollout_group(vlm: VLM, pool: Any, image: np.ndarray, group_size: int, rng: np.random.Generator, *,
                  tools: list[dict[str, Any]], reference: _Reference, cfg: VLMGRPOConfig,
                  perceive: Callable[[np.ndarray], Any] | None = None) -> list[VRollout]:
    """``group_size`` rollouts from ``image`` in lock step; decisions on identical states are
    computed once per group, tool calls go through ``pool`` together."""
    import torch

    cands = [ToolCall(t["function"]["name"]) for t in tools]
    rolls = [VRollout(image=image) for _ in range(group_size)]
    p_in = perceive(image) if perceive else None
    memo: dict[tuple[Any, ...], tuple[list[dict[str, Any]], list[np.ndarray], np.ndarray, np.ndarray]] = {}
    vlm.model.eval()
    for _step in range(cfg.max_steps + 1):
        active = [r for r in rolls if not r.done]
        if not active:
            break
        for r in active:
            if len(r.records) >= cfg.max_steps:  # the budget ends it; not a decision of the model
                r.done = True
                continue
            key = tuple((rec.call.name, rec.accepted) for rec in r.records)
            if key not in memo:
                msgs = turn_messages(image, r.image, r.records, input_perception=p_in,
                                     perception=perceive(r.image) if perceive else None,
                                     calls_left=cfg.max_steps - len(r.records), max_side=cfg.max_side or None)
                urls: list[str] = []
                prompt = template_messages(msgs, urls)
                imgs = [image] + ([r.image] if len(urls) > 1 else [])
                with torch.inference_mode():
                    lp = vlm.action_logprobs(prompt, imgs, cands, tools).float().cpu().numpy()
                    ref = reference(prompt, imgs, cands, tools).float().cpu().numpy() if cfg.kl_coef else lp
                memo[key] = (prompt, imgs, lp, ref)
            prompt, imgs, lp, ref = memo[key]
            z = lp / max(cfg.temperature, 1e-6)
            p = np.exp(z - z.max())
            a = int(rng.choice(len(cands), p=p / p.sum()))
            r.turns.append(Turn(prompt, imgs, a, float(lp[a]), ref))
        active = [r for r in active if not r.done]
        calls = [(r, cands[r.turns[-1].action]) for r in active]
        for r, c in calls:
            if c.is_stop:
                r.done = True
        todo = [(r, c) for r, c in calls if not c.is_stop]
        results = pool.map([(c.name, r.image, {}) for r, c in todo]) if todo else []
        for (r, c), res in zip(todo, results):
            ok = bool(res.ok and res.image is not None)
            r.records.append(CallRecord(c, f"call_{len(r.records)}", accepted=ok, error=None if ok else (res.error or "failed")))
            if ok:
                r.image = res.image
            else:
                r.valid, r.done = False, True
    return rolls


def _update(vlm: VLM, opt: Any, params: list[Any], groups: list[tuple[list[VRollout], list[float]]],
            tools: list[dict[str, Any]], cfg: VLMGRPOConfig) -> dict[str, float]:
    import torch

    cands = [ToolCall(t["function"]["name"]) for t in tools]
    vlm.model.train()
    stats = {"loss": 0.0, "kl": 0.0, "ratio": 0.0}
    n = 0
    for _ in range(cfg.inner_epochs):
        opt.zero_grad()
        terms = []
        for rolls, adv in groups:
            for r, a in zip(rolls, adv):
                if not r.turns:
                    continue
                per_turn = []
                for t in r.turns:
                    lp = vlm.action_logprobs(t.prompt, t.images, cands, tools)
                    ratio = torch.exp(lp[t.action] - t.old_logp)
                    surrogate = torch.minimum(ratio * a, torch.clamp(ratio, 1 - cfg.clip, 1 + cfg.clip) * a)
                    ref = torch.as_tensor(t.ref_logp, device=lp.device)
                    kl = (lp.exp() * (lp - ref)).sum()
                    per_turn.append(-surrogate + cfg.kl_coef * kl)
                    stats["kl"] += float(kl.detach())
                    stats["ratio"] += float(ratio.detach())
                    n += 1
                terms.append(torch.stack(per_turn).mean())
        if not terms:
            break
        loss = torch.stack(terms).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        stats["loss"] += float(loss.detach())
    return {"loss": stats["loss"] / max(cfg.inner_epochs, 1), "kl": stats["kl"] / max(n, 1), "ratio": stats["ratio"] / max(n, 1)}


def train_vlm_grpo(vlm: VLM, cases: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]], pool: Any,
                   out: str | Path | None = None, cfg: VLMGRPOConfig = VLMGRPOConfig(), *,
                   toolbox: dict[str, list[str]] | None = None, perceiver: Any = None,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """GRPO of ``vlm``; ``cases(rng, i)`` gives the i-th (degraded, clean) training pair.
    Logs one row per update (mean reward, components, identical groups, calls, KL) to
    ``out/grpo_log.jsonl`` and saves the model to ``out`` when given."""
    import torch

    from .reward import group_advantages
    from .rl import RewardAdapter

    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    tools = tool_schemas(toolbox)
    vlm = add_lora(vlm, cfg.lora_r)
    reference = _Reference(vlm)
    params = [p for p in vlm.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    reward = RewardAdapter(cfg.strategy, cfg.call_cost, list(cfg.metrics) if cfg.metrics else None)
    log_path = None
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        log_path = Path(out) / "grpo_log.jsonl"
        log_path.write_text("")
    history = []
    t0 = time.perf_counter()
    case_i = 0
    for update in range(1, cfg.updates + 1):
        groups, all_comps, identical = [], [], 0
        calls = []
        for _ in range(cfg.groups_per_update):
            degraded, clean = cases(rng, case_i)
            case_i += 1
            rolls = rollout_group(vlm, pool, degraded, cfg.group_size, rng, tools=tools, reference=reference, cfg=cfg,
                                  perceive=perceiver)
            comps = [reward.components(degraded, r.image if r.valid else None, clean, len(r.records), r.valid) for r in rolls]
            rewards = reward.combine(comps)
            groups.append((rolls, group_advantages(rewards)))
            all_comps.append((comps, rewards))
            identical += len({r.names for r in rolls}) == 1
            calls += [len(r.records) for r in rolls]
        reward.update([c for c, _ in all_comps])
        stats = _update(vlm, opt, params, groups, tools, cfg)
        keys = sorted({k for comps, _ in all_comps for c in comps for k in c})
        row: dict[str, Any] = {
            "update": update,
            "reward": float(np.mean([x for _, rs in all_comps for x in rs])),
            **{f"c_{k}": float(np.mean([c.get(k, 0.0) for comps, _ in all_comps for c in comps])) for k in keys},
            "identical_groups": identical / cfg.groups_per_update,
            "calls": float(np.mean(calls)),
            **stats,
            "weights": reward.weights(),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        history.append(row)
        if log_path is not None:
            with open(log_path, "a") as f:
                f.write(json.dumps(row) + "\n")
        if progress:
            progress(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if not isinstance(v, dict)))
        if cfg.time_budget is not None and time.perf_counter() - t0 > cfg.time_budget:
            break
    if out is not None:
        vlm.save(out)
    return {"history": history, "config": dataclasses.asdict(cfg), "reward_state": reward.state_dict()}

