"""The learned tool-calling policy (``--policy learned``).

A small network looks at native-resolution crops of the current image, cheap global image
statistics, the calls already made (and the perception model's probabilities when it was trained
with them) and outputs a categorical over a closed list of tool ids plus ``stop``.  It is trained
by supervised fine-tuning on expert trajectories found by search, then by GRPO
(``irpilot train expert|sft|rl``, in :mod:`irpilot.train`, which builds on this package).  One
decision takes a few milliseconds on a CPU.

Each needed tool is called once: tools of a task already done are pushed down by
``repeat_penalty`` logits (the model must insist strongly to repeat one, and a task never runs
a third time; super-resolution never repeats), tools that are not installed or failed in this
episode are masked out.

>>> from irpilot.agent import Agent                            # doctest: +SKIP
>>> traj = Agent().run(img, policy="learned")                  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...config import repo_root
from ...errors import ConfigError
from ...session import Observation
from ...vocab import DEGRADATION_TO_TASK, TASKS
from ..base import POLICIES, STOP, StepPolicy, ToolCall
from ..common import REVEALS, revealed_degradations, revealed_note
from ..options import PolicyOptions, StepOptions, flag, names, option, optional_float, optional_int
from .checkpoint import load_policy
from .decisions import AGENDA_SKIP, agenda, decision_mask, pending_tools, redirect_stop
from .network import stack_states

__all__ = ["LearnedOptions", "LearnedPolicy", "ASSETS_DIR", "BENCHMARK_POLICIES_DIR", "SHIPPED_VARIANTS",
           "default_weights", "resolve_weights"]

#: The policies shipped in the package: ``assets/policy_<variant>.pt`` with its ``.json``.
ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
#: In a source checkout, the comparison policies of the benchmark notebook (not shipped).
BENCHMARK_POLICIES_DIR = repo_root() / "benchmarks" / "data" / "policies"
#: ``learned`` (the default) and the comparison policies of the published results, each
#: registered as ``learned_<variant>``: the SFT stage and the static-reward GRPO policy.
SHIPPED_VARIANTS: tuple[str, ...] = ("learned", "sft3", "rl3_static")


#: tasks :attr:`LearnedOptions.after_sr` defers until a pending x4 step is done: rain is removed
#: after the x4 step, by the network trained on such output (``derain_net``), rather than from the
#: small photo first (validation crops +0.21 dB, the agent benchmark's realistic groups +0.18 and
#: the protocol's +0.04, no image worse; BENCHMARKS.md, "Rain after the x4 step")
AFTER_SR = ("derain",)


#: :attr:`LearnedOptions.swap_after`'s default: the rain network the policy calls on a photo as taken
#: (``prenet_rain100l``, fitted to rain streaks like the protocol's) gives way to irpilot's
#: ``derain_net`` once the photo has been brightened, where ``derain_net`` gains more on both
#: families (held-out crops: +2.39 against +1.39 dB realistic, +2.22 against +1.90 protocol;
#: validation crops +0.37 dB; realistic_b +0.41, B -0.03), and once it has been dehazed (held-out
#: crops +2.19 against +1.13 realistic, +3.44 against +3.80 protocol; validation crops +0.18;
#: realistic_a +0.08, the protocol unchanged; BENCHMARKS.md, "Rain after brightening").  The shipped
#: policy has called ``derain_cascade`` (which ends with ``derain_net``) in ``prenet_rain100l``'s place
#: since 2026-12-07, so these entries apply to policies that still hold both tools.  Once a JPEG step
#: is done the defocus tools give way to ``jpeg_deblur_defocus``, trained on the JPEG network's output
#: of blurred photos: after that step the classical deconvolutions gain nothing (held-out crops +0.06 /
#: -0.07 dB realistic / protocol defocus), the network +0.52 / +0.52; with the entry below
#: (``AGENDA_AFTER``), validation crops with JPEG +2.75 -> +2.97 and +1.30 -> +1.46 dB (two seeds of 25;
#: BENCHMARKS.md, "Deblurring after the JPEG step")
SWAP_AFTER = (("low_light", "prenet_rain100l", "derain_net"), ("dehaze", "prenet_rain100l", "derain_net"),
              ("dejpeg", "defocus_deblur_hqs", "jpeg_deblur_defocus"),
              ("dejpeg", "defocus_deblur_wiener", "jpeg_deblur_defocus"))


#: :attr:`LearnedOptions.agenda_after`'s default: motion blur perception read on a small photo joins
#: the agenda once the x4 step is done.  The x4 step gives the blur back its full size, where the
#: motion tools can estimate it, and the network mostly stops after it.  Validation crops: +0.19 dB
#: on 72 with motion blur and low resolution (three seeds: +0.36, +0.19, +0.01), -0.01 on 32 with
#: low resolution and no motion blur (one worse, -0.34).  Agent benchmark: realistic +0.02 /
#: +0.01 / -0.01, protocol +0.03 / +0.01 / +0.06.  Read on the upscaled photo instead, motion blur
#: is found on nearly every one (the x4 output is soft) and a motion tool runs on most
#: (BENCHMARKS.md, "Motion blur after the x4 step").  Defocus blur read on the input joins it once a
#: JPEG step is done, where the network mostly stops: its tool is then ``jpeg_deblur_defocus``
#: (``SWAP_AFTER``).  The same for motion blur was measured and not kept: the line tools lose on camera
#: shake after JPEG, and the JPEG-step network loses on the protocol's line blur (BENCHMARKS.md,
#: "Deblurring after the JPEG step")
AGENDA_AFTER = (("super_resolution", "motion_blur"), ("dejpeg", "defocus_blur"))


def default_weights(variant: str = "learned") -> Path:
    """Path of a shipped policy: ``assets/policy_<variant>.pt`` (``learned`` is the default)."""
    return ASSETS_DIR / f"policy_{variant}.pt"


def resolve_weights(spec: str | Path) -> Path:
    """A policy file from a path, or from a bare name (``rl1``, ``policy_rl1``) looked up among
    the shipped policies, then in a source checkout's ``benchmarks/data/policies/``."""
    path = Path(spec)
    if path.suffix or len(path.parts) > 1:
        return path
    stem = path.name if path.name.startswith("policy_") else f"policy_{path.name}"
    for folder in (ASSETS_DIR, BENCHMARK_POLICIES_DIR):
        if (folder / f"{stem}.pt").is_file():
            return folder / f"{stem}.pt"
    known = sorted(p.stem[len("policy_"):] for d in (ASSETS_DIR, BENCHMARK_POLICIES_DIR) if d.is_dir() for p in d.glob("policy_*.pt"))
    raise ConfigError(f"no policy named {spec!r}; known: {', '.join(known)} (or give a path to a .pt file)")


