"""Shared test fixtures: the fake tools every test module draws on (never shipped in the
package), and the offline settings of the suite.

Three families of fake tools, each registered in :data:`irpilot.tools.TOOLS` only while the
tests that ask for them run (so that the contract tests over every tool never see them):

* ``pool_test_*`` (fixture ``pool_tools``; process and Ray workers register them through
  ``Pool(imports=POOL_IMPORTS)``):
  ``pool_test_gain`` multiplies by ``gain`` (default 0.5) after an optional ``sleep``;
  ``pool_test_sleep`` sleeps ``seconds`` (a hanging tool); ``pool_test_crash`` kills its own
  process when ``crash`` is true; ``pool_test_flaky`` raises while a counter file (``state``)
  counts at most ``fail_times`` calls; ``pool_test_batch`` is a gain with a native
  ``run_batch`` that appends each batch size to the file ``log``; ``pool_test_smooth`` is a
  realistic numpy workload; ``pool_test_settings`` shows whether the worker's ``precision``
  setting is bfloat16 (ones) or not (zeros).
* ``agent_test_*`` (fixture ``agent_tools``): exact inverses of a toy world where ``dark`` is
  x * 0.5 and ``haze`` y * 0.5 + 0.4, plus a darkening "dehazer" and a tool that always fails.
* ``trainfake_*`` (fixture ``train_tools``): the planted problem of the training tests,
  degraded = (clean + 0.1) / 2, fixed by gain x2 then shift -0.1.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from irpilot.tools.base import TOOLS, Tool, ToolCard

#: What to pass as ``Pool(imports=...)`` so that process and Ray workers know the pool test tools.
POOL_IMPORTS = ("conftest:register_pool_tools",)

# Process and Ray workers import this module by name: they find it through PYTHONPATH.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_HERE, os.environ.get("PYTHONPATH", "")) if p)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


# -- pool test tools -------------------------------------------------------------------------
def _pool_card(name: str, description: str) -> ToolCard:
    return ToolCard(id=name, task="denoise", description=description, tiling=False)


class GainTool(Tool):
    card: ClassVar[ToolCard] = _pool_card("pool_test_gain", "test tool: multiply by a gain")

    def _run(self, img: np.ndarray, gain: float = 0.5, sleep: float = 0.0, **_: Any) -> np.ndarray:
        if sleep:
            time.sleep(float(sleep))
        return img * np.float32(gain)


class SleepTool(Tool):
    card: ClassVar[ToolCard] = _pool_card("pool_test_sleep", "test tool: sleep, then return the input")

    def _run(self, img: np.ndarray, seconds: float = 60.0, **_: Any) -> np.ndarray:
        time.sleep(float(seconds))
        return img


class SettingsTool(Tool):
    card: ClassVar[ToolCard] = _pool_card("pool_test_settings", "test tool: shows the worker's precision setting")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        from irpilot.config import settings

        return np.full_like(img, 1.0 if settings.precision == "bfloat16" else 0.0)


class CrashTool(Tool):
    card: ClassVar[ToolCard] = _pool_card("pool_test_crash", "test tool: kill its own worker process on request")

    def _run(self, img: np.ndarray, crash: bool = False, **_: Any) -> np.ndarray:
        if crash:
            os._exit(1)
        return 1.0 - img


class FlakyTool(Tool):
    card: ClassVar[ToolCard] = _pool_card("pool_test_flaky", "test tool: fail the first few calls")

    def _run(self, img: np.ndarray, state: str = "", fail_times: int = 1, **_: Any) -> np.ndarray:
        p = Path(state)
        n = int(p.read_text() or 0) + 1 if p.exists() else 1
        p.write_text(str(n))
        if n <= int(fail_times):
            raise RuntimeError(f"flaky failure {n} of {fail_times}")
        return img * np.float32(0.25)


class BatchTool(Tool):
    card: ClassVar[ToolCard] = _pool_card("pool_test_batch", "test tool: gain with a native run_batch")

    def _run(self, img: np.ndarray, gain: float = 0.5, log: str = "", **_: Any) -> np.ndarray:
        return self.run_batch([img], gain=gain, log=log)[0]

    def run_batch(self, images: list[np.ndarray], gain: float = 0.5, log: str = "", **_: Any) -> list[np.ndarray]:
        if log:
            with open(log, "a") as f:
                f.write(f"{len(images)}\n")
        return list(np.stack(images) * np.float32(gain))


class SmoothTool(Tool):
    card: ClassVar[ToolCard] = _pool_card("pool_test_smooth", "test tool: repeated box filtering (numpy/scipy)")

    def _run(self, img: np.ndarray, radius: int = 2, passes: int = 4, **_: Any) -> np.ndarray:
        from scipy.ndimage import uniform_filter

        out = img
        for _ in range(int(passes)):
            out = uniform_filter(out, size=(1, 2 * int(radius) + 1, 2 * int(radius) + 1), mode="reflect")
        return out


POOL_TOOLS: tuple[type[Tool], ...] = (GainTool, SleepTool, CrashTool, FlakyTool, BatchTool, SmoothTool, SettingsTool)


def register_pool_tools() -> None:
    """Register the pool test tools (idempotent; what ``POOL_IMPORTS`` runs in workers)."""
    for cls in POOL_TOOLS:
        TOOLS.add(cls.card.id, cls, replace=True)


def unregister_pool_tools() -> None:
    for cls in POOL_TOOLS:
        TOOLS.remove(cls.card.id)


@pytest.fixture(scope="module")
def pool_tools() -> Iterator[tuple[str, ...]]:
    """The ``pool_test_*`` tools, registered while the module's tests run; yields the
    ``imports`` to give a :class:`~irpilot.pool.Pool`."""
    register_pool_tools()
    yield POOL_IMPORTS
    unregister_pool_tools()


# -- agent test tools: a toy world with known answers ----------------------------------------
def _agent_card(name: str, task: str) -> ToolCard:
    return ToolCard(id=name, task=task, description=f"agent test tool {name}", tiling=False)


class Dehaze(Tool):
    card: ClassVar[ToolCard] = _agent_card("agent_test_dehaze", "dehaze")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return (img - 0.4) / 0.5


class DehazeWeak(Tool):
    card: ClassVar[ToolCard] = _agent_card("agent_test_dehaze_weak", "dehaze")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return (img - 0.2) / 0.75


class Brighten(Tool):
    card: ClassVar[ToolCard] = _agent_card("agent_test_brighten", "low_light")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img * 2.0


class Denoise(Tool):
    """A 'denoiser' of the toy world: the image as it is (the world has no noise to remove)."""

    card: ClassVar[ToolCard] = _agent_card("agent_test_denoise", "denoise")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img.copy()


class DenoiseDarkening(Tool):
    """A 'denoiser' that darkens the image: a step the agent's check rolls back."""

    card: ClassVar[ToolCard] = _agent_card("agent_test_denoise_dark", "denoise")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img * 0.3


