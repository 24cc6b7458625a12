"""An irpilot policy behind an OpenAI-compatible ``/v1/chat/completions`` endpoint
(``irpilot policy serve``), so that other agent frameworks can call it and the ``vlm`` policy
has a real server to talk to.

A request is read as the ``vlm`` policy writes it (:mod:`irpilot.policies.chat`): the first
image is the input photo, the last the current image, each assistant tool call with its tool
message is an earlier call (accepted or not), and the request's ``tools`` are the functions the
policy may choose from.  A :class:`Responder` turns that into one assistant message with a tool
call in OpenAI's shape.  Two responders exist: :class:`PolicyResponder` (any step policy, by
default ``learned``, deciding on the request's images) and
:class:`irpilot.train.vlm_model.ModelResponder` (a causal VLM loaded with transformers).

The server is a stdlib :class:`~http.server.ThreadingHTTPServer`; requests are answered one at
a time (a lock), because policies keep per-image state.

>>> server, url = start_server(PolicyResponder("learned"))     # doctest: +SKIP
>>> VLMPolicy(endpoint=url, model="learned")                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import numpy as np

from ..errors import IrpilotError
from ..session import Observation, Step
from ..toolcall import ToolCall
from .chat import ReplyError, decode_data_url, openai_tool_call, template_messages

__all__ = ["ChatRequest", "Responder", "PolicyResponder", "read_request", "request_prompt", "completion", "make_server", "start_server"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class ChatRequest:
    """What irpilot reads from one chat request."""

    input_image: np.ndarray
    image: np.ndarray
    accepted: list[ToolCall]  #: earlier calls whose result was kept, in order
    failed: list[str]  #: tools whose call failed or was rolled back
    offered: list[str]  #: functions the request offers (``stop`` included)
    model: str = ""


class Responder(Protocol):
    """Turns a chat request into an assistant message ``{"content": ..., "tool_calls": [...]}``."""

    def __call__(self, request: ChatRequest, raw: Mapping[str, Any]) -> dict[str, Any]: ...


def _images(content: Any) -> list[str]:
    if not isinstance(content, list):
        return []
    return [str((p.get("image_url") or {}).get("url", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "image_url"]


def read_request(body: Mapping[str, Any]) -> ChatRequest:
    """The images, earlier calls and offered functions of an OpenAI chat request body."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ReplyError("the request has no messages")
    urls = [u for m in messages if m.get("role") == "user" for u in _images(m.get("content"))]
    if not urls:
        raise ReplyError("the request holds no image (send it as an image_url content part with a data URL)")
    results: dict[str, dict[str, Any]] = {}
    for m in messages:
        if m.get("role") == "tool":
            try:
                results[str(m.get("tool_call_id"))] = json.loads(m.get("content") or "{}")
            except ValueError:
                results[str(m.get("tool_call_id"))] = {}
    accepted: list[ToolCall] = []
    failed: list[str] = []
    for m in messages:
        for tc in (m.get("tool_calls") or []) if m.get("role") == "assistant" else []:
            fn = tc.get("function") or {}
            call = ToolCall(str(fn.get("name")), _call_arguments(fn.get("arguments")))
            (accepted.append(call) if results.get(str(tc.get("id")), {}).get("accepted") else failed.append(call.name))
    offered = [str((t.get("function") or {}).get("name")) for t in body.get("tools") or []]
    input_image = decode_data_url(urls[0])
    image = decode_data_url(urls[-1]) if len(urls) > 1 else input_image
    return ChatRequest(input_image, image, accepted, failed, offered, str(body.get("model") or ""))


