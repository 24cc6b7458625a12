"""irpilot's shared words: the degradations, the restoration tasks, which task undoes which
degradation, and in which order degradations happen (and so are undone).

This is the ground floor: every other module takes these names from here and nowhere else.
The enums are ``str`` enums, so a member compares equal to its name (``Task.DENOISE ==
"denoise"``) and tables keyed by plain strings keep working; the tuples and dicts below are the
plain-string views most code uses.

>>> DEGRADATION_TO_TASK["noise"]
'denoise'
>>> restoration_order(["noise", "jpeg", "haze"])
['jpeg', 'noise', 'haze']
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = [
    "DegradationName",
    "Task",
    "DEGRADATION_NAMES",
    "PROTOCOL_DEGRADATIONS",
    "TASKS",
    "DEGRADATION_TO_TASK",
    "TASK_TO_DEGRADATION",
    "DEGRADATION_ORDER",
    "restoration_order",
    "STOP",
]


class DegradationName(str, enum.Enum):
    """What can be wrong with a photo, in the order of the perceiver's outputs."""

    LOW_RESOLUTION = "low_resolution"
    NOISE = "noise"
    MOTION_BLUR = "motion_blur"
    DEFOCUS_BLUR = "defocus_blur"
    HAZE = "haze"
    RAIN = "rain"
    DARK = "dark"
    JPEG = "jpeg"
    SNOW = "snow"  #: irpilot's own recipe (no benchmark group uses it)

    def __str__(self) -> str:
        return self.value


class Task(str, enum.Enum):
    """A restoration step; every tool does one.  Member order is the one used by history
    features, action spaces and tool listings."""

    SUPER_RESOLUTION = "super_resolution"
    DENOISE = "denoise"
    MOTION_DEBLUR = "motion_deblur"
    DEFOCUS_DEBLUR = "defocus_deblur"
    DEHAZE = "dehaze"
    DERAIN = "derain"
    LOW_LIGHT = "low_light"
    DEJPEG = "dejpeg"
    DESNOW = "desnow"

    def __str__(self) -> str:
        return self.value


#: The name of the action that ends a restoration (policies and traces).
STOP = "stop"

#: Every degradation, in the perceiver's output order.
DEGRADATION_NAMES: tuple[str, ...] = tuple(d.value for d in DegradationName)
#: The eight degradations of the agentic-restoration benchmark protocol (snow is extra).
PROTOCOL_DEGRADATIONS: tuple[str, ...] = tuple(d for d in DEGRADATION_NAMES if d != DegradationName.SNOW)
#: Every task, in :class:`Task` order.
TASKS: tuple[str, ...] = tuple(t.value for t in Task)

#: Degradation -> the task that removes it (one task per degradation, one degradation per task).
DEGRADATION_TO_TASK: dict[str, str] = {
    d.value: t.value for d, t in zip(DegradationName, Task, strict=True)
}
TASK_TO_DEGRADATION: dict[str, str] = {t: d for d, t in DEGRADATION_TO_TASK.items()}

#: MAIR's prior: degradations happen scene -> imaging -> compression, so they are undone in the
#: reverse order.  This is the order degradations *happen*; restoration walks it backwards.
DEGRADATION_ORDER: tuple[str, ...] = (
    "haze",
    "rain",
    "snow",
    "dark",
    "motion_blur",
    "defocus_blur",
    "noise",
    "jpeg",
    "low_resolution",
)


def restoration_order(degradations: Iterable[str]) -> list[str]:
    """Degradations sorted in MAIR's restoration order (reverse of how they happen)."""
    rank = {d: i for i, d in enumerate(DEGRADATION_ORDER)}
    return sorted(set(degradations), key=lambda d: -rank.get(d, -1))
