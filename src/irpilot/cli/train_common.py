"""Argument helpers shared by the ``irpilot train`` stages (``train.py``, ``train_vlm.py``)."""

from __future__ import annotations

import time

__all__ = ["_progress", "_size"]


def _progress(prefix: str):
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{prefix} {time.perf_counter() - t0:7.1f}s] {msg}", flush=True)

    return say


def _size(s: str) -> tuple[int, int]:
    a, _, b = s.partition(",")
    return int(a), int(b or a)
