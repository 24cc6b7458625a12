"""irpilot's shared words (:mod:`irpilot.vocab`) are one table, used by every part."""

from __future__ import annotations

from irpilot import vocab
from irpilot.vocab import DEGRADATION_TO_TASK, DegradationName, Task, restoration_order


def test_one_task_per_degradation_and_back():
    assert set(DEGRADATION_TO_TASK) == set(vocab.DEGRADATION_NAMES)
    assert set(DEGRADATION_TO_TASK.values()) == set(vocab.TASKS)
    assert all(vocab.TASK_TO_DEGRADATION[t] == d for d, t in DEGRADATION_TO_TASK.items())
    assert DegradationName.NOISE == "noise" and Task.DENOISE == "denoise" and str(Task.DEHAZE) == "dehaze"


def test_the_protocol_has_eight_degradations_without_snow():
    assert len(vocab.PROTOCOL_DEGRADATIONS) == 8 and "snow" not in vocab.PROTOCOL_DEGRADATIONS
    assert set(vocab.DEGRADATION_ORDER) == set(vocab.DEGRADATION_NAMES)


def test_restoration_walks_the_order_of_happening_backwards():
    assert restoration_order(["haze", "jpeg", "noise", "low_resolution"]) == ["low_resolution", "jpeg", "noise", "haze"]


def test_every_part_uses_the_same_table():
    from irpilot import degrade, perceive
    from irpilot.policies.learned import actions
    from irpilot.tools import TASKS

    assert degrade.DEGRADATION_TO_TASK is DEGRADATION_TO_TASK
    assert perceive.DEGRADATION_NAMES is vocab.DEGRADATION_NAMES
    assert TASKS is vocab.TASKS
    assert actions.STOP == vocab.STOP
