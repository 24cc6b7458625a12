"""The agent loop: perceive, decide, call tools through the pool, check, stop or roll back.

Every decision and tool call is recorded in a :class:`Trajectory`, which serialises to JSON in
the tool-call shape used for training (``{"name": tool_id, "arguments": {...}}`` per call) and
replays to the same output image.

>>> from irpilot.agent import Agent                       # doctest: +SKIP
>>> traj = Agent().run(img, policy="fixed")               # doctest: +SKIP
>>> traj.output.shape, [s.action["name"] for s in traj.steps]   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np

from .io import as_image, atomic_write_bytes, image_hash
from .policies.base import Action, Policy, SearchPolicy, StepPolicy, make_policy

__all__ = ["AgentConfig", "Step", "Trajectory", "Observation", "AgentContext", "Agent", "Listener", "replay_trajectory"]

#: Called by the agent as a run goes: ``listener(event, step)`` with event ``"perceive"`` (before
#: perception of the input; step None), ``"call"`` (a tool call is about to run) or ``"step"`` (it
#: ran).  Progress bars and the app use it; an exception it raises (e.g. a cancel) ends the run.
Listener = Callable[[str, "Step | None"], None]


@dataclasses.dataclass
class AgentConfig:
    """Settings of one agent run."""

    max_calls: int | None = None  #: limit on tool calls per image (None: the policy's default)
    check_metrics: tuple[str, ...] = ()  #: no-reference metrics computed after every step
    keep_images: bool = False  #: keep every step's image in memory (for HTML reports)
    seed: int = 0


@dataclasses.dataclass
class Step:
    """One tool call (or the final stop) and what came of it."""

    index: int
    action: dict[str, Any]
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
    image: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("image")
        return d


@dataclasses.dataclass
class Trajectory:
    """The full record of one restoration."""

    policy: str
    source: str
    input_hash: str
    input_shape: tuple[int, ...]
    steps: list[Step] = dataclasses.field(default_factory=list)
    chain: list[dict[str, Any]] = dataclasses.field(default_factory=list)  #: accepted calls, in order
    output_hash: str = ""
    perception: dict[str, Any] = dataclasses.field(default_factory=dict)
    perception_seconds: float = 0.0
    wall_seconds: float = 0.0
    metrics_in: dict[str, float] = dataclasses.field(default_factory=dict)
    metrics_out: dict[str, float] = dataclasses.field(default_factory=dict)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    output: np.ndarray | None = dataclasses.field(default=None, repr=False)

    @property
    def tool_calls(self) -> int:
        return sum(1 for s in self.steps if s.action.get("name") != "stop")

    @property
    def tool_executions(self) -> int:
        return sum(1 for s in self.steps if s.action.get("name") != "stop" and not s.cached)

    def messages(self) -> list[dict[str, Any]]:
        """The trajectory as a chat transcript in the hermes/OpenAI tool-call shape (arguments as
        dicts; serialise to strings only at an OpenAI boundary).  Images are referenced by hash."""
        msgs: list[dict[str, Any]] = [
            {"role": "user", "content": [{"type": "image", "image": self.input_hash}, {"type": "text", "text": "Restore this photo."}]}
        ]
        for s in self.steps:
            if s.action.get("name") == "stop":
                msgs.append({"role": "assistant", "content": "stop"})
                continue
            msgs.append({"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": dict(s.action)}]})
            result = {"ok": s.ok, "error": s.error, "accepted": s.accepted, "metrics": s.metrics}
            msgs.append({"role": "tool", "name": s.action.get("name"), "content": json.dumps(result)})
            if s.ok and s.output_hash:
                msgs.append({"role": "user", "content": [{"type": "image", "image": s.output_hash}]})
        return msgs

    def as_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "output"}
        d["steps"] = [s.as_dict() for s in self.steps]
        d["input_shape"] = list(self.input_shape)
        d["tool_calls"] = self.tool_calls
        d["tool_executions"] = self.tool_executions
        d["messages"] = self.messages()
        return d

    def save(self, path: str | Path) -> Path:
        return atomic_write_bytes(path, json.dumps(_jsonable(self.as_dict()), indent=1).encode())

    @classmethod
    def load(cls, path: str | Path) -> "Trajectory":
        d = json.loads(Path(path).read_text())
        steps = [Step(**{k: v for k, v in s.items() if k in Step.__dataclass_fields__}) for s in d.pop("steps")]
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        fields["input_shape"] = tuple(fields["input_shape"])
        return cls(steps=steps, **{k: v for k, v in fields.items() if k != "steps"})


def _jsonable(x: Any) -> Any:
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
    perception: Any = None  #: :class:`irpilot.perceive.Perception` of the current image, if available
    input_perception: Any = None
    rng: np.random.Generator = dataclasses.field(default_factory=np.random.default_rng)


class AgentContext:
    """Shared machinery a policy uses: tool calls through the pool, perception and quality
    checks with caching, acceptance and rollback, and the trajectory being recorded."""

    def __init__(self, agent: "Agent", image: np.ndarray, traj: Trajectory, reference: np.ndarray | None) -> None:
        self.agent = agent
        self.input_image = image
        self.current = image
        self.reference = reference
        self.traj = traj
        self.rng = np.random.default_rng(agent.config.seed)
        self._images: dict[str, np.ndarray] = {image_hash(image): image}
        self._perception: dict[str, Any] = {}
        self._metrics: dict[str, dict[str, float]] = {}
        self.accepted: list[Step] = []
        self.max_calls = agent.config.max_calls or 12

    # -- budget ---------------------------------------------------------------------
    @property
    def calls_made(self) -> int:
        return self.traj.tool_calls

    @property
    def calls_left(self) -> int:
        return max(0, self.max_calls - self.calls_made)

    # -- perception and quality (cached by image hash) --------------------------------
    def perceive(self, image: np.ndarray) -> Any:
        if self.agent.perceiver is None:
            return None
        h = image_hash(image)
        if h not in self._perception:
            self._perception[h] = self.agent.perceiver(image)
        return self._perception[h]

    def metrics(self, image: np.ndarray) -> dict[str, float]:
        names = self.agent.config.check_metrics
        if not names:
            return {}
        h = image_hash(image)
        if h not in self._metrics:
            from .quality import score

            self._metrics[h] = dict(score(image, None, list(names)))
        return self._metrics[h]

    def image(self, h: str) -> np.ndarray:
        return self._images[h]

    # -- tool calls -------------------------------------------------------------------
    def call(self, action: Action, image: np.ndarray | None = None, *, decision_seconds: float = 0.0) -> Step:
        """Run one tool call on ``image`` (default: the current image) through the pool and
        record it.  The step is not accepted until :meth:`accept` is called."""
        from .tools import TOOLS

        src = self.current if image is None else image
        in_hash = image_hash(src)
        task = TOOLS.get(action.name).card.task if action.name in TOOLS else None
        step = Step(
            index=len(self.traj.steps),
            action=action.as_call(),
            task=task,
            input_hash=in_hash,
            decision_seconds=decision_seconds,
        )
        self.traj.steps.append(step)
        if self.calls_made > self.max_calls:
            step.ok, step.error = False, f"call limit of {self.max_calls} reached"
            return step
        self.agent.notify("call", step)
        result = self.agent.pool.run(action.name, src, action.arguments)
        step.ok, step.error, step.cached = result.ok, result.error, result.cached
        step.seconds = 0.0 if result.cached else float(result.seconds)
        if result.ok and result.image is not None:
            out = result.image
            step.output_hash = image_hash(out)
            self._images[step.output_hash] = out
            step.metrics = self.metrics(out)
            if self.agent.config.keep_images:
                step.image = out
        self.agent.notify("step", step)
        return step

    def accept(self, step: Step) -> None:
        """Keep ``step``'s output: it becomes the current image and joins the chain."""
        if not step.ok or step.output_hash is None:
            raise ValueError("cannot accept a failed step")
        step.accepted = True
        self.accepted.append(step)
        self.current = self._images[step.output_hash]

    def rollback(self, n_accepted: int) -> None:
        """Undo accepted steps so that only the first ``n_accepted`` remain."""
        for step in self.accepted[n_accepted:]:
            step.accepted = False
            step.note = (step.note + " rolled back").strip()
        self.accepted = self.accepted[:n_accepted]
        self.current = self._images[self.accepted[-1].output_hash] if self.accepted else self.input_image

    def set_current(self, chain: list[Step]) -> None:
        """Make ``chain`` (steps already run, each on the previous one's output) the accepted path."""
        self.rollback(0)
        for s in chain:
            self.accept(s)

    def observation(self) -> Observation:
        return Observation(
            image=self.current,
            input_image=self.input_image,
            history=list(self.accepted),
            calls_left=self.calls_left,
            perception=self.perceive(self.current),
            input_perception=self.perceive(self.input_image),
            rng=self.rng,
        )


