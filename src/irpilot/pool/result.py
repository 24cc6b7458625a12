"""What comes out of the pool (:class:`CallResult`) and the cache keys of calls (what goes in is a
:class:`~irpilot.toolcall.ToolCall` and an image)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ToolError

__all__ = ["CallResult", "canonical_args", "call_key"]


@dataclasses.dataclass
class CallResult:
    """The outcome of one pool call.  ``ok`` is False when the tool failed, timed out, or its
    worker crashed; ``error`` then says which (e.g. ``"timeout after 30 s"``)."""

    tool_id: str
    ok: bool
    image: np.ndarray | None = None  # float32 (3, H, W) in [0, 1] when ok
    error: str | None = None
    cached: bool = False  # served from the cache (or by waiting for an identical call in flight)
    seconds: float = 0.0  # execution time in the worker (0 for cache hits)
    queue_seconds: float = 0.0  # time between submission and the start of execution
    key: str = ""  # content address of the call (input pixels, tool, args, tool version)
    attempts: int = 0  # executions tried for this call (retries included; 0 for cache hits)

    def unwrap(self) -> np.ndarray:
        """The output image, or :class:`~irpilot.errors.ToolError` carrying the error message."""
        if not self.ok or self.image is None:
            raise ToolError(f"{self.tool_id}: {self.error or 'no image'}")
        return self.image


def canonical_args(args: Mapping[str, Any] | None) -> str:
    """Canonical JSON of tool arguments (sorted keys, no spaces; numpy scalars become numbers).
    ``None`` and ``{}`` are the same call."""

    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (set, frozenset)):
            return sorted(o)
        raise TypeError(f"tool arguments must be JSON-serialisable; got {type(o).__name__}")

    return json.dumps(dict(args or {}), sort_keys=True, separators=(",", ":"), default=default)


def call_key(image_hash: str, tool_id: str, args_json: str, version: str) -> str:
    """Content address of a call: sha256 over (input pixel hash, tool id, canonical args, card version)."""
    h = hashlib.sha256()
    for part in (image_hash, tool_id, args_json, str(version)):
        h.update(part.encode())
        h.update(b"\x00")
    return h.hexdigest()[:40]
