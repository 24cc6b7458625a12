"""The learned policy's closed action list: a few fast tools per task, plus ``stop``.

The list is stored with the weights (``meta["actions"]``) so a trained policy describes
itself; tools missing at inference time are masked out rather than breaking the policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ...vocab import STOP, TASKS

__all__ = ["ActionSpace", "DEFAULT_CANDIDATES", "default_action_space"]

#: Fast tools per task that the training search may use, best first.  Chosen from the
#: toolbox measurements on training crops (gain per task and seconds per 512x512 image on
#: 2 CPU cores); slow tools (bm3d class, > ~1 s per 512 image) are left out of training
#: search.  Tools missing from a given install are dropped when the space is built.
#: Two general tools joined the list on 2026-12-04: ``shake_deblur_pnp`` (blind deblurring of
#: any kernel, ~3 s per 160 px crop: the fitted motion tools lose on camera shake) and
#: ``jpeg_ycc_net`` (colour JPEG with a chroma network); ``dehaze_net`` (irpilot's dehazing U-Net,
#: 0.2 s per 512 px) on 2026-12-05, with the default policy fine-tuned to use it; ``sr_net_x4``
#: (irpilot's x4 network) in ``dncnn3_sr_x4``'s place on 2026-12-06, as in the default policy, and
#: ``derain_net`` (irpilot's rain network, 0.14 s per 512 px) in ``prenet_rain100h``'s the same day;
#: ``sr_ensemble_x4`` (``sr_net_x4`` and SRMD averaged, 0.4 s per 512 px) in ``sr_net_x4``'s on
#: 2026-12-07, as in the default policy, and ``derain_cascade`` (``prenet_rain100l``, then ``derain_net``;
#: PReNet's 7 s per 512 px, like the tool it replaces) in ``prenet_rain100l``'s the same day, as in the
#: default policy.
DEFAULT_CANDIDATES: dict[str, tuple[str, ...]] = {
    "super_resolution": ("sr_ensemble_x4", "lanczos_x4"),
    "denoise": ("ffdnet_color", "dncnn_color_blind"),
    "motion_deblur": ("motion_deblur_wiener", "motion_deblur_hqs", "shake_deblur_pnp"),
    "defocus_deblur": ("defocus_deblur_wiener", "defocus_deblur_hqs"),
    "dehaze": ("dark_channel_prior", "color_attenuation_prior", "dehaze_net"),
    "derain": ("derain_cascade", "derain_net"),
    "low_light": ("hsv_value_inverse", "gamma_auto"),
    "dejpeg": ("dncnn3_dejpeg", "jpeg_ycc_net"),
}


@dataclasses.dataclass(frozen=True)
class ActionSpace:
    """Tool ids (each with its task) followed by ``stop`` as the last action.

    >>> sp = ActionSpace(("a", "b"), ("denoise", "dehaze"))
    >>> sp.names, sp.stop_index, sp.index("b")
    (('a', 'b', 'stop'), 2, 1)
    """

    tools: tuple[str, ...]
    tasks: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.tools) != len(self.tasks):
            raise ValueError("ActionSpace: one task per tool")
        if len(set(self.tools)) != len(self.tools):
            raise ValueError(f"ActionSpace: duplicate tool ids in {self.tools}")
        if STOP in self.tools:
            raise ValueError("'stop' is added automatically; do not list it as a tool")

    # -- sizes and lookups -------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return (*self.tools, STOP)

    @property
    def n(self) -> int:
        """Number of actions including stop."""
        return len(self.tools) + 1

    @property
    def stop_index(self) -> int:
        return len(self.tools)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"{name!r} is not in the action list {self.names}") from None

    def task_of(self, name: str) -> str | None:
        if name == STOP:
            return None
        return self.tasks[self.tools.index(name)]

    def tools_for(self, task: str) -> list[str]:
        return [t for t, k in zip(self.tools, self.tasks) if k == task]

    @property
    def task_list(self) -> list[str]:
        """Tasks present in the space, in :data:`TASKS`."""
        present = set(self.tasks)
        return [t for t in TASKS if t in present] + sorted(present - set(TASKS))

    # -- masks -------------------------------------------------------------------------
    def availability(self, available: Iterable[str] | None = None) -> np.ndarray:
        """Boolean mask (n,) of actions that can run (stop is always available)."""
        if available is None:
            from ...tools import TOOLS

            ok = []
            for t in self.tools:
                try:
                    ok.append(t in TOOLS and TOOLS.get(t).available())
                except Exception:  # noqa: BLE001 - a broken tool is just unavailable
                    ok.append(False)
        else:
            avail = set(available)
            ok = [t in avail for t in self.tools]
        return np.array([*ok, True], dtype=bool)

    def done_tasks_mask(self, done_tasks: Iterable[str]) -> np.ndarray:
        """Boolean mask (n,) of tool actions whose task is already done."""
        done = set(done_tasks)
        return np.array([k in done for k in self.tasks] + [False], dtype=bool)

    # -- (de)serialisation -------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {"tools": list(self.tools), "tasks": list(self.tasks)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ActionSpace:
        return cls(tuple(d["tools"]), tuple(d["tasks"]))

    @classmethod
    def from_candidates(cls, candidates: Mapping[str, Sequence[str]]) -> ActionSpace:
        tools: list[str] = []
        tasks: list[str] = []
        for task in TASKS:
            for t in candidates.get(task, ()):
                if t not in tools:
                    tools.append(t)
                    tasks.append(task)
        return cls(tuple(tools), tuple(tasks))


def default_action_space(
    candidates: Mapping[str, Sequence[str]] | None = None, *, only_available: bool = True, per_task: int = 3
) -> ActionSpace:
    """The action space from ``candidates`` (default :data:`DEFAULT_CANDIDATES`), keeping at
    most ``per_task`` registered (and, by default, available) tools per task."""
    from ...tools import TOOLS

    cands = dict(DEFAULT_CANDIDATES if candidates is None else candidates)
    kept: dict[str, list[str]] = {}
    for task, names in cands.items():
        for name in names:
            if name not in TOOLS:
                continue
            cls = TOOLS.get(name)
            if cls.card.task != task:
                continue
            if only_available and not cls.available():
                continue
            kept.setdefault(task, [])
            if len(kept[task]) < per_task:
                kept[task].append(name)
    return ActionSpace.from_candidates(kept)
