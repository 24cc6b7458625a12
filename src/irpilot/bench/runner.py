"""Run policies over degraded sets and collect per-image results (resumable)."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..config import settings
from ..errors import ConfigError
from ..policies.base import parse_policy, split_label

__all__ = ["GROUP_PRESETS", "KNOWN_SETS", "BenchConfig", "align_output", "read_results", "resolve_set", "run_bench", "summarise"]

log = logging.getLogger(__name__)

#: benchmark group name -> degradation preset of :mod:`irpilot.degrade`
GROUP_PRESETS = {
    "A": "agenticir_a",
    "B": "agenticir_b",
    "C": "agenticir_c",
    "ood_d2": "ood_d2",
    "ood_d3plus": "ood_d3plus",
    "single": "single",
    # the same combinations with the realistic (camera-like) models, irpilot.degrade.real_*
    "realistic_a": "realistic_a",
    "realistic_b": "realistic_b",
    "realistic_c": "realistic_c",
    "realistic_mix": "realistic_mix",
    "realistic_single": "realistic_single",
}
#: short names of the test sets under the data directory
KNOWN_SETS = {"kodak24": "Kodak24", "cbsd68": "CBSD68", "mcmaster": "McMaster"}

FULL_REFERENCE = ("psnr", "ssim", "ms_ssim", "gmsd")
NO_REFERENCE = ("niqe",)


@dataclasses.dataclass
class BenchConfig:
    sets: list[str] = dataclasses.field(default_factory=lambda: ["kodak24", "cbsd68", "mcmaster"])
    groups: list[str] = dataclasses.field(default_factory=lambda: ["A", "B", "C"])
    policies: list[str] = dataclasses.field(default_factory=lambda: ["fixed", "random", "explore", "learned", "oracle"])
    seed: int = 0
    out: str = "runs/bench"
    limit: int | None = None  #: clean photos per set
    #: centre crop of each clean photo before degrading (None: whole photo).  320 keeps full-size
    #: inputs above AgenticIR's 300-px low-resolution rule, while the x1/4 inputs are 80 px.
    crop: int | None = 320
    full_reference: tuple[str, ...] = FULL_REFERENCE
    no_reference: tuple[str, ...] = NO_REFERENCE
    max_calls: int | None = None
    #: clear the pool's memory cache before every (policy, image) run, so wall times and
    #: executions are each policy's own (calls a policy repeats itself are still cached)
    fresh_cache: bool = True

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resolve_set(name: str) -> tuple[str, Path]:
    """A set name (kodak24, cbsd68, mcmaster) or a folder of clean photos -> (label, folder)."""
    p = Path(name).expanduser()
    if p.is_dir():
        return p.name, p
    key = name.lower()
    if key in KNOWN_SETS:
        if settings.data_dir is None:
            raise ConfigError(f"set {name!r} needs the data folder (set IRPILOT_DATA_DIR)")
        folder = settings.data_dir / KNOWN_SETS[key]
        if not folder.is_dir():
            raise ConfigError(f"set {name!r}: {folder} does not exist")
        return key, folder
    raise ConfigError(f"unknown set {name!r}: use {', '.join(KNOWN_SETS)} or a folder of clean photos")


def _load_manifest(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _entry_key(policy: str, entry: dict[str, Any]) -> str:
    return f"{policy}|{entry['degraded']}"


def align_output(out: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The protocol's alignment (x4 bicubic for a still-small output); an output of any other
    size (e.g. super-resolution applied to a full-size image) is resized to the reference with
    the same bicubic, which costs it the detail it lost or invented."""
    from ..imaging.resize import imresize
    from ..quality import MetricError, align_to_reference

    try:
        return align_to_reference(out, ref)
    except MetricError:
        return np.clip(imresize(out, output_shape=ref.shape[1:]), 0.0, 1.0).astype(np.float32)


def _score(out: np.ndarray, ref: np.ndarray, cfg: BenchConfig) -> dict[str, float]:
    from ..quality import score

    aligned = align_output(out, ref)
    values = dict(score(aligned, ref, list(cfg.full_reference)))
    values.update(score(aligned, None, list(cfg.no_reference)))
    return values


