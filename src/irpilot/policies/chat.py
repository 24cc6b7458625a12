"""The chat format in which a language model plays irpilot's agent.

One module for both ends of the wire, so they cannot drift apart: the ``vlm`` policy builds
requests with it, ``irpilot policy serve`` reads them, ``irpilot train export`` writes
training records in the same shape and the VLM trainers render the same turns.

* :func:`tool_schemas` - the toolbox as OpenAI function tools (name, task, cost, a one-line
  summary of the tool card, its argument schema), plus ``stop``;
* :func:`image_data_url` / :func:`decode_data_url` - images as base64 PNG data URLs, downscaled
  to a stated size;
* :func:`turn_messages` - one decision as an OpenAI message list: the task, the input image,
  the calls so far with their results, the current image and its perception summary;
* :func:`parse_reply` - an assistant message (OpenAI ``tool_calls``, or a hermes
  ``<tool_call>{...}</tool_call>`` / bare JSON in the text) as a :class:`ToolCall`, or a
  :class:`ReplyError` whose message tells the model what to send instead.

>>> call = parse_reply({"content": '<tool_call>{"name": "stop", "arguments": {}}</tool_call>'}, {"stop"})
>>> call.is_stop
True
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import IrpilotError
from ..toolcall import ToolCall
from ..vocab import STOP, TASKS

__all__ = [
    "SYSTEM_PROMPT",
    "CallRecord",
    "ReplyError",
    "tool_schemas",
    "toolbox_names",
    "image_data_url",
    "decode_data_url",
    "perception_summary",
    "turn_messages",
    "template_messages",
    "parse_reply",
    "hermes_call",
    "openai_tool_call",
]

SYSTEM_PROMPT = (
    "You restore a degraded photo with restoration tools, one function call per turn. Undo each degradation "
    "you see once, usually in the reverse of the order it arose in; when nothing is left to fix, call stop."
)

_STOP_SCHEMA = {
    "type": "function",
    "function": {
        "name": STOP,
        "description": "End the restoration: the current image is the result.",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    },
}


class ReplyError(IrpilotError):
    """A model's reply is not a usable tool call; the message is written for the model."""


@dataclasses.dataclass
class CallRecord:
    """One call the model made in this restoration and what came of it."""

    call: ToolCall
    call_id: str
    accepted: bool
    error: str | None = None

    def result(self) -> dict[str, Any]:
        """What the tool message reports back to the model."""
        if self.accepted:
            return {"ok": True, "accepted": True}
        return {"ok": self.error is None, "accepted": False, "error": self.error or "the result was rolled back"}


def toolbox_names(toolbox: Mapping[str, Sequence[str]] | None = None) -> dict[str, list[str]]:
    """Task -> the tools a model may call (the measured toolbox of
    :mod:`irpilot.policies.common` unless ``toolbox`` restricts it), tasks in irpilot's order."""
    from .common import available_tools

    out = {}
    for task in TASKS:
        tools = available_tools(task, toolbox)
        if tools:
            out[task] = tools
    return out


def _summary(text: str, limit: int = 110) -> str:
    first = text.strip().split(". ")[0].split("\n")[0].strip().rstrip(".")
    return first if len(first) <= limit else first[: limit - 3].rstrip() + "..."


def tool_schemas(toolbox: Mapping[str, Sequence[str]] | None = None) -> list[dict[str, Any]]:
    """The toolbox as OpenAI function tools, then ``stop``.  Each description names the task,
    the measured cost (seconds per 512 x 512 image on a CPU) and a one-line summary of the card."""
    from ..tools import TOOLS, measured_speeds

    speeds = measured_speeds().get("seconds_512", {})
    out = []
    for task, tools in toolbox_names(toolbox).items():
        for name in tools:
            card = TOOLS.get(name).card
            cost = speeds.get(name, card.cpu_seconds_512)
            cost_text = f"; about {float(cost):.2g} s per 512x512 image on a CPU" if cost is not None else ""
            props = {k: dict(v) for k, v in card.arguments.items()}
            out.append({
                "type": "function",
                "function": {
                    "name": name,
                    "description": f"[{task}{', x' + str(card.scale) if card.scale > 1 else ''}] {_summary(card.description)}{cost_text}.",
                    "parameters": {"type": "object", "properties": props, "additionalProperties": False},
                },
            })
    out.append(_STOP_SCHEMA)
    return out


