"""The learned policy's decision rules around the network: which actions are possible
(:func:`decision_mask`), which tasks perception requires (:func:`agenda`), and how a premature
stop is redirected to those tasks' tools (:func:`pending_tools`, :func:`redirect_stop`).

Training (supervised fine-tuning and GRPO) applies the same rules, so that the network is
trained on the decisions it will be asked to make.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ...vocab import DEGRADATION_TO_TASK
from ..common import SR_MAX_SIDE
from .actions import ActionSpace

__all__ = ["AGENDA_SKIP", "agenda", "decision_mask", "pending_tools", "redirect_stop"]

#: degradations the agenda leaves to the network by default: on 60 validation crops of the
#: training photos, forcing the deblurring tools after the network chose to stop lowered the
#: mean PSNR gain (+3.90 dB with every task on the agenda, +4.25 dB without these two;
#: BENCHMARKS.md, "Learned policy")
AGENDA_SKIP = ("motion_blur", "defocus_blur")


def decision_mask(
    space: ActionSpace,
    called: Sequence[str],
    *,
    available: np.ndarray | None = None,
    banned: Iterable[str] = (),
    image_shape: tuple[int, ...] | None = None,
    repeat_penalty: float = math.inf,
    max_steps: int | None = None,
) -> np.ndarray:
    """Additive logit offsets (n,): 0 for allowed actions, ``-inf`` for impossible ones and
    ``-repeat_penalty`` for tools of a task already done once (a task already done twice, and
    super-resolution already done once, are impossible).  Stop is always allowed here; see
    :func:`pending_tools` and :func:`redirect_stop` for the agenda."""
    n = space.n
    off = np.zeros(n, dtype=np.float32)
    if available is not None:
        off[~available] = -np.inf
    banned = set(banned)
    done_list = [space.task_of(c) for c in called if c in space.tools]
    done = set(done_list)
    twice = {t for t in done if done_list.count(t) >= 2}
    # x4 only below the size rule every policy follows (..common.SR_MAX_SIDE, AgenticIR's < 300 px)
    big = image_shape is not None and max(image_shape[-2:]) >= SR_MAX_SIDE
    for i, (tool, task) in enumerate(zip(space.tools, space.tasks)):
        if tool in banned:
            off[i] = -np.inf
        elif task == "super_resolution" and (task in done or big):
            off[i] = -np.inf
        elif task in twice:  # a task is repeated at most once, however much the model insists
            off[i] = -np.inf
        elif task in done:
            off[i] = min(off[i], -float(repeat_penalty))
    if max_steps is not None and len(called) >= max_steps:
        off[: space.stop_index] = -np.inf
    off[space.stop_index] = 0.0
    return off


def pending_tools(space: ActionSpace, offsets: np.ndarray, called: Sequence[str], required: Iterable[str]) -> np.ndarray:
    """Boolean (n,): the callable tools (finite ``offsets``) of ``required`` tasks not done yet."""
    done = {space.task_of(c) for c in called if c in space.tools}
    undone = set(required) - done
    out = np.zeros(space.n, dtype=bool)
    for i, task in enumerate(space.tasks):
        out[i] = task in undone and bool(np.isfinite(offsets[i]))
    return out


def redirect_stop(p: np.ndarray, pending: np.ndarray, stop_index: int) -> np.ndarray:
    """Action probabilities (..., n) when stopping must wait for the ``pending`` tools' tasks:
    the probability of stop goes to those tools, in proportion to their own probabilities;
    every other action keeps its probability.  Rows without pending tools are unchanged."""
    p = np.array(p, dtype=np.float64)
    pending = np.broadcast_to(pending, p.shape)
    q = np.where(pending, p, 0.0)
    total = q.sum(axis=-1, keepdims=True)
    has = pending.any(axis=-1, keepdims=True)
    share = np.where(total > 0, q / np.maximum(total, 1e-300), pending / np.maximum(pending.sum(axis=-1, keepdims=True), 1))
    out = p + p[..., stop_index : stop_index + 1] * share
    out[..., stop_index] = 0.0
    return np.where(has, out, p)


def agenda(perception: Any, threshold: float = 0.5, skip: Iterable[str] = (), skip_threshold: float | None = None) -> list[str]:
    """Tasks of the degradations ``perception`` rates present (probability >= ``threshold``),
    except those of the degradations in ``skip``, which need a probability of at least
    ``skip_threshold`` (never, when None)."""
    if perception is None:
        return []
    skip = set(skip)
    strict = math.inf if skip_threshold is None else float(skip_threshold)
    return [
        DEGRADATION_TO_TASK[d]
        for d, p in perception.probs.items()
        if d in DEGRADATION_TO_TASK and p >= (strict if d in skip else threshold)
    ]