def request_prompt(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """A request's messages as chat-template messages, and their images in order."""
    urls: list[str] = []
    msgs = template_messages(list(body.get("messages") or []), urls)
    return msgs, [decode_data_url(u) for u in urls]


def _call_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's ``arguments``: a JSON string (OpenAI's form) or already a mapping."""
    if isinstance(raw, str):
        return dict(json.loads(raw)) if raw.strip() else {}
    return {str(k): v for k, v in dict(raw or {}).items()}


class PolicyResponder:
    """A step policy (``learned`` by default, any ``name:key=value`` spec) deciding on the
    request's images; perception runs here on the images received."""

    def __init__(self, spec: str = "learned", perceiver: Any = "default") -> None:
        from .base import StepPolicy, make_policy

        self.spec = spec
        policy = make_policy(spec)
        if not isinstance(policy, StepPolicy):
            raise IrpilotError(f"policy {spec!r} is a search policy; only step policies can be served")
        self.policy: StepPolicy = policy
        if perceiver == "default":
            from ..perceive import load_default_perceiver

            perceiver = load_default_perceiver()
        self.perceiver = perceiver
        self._base_available = getattr(self.policy, "available", None)

    def observation(self, req: ChatRequest) -> Observation:
        from ..tools import task_of_tool

        perceive = self.perceiver
        history = [Step(index=i, action=c, task=task_of_tool(c.name), input_hash="", accepted=True)
                   for i, c in enumerate(req.accepted)]
        return Observation(
            image=req.image, input_image=req.input_image, history=history, calls_left=max(1, 12 - len(history)),
            perception=perceive(req.image) if perceive else None,
            input_perception=perceive(req.input_image) if perceive else None,
            rng=np.random.default_rng(0),
        )

    def _restrict(self, req: ChatRequest) -> None:
        """Only the offered functions, minus tools that failed in this restoration."""
        space = getattr(self.policy, "space", None)
        if space is None or self._base_available is None:
            return
        offered = [n for n in req.offered if n != "stop"] if req.offered else list(space.names)
        keep = [n for n in offered if n not in req.failed]
        setattr(self.policy, "available", self._base_available & space.availability(keep))  # noqa: B010 (learned's attribute)

    def __call__(self, req: ChatRequest, raw: Mapping[str, Any]) -> dict[str, Any]:
        obs = self.observation(req)
        self.policy.reset(obs)
        self._restrict(req)
        call = self.policy.act(obs)
        probs = getattr(self.policy, "last_probs", None) or {}
        top = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
        text = ("choices: " + ", ".join(f"{n} {p:.2f}" for n, p in top)) if top else ""
        return {"role": "assistant", "content": text, "tool_calls": [openai_tool_call(call, f"call_{uuid.uuid4().hex[:12]}")]}


def completion(message: Mapping[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` object around an assistant ``message``."""
    calls = message.get("tool_calls") or []
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": message.get("content"), **({"tool_calls": calls} if calls else {})},
            "finish_reason": "tool_calls" if calls else "stop",
        }],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def make_server(responder: Responder | Callable[..., dict[str, Any]], host: str = "127.0.0.1", port: int = 8000,
                model_name: str = "irpilot") -> ThreadingHTTPServer:
    """An HTTP server answering ``POST /v1/chat/completions`` and ``GET /v1/models``."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - through logging, not stderr
            log.info("%s %s", self.address_string(), format % args)

        def _send(self, status: int, obj: Mapping[str, Any]) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
            self._send(status, {"error": {"message": message, "type": kind, "code": status}})

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "irpilot"}]})
            else:
                self._error(404, f"no route {self.path}; POST /v1/chat/completions")

        def do_POST(self) -> None:  # noqa: N802
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._error(404, f"no route {self.path}; POST /v1/chat/completions")
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            except ValueError:
                self._error(400, "the body is not JSON")
                return
            try:
                req = read_request(body)
                with lock:
                    message = responder(req, body)
            except (ReplyError, ValueError, KeyError) as exc:
                self._error(400, str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - a server answers, it does not die
                log.exception("responder failed")
                self._error(500, f"{type(exc).__name__}: {exc}", "server_error")
                return
            self._send(200, completion(message, str(body.get("model") or model_name)))

    return ThreadingHTTPServer((host, port), Handler)


def start_server(responder: Responder | Callable[..., dict[str, Any]], host: str = "127.0.0.1", port: int = 0,
                 model_name: str = "irpilot") -> tuple[ThreadingHTTPServer, str]:
    """:func:`make_server` running in a daemon thread; returns it and its base URL
    (``http://host:port/v1``).  ``port=0`` picks a free port.  Stop it with ``server.shutdown()``."""
    server = make_server(responder, host, port, model_name)
    threading.Thread(target=server.serve_forever, name="irpilot-policy-serve", daemon=True).start()
    h, p = server.server_address[:2]
    return server, f"http://{h}:{p}/v1"


def serve_forever(responder: Responder | Callable[..., dict[str, Any]], host: str, port: int, model_name: str,
                  announce: Callable[[str], None] = print) -> None:
    """Run the server in the foreground until interrupted."""
    server = make_server(responder, host, port, model_name)
    h, p = server.server_address[:2]
    announce(f"serving {model_name} at http://{h}:{p}/v1 (POST /v1/chat/completions); Ctrl-C stops")
    try:
        server.serve_forever()
    finally:
        server.server_close()

