"""A toy restoration problem for the VLM tests: a crop is either darkened (x0.5; the fix is
``vlmfake_gain2``) or washed out (0.5 + x/2; the fix is ``vlmfake_unwash``); two wrong tools
and ``stop`` complete the offered calls.  The tools are registered only while a test uses them."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest

from irpilot.tools.base import TOOLS, Tool, ToolCard

TOY_TOOLS = {"low_light": ["vlmfake_gain2", "vlmfake_gain15"], "dehaze": ["vlmfake_unwash", "vlmfake_shift"]}


def _card(name: str, task: str, text: str) -> ToolCard:
    return ToolCard(id=name, task=task, description=text, tiling=False, cpu_seconds_512=0.001)


class Gain2(Tool):
    card: ClassVar[ToolCard] = _card("vlmfake_gain2", "low_light", "Brighten: multiply by 2.")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return np.clip(img * 2.0, 0, 1)


class Gain15(Tool):
    card: ClassVar[ToolCard] = _card("vlmfake_gain15", "low_light", "Brighten: multiply by 1.5.")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return np.clip(img * 1.5, 0, 1)


class Unwash(Tool):
    card: ClassVar[ToolCard] = _card("vlmfake_unwash", "dehaze", "Remove a veil: (x - 0.5) * 2.")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return np.clip((img - 0.5) * 2.0, 0, 1)


class Shift(Tool):
    card: ClassVar[ToolCard] = _card("vlmfake_shift", "dehaze", "Remove a veil: x - 0.2.")

    def _run(self, img: np.ndarray, **_: Any) -> np.ndarray:
        return np.clip(img - 0.2, 0, 1)


def toy_clean(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    base = rng.uniform(0.2, 0.9, (3, size // 4, size // 4)).astype(np.float32)
    return np.round(np.kron(base, np.ones((1, 4, 4), np.float32)) * 255) / 255


def toy_degrade(clean: np.ndarray, kind: str) -> np.ndarray:
    out = clean * 0.5 if kind == "dark" else 0.5 + clean * 0.5
    return (np.round(out * 255) / 255).astype(np.float32)


@pytest.fixture(scope="session")
def toy_tools():
    with TOOLS.temporarily({cls.card.id: cls for cls in (Gain2, Gain15, Unwash, Shift)}):
        yield TOY_TOOLS


def toy_expert(out, n: int, pool) -> Any:
    """``n`` expert cases of the toy problem, searched by irpilot's expert search."""
    import irpilot.train.data as data_mod
    from irpilot.train.data import Case
    from irpilot.train.expert import run_expert

    def fake_case(rng, photos, size, case_id, **_):
        clean = toy_clean(rng)
        kind = "dark" if rng.random() < 0.5 else "haze"
        return Case(case_id, "toy", (0, 0, 32, 32), [kind], [None], 0, clean, toy_degrade(clean, kind), [])

    orig = data_mod.make_case
    data_mod.make_case = fake_case
    try:
        return run_expert(out, n, pool=pool, candidates=TOY_TOOLS, photos=[("toy", toy_clean(np.random.default_rng(0), 64))],
                          beam=None)
    finally:
        data_mod.make_case = orig
