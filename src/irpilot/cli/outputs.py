"""Where commands may write, and how they report what went wrong: the command line's contract.

- Exit codes: 0 every input done, 1 some inputs failed (or an output could not be written),
  2 usage error (a bad option, an output path that cannot be a folder or a file, an existing
  output without ``--overwrite``), 130 interrupted.
- A command writes only to the outputs it is given (a folder, or a file); an existing file is
  never replaced unless ``--overwrite`` is given, and an input file is never replaced at all.
- A tool call that failed, crashed or timed out during a restoration is reported on stderr,
  since the chain then went on without it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import IrpilotError

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "EXIT_INTERRUPTED",
    "UsageError",
    "OutputExistsError",
    "prepare_output_dir",
    "check_output_file",
    "failed_calls",
    "report_failed_calls",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(IrpilotError):
    """The command line cannot work as given (exit status 2)."""


class OutputExistsError(UsageError):
    """An output file exists and ``--overwrite`` was not given."""


def _short(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def prepare_output_dir(path: str | os.PathLike[str], option: str = "-o") -> Path:
    """Create the output folder ``path`` (and its parents); :class:`UsageError` when it cannot be
    a folder (it is a file, or a parent is) or cannot be created."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {out}: is a file, not a folder; give a folder for the outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {out}: cannot create this folder ({_short(exc)})") from exc
    return out


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output_file(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
    option: str = "output",
) -> Path:
    """Check, before any work, that the output file ``path`` may be written: it is not one of
    ``inputs``, not a folder, its folder can exist, and it does not exist unless ``overwrite``.
    Creates the folder.  Raises :class:`UsageError` (or :class:`OutputExistsError`)."""
    out = Path(path)
    for src in inputs:
        if _same(out, Path(src)):
            raise UsageError(f"{option} {out} is an input file; choose another output path")
    if out.is_dir():
        raise UsageError(f"{option} {out}: is a folder; give a file name")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{option} {out} exists; give --overwrite to replace it, or another path")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{option} {out}: {parent} is a file, not a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {out}: cannot create the folder {parent} ({_short(exc)})") from exc
    return out


def failed_calls(traj: Any) -> list[tuple[str, str]]:
    """``(tool id, error)`` of every tool call of a trajectory that failed, crashed or timed out."""
    out = []
    for step in getattr(traj, "steps", []):
        name = step.action.get("name")
        if name != "stop" and not step.ok:
            out.append((str(name), str(step.error or "failed")))
    return out


def report_failed_calls(source: str | os.PathLike[str], traj: Any) -> int:
    """Print one line on stderr per failed call of ``traj`` (the chain went on without it);
    returns how many."""
    failed = failed_calls(traj)
    for name, error in failed:
        print(f"irpilot: {source}: call {name} failed ({error}); the chain went on without it", file=sys.stderr)
    return len(failed)