def _weights_list(value: Any) -> tuple[Path, ...]:
    """One file, several joined by ``+`` or a list: an ensemble that averages their logits."""
    if isinstance(value, (str, Path)):
        value = str(value).split("+")
    return tuple(resolve_weights(v) for v in value)


def _entries(value: Any, option: str, form: str, fields: int) -> tuple[tuple[str, ...], ...]:
    """``"TASK>A;..."`` or ``"TASK>A=B;..."`` (or such tuples) -> tuples of ``fields`` names;
    ``none``: ().  ``form`` is how an entry is written, for the error a bad one gets."""
    if isinstance(value, str) and value.strip().lower() in ("", "none"):
        return ()
    out = []
    for given in value.split(";") if isinstance(value, str) else value:
        if isinstance(given, str):
            task, sep, rest = given.partition(">")
            entry = tuple(v.strip() for v in (task, *rest.split("="))) if sep else ()
        else:
            entry = tuple(str(v) for v in given)
        if len(entry) != fields or not all(entry):
            raise ConfigError(f"learned: {option} entries are written {form}, not {given!r}")
        out.append(entry)
    return tuple(out)


def _swaps(value: Any) -> tuple[tuple[str, ...], ...]:
    """``swap_after``: ``"TASK>OLD=NEW;..."`` -> ((task, old tool, new tool), ...)."""
    return _entries(value, "swap_after", "TASK>OLD=NEW", 3)


def _joins(value: Any) -> tuple[tuple[str, ...], ...]:
    """``agenda_after``: ``"TASK>DEGRADATION;..."`` -> ((task, degradation), ...)."""
    return _entries(value, "agenda_after", "TASK>DEGRADATION", 2)


def _reveals(value: Any) -> tuple[tuple[str, ...], ...]:
    """``reveals``: ``"TASK>DEGRADATION;..."`` -> ((task, degradation), ...)."""
    return _entries(value, "reveals", "TASK>DEGRADATION", 2)


