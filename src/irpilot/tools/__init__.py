"""Restoration tools: registry, cards, and the built-in toolbox.

>>> from irpilot.tools import TOOLS, get_tool
>>> "bicubic_x4" in TOOLS            # doctest: +SKIP
True
"""

from __future__ import annotations

from typing import Any

from .base import (
    TASKS,
    TOOLS,
    Tool,
    ToolCard,
    WeightsFile,
    may_fall_back,
    measured_speeds,
    task_of_tool,
    tool_names_for_task,
    unavailable_tools,
)

__all__ = ["TASKS", "TOOLS", "Tool", "ToolCard", "WeightsFile", "get_tool", "may_fall_back", "measured_speeds", "task_of_tool",
           "tool_names_for_task", "unavailable_tools"]

_INSTANCES: dict[tuple[str, tuple[tuple[str, Any], ...]], Tool] = {}


def get_tool(name: str, **options: Any) -> Tool:
    """A ready-to-call instance of the tool ``name`` (shared per process and options, so a
    model loads once)."""
    key = (name, tuple(sorted(options.items())))
    inst = _INSTANCES.get(key)
    if inst is None:
        inst = TOOLS.get(name)(**options)
        _INSTANCES[key] = inst
    return inst
