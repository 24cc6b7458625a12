"""Saving and loading a policy: ``<name>.pt`` (a plain ``state_dict``, loaded with
``weights_only=True``) beside ``<name>.json`` (action list, state-encoder settings, network
settings, format version and a training summary), so a policy file describes itself."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...io import atomic_write_bytes
from ...vocab import TASK_TO_DEGRADATION
from .actions import ActionSpace
from .network import StateEncoder

__all__ = ["FORMAT_VERSION", "save_policy", "load_policy", "build_net", "meta_path", "grow_policy"]

FORMAT_VERSION = 1


def meta_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def evidence_index(space: ActionSpace, encoder: StateEncoder) -> list[int]:
    """For each action, the index of its degradation among the perception labels (-1: none)."""
    task_to_deg = TASK_TO_DEGRADATION
    labels = encoder.perception_labels
    out = []
    for name in space.names:
        deg = task_to_deg.get(space.task_of(name) or "")
        out.append(labels.index(deg) if deg in labels else -1)
    return out


def build_net(
    space: ActionSpace,
    encoder: StateEncoder,
    width: int = 16,
    evidence: bool = True,
    dropout: float = 0.0,
    stop_evidence: bool = True,
):
    """A fresh :class:`~irpilot.policies.learned.network.PolicyNet` for ``space`` and ``encoder``."""
    from .network import PolicyNet

    ev = evidence_index(space, encoder) if (evidence and encoder.perc_dim) else None
    return PolicyNet(
        space.n,
        encoder.hist_dim,
        encoder.perc_dim,
        width=width,
        evidence_index=ev,
        n_labels=len(encoder.perception_labels),
        input_evidence=encoder.input_perception,
        dropout=dropout,
        stop_evidence=stop_evidence,
    )


def save_policy(
    path: str | Path,
    net: Any,
    space: ActionSpace,
    encoder: StateEncoder,
    *,
    width: int = 16,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write ``path`` (.pt state dict) and its JSON meta atomically; returns the .pt path."""
    import io

    import torch

    path = Path(path)
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, buf)
    atomic_write_bytes(path, buf.getvalue())
    meta = {
        "format": "irpilot-policy",
        "version": FORMAT_VERSION,
        "actions": space.as_dict(),
        "encoder": encoder.config(),
        "net": {
            "width": width,
            "n_actions": space.n,
            "hist_dim": encoder.hist_dim,
            "perc_dim": encoder.perc_dim,
            "evidence": getattr(net, "evidence_index", None) is not None,
            "dropout": float(getattr(net, "dropout_p", 0.0)),
            "stop_evidence": bool(getattr(net, "stop_evidence", False)),
        },
        "info": info or {},
    }
    atomic_write_bytes(meta_path(path), json.dumps(meta, indent=1).encode())
    return path


def load_policy(path: str | Path) -> tuple[Any, ActionSpace, StateEncoder, dict[str, Any]]:
    """``(net, space, encoder, meta)`` from a .pt file and its .json meta (net in eval mode)."""
    import torch

    path = Path(path)
    mp = meta_path(path)
    if not path.is_file() or not mp.is_file():
        raise FileNotFoundError(f"policy weights {path} or their meta {mp.name} are missing")
    meta = json.loads(mp.read_text())
    if meta.get("format") != "irpilot-policy" or int(meta.get("version", 0)) > FORMAT_VERSION:
        raise ValueError(f"{mp} is not an irpilot policy of a supported version (got {meta.get('version')})")
    space = ActionSpace.from_dict(meta["actions"])
    enc = meta["encoder"]
    encoder = StateEncoder(
        space,
        crop=enc["crop"],
        n_crops=enc["n_crops"],
        perception_labels=enc.get("perception_labels") or None,
        max_steps=enc.get("max_steps", 6),
        input_perception=bool(enc.get("input_perception", False)),
    )
    net = build_net(
        space,
        encoder,
        width=int(meta["net"]["width"]),
        evidence=bool(meta["net"].get("evidence", False)),
        dropout=float(meta["net"].get("dropout", 0.0)),
        stop_evidence=bool(meta["net"].get("stop_evidence", False)),
    )
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    net.eval()
    return net, space, encoder, meta


