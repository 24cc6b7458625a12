"""Low-light enhancement networks: SCI (MIT), RUAS (no licence stated), Zero-DCE and
Zero-DCE++ (CC BY-NC 4.0: non-commercial use only).  Architectures in :mod:`.archs`."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..base import ToolCard
from ._common import NetworkTool, github_weights, load_torch_state, register

__all__ = ["SCIEasy", "SCIMedium", "SCIDifficult", "RUASLol", "ZeroDCETool", "ZeroDCEPPTool"]

_DEVICES = ("cpu", "cuda")


class _StateDictTool(NetworkTool):
    """A network built by ``make_model()`` and loaded from the card's first weights file."""

    strict: ClassVar[bool] = True

    def make_model(self):
        raise NotImplementedError

    def build(self):
        model = self.make_model()
        state = load_torch_state(self.weights_path())
        if not self.strict:
            own = model.state_dict()
            state = {k: v for k, v in state.items() if k in own}
        model.load_state_dict(state, strict=True)
        return model

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        return self.forward(img)


# -- SCI ---------------------------------------------------------------------------------
_SCI_REPO, _SCI_COMMIT = "vis-opt-group/SCI", "9d28a3f1237df248bb765e7fee16f7c4ac7dbeee"
_SCI_PAPER = "Ma et al., Toward Fast, Flexible, and Robust Low-Light Image Enhancement, CVPR 2022"
_SCI_SHA = {
    "easy": "b17326a26a93bf187ecbab217f9d3c57467a8b56020d4d9ff600ba257bbffb36",
    "medium": "4ff1e7e66e8f18114f790e5085ca4c936f0858e329e7ad1cb65b8aa09a9c6916",
    "difficult": "657fa1f280cae1035df0d5cbe628e91f2d0f28660df608a3fa3f7e9a71da5a13",
}


def _sci_card(variant: str, note: str) -> ToolCard:
    return ToolCard(
        id=f"sci_{variant}",
        task="low_light",
        description=f"SCI ({variant} model): 3-layer illumination estimator, output = input / illumination; {note}",
        weights_license="MIT",
        weights=(
            github_weights(
                f"sci/{variant}.pt", _SCI_SHA[variant], _SCI_REPO, _SCI_COMMIT, f"weights/{variant}.pt", _SCI_PAPER
            ),
        ),
        kind="network",
        reference="L. Ma, T. Ma, R. Liu, X. Fan, Z. Luo. Toward Fast, Flexible, and Robust Low-Light Image "
        "Enhancement. CVPR 2022.",
        tile_size=1024,
        tile_overlap=16,
        devices=_DEVICES,
        cpu_seconds_512=0.12,
    )


class _SCI(_StateDictTool):
    strict = False  # the checkpoints also hold the training-only calibration module

    def make_model(self):
        from .archs import SCIEnhance

        return SCIEnhance()


@register
class SCIEasy(_SCI):
    """SCI trained on the 'easy' (MIT-Adobe FiveK) data: the mildest brightening."""

    card = _sci_card("easy", "mildest brightening (suits moderately dark photos)")


@register
class SCIMedium(_SCI):
    """SCI trained on the 'medium' (LSRW) data."""

    card = _sci_card("medium", "strongest brightening (suits very dark photos)")


@register
class SCIDifficult(_SCI):
    """SCI trained on the 'difficult' (DarkFace) data."""

    card = _sci_card("difficult", "strong brightening (trained on very dark scenes)")


