"""The agent loop: perceive, decide, call tools through the pool, check, stop or roll back.

Every decision and tool call is recorded in a :class:`Trajectory`, which serialises to JSON in
the tool-call shape used for training (``{"name": tool_id, "arguments": {...}}`` per call) and
replays to the same output image.

>>> from irpilot.agent import Agent                       # doctest: +SKIP
>>> traj = Agent().run(img, policy="fixed")               # doctest: +SKIP
>>> traj.output.shape, [s.action.name for s in traj.steps]     # doctest: +SKIP

The records (:class:`Step`, :class:`Trajectory`, :class:`Observation`) and the interface search
policies drive (:class:`~irpilot.session.Session`) live in :mod:`irpilot.session`, below both
this module and the policies.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .io import as_image
from .io import image_hash as hash_image
from .policies.base import Policy, SearchPolicy, StepPolicy, make_policy
from .session import Observation, Step, Trajectory
from .toolcall import ToolCall
from .vocab import TASK_TO_DEGRADATION

if TYPE_CHECKING:  # pragma: no cover
    from .perceive import Perception

__all__ = ["AgentConfig", "Step", "Trajectory", "Observation", "AgentContext", "Agent", "Listener", "replay_trajectory"]

#: a tool's fallback (:attr:`irpilot.tools.base.ToolCard.fallback`) runs only where perception
#: reads the step's degradation at least this probable on the image: on 24 sharp photos
#: perception read motion blur at 0.22 at most; where the benchmark's policies ran the motion
#: tools' fallback on shaken photos, at 0.71-0.96 (BENCHMARKS.md, "The deblurring tools on sharp
#: photos")
FALLBACK_MIN_PROB = 0.5

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


class AgentContext:
    """The :class:`~irpilot.session.Session` of one agent run: tool calls through the pool,
    perception and quality checks cached by image hash, acceptance and rollback, and the
    trajectory being recorded."""

    def __init__(self, agent: Agent, image: np.ndarray, traj: Trajectory, reference: np.ndarray | None) -> None:
        self.agent = agent
        self.input_image = image
        self.input_hash = traj.input_hash
        self.current = image
        self.current_hash = traj.input_hash
        self.reference = reference
        self.traj = traj
        self.rng = np.random.default_rng(agent.config.seed)
        self._images: dict[str, np.ndarray] = {self.input_hash: image}
        self._perception: dict[str, Perception | None] = {}
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

    @property
    def check_metrics(self) -> tuple[str, ...]:
        return self.agent.config.check_metrics

    # -- perception and quality (cached by image hash) --------------------------------
    def _hash(self, image: np.ndarray, known: str | None) -> str:
        """``known``, else the hash of an image the session holds, else a fresh hash."""
        if known is not None:
            return known
        if image is self.current:
            return self.current_hash
        if image is self.input_image:
            return self.input_hash
        return hash_image(image)

    def perceive(self, image: np.ndarray, image_hash: str | None = None) -> Perception | None:
        if self.agent.perceiver is None:
            return None
        h = self._hash(image, image_hash)
        if h not in self._perception:
            self._perception[h] = self.agent.perceiver(image)
        return self._perception[h]

    def metrics(self, image: np.ndarray, image_hash: str | None = None) -> dict[str, float]:
        names = self.agent.config.check_metrics
        if not names:
            return {}
        h = self._hash(image, image_hash)
        if h not in self._metrics:
            from .quality import score

            self._metrics[h] = dict(score(image, None, list(names)))
        return self._metrics[h]

    def image(self, image_hash: str) -> np.ndarray:
        return self._images[image_hash]

    # -- tool calls -------------------------------------------------------------------
    def call(self, call: ToolCall, image: np.ndarray | None = None, *, image_hash: str | None = None,
             decision_seconds: float = 0.0) -> Step:
        """Run one tool call on ``image`` (default: the current image) through the pool and
        record it.  The step is not accepted until :meth:`accept` is called."""
        from .tools import task_of_tool

        src = self.current if image is None else image
        in_hash = self._hash(src, image_hash)
        task = task_of_tool(call.name)
        step = Step(
            index=len(self.traj.steps),
            action=call,
            task=task,
            input_hash=in_hash,
            decision_seconds=decision_seconds,
        )
        self.traj.steps.append(step)
        if self.calls_made > self.max_calls:
            step.ok, step.error = False, f"call limit of {self.max_calls} reached"
            return step
        self.agent.notify("call", step)
        result = self.agent.pool.run(call, src, image_hash=in_hash)
        step.ok, step.error, step.cached = result.ok, result.error, result.cached
        step.seconds = 0.0 if result.cached else float(result.seconds)
        if result.ok and result.image is not None:
            out = result.image
            step.output_hash = hash_image(out)
            self._images[step.output_hash] = out
            step.metrics = self.metrics(out, step.output_hash)
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
        self._set_current(step.output_hash)

    def rollback(self, n_accepted: int) -> None:
        """Undo accepted steps so that only the first ``n_accepted`` remain."""
        for step in self.accepted[n_accepted:]:
            step.accepted = False
            step.note = (step.note + " rolled back").strip()
        self.accepted = self.accepted[:n_accepted]
        last = self.accepted[-1].output_hash if self.accepted else None
        self._set_current(last or self.input_hash)

    def _set_current(self, h: str) -> None:
        self.current, self.current_hash = self._images[h], h

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
            perception=self.perceive(self.current, self.current_hash),
            input_perception=self.perceive(self.input_image, self.input_hash),
            rng=self.rng,
            image_hash=self.current_hash,
            input_hash=self.input_hash,
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
            input_hash=hash_image(image),  # the one time the input is hashed
            input_shape=tuple(image.shape),
            config=dataclasses.asdict(self.config),
        )
        ctx = AgentContext(self, image, traj, None if reference is None else as_image(reference))
        ctx.max_calls = self.config.max_calls or policy.default_max_calls
        tp = time.perf_counter()
        self.notify("perceive")
        perception = ctx.perceive(image, ctx.input_hash)
        traj.perception_seconds = time.perf_counter() - tp
        if perception is not None:
            traj.perception = perception.as_dict()
        traj.metrics_in = ctx.metrics(image, ctx.input_hash)
        if isinstance(policy, StepPolicy):
            self._run_steps(ctx, policy)
        elif isinstance(policy, SearchPolicy):
            policy.search(ctx)
        else:
            raise TypeError(f"{type(policy).__name__} is neither a StepPolicy nor a SearchPolicy")
        traj.chain = [s.action for s in ctx.accepted]
        traj.output = ctx.current
        traj.output_hash = ctx.current_hash
        traj.metrics_out = ctx.metrics(ctx.current, ctx.current_hash)
        traj.wall_seconds = time.perf_counter() - t0
        return traj

    def _run_steps(self, ctx: AgentContext, policy: StepPolicy) -> None:
        policy.reset(ctx.observation())
        while ctx.calls_left > 0:
            t = time.perf_counter()
            action = policy.act(ctx.observation())
            dt = time.perf_counter() - t
            choices = _top_choices(getattr(policy, "last_probs", None))
            reply = dict(getattr(policy, "last_reply", None) or {})
            if action.is_stop:
                ctx.traj.steps.append(
                    Step(index=len(ctx.traj.steps), action=action, task=None,
                         input_hash=ctx.current_hash, decision_seconds=dt, choices=choices, accepted=True, reply=reply)
                )
                return
            before_hash = ctx.current_hash
            step = ctx.call(action, decision_seconds=dt)
            step.choices, step.reply = choices, reply
            why = policy.last_note
            if not step.ok:
                step.note = _joined(why, "tool failed; continuing without it")
                continue
            step.note = why
            ctx.accept(step)
            step = self._fallback(ctx, step, before_hash, policy.options.tools) or step
            rise = self._perception_rise(ctx, before_hash, ctx.current_hash, policy.check_rise)
            if rise is not None:
                note = step.note
                ctx.rollback(len(ctx.accepted) - 1)
                step.note = _joined(note, f"rolled back: degradation probabilities rose by {rise:.2f}")

    @staticmethod
    def _fallback(ctx: AgentContext, step: Step, before: str, toolbox: dict[str, list[str]] | None) -> Step | None:
        """When ``step``'s tool returned its input unchanged and its card names a fallback
        (its model of the degradation did not fit, e.g. a line kernel on camera shake), run
        the fallback on the same image and accept it; a fallback that returns the image
        unchanged too hands over to its own (``defocus_deblur_*`` -> ``motion_deblur_hqs`` ->
        ``shake_deblur_pnp``), each tool once.  Returns the last step run, or None.  A toolbox
        the user gave the policy (task -> tools) must list a fallback under its own task."""
        from .tools import TOOLS

        name = TOOLS.get(step.action.name).card.fallback if step.action.name in TOOLS else None
        if not name or step.output_hash != before:
            return None
        # the fallback's model is more general, and so is what it can mistake for its degradation
        # (a blind deblurring tool finds a "kernel" in periodic texture): it runs only on an image
        # perception reads as having the step's degradation (without a perception model, it runs)
        degradation = TASK_TO_DEGRADATION.get(step.task or "")
        seen = ctx.perceive(ctx.current, ctx.current_hash)
        last: Step | None = None
        handing, tried = step, {step.action.name}
        while name and name not in tried and name in TOOLS and TOOLS.get(name).available():
            if toolbox is not None and name not in toolbox.get(TOOLS.get(name).card.task, []):
                break
            if ctx.calls_left <= 0:
                handing.note = _joined(handing.note, f"returned the image unchanged; its fallback {name} not run: call limit reached")
                break
            if degradation and seen is not None and degradation in seen.probs and seen.probs[degradation] < FALLBACK_MIN_PROB:
                handing.note = _joined(handing.note, f"returned the image unchanged; its fallback {name} not run: perception "
                                                     f"reads {degradation} at {seen.probs[degradation]:.2f} (< {FALLBACK_MIN_PROB})")
                break
            handing.note = _joined(handing.note, f"returned the image unchanged: its fallback {name} runs instead")
            fb = ctx.call(ToolCall(name=name, arguments={}))
            if not fb.ok:
                fb.note = "fallback failed; continuing without it"
                break
            fb.note = f"fallback of {handing.action.name}"
            ctx.accept(fb)
            last, handing = fb, fb
            tried.add(name)
            if fb.output_hash != before:
                break
            name = TOOLS.get(name).card.fallback
        return last

    @staticmethod
    def _perception_rise(ctx: AgentContext, before: str, after: str, limit: float | None) -> float | None:
        """The rise of perception's summed degradation probabilities from image ``before`` to
        image ``after`` (hashes) when it exceeds ``limit`` (else None; None also without a check
        or a perception model)."""
        if limit is None:
            return None
        p0, p1 = ctx.perceive(ctx.image(before), before), ctx.perceive(ctx.image(after), after)
        if p0 is None or p1 is None:
            return None
        rise = float(sum(p1.probs.values()) - sum(p0.probs.values()))
        return rise if rise > limit else None


def _joined(*notes: str) -> str:
    """A step's notes in order, the empty ones left out."""
    return "; ".join(n for n in notes if n)


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
    if hash_image(img) != traj.input_hash:
        raise ValueError("this image is not the trajectory's input (hash differs)")
    for call in traj.chain:
        res = pool.run(ToolCall.coerce(call), img)
        if not res.ok:
            raise RuntimeError(f"replay of {call['name']} failed: {res.error}")
        img = res.image
    return img
