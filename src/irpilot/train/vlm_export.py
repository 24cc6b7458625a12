"""Expert and policy trajectories as chat records for training a vision-language model
(``irpilot train export``).

Records are Qwen2.5-VL-style message lists, as ``transformers`` chat templates and TRL's vision
trainers read them: content parts ``{"type": "image"}`` / ``{"type": "text", "text": ...}``,
assistant turns with ``tool_calls`` (``{"type": "function", "function": {"name", "arguments":
{dict}}}``), ``tool`` turns with the result, and a record-level ``images`` list of PNG paths
(relative to the export folder) filled in the order of the image parts.  Every turn is the one
the ``vlm`` policy sends at inference (:func:`irpilot.policies.chat.turn_messages`), so a model
trained on the export is asked in the shape it learned.

Two files:

* ``steps.jsonl`` - one record per decision, TRL's conversational prompt-completion shape:
  ``prompt`` (messages up to the decision), ``completion`` (one assistant tool call, ``stop``
  included), ``images``, ``tools``, ``target`` (the call) and where it came from.
* ``episodes.jsonl`` - one record per trajectory: ``messages`` (the conversation of its last
  decision: every call with its result, the input and the final image, then ``stop``) and
  ``images``.

The function tools the turns offer are written once, to ``tools.json``.

Sources: expert search (``train/expert.py`` output: the best sequence, plus ``perturb``
perturbed variants per case drawn by TIR-Agent's perturbation, :mod:`irpilot.train.perturb`,
which keeps only sequences the search scored near-best), and policy traces
(``*.trace.json`` written by ``irpilot restore``; their steps are replayed through the pool
from the trace's source image, failed and rolled-back calls included as such).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..policies.chat import CallRecord, hermes_call, image_data_url, template_messages, tool_schemas, turn_messages
from ..toolcall import ToolCall

__all__ = ["ExportConfig", "Decision", "export", "expert_episodes", "trace_episodes", "load_steps"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    max_side: int = 448  #: longest side of the saved images (0: as stored)
    perturb: int = 2  #: perturbed variants drawn per expert case (0: best sequences only)
    p_swap: float = 0.3
    p_sub: float = 0.3
    perturb_eps: float = 0.5
    seed: int = 0
    perception: bool = True  #: perception summaries in the turns (as the vlm policy sends them)
    calls_left: int = 8  #: the budget stated in the first turn (the vlm policy's max_steps)
    #: task -> tool ids offered as functions (default: the measured toolbox, as the vlm policy offers it)
    tools: dict[str, list[str]] | None = None


@dataclasses.dataclass
class Episode:
    """One trajectory with its images: ``images[k]`` is the image before call ``k``."""

    id: str
    source: str  #: "expert", "perturbed" or "policy:<name>"
    input_image: np.ndarray
    calls: list[ToolCall]  #: the calls in order, ending with stop
    accepted: list[bool]
    errors: list[str | None]
    images: list[np.ndarray]  #: the current image before each call
    after: list[np.ndarray | None]  #: the image a call produced (None: failed)
    case: str = ""  #: the crop or photo it restores (variants of one case share it)


@dataclasses.dataclass
class Decision:
    """One exported decision (a line of ``steps.jsonl``, as read back by :func:`load_steps`)."""

    id: str
    prompt: list[dict[str, Any]]
    completion: list[dict[str, Any]]
    images: list[Path]
    target: ToolCall
    source: str
    case: str = ""


# -- sources ----------------------------------------------------------------------------------
def expert_episodes(expert: str | Path, cfg: ExportConfig = ExportConfig()) -> Iterable[Episode]:
    """The best sequence of every expert case, and up to ``cfg.perturb`` distinct perturbed
    variants (sequences whose intermediate images the expert stored)."""
    from ..tools import TOOLS, task_of_tool
    from .expert import load_expert, load_images, prefix_key
    from .perturb import PerturbConfig, perturb_sequence, scores_from_record

    pcfg = PerturbConfig(cfg.p_swap, cfg.p_sub, cfg.perturb_eps)
    rng = np.random.default_rng(cfg.seed)
    for rec in load_expert(expert):
        arrays = load_images(expert, rec["id"])
        best = tuple(rec["best"])
        scores = scores_from_record(rec)
        known = {t for seq in scores for t in seq}

        def alts(tool: str, known: set[str] = known) -> list[str]:
            task = task_of_tool(tool)
            return [t for t in known if t in TOOLS and task_of_tool(t) == task] or [tool]

        seqs = {best: "expert"}
        for _ in range(cfg.perturb * 4 if cfg.perturb else 0):
            if sum(1 for v in seqs.values() if v == "perturbed") >= cfg.perturb:
                break
            new, _applied = perturb_sequence(best, scores, alts, rng, pcfg)
            if new not in seqs and all(f"state:{prefix_key(new[:j])}" in arrays for j in range(1, len(new) + 1)):
                seqs[new] = "perturbed"
        for k, (seq, source) in enumerate(seqs.items()):
            imgs = [arrays["degraded"]] + [arrays[f"state:{prefix_key(seq[:j])}"] for j in range(1, len(seq) + 1)]
            calls = [ToolCall(t) for t in seq] + [ToolCall("stop")]
            yield Episode(f"{rec['id']}_{k}", source, arrays["degraded"], calls, [True] * len(calls), [None] * len(calls),
                          imgs, [*imgs[1:], None], case=rec["id"])


def trace_episodes(traces: Sequence[str | Path], pool: Any) -> Iterable[Episode]:
    """Policy trajectories from trace files, replayed through ``pool`` from their source image
    (a trace whose source is missing or no longer matches is skipped with a warning)."""
    from ..io import image_hash, read_image
    from ..session import Trajectory

    for path in traces:
        traj = Trajectory.load(path)
        src = Path(traj.source)
        if not src.is_absolute() and not src.exists():
            src = Path(path).parent / src
        try:
            img = read_image(src)
        except Exception as exc:  # noqa: BLE001 - one unreadable source skips one trace
            log.warning("%s: source %s unreadable (%s); skipped", path, traj.source, exc)
            continue
        if image_hash(img) != traj.input_hash:
            log.warning("%s: %s is not the trace's input any more; skipped", path, traj.source)
            continue
        images: dict[str, np.ndarray] = {traj.input_hash: img}
        calls, accepted, errors, before, after = [], [], [], [], []
        current = img
        for s in traj.steps:
            src_img = images.get(s.input_hash, current)
            calls.append(s.action)
            before.append(src_img)
            if s.action.is_stop:
                accepted.append(True), errors.append(None), after.append(None)
                break
            res = pool.run(s.action, src_img)
            out = res.image if res.ok else None
            if out is not None and s.output_hash:
                images[s.output_hash] = out
            accepted.append(bool(s.accepted and out is not None))
            errors.append(None if s.accepted else (s.error or "the tool failed or its result was rolled back"))
            after.append(out)
            if s.accepted and out is not None:
                current = out
        if not calls or not calls[-1].is_stop:
            calls.append(ToolCall("stop")), accepted.append(True), errors.append(None), before.append(current), after.append(None)
        name = Path(path).name.removesuffix(".trace.json")
        yield Episode(name, f"policy:{traj.policy}", img, calls, accepted, errors, before, after, case=traj.input_hash)


# -- writing -----------------------------------------------------------------------------------
class _ImageStore:
    """PNG files by content hash under ``out/images`` (each distinct image written once)."""

    def __init__(self, out: Path, max_side: int) -> None:
        self.out, self.max_side = out, max_side
        (out / "images").mkdir(parents=True, exist_ok=True)

    def __call__(self, img: np.ndarray) -> str:
        import base64

        from ..io import atomic_write_bytes, image_hash

        rel = f"images/{image_hash(img)[:20]}.png"
        if not (self.out / rel).exists():
            url, _ = image_data_url(img, self.max_side or None)
            atomic_write_bytes(self.out / rel, base64.b64decode(url.partition(",")[2]))
        return rel


def _completion(call: ToolCall) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": [], "tool_calls": [{"type": "function", "function": call.as_dict()}]}]


def _decisions(ep: Episode, perceive: Callable[[np.ndarray], Any] | None, cfg: ExportConfig,
               store: _ImageStore) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The step records of an episode and its episode record."""
    from ..io import image_hash

    saved: dict[str, str] = {}  # data URL -> file, so an image is encoded to a file once

    def files(urls: list[str], imgs: list[np.ndarray]) -> list[str]:
        return [saved.setdefault(u, store(im)) for u, im in zip(urls, imgs)]

    p_in = perceive(ep.input_image) if perceive else None
    records: list[CallRecord] = []
    steps: list[dict[str, Any]] = []
    msgs: list[dict[str, Any]] = []
    ep_imgs: list[np.ndarray] = []
    for k, call in enumerate(ep.calls):
        cur = ep.images[k]
        p_cur = (p_in if image_hash(cur) == image_hash(ep.input_image) else perceive(cur)) if perceive else None
        turn = turn_messages(ep.input_image, cur, records, input_perception=p_in, perception=p_cur,
                             calls_left=max(1, cfg.calls_left - len(records)), max_side=cfg.max_side or None)
        urls: list[str] = []
        prompt = template_messages(turn, urls)
        turn_imgs = [ep.input_image] + ([cur] if len(urls) > 1 else [])
        steps.append({
            "id": f"{ep.id}_s{k}", "case": ep.case or ep.id, "source": ep.source, "prompt": prompt, "completion": _completion(call),
            "images": files(urls, turn_imgs), "target": call.as_dict(), "text": hermes_call(call),
        })
        msgs, ep_imgs = prompt, turn_imgs  # the last turn holds the whole history
        if not call.is_stop:
            records.append(CallRecord(call, f"call_{k}", accepted=ep.accepted[k], error=ep.errors[k]))
    episode = {"id": ep.id, "source": ep.source, "messages": msgs + _completion(ep.calls[-1]),
               "images": files([image_data_url(i, cfg.max_side or None)[0] for i in ep_imgs], ep_imgs)}
    return steps, episode


