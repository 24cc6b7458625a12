"""Running calls inside a worker (a thread, a process or a Ray actor).

Tools are instantiated once per worker process through :func:`irpilot.tools.get_tool` and kept
warm.  A batch is a list of images for one tool with the same arguments.  When the tool class
defines ``run_batch(images, **args) -> list[np.ndarray]`` (optional; not part of every tool) the
batch runs in one go; otherwise the pool loops over ``tool(image, **args)``.  If a native batch
raises, the pool falls back to one call per image so that one bad image does not fail the others.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import RegistryError, ToolUnavailableError

__all__ = ["SETUP_DONE", "Outcome", "execute_batch", "import_modules", "has_native_batch", "limit_threads"]

#: (index in batch, ok, image or None, error or None, error kind, seconds).
#: Kinds: "" (ok), "error" (the tool raised), "unavailable" / "unknown" (permanent),
#: "timeout" and "crash" (set by the worker managers).
Outcome = tuple[int, bool, "np.ndarray | None", "str | None", str, float]

#: Sent once the tool is loaded, so that loading a model does not count against a call's timeout.
SETUP_DONE: Outcome = (-1, True, None, None, "setup", 0.0)

_IMPORTED: set[str] = set()


def import_modules(modules: Sequence[str]) -> None:
    """Load the tool registry and import modules that register tools (plugins, test tools) in
    this process; an entry ``"pkg.module:func"`` imports the module and calls ``func()``.  A broken built-in tool module is logged, not fatal: the other tools still run."""
    if "registry" not in _IMPORTED:
        _IMPORTED.add("registry")
        from ..tools import TOOLS

        try:
            TOOLS.names()
        except Exception as exc:  # noqa: BLE001
            logging.getLogger(__name__).warning("some built-in tools failed to load: %s: %s", type(exc).__name__, exc)
    for name in modules:
        if name not in _IMPORTED:
            module_name, _, func = name.partition(":")
            module = importlib.import_module(module_name)
            if func:  # "package.module:function" also calls a registration function
                getattr(module, func)()
            _IMPORTED.add(name)


def limit_threads(n: int | None) -> None:
    """Cap the math-library threads of this worker (torch only once something imported it)."""
    if not n:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setNumThreads(n)


def has_native_batch(tool_cls: type) -> bool:
    return callable(getattr(tool_cls, "run_batch", None))


def _error_text(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, ToolUnavailableError):
        kind = "unavailable"
    elif isinstance(exc, RegistryError):
        kind = "unknown"
    else:
        kind = "error"
    return f"{type(exc).__name__}: {exc}", kind


def _check_output(tool: Any, img: np.ndarray, out: Any) -> np.ndarray:
    from ..errors import ToolError

    out = np.asarray(out, dtype=np.float32)
    s = tool.card.scale
    expected = (3, img.shape[1] * s, img.shape[2] * s)
    if out.shape != expected:
        raise ToolError(f"tool {tool.card.id!r} returned shape {out.shape}, expected {expected}")
    if not np.all(np.isfinite(out)):
        raise ToolError(f"tool {tool.card.id!r} returned non-finite values")
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0))


def execute_batch(
    tool_id: str, images: Sequence[np.ndarray], args: dict[str, Any] | None = None
) -> Iterator[Outcome]:
    """Run one batch: yield :data:`SETUP_DONE` once the tool is loaded, then one
    :data:`Outcome` per image as soon as it is known."""
    from ..tools import get_tool

    args = dict(args or {})
    try:
        tool = get_tool(tool_id)
        tool.ensure_setup()
    except Exception as exc:  # noqa: BLE001 - reported per call
        msg, kind = _error_text(exc)
        for i in range(len(images)):
            yield (i, False, None, msg, kind, 0.0)
        return
    yield SETUP_DONE
    if len(images) > 1 and has_native_batch(type(tool)):
        t0 = time.perf_counter()
        try:
            outs = list(tool.run_batch(list(images), **args))
            if len(outs) != len(images):
                raise ValueError(f"run_batch returned {len(outs)} images for {len(images)} inputs")
            checked = [_check_output(tool, img, out) for img, out in zip(images, outs)]
        except Exception:  # noqa: BLE001 - fall back to one call per image
            pass
        else:
            dt = (time.perf_counter() - t0) / len(images)
            for i, out in enumerate(checked):
                yield (i, True, out, None, "", dt)
            return
    for i, img in enumerate(images):
        t0 = time.perf_counter()
        try:
            out = tool(img, **args)
        except Exception as exc:  # noqa: BLE001 - reported per call
            msg, kind = _error_text(exc)
            yield (i, False, None, msg, kind, time.perf_counter() - t0)
        else:
            yield (i, True, out, None, "", time.perf_counter() - t0)