def _waits(value: Any) -> tuple[tuple[str, ...], ...]:
    """``wait_for``: ``"FIRST>TASK;..."`` -> ((first, waiting task), ...)."""
    return _entries(value, "wait_for", "FIRST>TASK", 2)


def _decode(value: Any) -> str:
    mode = str(value)
    if mode not in ("tool", "task"):
        raise ConfigError(f"learned: decode must be 'tool' or 'task', got {mode!r}")
    return mode


def _available(value: Any) -> tuple[str, ...] | None:
    return None if value is None else names(value)


@dataclasses.dataclass(frozen=True)
class LearnedOptions(StepOptions):
    """Options of :class:`LearnedPolicy` (see its docstring for what each does)."""

    weights: tuple[Path, ...] | None = option(None, _weights_list, doc="policy file(s); default the variant's")
    variant: str = option("learned", doc="a policy by name (resolve_weights): learned, sft3, rl3_static, ...")
    greedy: bool = option(True, flag, doc="False samples with temperature")
    temperature: float = option(1.0)
    repeat_penalty: float = option(3.0, doc="logits off a task already done")
    n_crops: int | None = option(None, optional_int, doc="crops averaged per decision (default: the weights')")
    available_tools: tuple[str, ...] | None = option(None, _available, doc="tools that can run (default: installed)")
    finish_agenda: bool = option(True, flag, doc="stop waits for the tasks perception requires")
    threshold: float = option(0.5, doc="perception probability that puts a task on the agenda")
    agenda_skip: tuple[str, ...] = option(AGENDA_SKIP, names, doc="degradations the agenda leaves to the network")
    skip_threshold: float | None = option(None, optional_float)
    min_prob: float | None = option(None, optional_float)
    sure_dark: float | None = option(None, optional_float)
    reveal: bool = option(True, flag, doc="a degradation a done step revealed joins the agenda (noise after brightening)")
    reveals: tuple[tuple[str, ...], ...] = option(
        tuple((t, d) for t, ds in REVEALS.items() for d in ds), _reveals,
        doc="TASK>DEGRADATION: read again on a TASK step's output, a degradation joins the agenda",
    )
    reveal_changed: bool = option(False, flag, doc="only a step that changed the image reveals")
    decode: str = option("task", _decode, doc="greedy decisions by task or by tool")
    after_sr: tuple[str, ...] = option(AFTER_SR, names, doc="tasks that wait for a pending x4 step")
    wait_for: tuple[tuple[str, ...], ...] = option((), _waits, doc="FIRST>TASK: TASK waits for a step of FIRST while FIRST is on the agenda")
    swap_after: tuple[tuple[str, ...], ...] = option(SWAP_AFTER, _swaps, doc="TASK>OLD=NEW: OLD is called as NEW once a TASK step is done")
    agenda_after: tuple[tuple[str, ...], ...] = option(AGENDA_AFTER, _joins, doc="TASK>DEGRADATION: a skipped degradation joins the agenda once a TASK step is done")


