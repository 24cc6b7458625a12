"""The shared model-call pool: every tool call in irpilot (agent inference, expert search, RL
rollouts, benchmarks) goes through one :class:`Pool`.

- ``pool.call(call, image) -> Future[CallResult]`` (a :class:`~irpilot.toolcall.ToolCall`, or
  ``pool.call(tool_id, image, args)``); ``await pool.acall(...)``;
  ``pool.map(calls) -> list[CallResult]``; ``pool.run(tool_id, image, args) -> CallResult``.
- A content-addressed cache keyed by (input pixel hash, tool id, canonical JSON args, tool card
  version): memory LRU with a byte budget, optionally a directory on disk.  Identical calls in
  flight are coalesced.
- Backends: ``local`` (threads; default, no extra dependency), ``process`` (child processes with
  warm models; crashed workers are replaced), ``ray`` (named Ray actors per tool, reachable from
  every job of a cluster; Ray is imported only for this backend).
- Failures never raise from the future: a failed, crashed or timed-out call returns a
  :class:`CallResult` with ``ok=False`` and an ``error`` message.
"""

from __future__ import annotations

from .cache import DiskCache, MemoryCache, ResultCache
from .core import BACKENDS, Pool, default_pool
from .options import add_pool_arguments, pool_from_args
from .result import CallResult, call_key, canonical_args

__all__ = [
    "BACKENDS",
    "CallResult",
    "DiskCache",
    "MemoryCache",
    "Pool",
    "ResultCache",
    "add_pool_arguments",
    "call_key",
    "canonical_args",
    "default_pool",
    "pool_from_args",
]
