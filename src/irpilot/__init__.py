"""irpilot: agentic image restoration.

Data flow: ``degrade`` (make degraded photos) -> ``tools`` (restore one step) ->
``quality`` (score) -> ``perceive`` (what is wrong) -> ``policies`` + ``agent``
(what to do next) -> ``pool`` (run tool calls) -> ``train`` -> ``bench`` -> ``cli`` / ``app``.

>>> import irpilot
>>> img = irpilot.read_image("photo.jpg")                # doctest: +SKIP
>>> traj = irpilot.restore(img)                          # doctest: +SKIP
>>> irpilot.write_image("restored.png", traj.output)     # doctest: +SKIP
>>> irpilot.configure(precision="bfloat16")              # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import configure
from .io import read_image, write_image

if TYPE_CHECKING:
    import numpy as np

    from .agent import Trajectory

__version__ = "0.1.0"
__all__ = ["__version__", "configure", "read_image", "write_image", "restore"]


def restore(image: np.ndarray, policy: str | None = None, *, pool: Any = None, **options: Any) -> Trajectory:
    """Restore one image (float32 (3, H, W) in [0, 1]) with the agent; returns the
    :class:`~irpilot.agent.Trajectory` (``.output`` is the restored image)."""
    from .agent import Agent
    from .policies.common import default_policy_name

    return Agent(pool=pool).run(image, policy or default_policy_name(), **options)