@POLICIES.register("learned")
class LearnedPolicy(StepPolicy):
    """Step policy backed by a trained :class:`~irpilot.policies.learned.network.PolicyNet`.

    Options: ``weights`` (path of a ``.pt`` with its ``.json`` meta; default the shipped
    ``assets/policy_learned.pt``; a bare name such as ``rl1`` is looked up by
    :func:`resolve_weights`; several joined by ``+``, or a list, make an ensemble that averages
    the members' logits), ``variant`` (a shipped file ``assets/policy_<variant>.pt``),
    ``greedy`` (default True; False samples with ``temperature``), ``repeat_penalty`` (logits,
    default 3.0), ``n_crops`` (crops averaged per decision, default from the weights),
    ``finish_agenda`` (default True: while a degradation perception rates present in the
    input, probability >= ``threshold`` (0.5), is untreated, the probability of stop goes to
    the tools of those tasks (:func:`redirect_stop`); every other choice, the order, the tools
    and any extra steps stay the network's; an agenda task the policy has no action for, such
    as desnowing, is done with that task's default tool when the network would stop), ``agenda_skip`` (degradations the agenda leaves to
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
    ``reveal`` (default True: a degradation a done step can reveal, :data:`~irpilot.policies.common.REVEALS`,
    such as the noise a brightened dark photo shows, joins the agenda when perception reads it on
    the current image), ``reveals`` (the table ``reveal`` reads: ``TASK>DEGRADATION`` entries
    separated by ``;``, default :data:`~irpilot.policies.common.REVEALS`' ``low_light>noise``;
    ``low_light>motion_blur`` was measured and not kept: BENCHMARKS.md, "Motion blur read after
    brightening"), ``reveal_changed`` (default False: with True only a kept step that changed the
    image reveals anything), ``sure_dark`` (when perception rates the current image dark with at least this probability,
    ``hsv_value_inverse`` is called with ``check=false``, so that its darkening check cannot
    leave a photo perception is sure of dark; default none: the tool's check decides.  At 0.6,
    chosen on validation crops, it lost 0.07 dB over the benchmark's 144 images: perception is
    sure of darkness on small photos as taken too; BENCHMARKS.md, "Skipping the darkening check"),
    ``after_sr`` (tasks that wait while super-resolution is on the agenda and not done: where the
    network would take one of them first, it takes its most probable x4 tool instead, and the
    waiting task's tool is chosen on the upscaled image; default :data:`AFTER_SR`, ``none`` for
    an empty list), ``wait_for`` (``FIRST>TASK`` entries separated by ``;``, the same for any two
    tasks: where the network would take TASK while FIRST is on the agenda and not done, FIRST's most
    probable tool comes first; default none),
    ``swap_after`` (``TASK>OLD=NEW`` entries separated by ``;``, OLD and NEW tools of one task: where
    the network calls OLD once a step of TASK is done, NEW is called instead, when it is one of the
    policy's actions and can run; default :data:`SWAP_AFTER`, ``none`` for none),
    ``agenda_after`` (``TASK>DEGRADATION`` entries separated by ``;``: once a step of TASK is done, a
    degradation ``agenda_skip`` leaves to the network joins the agenda when perception read it on the
    input at ``threshold`` or more, so the policy does not stop before treating it; default
    :data:`AGENDA_AFTER`, ``none`` for none),
    ``tasks`` (task or degradation names, as ``--tasks``: the policy undoes exactly these, each
    once at least, in the order and with the tools the network prefers; no other task's tool is called).
    """

    name = "learned"
    Options: ClassVar[type[PolicyOptions]] = LearnedOptions
    options: LearnedOptions
    _variant: ClassVar[str] = "learned"

    def __init__(self, options: LearnedOptions | None = None, /, **raw: Any) -> None:
        if options is None and "variant" not in raw and type(self)._variant != "learned":
            raw = {**raw, "variant": type(self)._variant}
        super().__init__(options, **raw)
        o = self.options
        paths = o.weights or (resolve_weights(o.variant),)
        self.weights = paths[0]
        self.net, self.space, self.encoder, self.meta = load_policy(self.weights)
        self.nets = [self.net]
        for extra in paths[1:]:
            net, space, encoder, _ = load_policy(extra)
            if space.names != self.space.names or encoder.config() != self.encoder.config():
                raise ConfigError(f"{extra} has another action space or state encoder than {self.weights}: "
                                  "an ensemble needs policies trained from the same SFT model")
            self.nets.append(net)
        if o.n_crops:
            self.encoder.n_crops = o.n_crops
        self.available = self.space.availability(o.available_tools)
        # tasks=...: the user says what to undo; the network only orders them and picks the tools
        self.tasks = None if o.tasks is None else [DEGRADATION_TO_TASK[d] for d in o.tasks]
        unknown = sorted(set(self.tasks or ()) - set(self.space.tasks))
        if unknown:
            raise ConfigError(
                f"learned: its weights have no tool for {', '.join(unknown)}; use --policy fixed for these tasks"
            )
        waiting = sorted(set(o.after_sr) - set(TASKS))
        if waiting:
            raise ConfigError(f"learned: after_sr names unknown task(s) {', '.join(waiting)}; tasks: {', '.join(TASKS)}")
        from ...tools import TOOLS

        for task, old, new in o.swap_after:  # a swap keeps the task: the network chose the task, the entry the tool
            if task not in TASKS or old not in TOOLS or new not in TOOLS or TOOLS.get(old).card.task != TOOLS.get(new).card.task:
                raise ConfigError(f"learned: swap_after {task}>{old}={new}: TASK must be a task, OLD and NEW tools of one task")
        for task, waiting in o.wait_for:
            if task not in TASKS or waiting not in TASKS:
                raise ConfigError(f"learned: wait_for {task}>{waiting}: FIRST>TASK must name two tasks")
        for opt, entries in (("agenda_after", o.agenda_after), ("reveals", o.reveals)):
            for task, deg in entries:
                if task not in TASKS or deg not in DEGRADATION_TO_TASK:
                    raise ConfigError(f"learned: {opt} {task}>{deg}: TASK>DEGRADATION must name a task and a degradation")
        self._agenda: list[str] = []
        self._called: list[str] = []
        self._banned: set[str] = set()
        self._last: str | None = None
        self._revealed: dict[str, str] = {}  # task a done step revealed -> why it joined the agenda
        self.last_probs: dict[str, float] = {}

    @property
    def actions(self) -> tuple[str, ...]:
        return self.space.names

    def reset(self, obs: Observation) -> None:
        self._called, self._banned, self._last, self._revealed = [], set(), None, {}

    def _sync(self, obs: Observation) -> None:
        called = [s.action.name for s in obs.history]
        if self._last is not None and self._last not in called[len(self._called) :]:
            self._banned.add(self._last)  # the previous call failed: do not retry it
        self._called = called

    def probabilities(self, obs: Observation) -> np.ndarray:
        """Masked action probabilities (n,) for ``obs``."""
        import torch

        self._sync(obs)
        state = self.encoder.encode(obs.image, self._called, obs.perception, input_perception=obs.input_perception)
        with torch.inference_mode():
            batch = stack_states([state])
            logits = np.mean([net(*batch)[0].numpy().astype(np.float64) for net in self.nets], axis=0)
        off = decision_mask(
            self.space,
            self._called,
            available=self.available,
            banned=self._banned,
            # a named super-resolution task upscales whatever the size (.common.SR_MAX_SIDE)
            image_shape=None if self.tasks and "super_resolution" in self.tasks else obs.image.shape,
            repeat_penalty=self.options.repeat_penalty,
            max_steps=self.encoder.max_steps,
        )
        if self.tasks is not None:  # tools of tasks not named are never called
            for i, task in enumerate(self.space.tasks):
                if i != self.space.stop_index and task not in self.tasks:
                    off[i] = -np.inf
        z = logits / max(self.options.temperature, 1e-6) + off
        z = z - z.max()
        p = np.exp(z)
        p = p / p.sum()
        if self.tasks is not None:
            required = list(self.tasks)
        else:
            required = agenda(
                obs.input_perception or obs.perception,
                self.options.threshold,
                self.options.agenda_skip,
                self.options.skip_threshold,
            )
            done = self._done_tasks()
            seen = obs.input_perception or obs.perception
            for task, deg in self.options.agenda_after:
                joins = DEGRADATION_TO_TASK[deg]
                p_in = seen.probs.get(deg, 0.0) if seen is not None else 0.0
                if task in done and p_in >= self.options.threshold and joins not in required:
                    required.append(joins)
                    self._revealed.setdefault(joins, f"added: {deg} read on the input at {p_in:.2f} is treated "
                                                     f"after the {task} step (agenda_after)")
            if self.options.reveal:
                reveals: dict[str, list[str]] = {}
                for task, deg in self.options.reveals:
                    reveals.setdefault(task, []).append(deg)
                changed = None
                if self.options.reveal_changed:  # a step that returned its input (declined) reveals nothing
                    changed = [t for s in obs.history if s.accepted and s.output_hash not in (None, s.input_hash)
                               and s.action.name in self.space.tools and (t := self.space.task_of(s.action.name))]
                for d in revealed_degradations(done, obs.perception, self.options.threshold, reveals, changed):
                    if DEGRADATION_TO_TASK[d] not in required:
                        required.append(DEGRADATION_TO_TASK[d])
                        self._revealed.setdefault(DEGRADATION_TO_TASK[d], revealed_note(d, done, obs.perception, reveals))
        self._agenda = required
        if self.options.finish_agenda or self.tasks is not None:
            p = redirect_stop(p, pending_tools(self.space, off, self._called, required), self.space.stop_index)
        return p

    def _drop_unsure(self, p: np.ndarray) -> np.ndarray:
        """``min_prob``: tools below it whose task is not on perception's agenda lose their
        probability (stop and the agenda's tools keep theirs)."""
        q = np.array(p, dtype=np.float64)
        for i, name in enumerate(self.space.names):
            if name != "stop" and q[i] < self.options.min_prob and self.space.task_of(name) not in self._agenda:
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

    def act(self, obs: Observation) -> ToolCall:
        p = self.probabilities(obs)
        self.last_probs = {n: float(v) for n, v in zip(self.space.names, p)}
        if self.options.min_prob is not None:
            p = self._drop_unsure(p)
        rule_note = ""
        if not p.any():
            name = "stop"
        else:
            if not self.options.greedy:
                i = int(obs.rng.choice(len(p), p=p / p.sum()))
            elif self.options.decode == "task":
                i = self._task_argmax(p)
            else:
                i = int(np.argmax(p))
            name = self.space.names[i]
            chosen = name
            for rule, apply in (("after_sr", self._sr_first), ("wait_for", self._waited), ("swap_after", self._swapped)):
                before, name = name, apply(name, p)
                if name != before:
                    rule_note = f"{name} in place of the network's {chosen} ({rule})"
        if name == "stop":
            extra = self._outside_task_tool() if self.options.finish_agenda or self.tasks is not None else None
            if extra is None:
                self._last, self.last_note = None, ""
                return STOP
            name = extra
        from ...tools import task_of_tool

        self._last = name
        self.last_note = "; ".join(n for n in (self._revealed.get(task_of_tool(name) or "", ""), rule_note) if n)
        return ToolCall(name, self._arguments(name, obs))

    def _done_tasks(self) -> list[str]:
        """The tasks of the steps called so far, in order."""
        return [t for c in self._called if c in self.space.tools and (t := self.space.task_of(c))]

    def _sr_first(self, name: str, p: np.ndarray) -> str:
        """``after_sr``: ``name``, unless its task waits for an x4 step the agenda still holds;
        then the most probable callable x4 tool."""
        return self._first(name, p, [("super_resolution", t) for t in self.options.after_sr])

    def _waited(self, name: str, p: np.ndarray) -> str:
        """``wait_for``: ``name``, unless its task waits for a step of a task the agenda still
        holds; then that task's most probable callable tool."""
        return self._first(name, p, self.options.wait_for)

    def _first(self, name: str, p: np.ndarray, entries: Sequence[tuple[str, ...]]) -> str:
        task = self.space.task_of(name)
        done = self._done_tasks()
        for first, waiting in entries:
            if task != waiting or first not in self._agenda or first in done:
                continue
            members = [i for i, n in enumerate(self.space.names) if self.space.task_of(n) == first and p[i] > 0]
            if members:
                return self.space.names[max(members, key=lambda i: p[i])]
        return name

    def _swapped(self, name: str, p: np.ndarray) -> str:
        """``swap_after``: the tool called in ``name``'s place once a step of the entry's task
        is done (when that tool can run), else ``name`` (``p``, unused, keeps the rules' one signature)."""
        done = set(self._done_tasks())
        for task, old, new in self.options.swap_after:
            if name == old and task in done and new in self.space.tools and new not in self._banned \
                    and self.available[self.space.names.index(new)]:
                return new
        return name

    def _outside_task_tool(self) -> str | None:
        """Before stopping: the default tool (:func:`~irpilot.policies.common.default_tool`) of
        the first task on the agenda that has no action in this policy and no call yet, e.g.
        desnowing for a policy whose action list predates snow; None when there is none."""
        from ...tools import TOOLS
        from ..common import default_tool

        done = {TOOLS.get(c).card.task for c in self._called if c in TOOLS}
        for task in self._agenda:
            if task in self.space.tasks or task in done:
                continue
            tool = default_tool(task)
            if tool is not None and tool not in self._banned:
                return tool
        return None

    def _arguments(self, name: str, obs: Observation) -> dict[str, Any]:
        """``sure_dark``: when perception rates the current image dark with at least this
        probability, a low-light tool that checks whether the image was darkened
        (``hsv_value_inverse``) is told to skip its check (``check=false``)."""
        if self.options.sure_dark is None or obs.perception is None:
            return {}
        from ...tools import TOOLS

        if "check" not in TOOLS.get(name).card.arguments:
            return {}
        return {"check": False} if obs.perception.probs.get("dark", 0.0) >= self.options.sure_dark else {}


def _register_variants() -> None:
    """The shipped comparison policies as ``learned_<variant>``, so that
    ``irpilot bench --policies learned,learned_sft3`` compares them."""
    for variant in SHIPPED_VARIANTS[1:]:
        name = f"learned_{variant}"
        cls = type(f"LearnedPolicy_{variant}", (LearnedPolicy,), {"name": name, "_variant": variant})
        try:
            POLICIES.add(name, cls)
        except ValueError:  # already registered (module re-imported)
            pass


_register_variants()
