"""Supervised fine-tuning on expert (state -> action) pairs.

States are the intermediate images along the expert's best (and near-best) sequences, stored
by the expert search, so SFT runs no tool.  Every epoch draws each case's target sequence again,
perturbed by :mod:`irpilot.train.perturb` when enabled (``--no-perturb`` for the ablation), and
trains with cross-entropy over the valid actions (tasks already done are masked).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..policies.learned.actions import ActionSpace, default_action_space
from ..policies.learned.network import EncodedState, StateEncoder, stack_states
from .data import perception_size_hint
from .expert import load_expert, load_images, prefix_key
from .perturb import PerturbConfig, perturb_sequence, scores_from_record

__all__ = ["SFTConfig", "StateBank", "build_bank", "train_sft", "split_cases"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class SFTConfig:
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    train_crops: int = 2  #: crops per state per step (subsampled from the stored ones)
    bank_crops: int = 8  #: random crops stored per state
    width: int = 16
    dropout: float = 0.0
    val_fraction: float = 0.1
    seed: int = 0
    perturb: PerturbConfig = dataclasses.field(default_factory=PerturbConfig)
    time_budget: float | None = None  #: seconds; stop early when exceeded


def _excluded_photos() -> set[str]:
    """Photos of the training folders that duplicate test-set photos (e.g. LIVE1's Kodak24 ones)."""
    from ..config import settings
    from ..data import TRAINING_SETS, training_photo_paths
    from ..io import list_images

    if settings.data_dir is None:
        return set()
    allowed = {f"{p.parent.name}/{p.name}" for p in training_photo_paths()}
    present = set()
    for name in TRAINING_SETS:
        folder = settings.data_dir / name
        if folder.is_dir():
            present |= {f"{name}/{p.name}" for p in list_images(folder)}
    return present - allowed


def split_cases(records: Sequence[dict], val_fraction: float, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Deterministic split by case id (the states of one case's on-policy records stay together)."""
    import hashlib

    train, val = [], []
    for r in records:
        h = int(hashlib.sha256(f"{seed}:{r.get('case', r['id'])}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (val if h < val_fraction else train).append(r)
    return train, val


@dataclasses.dataclass
class StateBank:
    """Encoded states keyed by (case id, prefix) with their action masks."""

    encoder: StateEncoder
    states: list[EncodedState] = dataclasses.field(default_factory=list)
    masks: list[np.ndarray] = dataclasses.field(default_factory=list)
    index: dict[tuple[str, tuple[str, ...]], int] = dataclasses.field(default_factory=dict)

    def get(self, cid: str, prefix: Sequence[str]) -> int | None:
        return self.index.get((cid, tuple(prefix)))


def build_bank(
    records: Sequence[dict],
    root: str | Path,
    encoder: StateEncoder,
    *,
    n_crops: int = 12,
    seed: int = 0,
    perceiver: Any = None,
    progress: Callable[[str], None] | None = None,
) -> StateBank:
    """Encode every stored state (input and prefixes of best / near-best sequences)."""
    from ..policies.learned.decisions import decision_mask

    space = encoder.space
    bank = StateBank(encoder)
    rng = np.random.default_rng(seed)
    for k, rec in enumerate(records):
        imgs = load_images(rec.get("_root", root), rec["id"])
        seqs = [tuple(rec["best"])] + [tuple(s) for s in rec["near_best"]]
        prefixes: dict[tuple[str, ...], None] = {(): None}
        for s in seqs:
            for j in range(1, len(s) + 1):
                prefixes[s[:j]] = None
        use_perc = perceiver is not None and encoder.perc_dim
        ref_shape = imgs["clean"].shape

        def perceive(img: np.ndarray, ref_shape: tuple[int, ...] = ref_shape) -> Any:
            return perceiver(img, size_hint=perception_size_hint(img.shape, ref_shape))

        perc_in = perceive(imgs["degraded"]) if use_perc else None
        for pre in prefixes:
            if any(t not in space.tools for t in pre):
                continue
            img = imgs["degraded"] if not pre else imgs.get(f"state:{prefix_key(pre)}")
            if img is None:
                continue
            perc = (perc_in if not pre else perceive(img)) if perc_in is not None else None
            st = encoder.encode(img, list(pre), perc, rng=rng, n_crops=n_crops, input_perception=perc_in)
            bank.index[(rec["id"], pre)] = len(bank.states)
            bank.states.append(st)
            bank.masks.append(decision_mask(space, list(pre), image_shape=img.shape, max_steps=encoder.max_steps))
        if progress and (k + 1) % 50 == 0:
            progress(f"encoded {k + 1}/{len(records)} cases, {len(bank.states)} states")
    return bank


def _pairs(
    records: Sequence[dict], bank: StateBank, space: ActionSpace, rng: np.random.Generator, pcfg: PerturbConfig | None
) -> tuple[list[tuple[int, int]], dict[str, float]]:
    """(state index, action index) pairs of one epoch's targets, and perturbation rates."""
    pairs: list[tuple[int, int]] = []
    n = changed = swaps = subs = 0

    def alts(tool: str) -> list[str]:
        return space.tools_for(space.task_of(tool))

    for rec in records:
        # an on-policy record (train expert --on-policy) teaches the decisions from its state on
        start = int(rec.get("start", 0))
        seq = tuple(t for t in rec["best"] if t in space.tools)
        if start and len(seq) != len(rec["best"]):
            continue  # that state was reached through a tool outside this action space
        if pcfg is not None and pcfg.enabled and not start:
            new, applied = perturb_sequence(seq, scores_from_record(rec), alts, rng, pcfg)
            # only targets whose states are stored can be used
            if all(bank.get(rec["id"], new[:j]) is not None for j in range(len(new) + 1)):
                n += 1
                changed += new != seq
                swaps += applied["swap"]
                subs += applied["sub"]
                seq = new
        for j in range(start, len(seq) + 1):
            i = bank.get(rec["id"], seq[:j])
            if i is None:
                break
            a = space.index(seq[j]) if j < len(seq) else space.stop_index
            pairs.append((i, a))
    rates = {"perturbed": changed / max(n, 1), "swap": swaps / max(n, 1), "sub": subs / max(n, 1)}
    return pairs, rates


def evaluate(net: Any, bank: StateBank, records: Sequence[dict], space: ActionSpace, n_crops: int = 8) -> dict[str, float]:
    """Accuracy on the best sequences' actions, share of actions that stay on a near-best
    sequence, and mean entropy of the masked action distribution."""
    import torch

    if not records:
        return {}
    ok_best = ok_near = total = 0
    ent = 0.0
    net.eval()
    with torch.inference_mode():
        for rec in records:
            good = [tuple(rec["best"])] + [tuple(s) for s in rec["near_best"]]
            seq = tuple(rec["best"])
            for j in range(int(rec.get("start", 0)), len(seq) + 1):
                i = bank.get(rec["id"], seq[:j])
                if i is None:
                    break
                logits = net(*stack_states([bank.states[i]], n_crops=n_crops))[0].numpy() + bank.masks[i]
                p = np.exp(logits - logits.max())
                p /= p.sum()
                ent += float(-(p[p > 0] * np.log(p[p > 0])).sum())
                a = int(np.argmax(p))
                target = space.index(seq[j]) if j < len(seq) else space.stop_index
                ok_best += a == target
                name = space.names[a]
                cand = (*seq[:j], name) if name != "stop" else seq[:j]
                ok_near += any((g[: len(cand)] == cand and (name != "stop" or len(g) == j)) for g in good)
                total += 1
    net.train()
    return {"acc_best": ok_best / max(total, 1), "acc_near": ok_near / max(total, 1), "entropy": ent / max(total, 1), "n": total}


def _merge_records(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The records of the datasets in order; a case found again in a later dataset (the same id,
    photo, crop and degradations: ``train expert --only-tasks`` searching it again after its tools
    changed) replaces the earlier record."""
    by_id: dict[str, dict[str, Any]] = {}
    for p in paths:
        for r in load_expert(p):
            r["_root"] = str(p)
            old = by_id.get(r["id"])
            if old is not None and (old["photo"], old["box"], old["names"]) != (r["photo"], r["box"], r["names"]):
                raise ValueError(f"expert case {r['id']} in {p} is not the case of that id in {old['_root']}: "
                                 "datasets searched with the same --seed and other settings cannot be combined")
            by_id[r["id"]] = r
    return list(by_id.values())


def train_sft(
    expert_path: str | Path | Sequence[str | Path],
    out: str | Path,
    cfg: SFTConfig | None = None,
    *,
    space: ActionSpace | None = None,
    encoder: StateEncoder | None = None,
    perceiver: Any = None,
    progress: Callable[[str], None] | None = None,
    log_path: str | Path | None = None,
    init: str | Path | None = None,
    add_tools: Sequence[str] = (),
) -> dict[str, Any]:
    """Train a policy on the expert dataset; writes ``out`` (.pt + .json); returns a summary.

    With ``init`` (a policy .pt), fine-tune that policy instead of a new network: its action
    space, state encoder (and so whether it sees perception), architecture and input
    normalisation are kept, ``encoder`` and ``cfg.width`` / ``cfg.dropout`` are ignored, and
    expert actions outside its action space are dropped (e.g. to correct a trained policy with
    new expert data). ``add_tools`` grows the init policy's action list by these tools (each of a
    task it already has; :func:`~irpilot.policies.learned.checkpoint.grow_policy`) before
    fine-tuning, so expert data that uses them teaches when to call them."""
    import torch

    from ..policies.learned.checkpoint import build_net, load_policy, save_policy

    cfg = cfg or SFTConfig()
    init_net = None
    if init is not None:
        init_net, space, encoder, init_meta = load_policy(init)
        cfg = dataclasses.replace(cfg, width=int(init_meta["net"]["width"]))
        if add_tools:
            from ..policies.learned.checkpoint import grow_policy
            from ..tools import TOOLS

            init_net, space, encoder = grow_policy(
                init_net, space, encoder, [(t, TOOLS.get(t).card.task) for t in add_tools], width=cfg.width)
        init_net.train()
        if encoder.perc_dim and perceiver is None:  # the policy was trained seeing perception
            from ..perceive import load_default_perceiver

            perceiver = load_default_perceiver()
    torch.manual_seed(cfg.seed)
    paths = [expert_path] if isinstance(expert_path, (str, Path)) else list(expert_path)
    records = _merge_records(paths)
    # cases cut from a photo that duplicates a test-set photo are never trained on
    excluded = _excluded_photos()
    records = [r for r in records if r.get("photo") not in excluded]
    # a case searched while one of its tasks had no tool teaches "ignore that degradation": skip it
    records = [r for r in records if set(r.get("searched_tasks", r["tasks"])) == set(r["tasks"])]
    if not records:
        raise ValueError(f"no expert records in {expert_path}")
    if space is None and encoder is not None:
        space = encoder.space
    if space is None:
        used = {t for r in records for n in r["nodes"] for t in n["seq"]}
        base = default_action_space(only_available=False)
        keep = [(t, k) for t, k in zip(base.tools, base.tasks) if t in used]
        space = ActionSpace(tuple(t for t, _ in keep), tuple(k for _, k in keep))
    encoder = encoder or StateEncoder(space)
    train, val = split_cases(records, cfg.val_fraction, cfg.seed)
    t0 = time.perf_counter()
    bank = build_bank(records, paths[0], encoder, n_crops=cfg.bank_crops, seed=cfg.seed, perceiver=perceiver, progress=progress)
    if progress:
        progress(f"{len(bank.states)} states from {len(train)} train / {len(val)} val cases in {time.perf_counter() - t0:.0f}s")
    if init_net is not None:
        net = init_net  # its architecture (width, dropout) and input normalisation are kept
    else:
        net = build_net(space, encoder, width=cfg.width, dropout=cfg.dropout)
        stats = np.stack([s.stats for s in bank.states])
        net.stats_mean.copy_(torch.from_numpy(stats.mean(0)))
        net.stats_std.copy_(torch.from_numpy(np.maximum(stats.std(0), 0.02)))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = np.random.default_rng(cfg.seed + 1)
    masks = torch.from_numpy(np.maximum(np.stack(bank.masks), -1e4))
    history: list[dict[str, Any]] = []
    t_train = time.perf_counter()
    steps_total = cfg.epochs * max(1, math.ceil(len(train) * 3 / cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps_total + 10, pct_start=0.1)
    step = 0
    for epoch in range(cfg.epochs):
        pairs, rates = _pairs(train, bank, space, rng, cfg.perturb if cfg.perturb.enabled else None)
        order = rng.permutation(len(pairs))
        tot = 0.0
        nb = 0
        for b in range(0, len(order), cfg.batch_size):
            idx = order[b : b + cfg.batch_size]
            si = [pairs[i][0] for i in idx]
            y = torch.tensor([pairs[i][1] for i in idx])
            crops, st, hi, pe = stack_states([bank.states[i] for i in si], n_crops=cfg.train_crops, rng=rng)
            logits = net(crops, st, hi, pe) + masks[si]
            loss = torch.nn.functional.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step < steps_total + 9:
                sched.step()
            step += 1
            tot += loss.item()
            nb += 1
        row: dict[str, Any] = {"epoch": epoch + 1, "loss": tot / max(nb, 1), "pairs": len(pairs), **{f"rate_{k}": v for k, v in rates.items()}}
        if (epoch + 1) % 5 == 0 or epoch + 1 == cfg.epochs:
            row.update({f"val_{k}": v for k, v in evaluate(net, bank, val, space).items()})
            row.update({f"train_{k}": v for k, v in evaluate(net, bank, train[: len(val) or 20], space).items()})
        row["seconds"] = round(time.perf_counter() - t_train, 1)
        history.append(row)
        if log_path:
            with open(log_path, "a") as f:
                f.write(json.dumps(row) + "\n")
        if progress:
            progress(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        if cfg.time_budget is not None and time.perf_counter() - t_train > cfg.time_budget:
            if progress:
                progress(f"time budget reached after {epoch + 1} epochs")
            break
    final = {f"val_{k}": v for k, v in evaluate(net, bank, val, space).items()}
    info = {
        "stage": "sft",
        **({"init": Path(init).name} if init is not None else {}),
        "expert": [Path(p).name for p in paths],
        "cases": len(records),
        "train_cases": len(train),
        "val_cases": len(val),
        "perturb": dataclasses.asdict(cfg.perturb),
        "epochs": len(history),
        **final,
    }
    save_policy(out, net, space, encoder, width=cfg.width, info=info)
    return {"info": info, "history": history}
