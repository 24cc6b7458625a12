"""Measure each tool on training crops with a single degradation of its task, to choose the
learned policy's compact action list (``irpilot train probe``; the list is
:data:`irpilot.policies.learned.actions.DEFAULT_CANDIDATES`).

For every task, ``n`` crops of the training photos get the task's degradation at random
severities; every tool of the task runs on each; we report the mean gain in PSNR / SSIM over
the input and the seconds per 512x512 image extrapolated from the crop timings (the pool's
execution time, on whatever load the machine has).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..vocab import PROTOCOL_DEGRADATIONS, TASK_TO_DEGRADATION

__all__ = ["probe_tools", "choose_candidates", "add_arguments", "run"]


def probe_tools(
    tasks: Sequence[str] | None = None,
    *,
    n: int = 6,
    seed: int = 123,
    size: tuple[int, int] = (112, 144),
    pool: Any = None,
    exclude: Sequence[str] = ("bm3d", "realesrgan_x4plus", "realesr_animevideov3_x4", "realcugan_denoise", "backprojection_x4"),
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    from ..tools import TOOLS, tool_names_for_task
    from .data import make_case, training_photos
    from .scoring import fidelity

    if pool is None:
        from ..pool import Pool

        pool = Pool(workers=2)
    photos = training_photos()
    task_to_deg = {t: d for t, d in TASK_TO_DEGRADATION.items() if d in PROTOCOL_DEGRADATIONS}
    tasks = list(tasks or task_to_deg)
    rows: list[dict[str, Any]] = []
    for task in tasks:
        deg = task_to_deg[task]
        tools = [t for t in tool_names_for_task(task) if t not in exclude]
        rng = np.random.default_rng([seed, len(task)])
        cases = [make_case(rng, photos, size=size, names=[deg]) for _ in range(n)]
        base = [fidelity(c.degraded, c.clean) for c in cases]
        for tool in tools:
            t0 = time.perf_counter()
            res = pool.map([(tool, c.degraded, {}) for c in cases])
            wall = time.perf_counter() - t0
            ok = [(r, c, b) for r, c, b in zip(res, cases, base) if r.ok]
            if not ok:
                rows.append({"task": task, "tool": tool, "ok": 0, "error": res[0].error})
                continue
            dp, ds = [], []
            px = 0
            secs = 0.0
            for r, c, b in ok:
                p, s = fidelity(r.image, c.clean)
                dp.append(p - b[0])
                ds.append(s - b[1])
                px += c.degraded.shape[1] * c.degraded.shape[2] * (TOOLS.get(tool).card.scale ** 2 if task == "super_resolution" else 1)
                secs += r.seconds
            row = {
                "task": task,
                "tool": tool,
                "ok": len(ok),
                "dpsnr": float(np.mean(dp)),
                "dssim": float(np.mean(ds)),
                "s_per_512": secs / px * 512 * 512,
                "wall": wall,
            }
            rows.append(row)
            if progress:
                progress(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}))
    return rows


def choose_candidates(rows: Sequence[dict[str, Any]], per_task: int = 3, max_seconds: float = 1.5, ssim_weight: float = 5.0) -> dict[str, list[str]]:
    """The best ``per_task`` tools per task by ``dpsnr + ssim_weight * dssim`` among those with
    a positive gain and at most ``max_seconds`` per 512x512 image."""
    out: dict[str, list[str]] = {}
    for task in dict.fromkeys(r["task"] for r in rows):
        cand = [r for r in rows if r["task"] == task and r.get("ok") and r["s_per_512"] <= max_seconds]
        cand.sort(key=lambda r: -(r["dpsnr"] + ssim_weight * r["dssim"]))
        good = [r["tool"] for r in cand if r["dpsnr"] + ssim_weight * r["dssim"] > 0]
        out[task] = good[:per_task] or [r["tool"] for r in cand[:1]]
    return out


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of ``irpilot train probe``."""
    from ..pool import add_pool_arguments

    ap.add_argument("--tasks", default=None, help="comma-separated tasks (default: the benchmark protocol's)")
    ap.add_argument("-n", type=int, default=6, help="crops per task (default: 6)")
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--per-task", type=int, default=3, help="candidates kept per task (default: 3)")
    ap.add_argument("--out", default=None, help="write the measurements and the chosen candidates as JSON")
    add_pool_arguments(ap)


def run(args: argparse.Namespace) -> int:
    """``irpilot train probe``: measure the tools, print one JSON line per tool, then the
    candidates :func:`choose_candidates` keeps (the source of ``DEFAULT_CANDIDATES``)."""
    from ..io import atomic_write_bytes
    from ..pool import pool_from_args

    tasks = [t.strip() for t in args.tasks.split(",")] if args.tasks else None
    with pool_from_args(args) as pool:
        rows = probe_tools(tasks, n=args.n, seed=args.seed, pool=pool, progress=print)
    chosen = choose_candidates(rows, per_task=args.per_task)
    print(json.dumps(chosen, indent=1))
    if args.out:
        atomic_write_bytes(args.out, json.dumps({"rows": rows, "candidates": chosen}, indent=1).encode())
    return 0
