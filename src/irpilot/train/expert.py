"""Expert trajectories by tree search over (task order, tool per task).

For a training crop whose degradations are known, every sequence that applies each needed task
once (in any order, with any of the task's candidate tools, possibly stopping early) is a path
in a tree; all sequences sharing a prefix share its tool calls, and the pool's content-addressed
cache makes repeated prefixes free.  With D tasks and k tools per task the full tree has
``sum_l D!/(D-l)! k^l`` nodes (D=3, k=3: 225 calls); ``beam`` keeps only the best nodes per
depth when the tree is larger.  Every node is scored against the clean reference with
:class:`~irpilot.train.scoring.ExpertScore`; the root (doing nothing) scores 0.

Output (resumable, one line per crop): ``expert.jsonl`` with the best sequence, the near-best
alternatives (within ``eps``), every scored node and the trajectory in tool-call format, plus
``images/<id>.npz`` holding the degraded input, the clean reference and the intermediate images
of the best / near-best paths (uint8 HWC), so SFT needs no tool calls.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..imaging.convert import to_uint8
from .scoring import ExpertScore, fidelity

__all__ = ["Node", "SearchResult", "search", "tool_call_messages", "run_expert", "load_expert", "prefix_key"]

log = logging.getLogger(__name__)


def prefix_key(seq: Sequence[str]) -> str:
    return "|".join(seq) if seq else "<input>"


@dataclasses.dataclass
class Node:
    seq: tuple[str, ...]
    tasks: tuple[str, ...]
    image: np.ndarray = dataclasses.field(repr=False)
    psnr: float = 0.0
    ssim: float = 0.0
    score: float = 0.0


@dataclasses.dataclass
class SearchResult:
    base: tuple[float, float]
    nodes: list[Node]
    best: tuple[str, ...]
    near_best: list[tuple[str, ...]]
    calls: int
    executed: int
    seconds: float

    def node(self, seq: Sequence[str]) -> Node | None:
        seq = tuple(seq)
        for n in self.nodes:
            if n.seq == seq:
                return n
        return None

    def scores(self) -> dict[tuple[str, ...], float]:
        return {n.seq: n.score for n in self.nodes}


def search(
    pool: Any,
    degraded: np.ndarray,
    reference: np.ndarray,
    tasks: Sequence[str],
    candidates: Mapping[str, Sequence[str]],
    *,
    scorer: ExpertScore | None = None,
    beam: int | None = 12,
    eps: float = 0.5,
    max_depth: int | None = None,
    fidelity_fn: Callable[[np.ndarray, np.ndarray], tuple[float, float]] = fidelity,
) -> SearchResult:
    """Search the (order, tool) tree of ``tasks`` with ``candidates[task]`` tools each.

    Each depth's calls go to the pool together (``pool.map``) so they run in parallel.
    """
    scorer = scorer or ExpertScore()
    t0 = time.perf_counter()
    base = fidelity_fn(degraded, reference)
    root = Node((), (), degraded, base[0], base[1], 0.0)
    nodes = [root]
    frontier = [root]
    calls = executed = 0
    depth_limit = len(tasks) if max_depth is None else min(max_depth, len(tasks))
    for _depth in range(1, depth_limit + 1):
        jobs: list[tuple[Node, str, str]] = []
        for node in frontier:
            for task in tasks:
                if task in node.tasks:
                    continue
                for tool in candidates.get(task, ()):
                    jobs.append((node, task, tool))
        if not jobs:
            break
        results = pool.map([(tool, node.image, {}) for node, _, tool in jobs])
        children: list[Node] = []
        for (node, task, tool), res in zip(jobs, results):
            calls += 1
            executed += 0 if getattr(res, "cached", False) else 1
            if not res.ok or res.image is None:
                log.debug("call %s failed: %s", tool, res.error)
                continue
            p, s = fidelity_fn(res.image, reference)
            seq = (*node.seq, tool)
            children.append(Node(seq, (*node.tasks, task), res.image, p, s, scorer(base, (p, s), len(seq))))
        nodes.extend(children)
        children.sort(key=lambda n: -n.score)
        frontier = children[:beam] if beam else children
    best = max(nodes, key=lambda n: n.score)
    near = [n.seq for n in sorted(nodes, key=lambda n: -n.score) if n.seq != best.seq and n.score >= best.score - eps]
    return SearchResult(base, nodes, best.seq, near, calls, executed, time.perf_counter() - t0)


def tool_call_messages(seq: Sequence[str], input_ref: str = "input") -> list[dict[str, Any]]:
    """The sequence as a chat transcript in the hermes/OpenAI tool-call shape (arguments as
    dicts), ending with ``stop``; images are referenced by name (``input``, ``step1``...)."""
    msgs: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "image", "image": input_ref}, {"type": "text", "text": "Restore this photo."}]}
    ]
    for i, name in enumerate(seq, 1):
        msgs.append({"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": name, "arguments": {}}}]})
        msgs.append({"role": "tool", "name": name, "content": json.dumps({"ok": True})})
        msgs.append({"role": "user", "content": [{"type": "image", "image": f"step{i}"}]})
    msgs.append({"role": "assistant", "content": "stop"})
    return msgs


def run_expert(
    out_dir: str | Path,
    n_cases: int,
    *,
    pool: Any = None,
    candidates: Mapping[str, Sequence[str]] | None = None,
    seed: int = 0,
    beam: int | None = 12,
    eps: float = 0.5,
    scorer: ExpertScore | None = None,
    photos: Sequence[tuple[str, np.ndarray]] | None = None,
    size: tuple[int, int] = (128, 192),
    progress: Callable[[str], None] | None = None,
    time_budget: float | None = None,
    skip_unsupported: bool = True,
    counts: Sequence[float] | None = None,
    realistic_p: float = 0.0,
    only_tasks: Sequence[str] | None = None,
    policy: Any = None,
) -> Path:
    """Generate (or continue) the expert dataset in ``out_dir``; returns the JSONL path.

    Case ``i`` is drawn from ``numpy.random.default_rng([seed, i])``, so an interrupted run
    resumes where it stopped and produces the same cases. ``counts`` weights the number of
    degradations per crop (1, 2, ...; default: ``sample_combination``'s), e.g. ``(0, 0.6, 0.4)``
    for pairs and triples only, where the order of the steps matters; ``realistic_p`` the share of
    crops degraded with the realistic family instead of the protocol's recipe. With
    ``only_tasks`` a case is searched only if it needs one of these tasks (the others are drawn
    and skipped): run with an earlier dataset's seed and settings, this searches the same cases
    again after their tools changed, and :func:`irpilot.train.sft.train_sft` lets the new records
    replace the old ones.

    With ``policy`` (a step policy, e.g. a trained ``learned``) the labels are on-policy: the
    agent restores each case with that policy, and the search runs again from every state its
    chain passed through (the input, after its first step, ...; the tasks its steps did are done),
    so the data says what to do in the states the policy itself reaches, such as stopping after a
    JPEG step with the blur still there.  One record per state, id ``<case>_p<j>``: ``best`` is the
    policy's ``j`` steps followed by the search's best continuation (``stop`` if none gains), and
    ``start`` is ``j``: SFT learns only the decisions from there on.
    """
    from ..policies.learned.actions import default_action_space
    from .data import make_case, training_photos

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    jsonl = out / "expert.jsonl"
    done = _finished_cases(jsonl, progress) if jsonl.exists() else set()
    if candidates is None:
        sp = default_action_space()
        candidates = {t: sp.tools_for(t) for t in sp.task_list}
    if pool is None:
        from ..pool import Pool

        pool = Pool(workers=2)
    photos = photos if photos is not None else training_photos()
    scorer = scorer or ExpertScore()
    agent = None
    if policy is not None:
        from ..agent import Agent

        agent = Agent(pool=pool)
    t_start = time.perf_counter()
    for i in range(n_cases):
        cid = f"c{seed:02d}_{i:05d}"
        if cid in done:
            continue
        if time_budget is not None and time.perf_counter() - t_start > time_budget:
            if progress:
                progress(f"time budget reached after {len(done)} cases")
            break
        rng = np.random.default_rng([seed, i])
        case = make_case(rng, photos, size=size, case_id=cid, counts=counts, realistic_p=realistic_p)
        if only_tasks is not None and not set(case.tasks) & set(only_tasks):
            continue
        tasks = [t for t in case.tasks if candidates.get(t)]
        if skip_unsupported and len(tasks) < len(case.tasks):
            continue  # not recorded: a later run with tools for every task picks it up
        if agent is not None:
            n_states = _label_policy_states(agent, policy, case, tasks, candidates, out, jsonl, scorer, beam, eps)
            done.add(cid)
            if progress:
                progress(f"[{len(done)}/{n_cases}] {cid} {'+'.join(case.names)}: {n_states} states of the policy labelled")
            continue
        res = search(pool, case.degraded, case.clean, tasks, candidates, scorer=scorer, beam=beam, eps=eps)
        _write_record(out, jsonl, cid, case, tasks, res, res.base, beam, eps)
        done.add(cid)
        if progress:
            bn = res.node(res.best)
            progress(
                f"[{len(done)}/{n_cases}] {cid} {'+'.join(case.names)} -> {' > '.join(res.best) or 'stop'} "
                f"({bn.score:+.2f}, {len(res.near_best)} near) {res.calls} calls {res.executed} run {res.seconds:.1f}s"
            )
    return jsonl


def _finished_cases(jsonl: Path, progress: Callable[[str], None] | None = None) -> set[str]:
    """The cases of ``jsonl`` a resumed run skips.  An on-policy case is finished when all its
    states' records are there (each says how many its case has: ``states``); the records of a
    case a run stopped in the middle of, and a line it left half written, are dropped (the file
    rewritten atomically), so the whole case is labelled again.  Records from before ``states``
    was written count as finished."""
    from ..io import atomic_write_bytes

    lines = jsonl.read_text().splitlines()
    recs: list[dict[str, Any] | None] = []
    for line in lines:
        try:
            rec = json.loads(line)
            recs.append(rec if isinstance(rec, dict) and "id" in rec else None)
        except ValueError:
            recs.append(None)
    found = Counter(rec["case"] for rec in recs if rec is not None and "case" in rec)
    partial = {rec["case"] for rec in recs
               if rec is not None and "states" in rec and found[rec["case"]] < rec["states"]}
    broken = sum(rec is None and bool(line.strip()) for line, rec in zip(lines, recs))
    if partial or broken:
        kept = [line for line, rec in zip(lines, recs) if rec is not None and rec.get("case") not in partial]
        atomic_write_bytes(jsonl, "".join(line + "\n" for line in kept).encode())
        if progress:
            progress(f"resuming: {broken} half-written line(s) dropped; {len(partial)} case(s) stopped part-way "
                     f"labelled again{': ' + ', '.join(sorted(partial)) if partial else ''}")
    return {rec.get("case", rec["id"]) for rec in recs if rec is not None and rec.get("case") not in partial}


def policy_states(agent: Any, policy: Any, degraded: np.ndarray,
                  reference_shape: Sequence[int] | None = None) -> list[tuple[tuple[str, ...], np.ndarray]]:
    """The states a policy passes through on ``degraded``: (tools called so far, image), from the
    input to the image it stops on.  The agent's accepted calls are replayed through its pool
    (cached, so no tool runs twice).  With ``reference_shape`` the states end before an image
    that cannot be scored against the reference (neither its size nor a quarter of it: x4
    super-resolution of a crop that was not low-resolution)."""
    traj = agent.run(degraded, policy)
    states: list[tuple[tuple[str, ...], np.ndarray]] = [((), degraded)]
    for call in traj.chain:
        res = agent.pool.call(call.name, states[-1][1], call.arguments).result()
        if not res.ok or res.image is None:  # the agent kept it, so it ran once: not expected
            break
        if reference_shape is not None and not _scorable(res.image, reference_shape):
            break
        states.append(((*states[-1][0], call.name), res.image))
    return states


class _SizeHinted:
    """``perceiver`` reading a training crop as the photo it stands for
    (:func:`irpilot.train.data.perception_size_hint` against the case's clean reference of
    ``ref_shape``), as SFT and GRPO show it to the policy: without the hint a crop under 300 px
    reads as low resolution."""

    def __init__(self, perceiver: Any, ref_shape: Sequence[int]) -> None:
        self.perceiver, self.ref_shape = perceiver, tuple(ref_shape)

    def __call__(self, img: np.ndarray, size_hint: tuple[int, int] | None = None) -> Any:
        from .data import perception_size_hint

        return self.perceiver(img, size_hint=size_hint or perception_size_hint(img.shape, self.ref_shape))


def _scorable(img: np.ndarray, ref_shape: Sequence[int]) -> bool:
    """Whether ``img`` can be scored against a reference of ``ref_shape`` (its size, or the x4
    low-resolution size: :func:`irpilot.quality.base.align_to_reference`'s rule)."""
    from ..quality.base import MetricError, align_to_reference

    try:
        align_to_reference(img, np.empty(tuple(ref_shape), np.float32))
    except MetricError:
        return False
    return True


def _label_policy_states(agent: Any, policy: Any, case: Any, tasks: Sequence[str],
                         candidates: Mapping[str, Sequence[str]], out: Path, jsonl: Path,
                         scorer: ExpertScore, beam: int | None, eps: float) -> int:
    """Search on from every state of ``policy``'s chain on ``case``; one record per state."""
    from ..agent import Agent
    from ..tools import TOOLS

    if agent.perceiver is not None:  # the same pool and settings, perception with the case's size hint
        agent = Agent(pool=agent.pool, perceiver=_SizeHinted(agent.perceiver, case.clean.shape), config=agent.config)
    states = policy_states(agent, policy, case.degraded, case.clean.shape)
    base = fidelity(case.degraded, case.clean)
    for j, (prefix, img) in enumerate(states):
        done_tasks = {TOOLS.get(t).card.task for t in prefix if t in TOOLS}
        left = [t for t in tasks if t not in done_tasks]
        res = search(agent.pool, img, case.clean, left, candidates, scorer=scorer, beam=beam, eps=eps)
        _write_record(out, jsonl, f"{case.id}_p{j}", case, tasks, res, base, beam, eps, states[: j + 1], len(states))
    return len(states)


def _write_record(out: Path, jsonl: Path, rid: str, case: Any, tasks: Sequence[str], res: SearchResult,
                  base: tuple[float, float], beam: int | None, eps: float,
                  states: Sequence[tuple[tuple[str, ...], np.ndarray]] = (), n_states: int = 0) -> None:
    """Append one expert record and save its images (input, clean, the states of its best and
    near-best sequences).  ``states``: a policy's states up to the one the search started from
    (on-policy labels; the record then names its ``case``, the ``start`` of its decisions and
    the number of ``states`` of its case, ``n_states``; its sequences begin with the policy's
    steps and its scores are gains over that state's image)."""
    prefix = states[-1][0] if states else ()
    arrays = {"degraded": to_uint8(case.degraded), "clean": to_uint8(case.clean)}
    for pre, img in states[1:]:
        arrays[f"state:{prefix_key(pre)}"] = to_uint8(img)
    for seq in [res.best, *res.near_best]:
        for k in range(1, len(seq) + 1):
            node = res.node(seq[:k])
            if node is not None:
                arrays[f"state:{prefix_key((*prefix, *seq[:k]))}"] = to_uint8(node.image)
    np.savez_compressed(out / "images" / f"{rid}.npz", **arrays)
    best = [*prefix, *res.best]
    rec: dict[str, Any] = {"id": rid}
    if states:
        rec.update({"case": case.id, "start": len(prefix), "states": n_states})
    rec.update({
        "photo": case.photo,
        "box": list(case.box),
        "names": case.names,
        "levels": case.levels,
        "tasks": case.tasks,
        "searched_tasks": list(tasks),
        "seed": case.seed,
        "records": case.records,
        "base": {"psnr": base[0], "ssim": base[1]},
        "best": best,
        "near_best": [[*prefix, *s] for s in res.near_best],
        "nodes": [{"seq": [*prefix, *n.seq], "score": round(n.score, 4), "psnr": round(n.psnr, 4), "ssim": round(n.ssim, 5)}
                  for n in res.nodes],
        "calls": [{"name": n, "arguments": {}} for n in best] + [{"name": "stop", "arguments": {}}],
        "messages": tool_call_messages(best),
        "search": {"calls": res.calls, "executed": res.executed, "seconds": round(res.seconds, 3), "beam": beam, "eps": eps},
    })
    with open(jsonl, "a") as f:
        f.write(json.dumps(rec) + "\n")


def load_expert(path: str | Path) -> list[dict[str, Any]]:
    """The records of an expert JSONL file (or of ``<dir>/expert.jsonl``)."""
    p = Path(path)
    if p.is_dir():
        p = p / "expert.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def load_images(root: str | Path, cid: str) -> dict[str, np.ndarray]:
    """The arrays of one case as float32 (3, H, W): ``degraded``, ``clean``, ``state:<prefix>``."""
    root = Path(root)
    if root.suffix == ".jsonl":
        root = root.parent
    with np.load(root / "images" / f"{cid}.npz") as z:
        return {k: np.ascontiguousarray(z[k].transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0) for k in z.files}
