"""Policies decide what the agent does next.

Two kinds share one registry (``POLICIES``):

* step policies (:class:`StepPolicy`) look at an :class:`~irpilot.agent.Observation` and return the
  next :class:`Action` (a tool call, or ``stop``); the agent runs the loop.  ``fixed``, ``random``
  and ``learned`` are step policies: each needed tool is called once.
* search policies (:class:`SearchPolicy`) drive the agent's context themselves because they try
  several candidates per step and roll back (``explore``) or search against the clean reference
  (``oracle``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from ..registry import Registry

if TYPE_CHECKING:
    from ..agent import AgentContext, Observation

__all__ = ["Action", "STOP", "Policy", "StepPolicy", "SearchPolicy", "POLICIES", "parse_policy", "make_policy"]


@dataclasses.dataclass(frozen=True)
class Action:
    """One tool call in the canonical shape ``{"name": tool_id, "arguments": {...}}``, or stop."""

    name: str
    arguments: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def is_stop(self) -> bool:
        return self.name == "stop"

    def as_call(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": dict(self.arguments)}


STOP = Action("stop")


class Policy:
    """Base of all policies.  ``name`` is the registry name used by ``--policy``."""

    name: ClassVar[str] = ""
    #: whether the policy needs the clean reference image (benchmark-only policies)
    needs_reference: ClassVar[bool] = False
    #: tool-call budget per image when the agent's config sets none
    default_max_calls: ClassVar[int] = 12

    def __init__(self, **options: Any) -> None:
        self.options = options


class StepPolicy(Policy):
    """Decides one tool call (or stop) at a time; the agent runs it and checks the result.

    Option ``check=R``: the agent rolls a step back when perception's summed degradation
    probabilities rise by more than ``R`` after it (the tool made the image visibly worse, e.g.
    a dehazer darkening a haze-free photo); the policy then decides again without that tool.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.check_rise = parse_check(options.get("check"))

    def reset(self, obs: "Observation") -> None:
        """Called once per image before the first decision."""

    def act(self, obs: "Observation") -> Action:
        raise NotImplementedError


class SearchPolicy(Policy):
    def search(self, ctx: "AgentContext") -> None:
        """Drive ``ctx`` (call tools, accept or roll back steps) until done."""
        raise NotImplementedError


def parse_check(value: Any) -> float | None:
    """The ``check`` option: None / "off" (no check) or the allowed rise, a float >= 0."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off", "none")):
        return None
    from ..errors import ConfigError

    try:
        rise = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"check must be 'off' or a number >= 0, not {value!r}") from None
    if not rise >= 0:
        raise ConfigError(f"check must be 'off' or a number >= 0, not {value!r}")
    return rise


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
    from ..errors import ConfigError

    if not label or not rest:
        raise ConfigError(f"policy {spec!r}: a label is written label=name[:key=value]")
    return label, spec[len(label) + 1 :]


def parse_policy(spec: str) -> tuple[str, dict[str, str]]:
    """``"name:key=value:key=value"`` -> (policy name, options as strings), so a command line
    can pass a policy its options (``learned:finish_agenda=0``, ``explore:accept=first``).
    A leading ``label=`` (:func:`split_label`) is dropped."""
    from ..errors import ConfigError

    name, *pairs = split_label(spec)[1].split(":")
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"policy {spec!r}: options are written name:key=value[:key=value]")
        options[key] = value
    return name, options


def make_policy(spec: str, **options: Any) -> "Policy":
    """The policy a spec names, as the command line writes it (``"learned:decode=tool"``, an
    optional ``label=`` dropped); keyword ``options`` win over the spec's.  An option value the
    policy rejects is a :class:`~irpilot.errors.ConfigError` naming the spec."""
    from ..errors import ConfigError

    name, spec_options = parse_policy(spec)
    cls = POLICIES.get(name)
    try:
        return cls(**{**spec_options, **options})
    except (TypeError, ValueError) as exc:  # a constructor's own check of an option's value
        raise ConfigError(f"policy {spec!r}: {exc}") from exc
