"""Validation of policies on held-out synthetic crops of the *training* photos.

Used to choose between training variants (SFT with / without perturbation, RL static /
adaptive) without touching the benchmark test sets; the benchmark (``irpilot bench``) then
reports the chosen policy on Kodak24 / CBSD68 / McMaster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["validation_cases", "evaluate_policies"]


def validation_cases(
    n: int = 40, seed: int = 777, size: tuple[int, int] = (320, 320), sr_size: tuple[int, int] = (80, 80),
    realistic_p: float = 0.0, combos: Sequence[Sequence[str]] | None = None,
) -> list[Any]:
    """``n`` degraded crops (seeded, disjoint from the training seeds) of the training photos;
    a share ``realistic_p`` of them made with the realistic family (:func:`.data.make_case`; at 0
    the cases of a seed are those of earlier versions); ``combos``: only these combinations
    (protocol names), taken in turn, instead of random ones.

    The default sizes are the benchmark's (320 px crops; 80 px degraded for low resolution),
    so that perception's size rule for low resolution sees what it sees on the benchmark."""
    from .data import make_case, training_photos

    photos = training_photos()
    return [
        make_case(np.random.default_rng([seed, i]), photos, size=size, sr_size=sr_size, case_id=f"val{i:04d}",
                  realistic_p=realistic_p, names=combos[i % len(combos)] if combos else None)
        for i in range(n)
    ]


def evaluate_policies(
    policies: Sequence[tuple[str, Any]],
    cases: Sequence[Any],
    *,
    pool: Any = None,
    perceiver: Any = "default",
    max_calls: int = 8,
    progress: Callable[[str], None] | None = None,
    details: bool = False,
    fresh_cache: bool = True,
) -> dict[str, dict[str, Any]]:
    """Run each ``(label, policy)`` on every case; mean PSNR / SSIM gain, calls per degradation
    present, wall seconds, and the share of images where the policy made them worse (with
    ``details``, also each case's PSNR gain, tool chain and, for step policies, every decision
    with the policy's top choices, under ``"cases"``).

    With ``fresh_cache`` the pool's in-memory results are dropped before every run, so no
    policy's seconds profit from the calls another policy made on the same case."""
    from ..agent import Agent, AgentConfig
    from .scoring import fidelity

    agent = Agent(pool=pool, perceiver=perceiver, config=AgentConfig(max_calls=max_calls))
    base = [fidelity(c.degraded, c.clean) for c in cases]
    out: dict[str, dict[str, Any]] = {}
    for label, policy in policies:
        dp, ds, calls, secs, worse, bad = [], [], [], [], 0, 0
        per_case: list[dict[str, Any]] = []
        for c, b in zip(cases, base):
            if fresh_cache and hasattr(agent.pool, "clear_cache"):
                agent.pool.clear_cache()
            t = time.perf_counter()
            traj = agent.run(c.degraded, policy, reference=c.clean if getattr(policy, "needs_reference", False) else None)
            secs.append(time.perf_counter() - t)
            try:
                p, s = fidelity(traj.output, c.clean)
            except ValueError:  # output size cannot be compared (e.g. x4 of a full-size image)
                p, s = b[0] - 10.0, b[1] - 0.5
                bad += 1
            dp.append(p - b[0])
            ds.append(s - b[1])
            worse += p < b[0] - 0.05
            calls.append(traj.tool_calls / max(1, len(c.tasks)))
            per_case.append({"id": c.id, "degradations": list(c.names), "d_psnr": round(p - b[0], 3),
                             "chain": [step["name"] for step in traj.chain],
                             # a step policy's decisions (stop included), each with its most probable actions
                             "decisions": [{"action": step.action["name"], "choices": step.choices}
                                           for step in traj.steps if step.choices]})
        out[label] = {
            "d_psnr": float(np.mean(dp)),
            "d_ssim": float(np.mean(ds)),
            "calls_per_degradation": float(np.mean(calls)),
            "seconds": float(np.mean(secs)),
            "worse_share": worse / max(1, len(cases)),
            "bad_size": bad,
            "n": len(cases),
        }
        if progress:
            progress(f"{label}: " + " ".join(f"{k}={v:.3f}" for k, v in out[label].items()))
        if details:
            out[label]["cases"] = per_case
    return out