def export(out_dir: str | Path, *, expert: Sequence[str | Path] = (), traces: Sequence[str | Path] = (),
           cfg: ExportConfig = ExportConfig(), pool: Any = None, perceiver: Any = "default",
           progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write ``steps.jsonl``, ``episodes.jsonl``, ``tools.json`` and ``images/`` to ``out_dir``;
    returns counts per source."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if perceiver == "default" and cfg.perception:
        from ..agent import _default_perceiver

        perceiver = _default_perceiver()
    perceive = perceiver if cfg.perception else None
    store = _ImageStore(out, cfg.max_side)
    tools = tool_schemas(cfg.tools)
    (out / "tools.json").write_text(json.dumps(tools, indent=1))
    sources: list[Iterable[Episode]] = [expert_episodes(e, cfg) for e in expert]
    if traces:
        if pool is None:
            from ..pool import default_pool

            pool = default_pool()
        sources.append(trace_episodes(traces, pool))
    counts: dict[str, int] = {}
    n_steps = 0
    with open(out / "steps.jsonl", "w") as fs, open(out / "episodes.jsonl", "w") as fe:
        for src in sources:
            for ep in src:
                steps, episode = _decisions(ep, perceive, cfg, store)
                for s in steps:
                    fs.write(json.dumps(s) + "\n")
                fe.write(json.dumps(episode) + "\n")
                counts[ep.source] = counts.get(ep.source, 0) + 1
                n_steps += len(steps)
                if progress and sum(counts.values()) % 50 == 0:
                    progress(f"{sum(counts.values())} episodes, {n_steps} decisions")
    summary = {"episodes": counts, "steps": n_steps, "out": str(out)}
    (out / "export.json").write_text(json.dumps({**summary, "config": dataclasses.asdict(cfg)}, indent=1))
    return summary


def load_steps(path: str | Path) -> list[Decision]:
    """The decisions of ``steps.jsonl`` (or of ``<dir>/steps.jsonl``), image paths resolved."""
    p = Path(path)
    if p.is_dir():
        p = p / "steps.jsonl"
    out = []
    for line in p.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        out.append(Decision(r["id"], r["prompt"], r["completion"], [p.parent / i for i in r["images"]],
                            ToolCall.coerce(r["target"]), r.get("source", ""), r.get("case", r["id"])))
    return out


def read_images(decision: Decision) -> list[np.ndarray]:
    """The images of a decision as float32 RGB (3, H, W)."""
    from ..io import read_image

    return [read_image(p) for p in decision.images]


def tools_of(out_dir: str | Path) -> list[dict[str, Any]]:
    """The function tools an export was written with."""
    return json.loads((Path(out_dir) / "tools.json").read_text())