# -- RUAS --------------------------------------------------------------------------------
@register
class RUASLol(_StateDictTool):
    """RUAS trained on LOL: searched Retinex unrolling plus its searched denoiser."""

    card = ToolCard(
        id="ruas_lol",
        task="low_light",
        description="RUAS (LOL model): 3 unrolled illumination-estimation stages with searched cells, "
        "then a searched denoising network; very strong brightening (for very dark photos)",
        weights_license="none stated (research use)",
        weights=(
            github_weights(
                "ruas/ckpt/lol.pt",
                "f45a881a9b836fff4a3172481f28c9eb4d91bc4df54ec064092f39ce40abcdcd",
                "KarelZhang/RUAS",
                "f621bb19ceffbe27b2d9625bb806bc7cc60aea7b",
                "ckpt/lol.pt",
                "Liu et al., Retinex-inspired Unrolling with Cooperative Prior Architecture Search for "
                "Low-light Image Enhancement, CVPR 2021",
            ),
        ),
        kind="network",
        reference="R. Liu, L. Ma, J. Zhang, X. Fan, Z. Luo. Retinex-inspired Unrolling with Cooperative Prior "
        "Architecture Search for Low-light Image Enhancement. CVPR 2021.",
        tile_size=768,
        tile_overlap=48,
        devices=_DEVICES,
        cpu_seconds_512=1.6,
    )

    def make_model(self):
        from .archs import RUAS

        return RUAS(denoise=True)


# -- Zero-DCE / Zero-DCE++ -----------------------------------------------------------------
_NC = "CC BY-NC 4.0 (non-commercial research use only)"


@register
class ZeroDCETool(_StateDictTool):
    """Zero-DCE: per-pixel quadratic curves estimated by a 7-layer CNN, applied 8 times."""

    card = ToolCard(
        id="zero_dce",
        task="low_light",
        description="Zero-DCE: a 7-layer CNN estimates 8 per-pixel light-enhancement curves applied in "
        "sequence. Weights are NON-COMMERCIAL (CC BY-NC 4.0)",
        weights_license=_NC,
        weights=(
            github_weights(
                "zero_dce/Epoch99.pth",
                "a4395acb874f320375d9704997cef874eaaaaa26a1777ceb29a92b70f74c3612",
                "Li-Chongyi/Zero-DCE",
                "e0f4adc54d0f23348c4a9b84acc08fe8778d5bfd",
                "Zero-DCE_code/snapshots/Epoch99.pth",
                "Guo et al., Zero-Reference Deep Curve Estimation for Low-Light Image Enhancement, CVPR 2020",
            ),
        ),
        kind="network",
        reference="C. Guo, C. Li, J. Guo, C. C. Loy, J. Hou, S. Kwong, R. Cong. Zero-Reference Deep Curve "
        "Estimation for Low-Light Image Enhancement. CVPR 2020.",
        tile_size=512,
        tile_overlap=16,
        devices=_DEVICES,
        cpu_seconds_512=1.4,
    )

    def make_model(self):
        from .archs import ZeroDCE

        return ZeroDCE()


@register
class ZeroDCEPPTool(_StateDictTool):
    """Zero-DCE++: the lightweight depthwise-separable variant (one curve map, 8 iterations)."""

    card = ToolCard(
        id="zero_dce_pp",
        task="low_light",
        description="Zero-DCE++: depthwise-separable CNN estimating one curve map applied 8 times. "
        "Weights are NON-COMMERCIAL (CC BY-NC 4.0)",
        weights_license=_NC,
        weights=(
            github_weights(
                "zero_dce_pp/Epoch99.pth",
                "ca8855b90df9a80fa4195a831f33d3476b1964f787eb70602797c773067f3b84",
                "Li-Chongyi/Zero-DCE_extension",
                "09f202b690f82da939b8e6ec8535960ae97ad8bd",
                "Zero-DCE++/snapshots_Zero_DCE++/Epoch99.pth",
                "Li, Guo, Loy, Learning to Enhance Low-Light Image via Zero-Reference Deep Curve "
                "Estimation, TPAMI 2021",
            ),
        ),
        kind="network",
        reference="C. Li, C. Guo, C. C. Loy. Learning to Enhance Low-Light Image via Zero-Reference Deep "
        "Curve Estimation. IEEE TPAMI 2021.",
        tile_size=1024,
        tile_overlap=16,
        devices=_DEVICES,
        cpu_seconds_512=1.7,
    )

    def make_model(self):
        from .archs import ZeroDCEPP

        return ZeroDCEPP(downscale=1)
