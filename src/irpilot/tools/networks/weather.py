"""Scene-degradation networks: AOD-Net dehazing (MIT) and PReNet deraining (no licence
stated).  Architectures in :mod:`.archs`."""

from __future__ import annotations

from typing import ClassVar

from ..base import ToolCard
from ._common import github_weights, register
from .lowlight import _StateDictTool

__all__ = ["AODNetTool", "PReNetRain100H", "PReNetRain100L", "PReNetReal"]

_DEVICES = ("cpu", "cuda")


@register
class AODNetTool(_StateDictTool):
    """AOD-Net: one CNN estimates K(x) of the reformulated scattering model, J = K I - K + 1."""

    card = ToolCard(
        id="aod_net",
        task="dehaze",
        description="AOD-Net: 5-layer CNN (1,761 parameters) estimating the unified transmission/airlight "
        "map K; output = K*I - K + 1",
        weights_license="MIT",
        weights=(
            github_weights(
                "aod_net/dehazer.pth",
                "79409b63bf019d6c7ca6903883a8635d5723c25406f74903751bd7459462a53b",
                "MayankSingal/PyTorch-Image-Dehazing",
                "dc26717cde24748e27ffc9d050564e295654b90d",
                "snapshots/dehazer.pth",
                "Li et al., AOD-Net: All-in-One Dehazing Network, ICCV 2017 (PyTorch re-implementation)",
            ),
        ),
        kind="network",
        reference="B. Li, X. Peng, Z. Wang, J. Xu, D. Feng. AOD-Net: All-in-One Dehazing Network. ICCV 2017.",
        tile_size=1024,
        tile_overlap=16,
        devices=_DEVICES,
        cpu_seconds_512=0.3,
    )

    def make_model(self):
        from .archs import AODNet

        return AODNet()


_PRENET_REPO, _PRENET_COMMIT = "csdwren/PReNet", "6d908d1e3c7ff5c26fee624112297ad1c8603ca7"
_PRENET_PAPER = "Ren et al., Progressive Image Deraining Networks: A Better and Simpler Baseline, CVPR 2019"
_PRENET_REF = (
    "D. Ren, W. Zuo, Q. Hu, P. Zhu, D. Meng. Progressive Image Deraining Networks: A Better and Simpler "
    "Baseline. CVPR 2019."
)


def _prenet_card(
    tool_id: str, relpath: str, sha256: str, trained_on: str, seconds: float, stages: int = 6
) -> ToolCard:
    return ToolCard(
        id=tool_id,
        task="derain",
        description=f"PReNet: {stages} recurrent stages (conv-LSTM + 5 residual blocks) trained on {trained_on}",
        weights_license="none stated (research use)",
        weights=(
            github_weights(f"prenet/{relpath}", sha256, _PRENET_REPO, _PRENET_COMMIT, f"logs/{relpath}", _PRENET_PAPER),
        ),
        kind="network",
        reference=_PRENET_REF,
        tile_size=512,
        tile_overlap=64,
        devices=_DEVICES,
        cpu_seconds_512=seconds,
    )


class _PReNet(_StateDictTool):
    recursive: ClassVar[bool] = False
    lstm_last: ClassVar[bool] = False
    stages: ClassVar[int] = 6

    def make_model(self):
        from .archs import PReNet

        return PReNet(stages=self.stages, recursive=self.recursive, lstm_last=self.lstm_last)


@register
class PReNetRain100H(_PReNet):
    """PReNet trained on Rain100H (heavy synthetic rain)."""

    card = _prenet_card(
        "prenet_rain100h",
        "Rain100H/PReNet6/net_latest.pth",
        "127c0098787c5272f1f8583f6c5202e7ef674f750cd145a1691912a6d9e96210",
        "Rain100H (heavy synthetic streaks); unstable on some photos (strong colour shifts)",
        27.0,
    )


@register
class PReNetRain100L(_PReNet):
    """PReNet trained on Rain100L (light synthetic rain)."""

    card = _prenet_card(
        "prenet_rain100l",
        "Rain100L/PReNet6/net_latest.pth",
        "cb9b743bb33cf6e5c56ba45f8ade93add46266dea9fa582e1934dc5eed942333",
        "Rain100L (light synthetic streaks)",
        27.0,
    )


@register
class PReNetReal(_PReNet):
    """PReNet generator released for real rainy photos (4 stages, conv-LSTM after the blocks)."""

    lstm_last = True
    stages = 4

    card = _prenet_card(
        "prenet_real",
        "real/PReNet1.pth",
        "eba0c0ed941565abce9c61ceb8b36ff5e1532320c20efc11843f5f7fc810f7bb",
        "the authors' set for real rainy photos",
        19.0,
        stages=4,
    )
