"""Supervised fine-tuning of a vision-language model on exported decisions
(``irpilot train vlm-sft``; the export is :mod:`irpilot.train.vlm_export`).

Each decision is rendered in irpilot's chat format (:func:`~irpilot.train.vlm_model.render_chat`)
and the loss is the negative log-likelihood of the assistant's tool call (the prompt's tokens
are masked), the objective of TRL's ``SFTTrainer`` with ``completion_only_loss``.  The loop is
written out here rather than handed to ``SFTTrainer`` because it shares its rendering and
scoring with ``vlm-grpo`` and ``policy serve`` (one code path from training to serving), and
because it reports what matters for a tool-calling policy: held-out accuracy at choosing the
expert's call among the offered ones.  LoRA adapters (peft) on the language model by default;
``lora_r=0`` trains every weight.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..toolcall import ToolCall
from .vlm_export import Decision, load_steps, read_images, tools_of
from .vlm_model import VLM, add_lora, completion_text

__all__ = ["VLMSFTConfig", "train_vlm_sft", "choice_accuracy", "sft_loss"]


@dataclasses.dataclass(frozen=True)
class VLMSFTConfig:
    epochs: int = 2
    batch_size: int = 4
    lr: float = 2e-4
    lora_r: int = 16  #: 0: full fine-tuning
    lora_alpha: int | None = None
    val_fraction: float = 0.1
    seed: int = 0
    time_budget: float | None = None
    grad_clip: float = 1.0
    eval_limit: int = 200  #: held-out decisions scored for accuracy (each scores every offered call)


def _candidates(tools: Sequence[dict[str, Any]]) -> list[ToolCall]:
    return [ToolCall(t["function"]["name"]) for t in tools]


def sft_loss(vlm: VLM, batch: Sequence[Decision], images: Sequence[list[np.ndarray]],
             tools: Sequence[dict[str, Any]] | None) -> Any:
    """Mean token NLL of the target calls of ``batch`` (completion tokens only)."""
    import torch

    prompts = [vlm.prompt_text(d.prompt, tools) for d in batch]
    completions = [completion_text(d.target) for d in batch]
    enc = vlm.encode([p + c for p, c in zip(prompts, completions)], images)
    logits = vlm.model(**enc).logits[:, :-1].float()
    targets = enc["input_ids"][:, 1:]
    mask = vlm.completion_mask(enc, completions)
    nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return (nll * mask).sum() / mask.sum().clamp(min=1.0)


def choice_accuracy(vlm: VLM, decisions: Sequence[Decision], candidates: Sequence[ToolCall],
                    tools: Sequence[dict[str, Any]] | None = None) -> float:
    """Share of ``decisions`` whose target call is the most probable of ``candidates``."""
    import torch

    if not decisions:
        return float("nan")
    hits = 0
    names = [c.name for c in candidates]
    vlm.model.eval()
    with torch.inference_mode():
        for d in decisions:
            lp = vlm.action_logprobs(d.prompt, read_images(d), candidates, tools)
            hits += names[int(lp.argmax())] == d.target.name
    return hits / len(decisions)


def _split(decisions: list[Decision], frac: float, rng: np.random.Generator) -> tuple[list[Decision], list[Decision]]:
    """Held-out decisions by *case* (every decision of a held-out crop), so no image leaks."""
    cases = sorted({d.case for d in decisions})
    rng.shuffle(cases)
    val_cases = set(cases[: max(1, int(round(frac * len(cases))))]) if frac > 0 else set()
    return [d for d in decisions if d.case not in val_cases], [d for d in decisions if d.case in val_cases]


def train_vlm_sft(vlm: VLM, data: str | Path, out: str | Path | None = None, cfg: VLMSFTConfig = VLMSFTConfig(),
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fine-tune ``vlm`` on the decisions of an export folder; saves to ``out`` when given.

    Returns the history (loss per epoch), held-out accuracy before and after, and sizes."""
    import torch

    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    decisions = load_steps(data)
    tools = tools_of(data)
    candidates = _candidates(tools)
    train, val = _split(decisions, cfg.val_fraction, rng)
    val_eval = val[: cfg.eval_limit]
    acc_before = choice_accuracy(vlm, val_eval, candidates, tools)
    if progress:
        progress(f"{len(train)} training, {len(val)} held-out decisions; held-out accuracy before: {acc_before:.3f}")
    vlm = add_lora(vlm, cfg.lora_r, cfg.lora_alpha)
    params = [p for p in vlm.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    cache: dict[str, list[np.ndarray]] = {}

    def imgs(d: Decision) -> list[np.ndarray]:
        if d.id not in cache:
            cache[d.id] = read_images(d)
        return cache[d.id]

    history = []
    t0 = time.perf_counter()
    stopped = False
    for epoch in range(cfg.epochs):
        vlm.model.train()
        order = rng.permutation(len(train))
        losses = []
        for b in range(0, len(order), cfg.batch_size):
            batch = [train[i] for i in order[b : b + cfg.batch_size]]
            loss = sft_loss(vlm, batch, [imgs(d) for d in batch], tools)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            losses.append(float(loss.detach()))
            if cfg.time_budget is not None and time.perf_counter() - t0 > cfg.time_budget:
                stopped = True
                break
        with torch.inference_mode():
            vlm.model.eval()
            val_loss = float(np.mean([float(sft_loss(vlm, val[i : i + 8], [imgs(d) for d in val[i : i + 8]], tools))
                                      for i in range(0, min(len(val), cfg.eval_limit), 8)])) if val else float("nan")
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "first_loss": losses[0], "val_loss": val_loss,
               "seconds": round(time.perf_counter() - t0, 1)}
        history.append(row)
        if progress:
            progress(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if stopped:
            break
    acc_after = choice_accuracy(vlm, val_eval, candidates, tools)
    result = {"history": history, "accuracy_before": acc_before, "accuracy_after": acc_after,
              "train": len(train), "val": len(val), "candidates": [c.name for c in candidates],
              "config": dataclasses.asdict(cfg)}
    if progress:
        progress(f"held-out accuracy {acc_before:.3f} -> {acc_after:.3f}")
    if out is not None:
        path = vlm.save(out)
        (path / "sft_log.json").write_text(json.dumps(result, indent=1))
    return result
