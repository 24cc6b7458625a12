"""The records of a restoration (:mod:`irpilot.session`) and the one tool-call value
(:mod:`irpilot.toolcall`) that policies, the pool and traces share."""

from __future__ import annotations

import json

from irpilot.session import Step, Trajectory
from irpilot.toolcall import STOP_CALL, ToolCall


def test_a_tool_call_reads_and_compares_like_its_json():
    call = ToolCall("hsv_value_inverse", {"check": False})
    wire = {"name": "hsv_value_inverse", "arguments": {"check": False}}
    assert call == wire and wire == call and dict(call) == wire
    assert call["name"] == "hsv_value_inverse" and call.get("arguments") == {"check": False}
    assert ToolCall.coerce(wire) == call and ToolCall.coerce("stop").is_stop and STOP_CALL.is_stop
    assert call != ToolCall("hsv_value_inverse")


def test_a_trace_round_trips_and_keeps_the_wire_shape(tmp_path):
    traj = Trajectory(policy="fixed", source="x.png", input_hash="h0", input_shape=(3, 4, 4))
    traj.steps = [
        Step(0, ToolCall("denoise_tool", {"sigma": 5}), "denoise", "h0", "h1", accepted=True),
        Step(1, STOP_CALL, None, "h1", accepted=True),
    ]
    traj.chain = [traj.steps[0].action]
    path = traj.save(tmp_path / "t.json")
    raw = json.loads(path.read_text())
    assert raw["chain"] == [{"name": "denoise_tool", "arguments": {"sigma": 5}}]
    assert raw["steps"][0]["action"] == {"name": "denoise_tool", "arguments": {"sigma": 5}}
    assert raw["messages"][1]["tool_calls"][0]["function"]["name"] == "denoise_tool"
    loaded = Trajectory.load(path)
    assert loaded.chain == traj.chain and isinstance(loaded.chain[0], ToolCall)
    assert isinstance(loaded.steps[0].action, ToolCall) and loaded.tool_calls == 1