# -- images ---------------------------------------------------------------------------------
def image_data_url(img: np.ndarray, max_side: int | None = 512) -> tuple[str, tuple[int, int]]:
    """``img`` (float32 (3, H, W)) as a PNG data URL, downscaled (bicubic) so its longest side is
    at most ``max_side`` (None or 0: full size).  Returns the URL and the (H, W) sent."""
    from ..imaging.resize import imresize
    from ..io import encode_image

    h, w = img.shape[-2:]
    if max_side and max(h, w) > max_side:
        k = max_side / max(h, w)
        shape = (max(1, round(h * k)), max(1, round(w * k)))
        img = np.clip(imresize(img, output_shape=shape), 0.0, 1.0).astype(np.float32)
    data = base64.b64encode(encode_image(img, ".png")).decode("ascii")
    return f"data:image/png;base64,{data}", (int(img.shape[-2]), int(img.shape[-1]))


def decode_data_url(url: str) -> np.ndarray:
    """The image of a ``data:image/...;base64,`` URL as float32 RGB (3, H, W) in [0, 1]."""
    from PIL import Image

    from ..imaging.convert import from_uint8

    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:image/") or ";base64" not in head:
        raise ReplyError("images must be sent as base64 data URLs (data:image/png;base64,...)")
    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
        arr = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(from_uint8(arr).astype(np.float32))


def perception_summary(perception: Any, threshold: float = 0.2) -> str:
    """One line: the degradations perception rates at least ``threshold`` likely, most likely first."""
    if perception is None:
        return "no perception model loaded"
    probs = perception.probs if hasattr(perception, "probs") else dict(perception)
    items = sorted(((n, float(p)) for n, p in probs.items() if float(p) >= threshold), key=lambda kv: -kv[1])
    return ", ".join(f"{n} {p:.2f}" for n, p in items) or "nothing likely"


def _image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def openai_tool_call(call: ToolCall, call_id: str) -> dict[str, Any]:
    """``call`` as an entry of an OpenAI assistant message's ``tool_calls`` (arguments as a JSON string)."""
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))}}


def turn_messages(
    input_image: np.ndarray,
    image: np.ndarray,
    calls: Sequence[CallRecord],
    *,
    input_perception: Any = None,
    perception: Any = None,
    calls_left: int | None = None,
    max_side: int | None = 512,
) -> list[dict[str, Any]]:
    """The OpenAI messages of one decision: the system prompt, the input photo, each earlier
    call with its result, and the current image with its perception summary.  The input is
    sent once; the current image again only when some call changed it."""
    url_in, size_in = image_data_url(input_image, max_side)
    h, w = input_image.shape[-2:]
    intro = (f"The photo to restore is {w}x{h} pixels (shown at {size_in[1]}x{size_in[0]}). "
             f"Perception of the photo: {perception_summary(input_perception)}.")
    msgs: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": [{"type": "text", "text": intro}, _image_part(url_in)]},
    ]
    for rec in calls:
        msgs.append({"role": "assistant", "content": None, "tool_calls": [openai_tool_call(rec.call, rec.call_id)]})
        msgs.append({"role": "tool", "tool_call_id": rec.call_id, "content": json.dumps(rec.result())})
    h, w = image.shape[-2:]
    left = f" {calls_left} calls left." if calls_left is not None else ""
    done = [r.call.name for r in calls if r.accepted]
    status = f"Accepted so far: {', '.join(done) if done else 'nothing'}.{left}"
    if any(r.accepted for r in calls):
        url, size = image_data_url(image, max_side)
        text = (f"The current image is {w}x{h} pixels (shown at {size[1]}x{size[0]}). "
                f"Perception of the current image: {perception_summary(perception)}. {status} Call the next tool, or stop.")
        msgs.append({"role": "user", "content": [{"type": "text", "text": text}, _image_part(url)]})
    else:
        msgs.append({"role": "user", "content": [{"type": "text", "text": f"{status} Call the first tool, or stop."}]})
    return msgs


