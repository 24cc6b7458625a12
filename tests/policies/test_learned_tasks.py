"""``--tasks`` with the learned policy: it undoes exactly the named tasks, as ``fixed`` does."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from irpilot.agent import Agent  # noqa: E402
from irpilot.errors import ConfigError  # noqa: E402
from irpilot.policies.base import make_policy  # noqa: E402
from irpilot.pool.result import CallResult  # noqa: E402
from irpilot.tools import TOOLS  # noqa: E402


class _IdentityPool:
    """Every call succeeds and returns its input (scaled for SR tools)."""

    def run(self, tool, image, args=None, *, image_hash=None):
        tool_id = getattr(tool, "name", tool)
        s = TOOLS.get(tool_id).card.scale
        out = np.repeat(np.repeat(image, s, axis=1), s, axis=2) if s > 1 else image.copy()
        return CallResult(tool_id=tool_id, ok=True, image=out)


def _tasks(traj) -> list[str]:
    return [TOOLS.get(c["name"]).card.task for c in traj.chain]


def test_learned_undoes_exactly_the_named_tasks() -> None:
    clean = np.tile(np.linspace(0.2, 0.8, 96, dtype=np.float32), (3, 96, 1))  # small: perception may ask for x4
    agent = Agent(pool=_IdentityPool())
    for tasks, expected in (("noise", {"denoise"}), ("denoise,jpeg", {"denoise", "dejpeg"})):
        traj = agent.run(clean, make_policy("learned", tasks=tasks))
        assert set(_tasks(traj)) == expected, (tasks, _tasks(traj))


def test_a_named_super_resolution_upscales_a_large_image() -> None:
    img = np.full((3, 320, 320), 0.5, np.float32)  # above the size rule, where x4 is otherwise masked
    traj = Agent(pool=_IdentityPool()).run(img, make_policy("learned", tasks="super_resolution"))
    assert _tasks(traj) == ["super_resolution"]


def test_a_task_the_weights_cannot_do_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="desnow"):
        make_policy("learned", tasks="snow")
