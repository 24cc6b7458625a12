"""The agent's listener (what progress bars and the app hear) and the command line's bars."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from tqdm import tqdm

from irpilot.agent import Agent, AgentConfig
from irpilot.pool import Pool
from irpilot.progress import BarStatus


def _dark() -> np.ndarray:
    return (np.random.default_rng(0).uniform(0.2, 0.8, (3, 24, 32)) * 0.5).astype(np.float32)


def test_listener_hears_perception_then_each_call_start_and_end() -> None:
    events: list[tuple[str, Any]] = []
    with Pool(backend="local", workers=1) as pool:
        agent = Agent(pool=pool, perceiver=None, listener=lambda e, s: events.append((e, s and s.action["name"])))
        traj = agent.run(_dark(), "fixed", tasks="low_light,denoise")
    tools = [s.action["name"] for s in traj.steps if s.action["name"] != "stop"]
    assert len(tools) == 2
    assert events == [("perceive", None)] + [ev for t in tools for ev in (("call", t), ("step", t))]


def test_an_exception_from_the_listener_ends_the_run() -> None:
    class Stop(Exception):
        pass

    def listener(event: str, step: Any) -> None:
        if event == "call":
            raise Stop

    with Pool(backend="local", workers=1) as pool, pytest.raises(Stop):
        Agent(pool=pool, perceiver=None, listener=listener).run(_dark(), "fixed", tasks="low_light")


def test_bar_shows_the_image_and_the_running_step() -> None:
    out = io.StringIO()
    bar = tqdm(["a.png", "b.png"], file=out, mininterval=0)
    status = BarStatus(bar)
    with Pool(backend="local", workers=1) as pool:
        agent = Agent(pool=pool, perceiver=None, config=AgentConfig(), listener=status.listener)
        for name in bar:
            status.image(name)
            tool = agent.run(_dark(), "fixed", tasks="low_light").chain[0]["name"]
    text = out.getvalue()
    assert "a.png: perception" in text and "b.png: perception" in text
    assert f"a.png: {tool}" in text and "2/2" in text


def test_a_disabled_bar_stays_silent() -> None:
    out = io.StringIO()
    bar = tqdm(range(2), file=out, disable=True)
    status = BarStatus(bar)
    status.image("a.png")
    status.listener("perceive")
    assert out.getvalue() == "" and status.text == "a.png: perception"
