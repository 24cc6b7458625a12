"""Helpers shared by the benchmark scripts (imported as ``_common``: the scripts run from this folder)."""

from __future__ import annotations

from pathlib import Path


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of process ``pid`` in MiB, or None where /proc is absent."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None