def _arguments(args: Any) -> dict[str, Any]:
    if isinstance(args, str):
        return json.loads(args) if args.strip() else {}
    return dict(args or {})


def template_messages(messages: list[dict[str, Any]], urls: list[str]) -> list[dict[str, Any]]:
    """OpenAI messages -> chat-template messages (Qwen2.5-VL style): ``image_url`` parts become
    ``{"type": "image"}`` (their URLs appended to ``urls`` in order), tool-call arguments become
    dicts, string content a text part."""
    out = []
    for m in messages:
        m = dict(m)
        if isinstance(m.get("content"), list):
            parts = []
            for p in m["content"]:
                if p.get("type") == "image_url":
                    urls.append(p["image_url"]["url"])
                    parts.append({"type": "image"})
                else:
                    parts.append(p)
            m["content"] = parts
        elif isinstance(m.get("content"), str):
            m["content"] = [{"type": "text", "text": m["content"]}]
        elif m.get("content") is None:
            m["content"] = []
        if m.get("tool_calls"):
            m["tool_calls"] = [{"type": "function", "function": {"name": tc["function"]["name"],
                                "arguments": _arguments(tc["function"].get("arguments"))}} for tc in m["tool_calls"]]
        out.append(m)
    return out


# -- replies ------------------------------------------------------------------------------
_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


def hermes_call(call: ToolCall | Mapping[str, Any]) -> str:
    """``call`` as Qwen2.5's hermes-style text, ``<tool_call>\\n{...}\\n</tool_call>``."""
    c = ToolCall.coerce(call)
    return "<tool_call>\n" + json.dumps({"name": c.name, "arguments": dict(c.arguments)}) + "\n</tool_call>"


def _from_text(text: str) -> tuple[str, Any]:
    m = _HERMES.search(text)
    blob = m.group(1) if m else text.strip()
    if blob.startswith("```"):
        blob = blob.strip("`").removeprefix("json").strip()
    try:
        obj = json.loads(blob)
    except ValueError:
        raise ReplyError(
            "your reply is not a function call. Call exactly one of the offered functions "
            "(or send <tool_call>{\"name\": ..., \"arguments\": {}}</tool_call>)."
        ) from None
    if not isinstance(obj, dict) or "name" not in obj:
        raise ReplyError('a function call is a JSON object {"name": <function>, "arguments": {...}}.')
    return str(obj["name"]), obj.get("arguments") or {}


def parse_reply(message: Mapping[str, Any], allowed: Iterable[str]) -> ToolCall:
    """The tool call of an assistant ``message`` (a dict in OpenAI's shape); only the first call
    counts.  Raises :class:`ReplyError` (its text written for the model) for a reply without a
    call, with unparsable arguments or naming a function that was not offered."""
    allowed = set(allowed)
    calls = message.get("tool_calls") or []
    if calls:
        fn = calls[0].get("function") or {}
        name, args = str(fn.get("name") or ""), fn.get("arguments") or {}
    else:
        name, args = _from_text(str(message.get("content") or ""))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            raise ReplyError(f"the arguments of {name!r} are not valid JSON; send a JSON object, e.g. {{}}.") from None
    if not isinstance(args, dict):
        raise ReplyError(f"the arguments of {name!r} must be a JSON object, e.g. {{}}.")
    if name not in allowed:
        import difflib

        close = difflib.get_close_matches(name, sorted(allowed), n=2)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ReplyError(f"there is no function {name!r}.{hint} Call one of the offered functions, or stop.")
    return ToolCall(name, args)
