"""The records and the narrow interface of one restoration, shared by the agent and the policies.

* :class:`Step` - one tool call (or the final stop) and what came of it;
* :class:`Trajectory` - the full record of one restoration; it serialises to JSON in the
  tool-call shape used for training (``{"name": tool_id, "arguments": {...}}`` per call);
* :class:`Observation` - what a step policy sees before each decision;
* :class:`Session` - what a search policy may do with a running restoration: call a tool,
  accept a step, roll back, perceive an image.  :class:`irpilot.agent.AgentContext` implements it.

Images travel with their content hash (:func:`irpilot.io.image_hash`), computed once when an
image enters the session, so that caches (perception, metrics, the pool's results) never hash
the same pixels twice.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .io import atomic_write_bytes
from .toolcall import ToolCall

if TYPE_CHECKING:  # pragma: no cover
    from .perceive import Perception

__all__ = ["Step", "Trajectory", "Observation", "Session", "ToolCall"]


@dataclasses.dataclass
class Step:
    """One tool call (or the final stop) and what came of it."""

    index: int
    action: ToolCall
    task: str | None
    input_hash: str
    output_hash: str | None = None
    ok: bool = True
    error: str | None = None
    cached: bool = False
    seconds: float = 0.0  #: tool execution time (0 when served from cache)
    decision_seconds: float = 0.0  #: time the policy took to choose this action
    #: the step policy's most probable choices at this decision, ``{action: probability}``
    #: (policies that expose ``last_probs``, e.g. ``learned``; empty otherwise)
    choices: dict[str, float] = dataclasses.field(default_factory=dict)
    accepted: bool = False  #: whether the output was kept (False: rolled back or failed)
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    perception: dict[str, float] = dataclasses.field(default_factory=dict)
    note: str = ""
    #: the language model's reply behind this decision (``vlm``): its text, its tool calls and
    #: the replies rejected before it (empty for other policies)
    reply: dict[str, Any] = dataclasses.field(default_factory=dict)
    image: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.action = ToolCall.coerce(self.action)

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("image")
        d["action"] = self.action.as_dict()
        return d


@dataclasses.dataclass
class Trajectory:
    """The full record of one restoration."""

    policy: str
    source: str
    input_hash: str
    input_shape: tuple[int, ...]
    steps: list[Step] = dataclasses.field(default_factory=list)
    chain: list[ToolCall] = dataclasses.field(default_factory=list)  #: accepted calls, in order
    output_hash: str = ""
    perception: dict[str, Any] = dataclasses.field(default_factory=dict)
    perception_seconds: float = 0.0
    wall_seconds: float = 0.0
    metrics_in: dict[str, float] = dataclasses.field(default_factory=dict)
    metrics_out: dict[str, float] = dataclasses.field(default_factory=dict)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    output: np.ndarray | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.chain = [ToolCall.coerce(c) for c in self.chain]

    @property
    def tool_calls(self) -> int:
        return sum(1 for s in self.steps if not s.action.is_stop)

    @property
    def tool_executions(self) -> int:
        return sum(1 for s in self.steps if not s.action.is_stop and not s.cached)

    def messages(self) -> list[dict[str, Any]]:
        """The trajectory as a chat transcript in the hermes/OpenAI tool-call shape (arguments as
        dicts; serialise to strings only at an OpenAI boundary).  Images are referenced by hash."""
        msgs: list[dict[str, Any]] = [
            {"role": "user", "content": [{"type": "image", "image": self.input_hash}, {"type": "text", "text": "Restore this photo."}]}
        ]
        for s in self.steps:
            if s.action.is_stop:
                msgs.append({"role": "assistant", "content": s.reply.get("text") or "stop"})
                continue
            msgs.append({"role": "assistant", "content": s.reply.get("text") or "", "tool_calls": [{"type": "function", "function": s.action.as_dict()}]})
            result = {"ok": s.ok, "error": s.error, "accepted": s.accepted, "metrics": s.metrics}
            msgs.append({"role": "tool", "name": s.action.name, "content": json.dumps(result)})
            if s.ok and s.output_hash:
                msgs.append({"role": "user", "content": [{"type": "image", "image": s.output_hash}]})
        return msgs

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "output"}
        d["steps"] = [s.as_dict() for s in self.steps]
        d["chain"] = [c.as_dict() for c in self.chain]
        d["input_shape"] = list(self.input_shape)
        d["tool_calls"] = self.tool_calls
        d["tool_executions"] = self.tool_executions
        d["messages"] = self.messages()
        return d

    def save(self, path: str | Path) -> Path:
        return atomic_write_bytes(path, json.dumps(_jsonable(self.as_dict()), indent=1).encode())

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        d = json.loads(Path(path).read_text())
        steps = [Step(**{k: v for k, v in s.items() if k in Step.__dataclass_fields__}) for s in d.pop("steps")]
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        fields["input_shape"] = tuple(fields["input_shape"])
        return cls(steps=steps, **{k: v for k, v in fields.items() if k != "steps"})


def _jsonable(x: Any) -> Any:
    if isinstance(x, ToolCall):
        return _jsonable(x.as_dict())
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    if isinstance(x, Path):
        return str(x)
    return x


@dataclasses.dataclass
class Observation:
    """What a step policy sees."""

    image: np.ndarray  #: the current image (3, H, W)
    input_image: np.ndarray
    history: list[Step]  #: accepted steps so far
    calls_left: int
    perception: Perception | None = None  #: perception of the current image, if a model is loaded
    input_perception: Perception | None = None
    rng: np.random.Generator = dataclasses.field(default_factory=np.random.default_rng)
    image_hash: str = ""  #: content hash of ``image``
    input_hash: str = ""  #: content hash of ``input_image``


class Session(Protocol):
    """A running restoration as a search policy drives it (``explore``, ``oracle``).

    Images are addressed by content hash: :meth:`call` records the output's hash on the step,
    :meth:`image` returns the pixels of a hash, and the ``image_hash`` arguments save hashing
    an image the caller already knows the hash of."""

    input_image: np.ndarray
    input_hash: str
    reference: np.ndarray | None  #: the clean image (benchmark-only policies), else None
    rng: np.random.Generator

    @property
    def calls_left(self) -> int: ...

    @property
    def check_metrics(self) -> tuple[str, ...]: ...

    def call(self, call: ToolCall, image: np.ndarray | None = None, *, image_hash: str | None = None,
             decision_seconds: float = 0.0) -> Step:
        """Run ``call`` on ``image`` (default: the current image) and record it; not accepted yet."""
        ...

    def accept(self, step: Step) -> None:
        """Keep ``step``'s output: it becomes the current image and joins the chain."""
        ...

    def rollback(self, n_accepted: int) -> None:
        """Undo accepted steps so that only the first ``n_accepted`` remain."""
        ...

    def set_current(self, chain: list[Step]) -> None:
        """Make ``chain`` (steps already run, each on the previous one's output) the accepted path."""
        ...

    def perceive(self, image: np.ndarray, image_hash: str | None = None) -> Perception | None:
        """Perception of ``image`` (cached by hash); None without a perception model."""
        ...

    def metrics(self, image: np.ndarray, image_hash: str | None = None) -> dict[str, float]:
        """The configured no-reference metrics of ``image`` (cached by hash)."""
        ...

    def image(self, image_hash: str) -> np.ndarray:
        """The pixels of an image this session has seen."""
        ...
