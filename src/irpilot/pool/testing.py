"""Small fake tools for exercising the pool (tests).  They are registered in
:data:`irpilot.tools.TOOLS` only on demand: call :func:`register` (and :func:`unregister` when
done, so that nothing else, e.g. a policy listing denoisers, ever sees them), and pass
``imports=("irpilot.pool.testing:register",)`` to a :class:`~irpilot.pool.Pool` so that its
process and Ray workers register them too.

- ``pool_test_gain``: multiplies by ``gain`` (default 0.5), after an optional ``sleep`` (seconds).
- ``pool_test_sleep``: sleeps ``seconds`` then returns the input (a hanging tool).
- ``pool_test_crash``: kills its own process with ``os._exit(1)`` when ``crash`` is true.
- ``pool_test_flaky``: raises while a counter file (``state``) counts at most ``fail_times`` calls.
- ``pool_test_batch``: like ``pool_test_gain`` with a native ``run_batch``; appends each batch
  size to the file ``log`` when given.
- ``pool_test_smooth``: a realistic numpy workload (``passes`` box filters of ``radius``).
- ``pool_test_settings``: an image of ones where the worker's ``precision`` setting is
  bfloat16, of zeros elsewhere (whether settings reach the workers).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..tools.base import TOOLS, Tool, ToolCard

__all__ = ["TEST_TOOLS", "IMPORTS", "register", "unregister"]

#: What to pass as ``Pool(imports=...)`` so that workers know the test tools.
IMPORTS = ("irpilot.pool.testing:register",)


def _card(name: str, description: str) -> ToolCard:
    return ToolCard(id=name, task="denoise", description=description, tiling=False)


class GainTool(Tool):
    card: ClassVar[ToolCard] = _card("pool_test_gain", "test tool: multiply by a gain")

    def _run(self, img: np.ndarray, gain: float = 0.5, sleep: float = 0.0, **_: Any) -> np.ndarray:
        if sleep:
            time.sleep(float(sleep))
        return img * np.float32(gain)


class SleepTool(Tool):
    card: ClassVar[ToolCard] = _card("pool_test_sleep", "test tool: sleep, then return the input")

    def _run(self, img: np.ndarray, seconds: float = 60.0, **_: Any) -> np.ndarray:
        time.sleep(float(seconds))
        return img


class SettingsTool(Tool):
    card: ClassVar[ToolCard] = _card("pool_test_settings", "test tool: shows the worker's precision setting")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        from ..config import settings

        return np.full_like(img, 1.0 if settings.precision == "bfloat16" else 0.0)


class CrashTool(Tool):
    card: ClassVar[ToolCard] = _card("pool_test_crash", "test tool: kill its own worker process on request")

    def _run(self, img: np.ndarray, crash: bool = False, **_: Any) -> np.ndarray:
        if crash:
            os._exit(1)
        return 1.0 - img


class FlakyTool(Tool):
    card: ClassVar[ToolCard] = _card("pool_test_flaky", "test tool: fail the first few calls")

    def _run(self, img: np.ndarray, state: str = "", fail_times: int = 1, **_: Any) -> np.ndarray:
        p = Path(state)
        n = int(p.read_text() or 0) + 1 if p.exists() else 1
        p.write_text(str(n))
        if n <= int(fail_times):
            raise RuntimeError(f"flaky failure {n} of {fail_times}")
        return img * np.float32(0.25)


class BatchTool(Tool):
    card: ClassVar[ToolCard] = _card("pool_test_batch", "test tool: gain with a native run_batch")

    def _run(self, img: np.ndarray, gain: float = 0.5, log: str = "", **_: Any) -> np.ndarray:
        return self.run_batch([img], gain=gain, log=log)[0]

    def run_batch(self, images: list[np.ndarray], gain: float = 0.5, log: str = "", **_: Any) -> list[np.ndarray]:
        if log:
            with open(log, "a") as f:
                f.write(f"{len(images)}\n")
        return list(np.stack(images) * np.float32(gain))


class SmoothTool(Tool):
    card: ClassVar[ToolCard] = _card("pool_test_smooth", "test tool: repeated box filtering (numpy/scipy)")

    def _run(self, img: np.ndarray, radius: int = 2, passes: int = 4, **_: Any) -> np.ndarray:
        from scipy.ndimage import uniform_filter

        out = img
        for _ in range(int(passes)):
            out = uniform_filter(out, size=(1, 2 * int(radius) + 1, 2 * int(radius) + 1), mode="reflect")
        return out


TEST_TOOLS: tuple[type[Tool], ...] = (GainTool, SleepTool, CrashTool, FlakyTool, BatchTool, SmoothTool, SettingsTool)


def register() -> None:
    """Register the test tools (idempotent)."""
    for cls in TEST_TOOLS:
        TOOLS.add(cls.card.id, cls, replace=True)


def unregister() -> None:
    """Remove the test tools from the registry."""
    for cls in TEST_TOOLS:
        TOOLS.remove(cls.card.id)
