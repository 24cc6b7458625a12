"""Baseline step policies: ``fixed`` (MAIR's order, default tools) and ``random``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import POLICIES, STOP, Action, StepPolicy
from ..vocab import DEGRADATION_TO_TASK, restoration_order
from .common import available_tools, default_tool, detected_degradations, tasks_option


class _PlanPolicy(StepPolicy):
    """Makes a plan (a list of tool calls) from the first observation, then follows it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.plan: list[Action] = []
        self.threshold = float(options.get("threshold", 0.5))

    def degradations(self, obs: Any) -> list[str]:
        given = tasks_option(self.options)
        if given is not None:
            return given
        if obs.perception is None:
            raise RuntimeError(
                f"policy {self.name!r} needs a perception model to know what to restore; "
                "none is loaded: pass tasks (e.g. --tasks denoise,dejpeg)"
            )
        return detected_degradations(obs.input_perception or obs.perception, self.threshold, obs.input_image.shape)

    def make_plan(self, degradations: list[str], rng: np.random.Generator) -> list[Action]:
        raise NotImplementedError

    def reset(self, obs: Any) -> None:
        self.plan = self.make_plan(self.degradations(obs), obs.rng)

    def act(self, obs: Any) -> Action:
        # a failed call is reported in the trace and the plan goes on with the next step
        return self.plan.pop(0) if self.plan else STOP


@POLICIES.register("fixed")
class FixedPolicy(_PlanPolicy):
    """Detected degradations undone in MAIR's fixed order (scene -> imaging -> compression,
    reversed), each with its task's default tool."""

    name = "fixed"

    def make_plan(self, degradations: list[str], rng: np.random.Generator) -> list[Action]:
        plan = []
        for d in restoration_order(degradations):
            tool = default_tool(DEGRADATION_TO_TASK[d], self.options.get("tools"))
            if tool is not None:
                plan.append(Action(tool))
        return plan


@POLICIES.register("random")
class RandomPolicy(_PlanPolicy):
    """Detected degradations in random order, a random available tool for each."""

    name = "random"

    def make_plan(self, degradations: list[str], rng: np.random.Generator) -> list[Action]:
        order = list(degradations)
        rng.shuffle(order)
        plan = []
        for d in order:
            tools = available_tools(DEGRADATION_TO_TASK[d], self.options.get("tools"))
            if tools:
                plan.append(Action(tools[int(rng.integers(len(tools)))]))
        return plan