def record_toolbox(out: Path, cfg: BenchConfig) -> dict[str, str]:
    """Write ``OUT/config.json`` with the tools that cannot run here (id -> why), and warn when
    there are any besides those whose weights the user trains: no policy calls them, so the numbers are not those of a full toolbox (the
    registry networks need ``irpilot weights fetch``, the others the weights folder).  A run that
    resumes a folder made with another toolbox is warned too: its rows would mix two toolboxes.
    Returns the unavailable tools."""
    from ..io import atomic_write_bytes
    from ..tools import unavailable_tools

    missing = unavailable_tools()
    warn = unavailable_tools(provided_only=True)  # not those whose weights the user trains
    path = out / "config.json"
    try:
        before = json.loads(path.read_text()).get("unavailable_tools") if path.exists() else None
    except (OSError, ValueError):
        before = None
    if before is not None and sorted(before) != sorted(missing) and read_results(out / "results.jsonl"):
        log.warning("%s was run with another toolbox (unavailable then: %s; now: %s): its earlier rows and the new "
                    "ones are not comparable", out, ", ".join(sorted(before)) or "none", ", ".join(missing) or "none")
    if warn:
        log.warning("%s here, and no policy will call %s: %s (`irpilot tools` says why; `irpilot weights fetch` "
                    "gets the registry networks); the numbers are not a full toolbox's",
                    "1 tool cannot run" if len(warn) == 1 else f"{len(warn)} tools cannot run",
                    "it" if len(warn) == 1 else "them", ", ".join(warn))
    atomic_write_bytes(path, json.dumps(dict(cfg.as_dict(), unavailable_tools=missing), indent=1).encode())
    return missing


