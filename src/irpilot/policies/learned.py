"""The learned tool-calling policy (``--policy learned``).

A small network looks at native-resolution crops of the current image, cheap global image
statistics, the calls already made (and the perception model's probabilities when it was trained
with them) and outputs a categorical over a closed list of tool ids plus ``stop``.  It is trained
by supervised fine-tuning on expert trajectories found by search, then by GRPO
(``irpilot train expert|sft|rl``).  One decision takes a few milliseconds on a CPU.

Each needed tool is called once: tools of a task already done are pushed down by
``repeat_penalty`` logits (the model must insist strongly to repeat one, and a task never runs
a third time; super-resolution never repeats), tools that are not installed or failed in this
episode are masked out.

>>> from irpilot.agent import Agent                            # doctest: +SKIP
>>> traj = Agent().run(img, policy="learned")                  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import POLICIES, STOP, Action, StepPolicy
from .common import SR_MAX_SIDE

if TYPE_CHECKING:
    from ..agent import Observation
    from ..train.actions import ActionSpace

__all__ = ["AGENDA_SKIP", "LearnedPolicy", "agenda", "decision_mask", "pending_tools", "redirect_stop", "default_weights", "ASSETS_DIR"]

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
#: degradations the agenda leaves to the network by default: on 60 validation crops of the
#: training photos, forcing the deblurring tools after the network chose to stop lowered the
#: mean PSNR gain (+3.90 dB with every task on the agenda, +4.25 dB without these two;
#: BENCHMARKS.md, "Learned policy")
AGENDA_SKIP = ("motion_blur", "defocus_blur")


def default_weights(variant: str = "learned") -> Path:
    """Path of a shipped policy: ``assets/policy_<variant>.pt`` (``learned`` is the best one)."""
    return ASSETS_DIR / f"policy_{variant}.pt"


def decision_mask(
    space: "ActionSpace",
    called: Sequence[str],
    *,
    available: np.ndarray | None = None,
    banned: Iterable[str] = (),
    image_shape: tuple[int, ...] | None = None,
    repeat_penalty: float = math.inf,
    max_steps: int | None = None,
) -> np.ndarray:
    """Additive logit offsets (n,): 0 for allowed actions, ``-inf`` for impossible ones and
    ``-repeat_penalty`` for tools of a task already done once (a task already done twice, and
    super-resolution already done once, are impossible).  Stop is always allowed here; see
    :func:`pending_tools` and :func:`redirect_stop` for the agenda."""
    n = space.n
    off = np.zeros(n, dtype=np.float32)
    if available is not None:
        off[~available] = -np.inf
    banned = set(banned)
    done_list = [space.task_of(c) for c in called if c in space.tools]
    done = set(done_list)
    twice = {t for t in done if done_list.count(t) >= 2}
    # x4 only below the size rule every policy follows (.common.SR_MAX_SIDE, AgenticIR's < 300 px)
    big = image_shape is not None and max(image_shape[-2:]) >= SR_MAX_SIDE
    for i, (tool, task) in enumerate(zip(space.tools, space.tasks)):
        if tool in banned:
            off[i] = -np.inf
        elif task == "super_resolution" and (task in done or big):
            off[i] = -np.inf
        elif task in twice:  # a task is repeated at most once, however much the model insists
            off[i] = -np.inf
        elif task in done:
            off[i] = min(off[i], -float(repeat_penalty))
    if max_steps is not None and len(called) >= max_steps:
        off[: space.stop_index] = -np.inf
    off[space.stop_index] = 0.0
    return off


def pending_tools(space: "ActionSpace", offsets: np.ndarray, called: Sequence[str], required: Iterable[str]) -> np.ndarray:
    """Boolean (n,): the callable tools (finite ``offsets``) of ``required`` tasks not done yet."""
    done = {space.task_of(c) for c in called if c in space.tools}
    undone = set(required) - done
    out = np.zeros(space.n, dtype=bool)
    for i, task in enumerate(space.tasks):
        out[i] = task in undone and bool(np.isfinite(offsets[i]))
    return out


def redirect_stop(p: np.ndarray, pending: np.ndarray, stop_index: int) -> np.ndarray:
    """Action probabilities (..., n) when stopping must wait for the ``pending`` tools' tasks:
    the probability of stop goes to those tools, in proportion to their own probabilities;
    every other action keeps its probability.  Rows without pending tools are unchanged."""
    p = np.array(p, dtype=np.float64)
    pending = np.broadcast_to(pending, p.shape)
    q = np.where(pending, p, 0.0)
    total = q.sum(axis=-1, keepdims=True)
    has = pending.any(axis=-1, keepdims=True)
    share = np.where(total > 0, q / np.maximum(total, 1e-300), pending / np.maximum(pending.sum(axis=-1, keepdims=True), 1))
    out = p + p[..., stop_index : stop_index + 1] * share
    out[..., stop_index] = 0.0
    return np.where(has, out, p)


def agenda(perception: Any, threshold: float = 0.5, skip: Iterable[str] = (), skip_threshold: float | None = None) -> list[str]:
    """Tasks of the degradations ``perception`` rates present (probability >= ``threshold``),
    except those of the degradations in ``skip``, which need a probability of at least
    ``skip_threshold`` (never, when None)."""
    from .common import DEGRADATION_TO_TASK

    if perception is None:
        return []
    skip = set(skip)
    strict = math.inf if skip_threshold is None else float(skip_threshold)
    return [
        DEGRADATION_TO_TASK[d]
        for d, p in perception.probs.items()
        if d in DEGRADATION_TO_TASK and p >= (strict if d in skip else threshold)
    ]


@POLICIES.register("learned")
class LearnedPolicy(StepPolicy):
    """Step policy backed by a trained :class:`~irpilot.train.model.PolicyNet`.

    Options: ``weights`` (path of a ``.pt`` with its ``.json`` meta; default the shipped
    ``assets/policy_learned.pt``; several paths joined by ``+``, or a list, make an ensemble
    that averages the members' logits), ``variant`` (a shipped file ``assets/policy_<variant>.pt``),
    ``greedy`` (default True; False samples with ``temperature``), ``repeat_penalty`` (logits,
    default 3.0), ``n_crops`` (crops averaged per decision, default from the weights),
    ``finish_agenda`` (default True: while a degradation perception rates present in the
    input, probability >= ``threshold`` (0.5), is untreated, the probability of stop goes to
    the tools of those tasks (:func:`redirect_stop`); every other choice, the order, the tools
    and any extra steps stay the network's), ``agenda_skip`` (degradations the agenda leaves to
    the network, separated by ``,`` or ``+``, or a list; default :data:`AGENDA_SKIP`, ``none``
    for an empty list), ``skip_threshold`` (those degradations still go on the agenda when
    perception's probability reaches this; default none: never), ``min_prob`` (a tool whose task
    perception does not put on the agenda is called only when the network gives it at least this
    probability; the most probable of the remaining actions (stop, the agenda's tools, tools
    above the floor) is taken instead; default none: the network's choice stands), ``decode``
    (greedy decisions: ``task``, the default, first takes the most probable *task* or stop,
    summing the probabilities of each task's tools, then that task's most probable tool, so a
    task whose probability is split between two good tools is not lost to a stop or another
    task that no single tool outweighs; ``tool`` takes the most probable action.  On 300 fresh
    validation crops ``task`` was +0.05 dB ahead, paired SE 0.03; BENCHMARKS.md, "Current numbers"),
    ``sure_dark`` (when perception rates the current image dark with at least this probability,
    ``hsv_value_inverse`` is called with ``check=false``, so that its darkening check cannot
    leave a photo perception is sure of dark; default none: the tool's check decides.  At 0.6,
    chosen on validation crops, it lost 0.07 dB over the benchmark's 144 images: perception is
    sure of darkness on small photos as taken too; BENCHMARKS.md, "Skipping the darkening check"),
    ``tasks`` (task or degradation names, as ``--tasks``: the policy undoes exactly these, each
    once at least, in the order and with the tools the network prefers; no other task's tool is called).
    """

    name = "learned"
    _variant = "learned"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        from ..train.checkpoint import load_policy

        variant = str(options.get("variant") or getattr(type(self), "_variant", "learned"))
        weights = options.get("weights") or default_weights(variant)
        # several files ("a.pt+b.pt", or a list): an ensemble that averages their logits
        paths = [Path(w) for w in (weights.split("+") if isinstance(weights, str) else
                                   [weights] if isinstance(weights, Path) else weights)]
        self.weights = paths[0]
        self.net, self.space, self.encoder, self.meta = load_policy(self.weights)
        self.nets = [self.net]
        for extra in paths[1:]:
            net, space, encoder, _ = load_policy(extra)
            if space.names != self.space.names or encoder.config() != self.encoder.config():
                from ..errors import ConfigError

                raise ConfigError(f"{extra} has another action space or state encoder than {self.weights}: "
                                  "an ensemble needs policies trained from the same SFT model")
            self.nets.append(net)
        if options.get("n_crops"):
            self.encoder.n_crops = int(options["n_crops"])
        self.greedy = bool(options.get("greedy", True))
        self.temperature = float(options.get("temperature", 1.0))
        self.repeat_penalty = float(options.get("repeat_penalty", 3.0))
        self.available = self.space.availability(options.get("available_tools"))
        self.finish_agenda = _flag(options.get("finish_agenda", True))
        self.threshold = float(options.get("threshold", 0.5))
        skip = options.get("agenda_skip", AGENDA_SKIP)
        if isinstance(skip, str):  # "a,b" or "a+b" (a bench policy list is itself comma-separated)
            skip = [] if skip.strip().lower() == "none" else skip.replace("+", ",").split(",")
        self.agenda_skip = tuple(x.strip() for x in skip if x.strip())
        self.skip_threshold = _optional_float(options, "skip_threshold")
        self.min_prob = _optional_float(options, "min_prob")
        self.sure_dark = _optional_float(options, "sure_dark")
        self.decode = str(options.get("decode", "task"))
        if self.decode not in ("tool", "task"):
            from ..errors import ConfigError

            raise ConfigError(f"learned: decode must be 'tool' or 'task', got {self.decode!r}")
        from .common import DEGRADATION_TO_TASK, tasks_option

        # tasks=...: the user says what to undo; the network only orders them and picks the tools
        given = tasks_option(options)
        self.tasks = None if given is None else [DEGRADATION_TO_TASK[d] for d in given]
        unknown = sorted(set(self.tasks or ()) - set(self.space.tasks))
        if unknown:
            from ..errors import ConfigError

            raise ConfigError(f"learned: its weights have no tool for {', '.join(unknown)}; "
                              "use --policy fixed for these tasks")
        self._agenda: list[str] = []
        self._called: list[str] = []
        self._banned: set[str] = set()
        self._last: str | None = None
        self.last_probs: dict[str, float] = {}

    @property
    def actions(self) -> tuple[str, ...]:
        return self.space.names

    def reset(self, obs: "Observation") -> None:
        self._called, self._banned, self._last = [], set(), None

    def _sync(self, obs: "Observation") -> None:
        called = [s.action.get("name") for s in obs.history]
        if self._last is not None and self._last not in called[len(self._called) :]:
            self._banned.add(self._last)  # the previous call failed: do not retry it
        self._called = called

    def probabilities(self, obs: "Observation") -> np.ndarray:
        """Masked action probabilities (n,) for ``obs``."""
        import torch

        self._sync(obs)
        state = self.encoder.encode(obs.image, self._called, obs.perception, input_perception=obs.input_perception)
        with torch.inference_mode():
            from ..train.model import stack_states

            batch = stack_states([state])
            logits = np.mean([net(*batch)[0].numpy().astype(np.float64) for net in self.nets], axis=0)
        off = decision_mask(
            self.space,
            self._called,
            available=self.available,
            banned=self._banned,
            # a named super-resolution task upscales whatever the size (.common.SR_MAX_SIDE)
            image_shape=None if self.tasks and "super_resolution" in self.tasks else obs.image.shape,
            repeat_penalty=self.repeat_penalty,
            max_steps=self.encoder.max_steps,
        )
        if self.tasks is not None:  # tools of tasks not named are never called
            for i, task in enumerate(self.space.tasks):
                if i != self.space.stop_index and task not in self.tasks:
                    off[i] = -np.inf
        z = logits / max(self.temperature, 1e-6) + off
        z = z - z.max()
        p = np.exp(z)
        p = p / p.sum()
        if self.tasks is not None:
            required = list(self.tasks)
        else:
            required = agenda(obs.input_perception or obs.perception, self.threshold, self.agenda_skip,
                              self.skip_threshold)
        self._agenda = required
        if self.finish_agenda or self.tasks is not None:
            p = redirect_stop(p, pending_tools(self.space, off, self._called, required), self.space.stop_index)
        return p

    def _drop_unsure(self, p: np.ndarray) -> np.ndarray:
        """``min_prob``: tools below it whose task is not on perception's agenda lose their
        probability (stop and the agenda's tools keep theirs)."""
        q = np.array(p, dtype=np.float64)
        for i, name in enumerate(self.space.names):
            if name != "stop" and q[i] < self.min_prob and self.space.task_of(name) not in self._agenda:
                q[i] = 0.0
        return q

    def _task_argmax(self, p: np.ndarray) -> int:
        """``decode="task"``: the most probable tool of the most probable task (stop counts as
        a task of its own)."""
        mass: dict[str | None, float] = {}
        for name, v in zip(self.space.names, p):
            key = self.space.task_of(name)
            mass[key] = mass.get(key, 0.0) + float(v)
        best = max(mass, key=mass.__getitem__)
        members = [i for i, name in enumerate(self.space.names) if self.space.task_of(name) == best]
        return max(members, key=lambda i: p[i])

    def act(self, obs: "Observation") -> Action:
        p = self.probabilities(obs)
        self.last_probs = {n: float(v) for n, v in zip(self.space.names, p)}
        if self.min_prob is not None:
            p = self._drop_unsure(p)
        if not p.any():
            name = "stop"
        else:
            if not self.greedy:
                i = int(obs.rng.choice(len(p), p=p / p.sum()))
            elif self.decode == "task":
                i = self._task_argmax(p)
            else:
                i = int(np.argmax(p))
            name = self.space.names[i]
        if name == "stop":
            self._last = None
            return STOP
        self._last = name
        return Action(name, self._arguments(name, obs))

    def _arguments(self, name: str, obs: "Observation") -> dict[str, Any]:
        """``sure_dark``: when perception rates the current image dark with at least this
        probability, a low-light tool that checks whether the image was darkened
        (``hsv_value_inverse``) is told to skip its check (``check=false``)."""
        if self.sure_dark is None or obs.perception is None:
            return {}
        from ..tools import TOOLS

        if "check" not in TOOLS.get(name).card.arguments:
            return {}
        return {"check": False} if obs.perception.probs.get("dark", 0.0) >= self.sure_dark else {}


def _optional_float(options: dict[str, Any], key: str) -> float | None:
    """The number option ``key``, which may be absent (None, "" or "none" on a command line)."""
    value = options.get(key)
    if value in (None, "", "none"):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        from ..errors import ConfigError

        raise ConfigError(f"learned: {key} must be a number or none, got {value!r}") from None


def _flag(value: Any) -> bool:
    """A boolean option given as a bool or as a command-line string."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def _register_variants() -> None:
    """Shipped ablation variants (``assets/policy_<variant>.pt``) as ``learned_<variant>``, so
    ``irpilot bench --policies learned,learned_sft,...`` compares them."""
    for pt in sorted(ASSETS_DIR.glob("policy_*.pt")):
        variant = pt.stem[len("policy_") :]
        if variant == "learned" or not pt.with_suffix(".json").is_file():
            continue
        name = f"learned_{variant}"
        cls = type(f"LearnedPolicy_{variant}", (LearnedPolicy,), {"name": name, "_variant": variant})
        try:
            POLICIES.add(name, cls)
        except ValueError:  # already registered (module re-imported)
            pass


_register_variants()
