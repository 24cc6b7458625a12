"""Typed policy options.

Every policy declares its options as a frozen dataclass (``Policy.Options``).  Options arrive
typed from Python (``LearnedPolicy(decode="tool")``) or as strings from a command line
(``learned:decode=tool:finish_agenda=0``); :func:`parse_options` turns either into the
dataclass, converting by each field's type or by its ``metadata["parse"]`` function, and
rejects unknown names with a did-you-mean.

>>> parse_options(PolicyOptions, {"tasks": "noise,dejpeg"}).tasks
('noise', 'jpeg')
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import ConfigError
from ..vocab import DEGRADATION_TO_TASK, TASK_TO_DEGRADATION

__all__ = ["PolicyOptions", "StepOptions", "option", "parse_options", "flag", "optional_float", "optional_int", "names", "degradations", "check_rise", "toolbox"]

O = TypeVar("O", bound="PolicyOptions")


# -- converters for command-line strings (each also accepts the typed value) -------------------
def flag(value: Any) -> bool:
    """A boolean given as a bool or as a command-line string (``0``, ``false``, ``no``, ``off``
    and the empty string are false)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def optional_float(value: Any) -> float | None:
    """A number that may be absent (None, ``""`` or ``none`` on a command line)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number or none, got {value!r}") from None


def optional_int(value: Any) -> int | None:
    """A whole number that may be absent; 0 counts as absent."""
    return int(value) if value not in (None, "", "none", 0, "0") else None


def names(value: Any) -> tuple[str, ...]:
    """Names as a list, or one string separated by ``,`` or ``+`` (a benchmark's policy list is
    itself comma-separated); ``none`` is the empty list."""
    if isinstance(value, str):
        if value.strip().lower() == "none":
            return ()
        value = value.replace("+", ",").split(",")
    return tuple(str(x).strip() for x in value if str(x).strip())


def degradations(value: Any) -> tuple[str, ...] | None:
    """Degradations to undo, given by degradation or task names (a list or a comma string); a
    realistic degradation's name stands for the protocol degradation of its task."""
    if not value:
        return None
    raw = [s.strip() for s in value.split(",")] if isinstance(value, str) else list(value)
    out = []
    for n in raw:
        if n in DEGRADATION_TO_TASK:
            out.append(n)
        elif n in TASK_TO_DEGRADATION:
            out.append(TASK_TO_DEGRADATION[n])
        elif _realistic_task(n) in TASK_TO_DEGRADATION:  # real_motion_blur -> motion_blur
            out.append(TASK_TO_DEGRADATION[_realistic_task(n)])
        else:
            raise ValueError(
                f"unknown task or degradation {n!r}; known: {', '.join(sorted(DEGRADATION_TO_TASK))} "
                f"or {', '.join(sorted(TASK_TO_DEGRADATION))}"
            )
    return tuple(out)


def _realistic_task(name: str) -> str:
    """The task of a registered degradation model other than the protocol's (the realistic
    family's ``real_motion_blur``: ``motion_deblur``), else ""."""
    from ..degrade import DEGRADATIONS

    return str(getattr(DEGRADATIONS.get(name), "task", "")) if name in DEGRADATIONS else ""


def check_rise(value: Any) -> float | None:
    """The ``check`` option: None / "off" (no check) or the allowed rise, a float >= 0."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off", "none")):
        return None
    try:
        rise = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"check must be 'off' or a number >= 0, not {value!r}") from None
    if not rise >= 0:
        raise ValueError(f"check must be 'off' or a number >= 0, not {value!r}")
    return rise


def toolbox(value: Any) -> dict[str, list[str]] | None:
    """Task -> tool ids, as a mapping or as ``"denoise=a,b;dehaze=c"``."""
    if value is None or isinstance(value, Mapping):
        return None if value is None else {str(k): list(v) for k, v in value.items()}
    out: dict[str, list[str]] = {}
    for part in str(value).split(";"):
        task, sep, tools = part.partition("=")
        if not sep:
            raise ValueError(f"tools are written task=tool,tool;task=tool, not {value!r}")
        out[task.strip()] = [t.strip() for t in tools.split(",") if t.strip()]
    return out


def option(default: Any, parse: Callable[[Any], Any] | None = None, *, doc: str = "") -> Any:
    """A dataclass field with a default, an optional converter and a description."""
    meta = {"doc": doc} | ({"parse": parse} if parse is not None else {})
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class PolicyOptions:
    """Options every policy accepts (a policy that has no use for one ignores it)."""

    #: degradations to undo (task or degradation names): skips perception for the policies that read it
    tasks: tuple[str, ...] | None = option(None, degradations)
    #: task -> tool ids the policy may use instead of the measured toolbox
    tools: dict[str, list[str]] | None = option(None, toolbox)


@dataclasses.dataclass(frozen=True)
class StepOptions(PolicyOptions):
    """Options of every step policy.

    ``check=R``: the agent rolls a step back when perception's summed degradation probabilities
    rise by more than ``R`` after it (the tool made the image visibly worse, e.g. a dehazer
    darkening a haze-free photo); the policy then decides again without that tool."""

    check: float | None = option(None, check_rise)


_ALIASES = {"degradations": "tasks"}
_SCALARS: dict[Any, Callable[[Any], Any]] = {bool: flag, int: int, float: float, str: str}


def _converter(cls: type, f: dataclasses.Field[Any]) -> Callable[[Any], Any]:
    parse = f.metadata.get("parse")
    if parse is not None:
        return parse
    hint = typing.get_type_hints(cls)[f.name]
    if hint in _SCALARS:
        return _SCALARS[hint]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if len(args) == 1 and args[0] in (float, int):
        return optional_float if args[0] is float else optional_int
    return lambda v: v


def parse_options(cls: type[O], raw: Mapping[str, Any]) -> O:
    """``cls`` (an options dataclass) from ``raw`` (typed values or command-line strings).

    Raises :class:`~irpilot.errors.ConfigError` for an unknown option (naming the close ones)
    or a value the option's converter rejects."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = _ALIASES.get(key, key)
        if name not in fields:
            close = difflib.get_close_matches(key, fields, n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ConfigError(f"unknown option {key!r}{hint} (options: {', '.join(sorted(fields))})")
        if value is None and fields[name].default is None:
            values[name] = None
            continue
        try:
            values[name] = _converter(cls, fields[name])(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{key}: {exc}") from None
    return cls(**values)
