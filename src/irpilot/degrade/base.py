"""The degradation interface: sampling kept apart from application, and replayable records.

A degradation is a class with metadata (``name``, ``task``), a ``sample`` method that draws
every random value from a seeded :class:`numpy.random.Generator` into a plain JSON-safe
``params`` dict, and a pure ``apply(img, params)``.  Whatever randomness ``apply`` itself
needs (noise fields, rain seeds) comes from a seed stored *in* ``params``, so a record
``(name, params)`` replays the image bit for bit and doubles as a perception label
(``params["level"]`` and ``params["severity"]``).

Every application returns an image on the 8-bit grid (float32 (3, H, W) values k/255),
the way the benchmark protocol stores each stage.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from ..imaging.convert import as_image, from_uint8, to_uint8
from ..registry import Registry
from ..vocab import DEGRADATION_TO_TASK

__all__ = [
    "LEVELS",
    "Degradation",
    "DegradationRecord",
    "DEGRADATIONS",
    "get_degradation",
    "kind_of",
    "level_of",
    "severity_from_ranges",
]

#: Severity levels, mildest first.  ``level=None`` samples the benchmark protocol's ranges.
LEVELS: tuple[str, ...] = ("mild", "moderate", "severe", "extreme")

DEGRADATIONS: Registry[type[Degradation]] = Registry(
    "degradation",
    builtin_modules=(
        "irpilot.degrade.classical",
        "irpilot.degrade.weather",
        "irpilot.degrade.real_optics",
        "irpilot.degrade.real_camera",
        "irpilot.degrade.real_scene",
    ),
    entry_point_group="irpilot.degradations",
)


def severity_from_ranges(value: float, ranges: Sequence[tuple[float, float]]) -> float:
    """Map a sampled value to a severity in [0, 1] using the four level ranges (mildest
    first; increasing or decreasing).  Each level's range lands in its own quarter:
    the boundaries are the midpoints between consecutive ranges."""
    if len(ranges) != len(LEVELS):
        raise ValueError(f"need {len(LEVELS)} level ranges, got {len(ranges)}")
    increasing = ranges[-1][0] > ranges[0][0]
    rs = [(min(a, b), max(a, b)) for a, b in ranges]
    if increasing:
        xs = [rs[0][0]] + [(rs[i][1] + rs[i + 1][0]) / 2 for i in range(3)] + [rs[3][1]]
    else:  # e.g. JPEG quality: smaller is worse
        xs = [rs[0][1]] + [(rs[i][0] + rs[i + 1][1]) / 2 for i in range(3)] + [rs[3][0]]
        xs = [-x for x in xs]
        value = -value
    return float(np.clip(np.interp(value, xs, [0.0, 0.25, 0.5, 0.75, 1.0]), 0.0, 1.0))


def level_of(severity: float) -> str:
    """The level whose quarter of [0, 1] holds ``severity``."""
    return LEVELS[min(int(severity * 4.0), 3)] if severity < 1.0 else LEVELS[-1]


class Degradation:
    """Base class.  Subclasses set ``name``/``task``/``description`` and implement
    :meth:`sample` and :meth:`_apply_u8` (uint8 HWC in, uint8 HWC out).

    >>> from irpilot.degrade import get_degradation
    >>> deg = get_degradation("noise")
    >>> params = deg.sample(np.random.default_rng(0))
    >>> out = deg.apply(np.full((3, 8, 8), 0.5, np.float32), params)
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: What perception should call it: one of the protocol's names (``motion_blur`` ...).
    #: Empty means the name itself; the realistic family (``real_*``) sets it.
    kind: ClassVar[str] = ""
    #: ``protocol`` (the benchmark's recipes) or ``realistic`` (camera-like models).
    family: ClassVar[str] = "protocol"
    #: Whether the output may have a different size from the input.
    changes_size: ClassVar[bool] = False

    def sample(self, rng: np.random.Generator, level: str | None = None) -> dict[str, Any]:
        """Draw every random value; ``level`` in :data:`LEVELS` or ``None`` (protocol ranges)."""
        raise NotImplementedError

    def apply(self, img: Any, params: Mapping[str, Any]) -> np.ndarray:
        """Apply with the given params: pure and deterministic; returns float32 (3, H, W) on
        the 8-bit grid."""
        return from_uint8(self._apply_u8(to_uint8(as_image(img)), params))

    def _apply_u8(self, arr: np.ndarray, params: Mapping[str, Any]) -> np.ndarray:
        raise NotImplementedError

    # helpers for subclasses
    @staticmethod
    def _check_level(level: str | None) -> None:
        if level is not None and level not in LEVELS:
            raise ValueError(f"unknown severity level {level!r}; use one of {', '.join(LEVELS)} or None")

    @staticmethod
    def _seed(rng: np.random.Generator) -> int:
        """A seed for the randomness ``apply`` needs, stored in params (JSON-safe int)."""
        return int(rng.integers(0, 2**31 - 1))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, task={self.task!r})"


_INSTANCES: dict[str, Degradation] = {}


def kind_of(name: str) -> str:
    """The degradation kind a registered name stands for (the label perception is scored
    on): ``kind_of("real_motion_blur") == "motion_blur"``; a protocol name is its own kind."""
    cls = DEGRADATIONS.get(name)
    return cls.kind or cls.name


def get_degradation(name: str) -> Degradation:
    """The (stateless, cached) instance of a registered degradation; did-you-mean on typos."""
    cls = DEGRADATIONS.get(name)
    inst = _INSTANCES.get(name)
    if inst is None or type(inst) is not cls:
        inst = _INSTANCES[name] = cls()
    return inst


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    return obj


@dataclasses.dataclass(frozen=True)
class DegradationRecord:
    """One applied degradation: ``name``, every sampled value in ``params`` (including
    ``level``/``severity``, the perception label), and the ``seed`` the params were sampled
    from.  ``get_degradation(name).apply(img, params)`` replays it exactly."""

    name: str
    params: dict[str, Any]
    seed: int

    @property
    def task(self) -> str:
        return DEGRADATION_TO_TASK.get(self.name, getattr(DEGRADATIONS.get(self.name), "task", ""))

    @property
    def kind(self) -> str:
        """The protocol name this degradation stands for (see :func:`kind_of`)."""
        return kind_of(self.name)

    @property
    def level(self) -> str | None:
        return self.params.get("level")

    @property
    def severity(self) -> float | None:
        return self.params.get("severity")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": _json_safe(self.params), "seed": int(self.seed)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DegradationRecord:
        try:
            return cls(name=str(d["name"]), params=dict(d["params"]), seed=int(d["seed"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a degradation record (needs name, params, seed): {d!r}") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def apply(self, img: Any) -> np.ndarray:
        return get_degradation(self.name).apply(img, self.params)