class Agent:
    """Runs a policy on images.  Tool calls go through ``pool`` (default: the process-wide
    local pool); ``perceiver`` defaults to irpilot's shipped perception model when available;
    ``listener`` hears of every tool call as it starts and ends (see :data:`Listener`)."""

    def __init__(
        self,
        pool: Any = None,
        perceiver: Any = "default",
        config: AgentConfig | None = None,
        listener: Listener | None = None,
    ) -> None:
        if pool is None:
            from .pool import default_pool

            pool = default_pool()
        if perceiver == "default":
            perceiver = _default_perceiver()
        self.pool = pool
        self.perceiver = perceiver
        self.config = config or AgentConfig()
        self.listener = listener

    def notify(self, event: str, step: Step | None = None) -> None:
        """Tell the listener (if any) about ``event``."""
        if self.listener is not None:
            self.listener(event, step)

    def run(
        self,
        image: np.ndarray,
        policy: str | Policy = "fixed",
        *,
        reference: np.ndarray | None = None,
        source: str = "",
        **policy_options: Any,
    ) -> Trajectory:
        image = as_image(image)
        if isinstance(policy, str):  # a name, or a spec as on the command line: "learned:decode=tool"
            policy = make_policy(policy, **policy_options)
        if policy.needs_reference and reference is None:
            raise ValueError(f"policy {policy.name!r} needs the clean reference image (benchmark only)")
        t0 = time.perf_counter()
        traj = Trajectory(
            policy=policy.name,
            source=source,
            input_hash=image_hash(image),
            input_shape=tuple(image.shape),
            config=dataclasses.asdict(self.config),
        )
        ctx = AgentContext(self, image, traj, None if reference is None else as_image(reference))
        ctx.max_calls = self.config.max_calls or policy.default_max_calls
        tp = time.perf_counter()
        self.notify("perceive")
        perception = ctx.perceive(image)
        traj.perception_seconds = time.perf_counter() - tp
        if perception is not None:
            traj.perception = perception.as_dict()
        traj.metrics_in = ctx.metrics(image)
        if isinstance(policy, StepPolicy):
            self._run_steps(ctx, policy)
        elif isinstance(policy, SearchPolicy):
            policy.search(ctx)
        else:
            raise TypeError(f"{type(policy).__name__} is neither a StepPolicy nor a SearchPolicy")
        traj.chain = [s.action for s in ctx.accepted]
        traj.output = ctx.current
        traj.output_hash = image_hash(ctx.current)
        traj.metrics_out = ctx.metrics(ctx.current)
        traj.wall_seconds = time.perf_counter() - t0
        return traj

    def _run_steps(self, ctx: AgentContext, policy: StepPolicy) -> None:
        policy.reset(ctx.observation())
        while ctx.calls_left > 0:
            t = time.perf_counter()
            action = policy.act(ctx.observation())
            dt = time.perf_counter() - t
            choices = _top_choices(getattr(policy, "last_probs", None))
            if action.is_stop:
                ctx.traj.steps.append(
                    Step(index=len(ctx.traj.steps), action=action.as_call(), task=None,
                         input_hash=image_hash(ctx.current), decision_seconds=dt, choices=choices, accepted=True)
                )
                return
            before = ctx.current
            step = ctx.call(action, decision_seconds=dt)
            step.choices = choices
            if not step.ok:
                step.note = "tool failed; continuing without it"
                continue
            ctx.accept(step)
            rise = self._perception_rise(ctx, before, ctx.current, getattr(policy, "check_rise", None))
            if rise is not None:
                ctx.rollback(len(ctx.accepted) - 1)
                step.note = f"rolled back: degradation probabilities rose by {rise:.2f}"

    @staticmethod
    def _perception_rise(ctx: AgentContext, before: np.ndarray, after: np.ndarray, limit: float | None) -> float | None:
        """The rise of perception's summed degradation probabilities from ``before`` to
        ``after`` when it exceeds ``limit`` (else None; None also without a check or a perception model)."""
        if limit is None:
            return None
        p0, p1 = ctx.perceive(before), ctx.perceive(after)
        if p0 is None or p1 is None:
            return None
        rise = float(sum(p1.probs.values()) - sum(p0.probs.values()))
        return rise if rise > limit else None


def _top_choices(probs: Any, k: int = 3) -> dict[str, float]:
    """The ``k`` most probable actions of a policy's last decision, for the trace."""
    if not probs:
        return {}
    top = sorted(probs.items(), key=lambda kv: -kv[1])[:k]
    return {name: round(float(p), 3) for name, p in top}


def _default_perceiver() -> Any:
    try:
        from .perceive import load_default_perceiver
    except ImportError:
        return None
    return load_default_perceiver()


def replay_trajectory(traj: Trajectory, image: np.ndarray, pool: Any = None) -> np.ndarray:
    """Re-run the accepted chain of ``traj`` on ``image``; equals ``traj.output`` bit for bit
    when tools are deterministic."""
    if pool is None:
        from .pool import default_pool

        pool = default_pool()
    img = as_image(image)
    if image_hash(img) != traj.input_hash:
        raise ValueError("this image is not the trajectory's input (hash differs)")
    for call in traj.chain:
        res = pool.run(call["name"], img, call.get("arguments") or {})
        if not res.ok:
            raise RuntimeError(f"replay of {call['name']} failed: {res.error}")
        img = res.image
    return img
