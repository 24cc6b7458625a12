"""``oracle``: search over orders and tools scored against the clean reference.

Benchmark only (it needs the clean image): the upper bound of what the toolbox can do on an
image.  Every prefix of every (order, tool) sequence is a node of a tree; results of shared
prefixes are computed once (and the pool's cache makes repeated calls free).  The tree is
searched exhaustively when it has at most ``max_nodes`` nodes, otherwise level by level keeping
the ``beam`` best nodes by PSNR.  The best node, the root (doing nothing) included, wins.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from .base import POLICIES, Action, SearchPolicy
from ..vocab import DEGRADATION_TO_TASK
from .common import available_tools, detected_degradations, tasks_option

__all__ = ["OraclePolicy", "tree_size", "reference_psnr"]


def tree_size(n_tasks: int, tools_per_task: int) -> int:
    """Nodes (tool calls) in the full tree: sum over l of D!/(D-l)! * k^l."""
    return sum(math.perm(n_tasks, l) * tools_per_task**l for l in range(1, n_tasks + 1))


def reference_psnr(image: np.ndarray, reference: np.ndarray) -> float:
    """PSNR (RGB) against the reference, after x4 bicubic when the image is still 1/4 size."""
    from ..quality import align_to_reference

    img = align_to_reference(image, reference)
    mse = float(np.mean((img.astype(np.float64) - reference.astype(np.float64)) ** 2))
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


@POLICIES.register("oracle")
class OraclePolicy(SearchPolicy):
    name = "oracle"
    needs_reference = True
    default_max_calls = 2000

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.max_nodes = int(options.get("max_nodes", 60))
        self.beam = int(options.get("beam", 4))
        self.tools_per_task = int(options.get("tools_per_task", 3))
        # with known degradations (the benchmark passes them), also search the perceived ones?
        self.extra_tasks = bool(options.get("extra_tasks", False))

    def _tools(self, degradation: str) -> list[str]:
        return available_tools(DEGRADATION_TO_TASK[degradation], self.options.get("tools"))[: self.tools_per_task]

    def search(self, ctx: Any) -> None:
        ref = ctx.reference
        given = tasks_option(self.options)
        degs = list(given) if given is not None else []
        perceived = ctx.perceive(ctx.input_image)
        if perceived is not None and (given is None or self.extra_tasks):
            degs += [d for d in detected_degradations(perceived, image_shape=ctx.input_image.shape) if d not in degs]
        tools = {d: self._tools(d) for d in degs}
        degs = [d for d in degs if tools[d]]
        # node = (chain of steps, remaining degradations)
        best_chain: list[Any] = []
        best_psnr = reference_psnr(ctx.input_image, ref)
        k = max((len(v) for v in tools.values()), default=0)
        beam = None if tree_size(len(degs), k) <= self.max_nodes else self.beam
        frontier: list[tuple[list[Any], list[str]]] = [([], degs)]
        while frontier and ctx.calls_left > 0:
            children: list[tuple[float, list[Any], list[str]]] = []
            for chain, remaining in frontier:
                image = ctx.image(chain[-1].output_hash) if chain else ctx.input_image
                for d, tool in itertools.chain.from_iterable(((d, t) for t in tools[d]) for d in remaining):
                    if ctx.calls_left <= 0:
                        break
                    step = ctx.call(Action(tool), image)
                    if not step.ok:
                        continue
                    psnr = reference_psnr(ctx.image(step.output_hash), ref)
                    step.metrics = {**step.metrics, "psnr_ref": psnr}
                    node = chain + [step]
                    if psnr > best_psnr:
                        best_chain, best_psnr = node, psnr
                    children.append((psnr, node, [r for r in remaining if r != d]))
            if beam is not None:
                children.sort(key=lambda c: -c[0])
                children = children[:beam]
            frontier = [(c[1], c[2]) for c in children if c[2]]
        ctx.set_current(best_chain)
