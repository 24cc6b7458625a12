"""``derain_cascade``: PReNet (Rain100L), then irpilot's ``derain_net`` on what it leaves.

The two rain networks fail on different rain: PReNet removes the protocol's sharp synthetic
streaks about 2 dB better than ``derain_net`` and leaves much of the realistic family's rain
(softer, wider streaks, drops and a veil), which ``derain_net`` removes.  Run one after the other
they are ahead of either alone on both families (BENCHMARKS.md, "Rain: PReNet, then derain_net").
PReNet's weights come from the weights folder (research use, no licence stated); without them the
tool runs ``derain_net`` alone, says so in its cache tag, and stays available.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import TOOLS, ToolCard
from . import compact_tools, weather  # noqa: F401  (the stages register first: the card reads theirs)
from ._common import CompositeTool, member_cards

__all__ = ["DerainCascade", "STAGES"]

#: the networks run one after the other; the last is required, the others join when available
STAGES = ("prenet_rain100l", "derain_net")


def _stage_cards() -> list[ToolCard]:
    return member_cards(STAGES)


@TOOLS.register("derain_cascade")
class DerainCascade(CompositeTool):
    """Rain removal: ``prenet_rain100l``, then ``derain_net`` on its output."""

    card = ToolCard(
        id="derain_cascade",
        task="derain",
        description="rain removal by two networks in turn: PReNet trained on Rain100L (sharp synthetic streaks), "
        "then irpilot's derain_net (trained on both rain families) on what PReNet leaves. On 24 crops of held-out "
        "training photos (benchmarks/compact_bench.py --task derain --photos heldout): +6.0 dB on real_rain and "
        "+10.0 on the protocol's rain (derain_net +5.6 / +8.0, prenet_rain100l +3.3 / +9.9), no crop worse; a clean "
        "crop back at 38.4 dB (derain_net 45.1, prenet_rain100l 40.6). After the agent's other steps "
        "(benchmarks/derain_after_steps.py, against derain_net): within 0.04 dB after the x4 step, +0.00 / +0.18 "
        "after brightening and +0.75 / +0.09 after dehazing (protocol / realistic). On AgenticIR's deraining "
        "sample it removes the sharp streaks derain_net leaves faint, as PReNet does. Its time is PReNet's. "
        "BENCHMARKS.md, \"Rain: PReNet, then derain_net\". PReNet's weights are research-use; without them it runs "
        "derain_net alone",
        code_license="Apache-2.0",
        weights_license="Apache-2.0 (irpilot) + none stated, research use (PReNet)",
        weights=_stage_cards()[-1].weights,  # PReNet's files are optional (see the module's docstring)
        python_packages=_stage_cards()[-1].python_packages,
        tiling=False,  # each stage tiles a large photo itself
        # benchmarks/tool_speed.py --threads 2 --repeats 3, 2026-12-07 (same run: prenet_rain100l 6.94, derain_net 0.129)
        cpu_seconds_512=7.19,
        kind="network",
        reference="PReNet (Ren et al., CVPR 2019) followed by derain_net (irpilot)",
    )

    members = STAGES
    required = STAGES[-1]

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        out = img
        for stage in self._members:
            out = stage(out)
        return np.asarray(out, dtype=np.float32)
