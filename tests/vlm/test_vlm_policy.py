"""The ``vlm`` policy against a real OpenAI-compatible server (``irpilot policy serve`` of the
learned policy), through the real ``openai`` client; replies it cannot use are answered with an
error and asked again."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("openai")
pytest.importorskip("torch")

from irpilot.agent import Agent  # noqa: E402
from irpilot.imaging.convert import on_8bit_grid  # noqa: E402
from irpilot.policies.base import make_policy, parse_policy  # noqa: E402
from irpilot.policies.chat import ReplyError, parse_reply, tool_schemas  # noqa: E402
from irpilot.policies.serve import PolicyResponder, start_server  # noqa: E402
from irpilot.pool import Pool  # noqa: E402


@pytest.fixture(scope="module")
def noisy() -> np.ndarray:
    from irpilot.degrade import degrade
    from irpilot.imaging.photos import bundled_photo

    clean = on_8bit_grid(bundled_photo("astronaut")[:, 40:136, 200:296])
    img, _ = degrade(clean, ["noise"], 3, levels={"noise": "severe"})
    return on_8bit_grid(img)  # what a PNG carries: the served policy sees the same pixels


@pytest.fixture(scope="module")
def pool():
    p = Pool(workers=1)
    yield p
    p.close()


@pytest.fixture(scope="module")
def responder():
    return PolicyResponder("learned")


class Garbage:
    """Wraps a responder; its first ``n`` answers are unusable (prose, then an unknown tool)."""

    def __init__(self, inner, n: int = 1) -> None:
        self.inner, self.n, self.calls = inner, n, 0

    def __call__(self, req, raw):
        self.calls += 1
        if self.calls == 1:
            return {"role": "assistant", "content": "The photo looks noisy; I would denoise it."}
        if self.calls <= self.n:
            return {"role": "assistant", "content": None, "tool_calls": [
                {"id": "x", "type": "function", "function": {"name": "denoise_please", "arguments": "{}"}}]}
        return self.inner(req, raw)


def test_vlm_policy_restores_through_the_served_learned_policy(noisy, pool, responder):
    server, url = start_server(responder, model_name="learned")
    try:
        agent = Agent(pool=pool, perceiver=responder.perceiver)
        traj = agent.run(noisy, f"vlm:endpoint={url}:model=learned:max_side=0")
        direct = agent.run(noisy, "learned")
    finally:
        server.shutdown()
    names = [c["name"] for c in traj.chain]
    assert names, "the served policy called no tool on a severely noisy photo"
    # the same decisions as the learned policy run in process: the request carried the images
    # and the calls faithfully
    assert names == [c["name"] for c in direct.chain]
    assert traj.output is not None and not np.array_equal(traj.output, noisy)
    # the trace holds the model's text and tool calls, and serialises in the tool-call shape
    first = traj.steps[0]
    assert first.reply["tool_calls"][0]["function"]["name"] == names[0]
    assert first.reply["text"].startswith("choices:")
    assert traj.steps[-1].action.is_stop
    d = json.loads(json.dumps(traj.as_dict(), default=str))
    assert d["steps"][0]["reply"]["model"] == "learned"


def test_unusable_replies_are_answered_with_an_error_and_asked_again(noisy, pool, responder):
    garbage = Garbage(responder, n=2)
    server, url = start_server(garbage, model_name="learned")
    try:
        traj = Agent(pool=pool, perceiver=responder.perceiver).run(noisy, f"vlm:endpoint={url}:model=learned:max_side=0:retries=2")
    finally:
        server.shutdown()
    rejected = traj.steps[0].reply["rejected"]
    assert len(rejected) == 2
    assert "not a function call" in rejected[0]["error"]
    assert "no function 'denoise_please'" in rejected[1]["error"]
    assert traj.chain, "after the errors the model's third reply was a usable call"


def test_out_of_retries_the_policy_stops(noisy, pool, responder):
    server, url = start_server(Garbage(responder, n=10**6), model_name="learned")
    try:
        traj = Agent(pool=pool, perceiver=None).run(noisy, f"vlm:endpoint={url}:model=learned:retries=1")
    finally:
        server.shutdown()
    assert [s.action.name for s in traj.steps] == ["stop"]
    assert len(traj.steps[0].reply["rejected"]) == 2 and "stopping" in traj.steps[0].reply["note"]


def test_parse_reply_and_tool_schemas():
    names = {t["function"]["name"] for t in tool_schemas()}
    assert "stop" in names and "dncnn_color_blind" in names
    ok = parse_reply({"tool_calls": [{"function": {"name": "bilateral", "arguments": '{"sigma": 0.1}'}}]}, names)
    assert ok == {"name": "bilateral", "arguments": {"sigma": 0.1}}
    assert parse_reply({"content": '```json\n{"name": "stop"}\n```'}, names).is_stop
    with pytest.raises(ReplyError, match="not valid JSON"):
        parse_reply({"tool_calls": [{"function": {"name": "bilateral", "arguments": "{sigma"}}]}, names)
    with pytest.raises(ReplyError, match="did you mean|Did you mean"):
        parse_reply({"content": '<tool_call>{"name": "bilateraI", "arguments": {}}</tool_call>'}, names)


def test_policy_specs_carry_urls():
    assert parse_policy("vlm:endpoint=http://127.0.0.1:8000/v1:model=m") == ("vlm", {"endpoint": "http://127.0.0.1:8000/v1", "model": "m"})
    pol = make_policy("vlm:endpoint=http://127.0.0.1:9/v1:model=m:max_steps=3")
    assert pol.options.max_steps == 3 and pol.default_max_calls == 3