def run_bench(cfg: BenchConfig, pool: Any = None, progress: bool = True) -> list[dict[str, Any]]:
    """Build (or reuse) the degraded sets, run every policy on every image, append results to
    ``OUT/results.jsonl`` (resumable: finished (policy, image) pairs are skipped), and write the
    summary files.  Returns the summary rows."""
    from tqdm import tqdm

    from ..agent import Agent, AgentConfig
    from ..degrade import build_set
    from ..io import read_image

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    record_toolbox(out, cfg)
    results_path = out / "results.jsonl"
    done = {row["key"] for row in read_results(results_path)}
    if results_path.exists() and results_path.stat().st_size and not results_path.read_bytes().endswith(b"\n"):
        with results_path.open("ab") as f:  # an interrupted run left a torn line: start a fresh one
            f.write(b"\n")
    if pool is None:
        from ..pool import default_pool

        pool = default_pool()
    work: list[tuple[str, str, dict[str, Any]]] = []
    for set_name in cfg.sets:
        label, folder = resolve_set(set_name)
        for group in cfg.groups:
            if group not in GROUP_PRESETS:
                raise ConfigError(f"unknown group {group!r}; known: {', '.join(GROUP_PRESETS)}")
            set_dir = out / "sets" / label / group
            manifest = build_set(folder, set_dir, GROUP_PRESETS[group], cfg.seed, limit=cfg.limit, crop=cfg.crop, progress=progress)
            for entry in _load_manifest(Path(manifest)):
                # manifest paths are relative to the set's folder
                entry = dict(entry, degraded=str(set_dir / entry["degraded"]),
                             reference=str(set_dir / entry.get("reference", entry["clean"])))
                work.append((label, group, entry))
    from ..progress import BarStatus

    # image-major order: an interrupted run has every policy on the same images
    todo = [(p, s, g, e) for (s, g, e) in work for p in cfg.policies if _entry_key(p, e) not in done]
    bar = tqdm(todo, desc="bench", unit="run", disable=not (progress and sys.stderr.isatty()))
    status = BarStatus(bar)
    config = AgentConfig(max_calls=cfg.max_calls, seed=cfg.seed)
    agent = Agent(pool=pool, config=config, listener=status.listener)
    with results_path.open("a") as f:
        for policy, set_label, group, entry in bar:
            status.image(f"{policy} {set_label}/{group} {Path(entry['degraded']).name} ({'+'.join(entry['degradations'])})")
            key = _entry_key(policy, entry)
            degraded = read_image(entry["degraded"])
            clean = read_image(entry["reference"])
            row: dict[str, Any] = {
                "key": key, "policy": split_label(policy)[0], "set": set_label, "group": group,
                "image": Path(entry["degraded"]).name, "degradations": entry["degradations"],
            }
            if entry.get("kinds", entry["degradations"]) != entry["degradations"]:
                row["kinds"] = entry["kinds"]  # realistic models: what each stands for
            policy_name, options = parse_policy(policy)
            if policy_name == "oracle":
                options["tasks"] = entry.get("kinds", entry["degradations"])
            if cfg.fresh_cache and hasattr(pool, "clear_cache"):
                pool.clear_cache()  # no policy is timed on another's cached results
            t0 = time.perf_counter()
            try:
                traj = agent.run(degraded, policy_name, reference=clean if policy_name == "oracle" else None,
                                 source=entry["degraded"], **options)
            except Exception as exc:  # a failing image is recorded, the run goes on
                row.update(ok=False, error=f"{type(exc).__name__}: {exc}")
                log.warning("%s failed on %s: %s", policy, entry["degraded"], exc)
            else:
                for step in traj.steps:  # a crashed or timed-out call changed the chain: say so
                    if step.action.get("name") != "stop" and not step.ok:
                        log.warning("%s on %s: call %s failed (%s); the chain went on without it",
                                    policy, entry["degraded"], step.action.get("name"), step.error)
                row.update(ok=True, chain=[c["name"] for c in traj.chain], calls=traj.tool_calls,
                           executions=traj.tool_executions, seconds=time.perf_counter() - t0,
                           perception_seconds=traj.perception_seconds, output_shape=list(traj.output.shape))
                try:
                    row.update(_score(traj.output, clean, cfg))
                    row["input"] = _score(degraded, clean, cfg)
                except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                    row.update(ok=False, error=f"scoring failed: {type(exc).__name__}: {exc}")
            f.write(json.dumps(row) + "\n")
            f.flush()
    from .report import write_outputs

    return write_outputs(out, summarise(results_path), cfg)


def read_results(results_path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``results.jsonl`` (none when it does not exist); a line that is not a
    complete row (an interrupted write) is skipped, so that the run can resume."""
    p = Path(results_path)
    if not p.exists():
        return []
    rows = []
    for line in p.read_text().splitlines():
        try:
            row = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict) and "key" in row:
            rows.append(row)
    return rows


def summarise(results_path: Path) -> list[dict[str, Any]]:
    """Mean of every metric per (policy, group), plus per-(policy, group) input scores."""
    rows = read_results(results_path)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["policy"], r["group"]), []).append(r)
    summary = []
    for (policy, group), rs in sorted(groups.items()):
        ok = [r for r in rs if r.get("ok")]
        item: dict[str, Any] = {"policy": policy, "group": group, "n": len(ok), "failed": len(rs) - len(ok),
                                "sets": sorted({r["set"] for r in rs})}
        if ok:
            metric_names = [k for k in ok[0]["input"]]
            for m in metric_names:
                vals = [r[m] for r in ok if isinstance(r.get(m), (int, float))]
                item[m] = float(np.mean(vals)) if vals else None
                ins = [r["input"][m] for r in ok if isinstance(r["input"].get(m), (int, float))]
                item[f"input_{m}"] = float(np.mean(ins)) if ins else None
            n_deg = np.mean([len(r["degradations"]) for r in ok])
            item["calls_per_image"] = float(np.mean([r["calls"] for r in ok]))
            item["executions_per_image"] = float(np.mean([r["executions"] for r in ok]))
            item["calls_per_degradation"] = float(item["calls_per_image"] / n_deg)
            item["seconds_per_image"] = float(np.mean([r["seconds"] for r in ok]))
        summary.append(item)
    return summary
