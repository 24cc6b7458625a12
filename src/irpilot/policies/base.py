"""Policies decide what the agent does next.

Two kinds share one registry (``POLICIES``):

* step policies (:class:`StepPolicy`) look at an :class:`~irpilot.session.Observation` and return
  the next :class:`~irpilot.toolcall.ToolCall` (or ``stop``); the agent runs the loop.  ``fixed``, ``random``
  and ``learned`` are step policies: each needed tool is called once.
* search policies (:class:`SearchPolicy`) drive a :class:`~irpilot.session.Session` themselves
  because they try several candidates per step and roll back (``explore``) or search against the
  clean reference (``oracle``).

Each policy declares its options as a frozen dataclass, ``Options``
(:mod:`irpilot.policies.options`); ``name:key=value`` specs from a command line are parsed into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import ConfigError
from ..registry import Registry
from ..session import Observation, Session
from ..toolcall import STOP_CALL, ToolCall
from .options import PolicyOptions, StepOptions, parse_options

__all__ = ["ToolCall", "STOP", "Policy", "StepPolicy", "SearchPolicy", "POLICIES", "parse_policy", "make_policy"]

#: The call that ends a restoration.
STOP = STOP_CALL


class Policy:
    """Base of all policies.  ``name`` is the registry name used by ``--policy``; ``Options``
    the dataclass of its options.  ``Policy(options)`` takes the dataclass, ``Policy(**raw)``
    typed values or command-line strings (:func:`~irpilot.policies.options.parse_options`)."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[PolicyOptions]] = PolicyOptions
    #: whether the policy needs the clean reference image (benchmark-only policies)
    needs_reference: ClassVar[bool] = False
    #: tool-call budget per image when the agent's config sets none
    default_max_calls: ClassVar[int] = 12

    def __init__(self, options: PolicyOptions | None = None, /, **raw: Any) -> None:
        if options is None:
            options = parse_options(self.Options, raw)
        elif raw:
            options = parse_options(self.Options, {**_as_raw(options), **raw})
        if not isinstance(options, self.Options):
            raise TypeError(f"policy {self.name!r} takes {self.Options.__name__}, not {type(options).__name__}")
        self.options = options


def _as_raw(options: PolicyOptions) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


class StepPolicy(Policy):
    """Decides one tool call (or stop) at a time; the agent runs it and checks the result
    (see :class:`~irpilot.policies.options.StepOptions` for the ``check`` option)."""

    Options: ClassVar[type[PolicyOptions]] = StepOptions

    #: why the last action was chosen when a rule rather than the policy's model added it (e.g.
    #: noise a brightening step revealed); the agent writes it on the step's ``note``
    last_note: str = ""

    @property
    def check_rise(self) -> float | None:
        """The allowed rise of perception's summed probabilities after a step (None: no check)."""
        return getattr(self.options, "check", None)

    def reset(self, obs: Observation) -> None:
        """Called once per image before the first decision."""

    def act(self, obs: Observation) -> ToolCall:
        raise NotImplementedError


class SearchPolicy(Policy):
    def search(self, ctx: Session) -> None:
        """Drive ``ctx``, the running restoration (call tools, accept or roll back steps), until done."""
        raise NotImplementedError


POLICIES: Registry[type[Policy]] = Registry(
    "policy",
    builtin_modules=("irpilot.policies.builtin",),
    entry_point_group="irpilot.policies",
)


def split_label(spec: str) -> tuple[str, str]:
    """``"label=name:key=value"`` -> (label, ``"name:key=value"``); without a label the spec is
    its own label.  A label names a policy variant in benchmark tables
    (``rl_320=learned:weights=runs/rl/policy.pt``)."""
    head = spec.split(":", 1)[0]
    label, sep, rest = head.partition("=")
    if not sep:
        return spec, spec
    if not label or not rest:
        raise ConfigError(f"policy {spec!r}: a label is written label=name[:key=value]")
    return label, spec[len(label) + 1 :]


def parse_policy(spec: str) -> tuple[str, dict[str, str]]:
    """``"name:key=value:key=value"`` -> (policy name, options as strings), so a command line
    can pass a policy its options (``learned:finish_agenda=0``, ``explore:accept=first``).
    A value may hold colons (``vlm:endpoint=http://127.0.0.1:8000/v1:model=m``).  A leading ``label=`` (:func:`split_label`) is dropped."""
    name, *parts = split_label(spec)[1].split(":")
    pairs: list[str] = []
    for part in parts:  # a part without "=" continues the previous value (a URL's "http://host:port")
        if pairs and "=" not in part:
            pairs[-1] += ":" + part
        else:
            pairs.append(part)
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"policy {spec!r}: options are written name:key=value[:key=value]")
        options[key] = value
    return name, options


def make_policy(spec: str, **options: Any) -> Policy:
    """The policy a spec names, as the command line writes it (``"learned:decode=tool"``, an
    optional ``label=`` dropped); keyword ``options`` win over the spec's.  An option value the
    policy rejects is a :class:`~irpilot.errors.ConfigError` naming the spec."""
    name, spec_options = parse_policy(spec)
    cls = POLICIES.get(name)
    merged: Mapping[str, Any] = {**spec_options, **options}
    try:
        return cls(**merged)
    except (TypeError, ValueError, ConfigError) as exc:  # an unknown option or a value the policy rejects
        raise ConfigError(f"policy {spec!r}: {exc}") from exc
