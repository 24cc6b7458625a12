"""Exploration-driven perturbation of SFT targets.

Without it the SFT policy collapses onto one tool sequence per kind of image and GRPO's groups
of rollouts come out identical ("exploration stagnation": every advantage is zero).  Each
time a target is drawn, with probability ``p_swap`` two adjacent steps are swapped and with
probability ``p_sub`` one tool is replaced by another tool of the same task.  A change is kept
only if the changed sequence scored within ``eps`` of the best one in the expert search (its
score is known from the search tree); otherwise the original sequence stays.  So perturbed
targets are always valid (each task once, tools from the action list) and never bad.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

__all__ = ["PerturbConfig", "perturb_sequence", "scores_from_record"]


@dataclasses.dataclass(frozen=True)
class PerturbConfig:
    p_swap: float = 0.3
    p_sub: float = 0.3
    eps: float = 0.5  #: a changed sequence must score >= best - eps (expert score units, ~dB)

    @property
    def enabled(self) -> bool:
        return self.p_swap > 0 or self.p_sub > 0


def scores_from_record(rec: Mapping) -> dict[tuple[str, ...], float]:
    """``{sequence: score}`` of every node an expert record scored."""
    return {tuple(n["seq"]): float(n["score"]) for n in rec["nodes"]}


def perturb_sequence(
    seq: Sequence[str],
    scores: Mapping[tuple[str, ...], float],
    tools_of_same_task: Callable[[str], Sequence[str]],
    rng: np.random.Generator,
    cfg: PerturbConfig = PerturbConfig(),
) -> tuple[tuple[str, ...], dict[str, bool]]:
    """Perturb ``seq``; returns the new sequence and which perturbations were applied.

    ``scores`` holds the expert score of every known sequence (unknown sequences are never
    chosen); ``tools_of_same_task(tool)`` lists the alternatives of a tool (itself included).
    """
    cur = tuple(seq)
    best = scores.get(cur, max(scores.values()) if scores else 0.0)
    floor = best - cfg.eps
    applied = {"swap": False, "sub": False}
    if len(cur) >= 2 and rng.random() < cfg.p_swap:
        i = int(rng.integers(len(cur) - 1))
        cand = (*cur[:i], cur[i + 1], cur[i], *cur[i + 2 :])
        if cand in scores and scores[cand] >= floor:
            cur, applied["swap"] = cand, True
    if len(cur) >= 1 and rng.random() < cfg.p_sub:
        i = int(rng.integers(len(cur)))
        alts = [t for t in tools_of_same_task(cur[i]) if t != cur[i]]
        rng.shuffle(alts)
        for t in alts:
            cand = (*cur[:i], t, *cur[i + 1 :])
            if cand in scores and scores[cand] >= floor:
                cur, applied["sub"] = cand, True
                break
    return cur, applied
