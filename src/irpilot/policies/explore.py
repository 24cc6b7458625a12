"""``explore``: the AgenticIR procedure without an LLM, the training-free baseline.

1. Perception gates the agenda: every degradation rated present goes on it.
2. Scheduling: the agenda is ordered by pairwise experience gathered by exhaustive exploration
   on training photos (``assets/explore_experience.json``, built by
   ``irpilot train experience``): for each pair of degradations, how often undoing one
   before the other gave the better result.  Pairs without experience follow MAIR's order.
3. Execution: for the current task every tool of the task is run and the best candidate is
   kept (lowest remaining degradation, then no-reference quality), as MAIR and 4KAgent do and
   as training-free agents are described in TIR-Agent's comparison.  With ``accept="first"``
   (the ``explore_first`` policy) the tools are tried in random order and the first one after
   which the degradation is gone ("very low" probability) is accepted, AgenticIR's reflection
   loop.  A task fails when even the best candidate still shows the degradation.
4. Rollback: depth-first over (task, tool) nodes; on failure the agent backtracks and re-plans
   with the failed task moved later; when everything is exhausted it keeps the best descendant
   found.  This exhaustive traversal is what a learned policy removes.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from typing import ClassVar

import numpy as np

from ..session import Session, Step
from ..vocab import DEGRADATION_ORDER, DEGRADATION_TO_TASK
from .base import POLICIES, SearchPolicy, ToolCall
from .common import available_tools, detected_degradations
from .options import PolicyOptions, option

__all__ = ["ExplorePolicy", "load_experience", "schedule"]


def load_experience() -> dict[str, float]:
    """Pairwise order experience ``{"a>b": share of wins when a is undone before b}``."""
    try:
        text = resources.files("irpilot").joinpath("assets/explore_experience.json").read_text()
    except (FileNotFoundError, OSError):
        return {}
    return dict(json.loads(text).get("first_wins", {}))


def schedule(agenda: list[str], experience: dict[str, float]) -> list[str]:
    """Order degradations to undo: by pairwise wins from experience (Copeland count), ties and
    unknown pairs broken by MAIR's order (last to happen is undone first)."""
    rank = {d: i for i, d in enumerate(DEGRADATION_ORDER)}

    def wins(a: str) -> float:
        total = 0.0
        for b in agenda:
            if a == b:
                continue
            share = experience.get(f"{a}>{b}")
            if share is None:
                share = 1.0 if rank.get(a, 0) > rank.get(b, 0) else 0.0
            total += share
        return total

    return sorted(agenda, key=lambda d: (-wins(d), -rank.get(d, 0)))


def _accept_mode(value: object) -> str:
    mode = str(value)
    if mode not in ("best", "first"):
        raise ValueError(f"explore: accept must be 'best' or 'first', not {mode!r}")
    return mode


@dataclasses.dataclass(frozen=True)
class ExploreOptions(PolicyOptions):
    threshold: float = option(0.5, doc="on the agenda from this perception probability")
    done_threshold: float = option(0.2, doc='"very low": stop trying tools (accept=first)')
    fail_threshold: float = option(0.5, doc="the best candidate still above this: the task failed")
    nr_weight: float = option(0.0, doc="weight of NIQE in a candidate's score (needs check metrics)")
    accept: str = option("best", _accept_mode, doc="best: every tool, keep the best; first: the first that works")


@dataclasses.dataclass(frozen=True)
class ExploreFirstOptions(ExploreOptions):
    accept: str = option("first", _accept_mode, doc="best: every tool, keep the best; first: the first that works")


@POLICIES.register("explore")
class ExplorePolicy(SearchPolicy):
    name = "explore"
    Options: ClassVar[type[PolicyOptions]] = ExploreOptions
    options: ExploreOptions
    default_max_calls = 60

    def __init__(self, options: ExploreOptions | None = None, /, **raw: object) -> None:
        super().__init__(options, **raw)
        self.experience = load_experience()
        self._best_chain: list[Step] = []
        self._best_score = -np.inf

    # -- scoring -------------------------------------------------------------------------
    def _remaining(self, ctx: Session, h: str) -> dict[str, float]:
        p = ctx.perceive(ctx.image(h), h)
        return dict(p.probs) if p is not None else {}

    def _score(self, ctx: Session, h: str, target: str | None) -> float:
        probs = self._remaining(ctx, h)
        s = -sum(probs.values())
        if target is not None:
            s -= probs.get(target, 0.0)
        if self.options.nr_weight and ctx.check_metrics:
            m = ctx.metrics(ctx.image(h), h)
            s -= self.options.nr_weight * float(m.get("niqe", 0.0))
        return s

    # -- one task: every tool (or, with accept="first", tools until the degradation is gone) --
    def _run_task(self, ctx: Session, degradation: str, h: str) -> tuple[Step | None, bool]:
        tools = available_tools(DEGRADATION_TO_TASK[degradation], self.options.tools)
        order = list(ctx.rng.permutation(len(tools)))
        image = ctx.image(h)
        best, best_score = None, -np.inf
        for i in order:
            if ctx.calls_left <= 0:
                break
            step = ctx.call(ToolCall(tools[i]), image, image_hash=h)
            if not step.ok or step.output_hash is None:
                step.note = "tool failed"
                continue
            p = self._remaining(ctx, step.output_hash).get(degradation, 0.0)
            step.perception = {degradation: p}
            score = self._score(ctx, step.output_hash, degradation)
            if score > best_score:
                best, best_score = step, score
            if self.options.accept == "first" and p < self.options.done_threshold:
                break
        if best is None or best.output_hash is None:
            return None, False
        p_best = self._remaining(ctx, best.output_hash).get(degradation, 0.0)
        return best, p_best < self.options.fail_threshold

    # -- depth-first search with rollback -------------------------------------------------
    def search(self, ctx: Session) -> None:
        if self.options.tasks is not None:
            agenda = list(self.options.tasks)
        else:
            perceived = ctx.perceive(ctx.input_image, ctx.input_hash)
            if perceived is None:
                raise RuntimeError("policy 'explore' needs a perception model; pass tasks instead")
            agenda = detected_degradations(perceived, self.options.threshold, ctx.input_image.shape)
        self._best_chain = []
        self._best_score = self._score(ctx, ctx.input_hash, None)
        ok = self._dfs(ctx, [], schedule(agenda, self.experience))
        if not ok:
            ctx.set_current(self._best_chain)

    def _dfs(self, ctx: Session, chain: list[Step], remaining: list[str]) -> bool:
        h = chain[-1].output_hash if chain else ctx.input_hash
        assert h is not None  # chains hold successful steps only
        score = self._score(ctx, h, None)
        if score > self._best_score or (chain and not self._best_chain and score >= self._best_score):
            self._best_chain, self._best_score = list(chain), score
        if not remaining:
            ctx.set_current(chain)
            return True
        # the planned next task first; after a failure, re-plan with the failed one later
        for k in range(len(remaining)):
            if ctx.calls_left <= 0:
                return False
            task = remaining[k]
            step, success = self._run_task(ctx, task, h)
            if step is None or not success:
                if step is not None:
                    step.note = (step.note + f" {task}: failed, re-planning").strip()
                continue
            rest = remaining[:k] + remaining[k + 1 :]
            rest = schedule(rest, self.experience)
            if self._dfs(ctx, chain + [step], rest):
                return True
        return False


@POLICIES.register("explore_first")
class ExploreFirstPolicy(ExplorePolicy):
    """``explore`` accepting the first tool after which the degradation is gone (AgenticIR)."""

    name = "explore_first"
    Options: ClassVar[type[PolicyOptions]] = ExploreFirstOptions