def replace_tools(space: ActionSpace, encoder: StateEncoder, pairs: Sequence[tuple[str, str]]) -> tuple[ActionSpace, StateEncoder]:
    """The action space and state encoder of a trained policy in which each ``(old, new)`` pair's
    ``new`` tool (of the same task) takes ``old``'s place: its output row and its history input,
    every weight unchanged, so the policy decides exactly as before and calls ``new`` where it
    called ``old``.  For a tool measured better than the one it replaces on that tool's own work."""
    from ...tools import TOOLS

    tools = list(space.tools)
    for old, new in pairs:
        if old not in tools:
            raise ValueError(f"replace_tools: {old!r} is not an action of the policy ({', '.join(tools)})")
        if new in tools:
            raise ValueError(f"replace_tools: {new!r} is already an action of the policy")
        task = space.tasks[tools.index(old)]
        if TOOLS.get(new).card.task != task:
            raise ValueError(f"replace_tools: {new!r} is a {TOOLS.get(new).card.task} tool, {old!r} a {task} one")
        tools[tools.index(old)] = new
    space2 = ActionSpace(tuple(tools), space.tasks)
    encoder2 = StateEncoder(space2, **encoder.config())
    return space2, encoder2


def grow_policy(
    net: Any,
    space: ActionSpace,
    encoder: StateEncoder,
    add: Sequence[tuple[str, str]],
    *,
    width: int = 16,
    offset: float = -1.0,
) -> tuple[Any, ActionSpace, StateEncoder]:
    """A copy of a trained policy with more tools: ``add`` is ``(tool, task)`` pairs, each task
    already in ``space`` (a new task would need a new perception label).

    Every trained weight is kept: the new tools' history inputs start at zero and each new
    tool's output row (and evidence weights) copy those of the first tool of its task, with its
    bias lowered by ``offset`` so that the grown policy decides as before until fine-tuning on
    expert data that uses the new tools moves it (``irpilot train sft --init ... --add-tools``).
    """
    import torch

    new = [(t, k) for t, k in add if t not in space.tools]
    for _, task in new:
        if task not in space.tasks:
            raise ValueError(f"grow_policy: task {task!r} has no tool in the policy; only tools of its tasks can be added")
    tools, tasks = list(space.tools), list(space.tasks)
    for t, k in new:  # after the last tool of the same task, so the list stays grouped by task
        at = max(i for i, kk in enumerate(tasks) if kk == k) + 1
        tools.insert(at, t)
        tasks.insert(at, k)
    space2 = ActionSpace(tuple(tools), tuple(tasks))
    encoder2 = StateEncoder(space2, **encoder.config())
    net2 = build_net(space2, encoder2, width=width, evidence=getattr(net, "evidence_index", None) is not None,
                     dropout=float(getattr(net, "dropout_p", 0.0)), stop_evidence=bool(getattr(net, "stop_evidence", False)))
    # where each new action reads its weights from: itself when it existed, else its task's first tool
    src_action = [space.names.index(n) if n in space.names or k is None else space.tools.index(space.tools_for(k)[0])
                  for n, k in zip(space2.names, [*space2.tasks, None])]
    is_new = torch.tensor([n not in space.names for n in space2.names])
    old_sd, sd = net.state_dict(), net2.state_dict()
    first = [k for k in sd if k.startswith("head.") and k.endswith(".weight")][0]
    last_w = [k for k in sd if k.startswith("head.") and k.endswith(".weight")][-1]
    last_b = last_w[: -len("weight")] + "bias"
    # input layout of the first head layer: crop embedding + stats, history, perception
    n_pre = old_sd[first].shape[1] - encoder.hist_dim - encoder.perc_dim
    old_hist = [*space.tools, *(f"task:{k}" for k in encoder.task_list), "step"]
    new_hist = [*space2.tools, *(f"task:{k}" for k in encoder2.task_list), "step"]
    with torch.no_grad():
        for k, v in old_sd.items():
            if k == first:
                w = torch.zeros_like(sd[k])
                w[:, :n_pre] = v[:, :n_pre]
                for j, name in enumerate(new_hist):
                    if name in old_hist:
                        w[:, n_pre + j] = v[:, n_pre + old_hist.index(name)]
                w[:, n_pre + encoder2.hist_dim :] = v[:, n_pre + encoder.hist_dim :]
                sd[k] = w
            elif k in (last_w, last_b):
                sd[k] = v[src_action].clone()
                if k == last_b:
                    sd[k][is_new] += offset
            elif k in ("ev_w", "ev_w2"):
                sd[k] = v[src_action].clone()
            elif k in ("ev_idx", "ev_on"):
                continue  # derived from the new space by build_net
            else:
                sd[k] = v.clone()
    net2.load_state_dict(sd)
    net2.eval()
    return net2, space2, encoder2
