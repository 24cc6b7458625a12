"""Tools that run irpilot's own compact networks (:mod:`.compact`), one per task.

:class:`CompactNetTool` loads the packaged weights of its card's task
(``assets/compact_<task>.safetensors``, written by ``irpilot train tool TASK``) and runs the
network on tiles of at most 512 px; a task's tool is a card and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..base import ToolCard
from . import compact
from ._common import NetworkTool, register

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["CompactNetTool", "DesnowNet"]


class CompactNetTool(NetworkTool):
    """Base of the compact-network tools: the card's task names the weights."""

    meta: dict[str, str] = {}

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason:
            return reason
        if not compact.asset_exists(cls.card.task):
            return (f"its weights ({compact.asset_path(cls.card.task)}) are not in this install; "
                    f"train them with `irpilot train tool {cls.card.task}`")
        return None

    def build(self) -> torch.nn.Module:
        model, self.meta = compact.load_compact_net(self.card.task)
        return model

    def _run(self, img: np.ndarray, **args: object) -> np.ndarray:
        return self.forward(img)


@register
class DesnowNet(CompactNetTool):
    """irpilot's compact snow-removal network."""

    card = ToolCard(
        id="desnow_net",
        task="desnow",
        description="snow removal (flakes, streaks, out-of-focus near flakes and the veil) by irpilot's "
        "own compact residual U-Net (0.28 M parameters), trained 40 min on one CPU thread on "
        "irpilot's training photos (T91, CSet14, LIVE1 without Kodak, classic5, scikit-image; 5,487 "
        "steps of 8 crops of 128 px) with irpilot's two snow models (realistic real_snow and "
        "protocol-style snow, half each): 32 min with 10 % clean crops kept as they are, then 8 min "
        "with 25 %. Test crops (24, 256 px, Kodak24/CBSD68/McMaster): +7.6 dB on real_snow and +9.3 "
        "on snow (desnow_median +5.2 / +4.0), worst crop +2.7 / +2.7; a clean crop comes back at "
        "37.2 dB on average (worst 25.0; desnow_median 27.2, worst 18.6). The toolbox's first desnow "
        "tool. Fitted to those synthetic snow models: real snow photographs are not measured.",
        weights_license="Apache-2.0 (irpilot)",
        python_packages=("torch", "safetensors"),
        multiple_of=8,
        tiling=True,
        tile_size=512,
        tile_overlap=32,
        devices=("cpu", "cuda"),
        cpu_seconds_512=0.3,  # compact_bench.py, one thread, CPU shared with other jobs (0.22-0.29 s; BENCHMARKS.md)
        kind="network",
        reference="irpilot (irpilot train tool desnow); U-Net: Ronneberger et al. 2015",
    )