class Darken(Tool):
    """A 'dehazer' that leaves the haze and darkens the image: a visibly worse result."""

    card: ClassVar[ToolCard] = _agent_card("agent_test_darken", "dehaze")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img * 0.3


class _Picky(Tool):
    """A tool whose model never fits: it returns its input unchanged (its card names a fallback)."""

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img.copy()


def _picky(name: str, task: str, fallback: str) -> type[Tool]:
    card = dataclasses.replace(_agent_card(name, task), fallback=fallback)
    return type(f"Picky_{name}", (_Picky,), {"card": card})


# a dehazer handing over to one of its task; a defocus tool handing over to a motion tool (another
# deblurring task), whose line kernel never fits either and which hands over to the general one
DehazePicky = _picky("agent_test_dehaze_picky", "dehaze", "agent_test_dehaze")
DefocusPicky = _picky("agent_test_defocus_picky", "defocus_deblur", "agent_test_motion_picky")
MotionPicky = _picky("agent_test_motion_picky", "motion_deblur", "agent_test_general_deblur")


class GeneralDeblur(Tool):
    card: ClassVar[ToolCard] = _agent_card("agent_test_general_deblur", "motion_deblur")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img * 0.9


class Broken(Tool):
    card: ClassVar[ToolCard] = _agent_card("agent_test_broken", "low_light")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        raise RuntimeError("this tool always fails")


@pytest.fixture(scope="module")
def agent_tools() -> Iterator[None]:
    """The ``agent_test_*`` tools, registered while the module's tests run."""
    with TOOLS.temporarily({cls.card.id: cls for cls in (Dehaze, DehazeWeak, DehazePicky, Brighten, Denoise,
                                                           DenoiseDarkening, Darken, DefocusPicky, MotionPicky,
                                                           GeneralDeblur, Broken)}):
        yield


# -- training test tools: a planted problem ---------------------------------------------------
def _train_card(name: str, task: str) -> ToolCard:
    return ToolCard(id=name, task=task, description="test tool", tiling=False, cpu_seconds_512=0.001)


class Gain2(Tool):
    card: ClassVar[ToolCard] = _train_card("trainfake_gain2", "low_light")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img * 2.0


class Gain15(Tool):
    card: ClassVar[ToolCard] = _train_card("trainfake_gain15", "low_light")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img * 1.5


class Shift1(Tool):
    card: ClassVar[ToolCard] = _train_card("trainfake_shift1", "dehaze")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img - 0.1


class Shift2(Tool):
    card: ClassVar[ToolCard] = _train_card("trainfake_shift2", "dehaze")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return img - 0.2


@pytest.fixture(scope="module")
def train_tools() -> Iterator[None]:
    """The ``trainfake_*`` tools, registered while the module's tests run."""
    with TOOLS.temporarily({cls.card.id: cls for cls in (Gain2, Gain15, Shift1, Shift2)}):
        yield
