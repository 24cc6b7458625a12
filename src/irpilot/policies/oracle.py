"""``oracle``: search over orders and tools scored against the clean reference.

Benchmark only (it needs the clean image): the upper bound of what the toolbox can do on an
image.  Every prefix of every (order, tool) sequence is a node of a tree; results of shared
prefixes are computed once (and the pool's cache makes repeated calls free).  The tree is
searched exhaustively when it has at most ``max_nodes`` nodes, otherwise level by level keeping
the ``beam`` best nodes by PSNR.  The best node, the root (doing nothing) included, wins.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import ClassVar

import numpy as np

from ..session import Session, Step
from ..vocab import DEGRADATION_TO_TASK
from .base import POLICIES, SearchPolicy, ToolCall
from .common import available_tools, detected_degradations
from .options import PolicyOptions, option

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


@dataclasses.dataclass(frozen=True)
class OracleOptions(PolicyOptions):
    max_nodes: int = option(60, doc="search the whole tree when it has at most this many nodes")
    beam: int = option(4, doc="else keep this many best nodes per level")
    tools_per_task: int = option(3, doc="tools tried per task")
    extra_tasks: bool = option(False, doc="with tasks given, also search the perceived degradations")


@POLICIES.register("oracle")
class OraclePolicy(SearchPolicy):
    name = "oracle"
    Options: ClassVar[type[PolicyOptions]] = OracleOptions
    options: OracleOptions
    needs_reference = True
    default_max_calls = 2000

    def _tools(self, degradation: str) -> list[str]:
        return available_tools(DEGRADATION_TO_TASK[degradation], self.options.tools)[: self.options.tools_per_task]

    def search(self, ctx: Session) -> None:
        ref = ctx.reference
        if ref is None:
            raise ValueError("policy 'oracle' needs the clean reference image")
        given = self.options.tasks
        degs = list(given) if given is not None else []
        perceived = ctx.perceive(ctx.input_image, ctx.input_hash)
        if perceived is not None and (given is None or self.options.extra_tasks):
            degs += [d for d in detected_degradations(perceived, image_shape=ctx.input_image.shape) if d not in degs]
        tools = {d: self._tools(d) for d in degs}
        degs = [d for d in degs if tools[d]]
        # node = (chain of steps, remaining degradations)
        best_chain: list[Step] = []
        best_psnr = reference_psnr(ctx.input_image, ref)
        k = max((len(v) for v in tools.values()), default=0)
        beam = None if tree_size(len(degs), k) <= self.options.max_nodes else self.options.beam
        frontier: list[tuple[list[Step], list[str]]] = [([], degs)]
        while frontier and ctx.calls_left > 0:
            children: list[tuple[float, list[Step], list[str]]] = []
            for chain, remaining in frontier:
                h = chain[-1].output_hash if chain else ctx.input_hash
                assert h is not None  # chains hold successful steps only
                image = ctx.image(h)
                for d, tool in itertools.chain.from_iterable(((d, t) for t in tools[d]) for d in remaining):
                    if ctx.calls_left <= 0:
                        break
                    step = ctx.call(ToolCall(tool), image, image_hash=h)
                    if not step.ok or step.output_hash is None:
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
