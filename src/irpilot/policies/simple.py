"""Baseline step policies: ``fixed`` (MAIR's order, default tools) and ``random``."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

from ..session import Observation
from ..vocab import DEGRADATION_TO_TASK, restoration_order
from .base import POLICIES, STOP, StepPolicy, ToolCall
from .common import available_tools, default_tool, detected_degradations, revealed_degradations, revealed_note
from .options import PolicyOptions, StepOptions, flag, option


@dataclasses.dataclass(frozen=True)
class PlanOptions(StepOptions):
    threshold: float = option(0.5, doc="perception probability from which a degradation is treated")
    reveal: bool = option(True, flag, doc="treat a degradation a done step revealed (noise after brightening)")


class _PlanPolicy(StepPolicy):
    """Makes a plan (a list of tool calls) from the first observation, then follows it."""

    Options: ClassVar[type[PolicyOptions]] = PlanOptions
    options: PlanOptions

    def __init__(self, options: PlanOptions | None = None, /, **raw: object) -> None:
        super().__init__(options, **raw)
        self.plan: list[ToolCall] = []
        self._revealed: set[str] = set()
        self._notes: dict[str, str] = {}  # task added for a revealed degradation -> why (for the trace)

    def degradations(self, obs: Observation) -> list[str]:
        if self.options.tasks is not None:
            return list(self.options.tasks)
        if obs.perception is None:
            raise RuntimeError(
                f"policy {self.name!r} needs a perception model to know what to restore; "
                "none is loaded: pass tasks (e.g. --tasks denoise,dejpeg)"
            )
        return detected_degradations(obs.input_perception or obs.perception, self.options.threshold, obs.input_image.shape)

    def make_plan(self, degradations: list[str], rng: np.random.Generator) -> list[ToolCall]:
        raise NotImplementedError

    def reset(self, obs: Observation) -> None:
        self.plan = self.make_plan(self.degradations(obs), obs.rng)
        self._revealed, self._notes = set(), {}

    def act(self, obs: Observation) -> ToolCall:
        from ..tools import task_of_tool

        if self.options.reveal and self.options.tasks is None:
            self._treat_revealed(obs)
        # a task a tool's fallback already did (a defocus tool handing over to a motion tool) is not done twice
        done = {s.task for s in obs.history if s.task}
        while self.plan and task_of_tool(self.plan[0].name) in done:
            self.plan.pop(0)
        # a failed call is reported in the trace and the plan goes on with the next step
        call = self.plan.pop(0) if self.plan else STOP
        self.last_note = self._notes.pop(task_of_tool(call.name) or "", "")
        return call

    def _treat_revealed(self, obs: Observation) -> None:
        """Put the calls for degradations a done step revealed (:data:`~.common.REVEALS`) at the
        front of the plan, unless their task is done or planned; each once (a call the agent
        rolled back is not planned again)."""
        from ..tools import task_of_tool

        done = [s.task for s in obs.history if s.task]
        planned = {task_of_tool(c.name) for c in self.plan} - {None}
        revealed = [d for d in revealed_degradations(done, obs.perception, self.options.threshold)
                    if DEGRADATION_TO_TASK[d] not in planned and d not in self._revealed]
        if revealed:
            self._revealed.update(revealed)
            self._notes.update({DEGRADATION_TO_TASK[d]: revealed_note(d, done, obs.perception) for d in revealed})
            self.plan[:0] = self.make_plan(revealed, obs.rng)


@POLICIES.register("fixed")
class FixedPolicy(_PlanPolicy):
    """Detected degradations undone in MAIR's fixed order (scene -> imaging -> compression,
    reversed), each with its task's default tool."""

    name = "fixed"

    def make_plan(self, degradations: list[str], rng: np.random.Generator) -> list[ToolCall]:
        plan = []
        for d in restoration_order(degradations):
            tool = default_tool(DEGRADATION_TO_TASK[d], self.options.tools)
            if tool is not None:
                plan.append(ToolCall(tool))
        return plan


@POLICIES.register("random")
class RandomPolicy(_PlanPolicy):
    """Detected degradations in random order, a random available tool for each."""

    name = "random"

    def make_plan(self, degradations: list[str], rng: np.random.Generator) -> list[ToolCall]:
        order = list(degradations)
        rng.shuffle(order)
        plan = []
        for d in order:
            tools = available_tools(DEGRADATION_TO_TASK[d], self.options.tools)
            if tools:
                plan.append(ToolCall(tools[int(rng.integers(len(tools)))]))
        return plan
