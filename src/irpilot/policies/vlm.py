"""``--policy vlm``: any OpenAI-compatible chat model with image input and function calling as
irpilot's agent (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs, ``irpilot policy serve``).

Each decision sends the input photo and the current image (downscaled to ``max_side``, sizes
stated), the perception summary, the calls so far with their results, and the toolbox as
function tools plus ``stop`` (:mod:`irpilot.policies.chat`).  The reply's tool call is run by
the agent through the pool like any policy's.  A reply without a usable call (no call, broken
JSON, a function that was not offered) is answered with an error message the model can act on
and asked again, at most ``retries`` times; then the policy stops.  Every reply, rejected ones
included, goes into the trace (``Step.reply``).

>>> traj = Agent().run(img, policy="vlm:model=qwen2.5-vl-7b:endpoint=http://127.0.0.1:8000/v1")  # doctest: +SKIP

Needs the ``openai`` package (``pip install irpilot[vlm]``); it is imported on first use.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, ClassVar

from ..errors import ConfigError, IrpilotError
from ..session import Observation
from ..toolcall import ToolCall
from .base import POLICIES, STOP, StepPolicy
from .chat import CallRecord, ReplyError, parse_reply, tool_schemas, turn_messages
from .options import PolicyOptions, StepOptions, option

__all__ = ["VLMOptions", "VLMPolicy", "VLMEndpointError", "ENDPOINT_ENV"]

#: Environment variable read when no endpoint is given (then ``OPENAI_BASE_URL``).
ENDPOINT_ENV = "IRPILOT_VLM_ENDPOINT"


class VLMEndpointError(IrpilotError):
    """The chat endpoint could not be reached or answered with an error."""


def _positive_int(value: Any) -> int:
    n = int(value)
    if n < 0:
        raise ValueError(f"expected a whole number >= 0, got {value!r}")
    return n


@dataclasses.dataclass(frozen=True)
class VLMOptions(StepOptions):
    """Options of :class:`VLMPolicy`."""

    endpoint: str = option("", doc=f"base URL of the API, e.g. http://127.0.0.1:8000/v1 (default: env {ENDPOINT_ENV}, then OPENAI_BASE_URL)")
    model: str = option("", doc="model name the endpoint serves")
    api_key_env: str = option("OPENAI_API_KEY", doc="name of the environment variable holding the API key")
    temperature: float = option(0.0)
    max_steps: int = option(8, _positive_int, doc="tool calls per image before the policy stops")
    timeout: float = option(120.0, doc="seconds per request")
    retries: int = option(2, _positive_int, doc="malformed or unknown replies answered with an error before stopping")
    max_side: int = option(512, _positive_int, doc="longest side of the images sent, in pixels (0: full size)")


@POLICIES.register("vlm")
class VLMPolicy(StepPolicy):
    """A step policy whose decisions come from a chat model behind an OpenAI-compatible API."""

    name = "vlm"
    Options: ClassVar[type[PolicyOptions]] = VLMOptions
    options: VLMOptions

    def __init__(self, options: VLMOptions | None = None, /, **raw: Any) -> None:
        super().__init__(options, **raw)
        o = self.options
        self.endpoint = o.endpoint or os.environ.get(ENDPOINT_ENV) or os.environ.get("OPENAI_BASE_URL") or ""
        if not self.endpoint:
            raise ConfigError(f"vlm: no endpoint; pass endpoint=http://host:port/v1 or set {ENDPOINT_ENV}")
        if not o.model:
            raise ConfigError("vlm: no model; pass model=<name the endpoint serves>")
        # the agent's budget when its config sets none: this instance's max_steps
        self.default_max_calls = max(1, o.max_steps)  # pyright: ignore[reportAttributeAccessIssue]
        self._client: Any = None
        self._tools: list[dict[str, Any]] | None = None
        self._records: list[CallRecord] = []
        self._accepted = 0
        self.last_reply: dict[str, Any] = {}

    # -- connection -----------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError as exc:
                raise ConfigError("the vlm policy needs the openai package: pip install 'irpilot[vlm]'") from exc
            key = os.environ.get(self.options.api_key_env) or "none"  # local servers take any key
            self._client = openai.OpenAI(base_url=self.endpoint, api_key=key, timeout=self.options.timeout, max_retries=1)
        return self._client

    @property
    def tools(self) -> list[dict[str, Any]]:
        if self._tools is None:
            self._tools = tool_schemas(self.options.tools)
        return self._tools

    # -- decisions --------------------------------------------------------------------------
    def reset(self, obs: Observation) -> None:
        self._records, self._accepted, self.last_reply = [], 0, {}

    def _sync(self, obs: Observation) -> None:
        """Mark the previous call accepted, failed or rolled back from the agent's history."""
        if self._records and self._records[-1].error is None and not self._records[-1].accepted:
            rec = self._records[-1]
            accepted = len(obs.history) > self._accepted and obs.history[-1].action.name == rec.call.name
            rec.accepted = accepted
            if not accepted:
                rec.error = "the tool failed or its result was rolled back"
        self._accepted = len(obs.history)

    def act(self, obs: Observation) -> ToolCall:
        self._sync(obs)
        if len(self._records) >= self.options.max_steps:
            self.last_reply = {"note": f"max_steps={self.options.max_steps} reached"}
            return STOP
        messages = turn_messages(
            obs.input_image, obs.image, self._records,
            input_perception=obs.input_perception, perception=obs.perception,
            calls_left=min(obs.calls_left, self.options.max_steps - len(self._records)),
            max_side=self.options.max_side or None,
        )
        allowed = {t["function"]["name"] for t in self.tools}
        attempts: list[dict[str, Any]] = []
        for _ in range(self.options.retries + 1):
            t0 = time.perf_counter()
            message = self._complete(messages)
            reply = {"text": message.get("content") or "", "tool_calls": message.get("tool_calls") or [],
                     "seconds": round(time.perf_counter() - t0, 3)}
            try:
                call = parse_reply(message, allowed)
            except ReplyError as exc:
                reply["error"] = str(exc)
                attempts.append(reply)
                messages = [*messages, _assistant_echo(message), {"role": "user", "content": f"Error: {exc}"}]
                continue
            self.last_reply = {**reply, "model": self.options.model, "rejected": attempts}
            if call.is_stop:
                return STOP
            self._records.append(CallRecord(call, _call_id(message, len(self._records)), accepted=False))
            return call
        self.last_reply = {"model": self.options.model, "rejected": attempts,
                           "note": f"no usable tool call after {len(attempts)} replies; stopping"}
        return STOP

    def _complete(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        import openai

        try:
            resp = self.client.chat.completions.create(
                model=self.options.model, messages=messages, tools=self.tools,
                temperature=self.options.temperature,
            )
        except openai.OpenAIError as exc:
            raise VLMEndpointError(f"vlm: the endpoint {self.endpoint} failed: {exc}") from exc
        if not resp.choices:
            return {"content": ""}
        msg = resp.choices[0].message
        return msg.model_dump(exclude_none=True) if hasattr(msg, "model_dump") else dict(msg)


def _call_id(message: dict[str, Any], n: int) -> str:
    calls = message.get("tool_calls") or []
    return str(calls[0].get("id") or f"call_{n}") if calls else f"call_{n}"


def _assistant_echo(message: dict[str, Any]) -> dict[str, Any]:
    """A rejected reply as it goes back into the conversation (text only: a rejected tool call
    has no tool result to pair it with)."""
    text = message.get("content") or ""
    if not text and message.get("tool_calls"):
        fn = message["tool_calls"][0].get("function") or {}
        text = f"{fn.get('name')}({fn.get('arguments')})"
    return {"role": "assistant", "content": text or "(empty reply)"}
