"""x4 super-resolution networks run by OpenCV's ``dnn_superres`` module (frozen TensorFlow
graphs from OpenCV's GSoC 2019 model zoo: FSRCNN, ESPCN, LapSRN; Apache-2.0).

The graphs work on luma: OpenCV converts to YCrCb, runs the network on Y and upscales the
chroma bicubically.  They were trained on low-resolution images made by OpenCV's bicubic
resize *without* antialiasing: on such inputs they beat bicubic upscaling by about 0.5 dB,
on antialiased (MATLAB-style) downscaling, the benchmark's, by only about 0.1 dB.  Needs ``opencv-contrib-python[-headless]`` (``cv2.dnn_superres``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ...io import from_uint8, to_uint8
from ..base import Tool, ToolCard
from ._common import github_weights, register

__all__ = ["FSRCNNx4", "ESPCNx4", "LapSRNx4"]


def _sr_card(tool_id: str, description: str, weights, reference: str, tile: int, seconds: float) -> ToolCard:
    return ToolCard(
        id=tool_id,
        task="super_resolution",
        description=description + "; trained on non-antialiased bicubic downscaling",
        scale=4,
        weights_license="Apache-2.0",
        weights=(weights,),
        python_packages=("cv2",),
        kind="network",
        reference=reference,
        tile_size=tile,
        tile_overlap=16,
        devices=("cpu",),
        cpu_seconds_512=seconds,  # per 512x512 output (128x128 input)
    )


class _OpenCVSuperRes(Tool):
    """A ``cv2.dnn_superres.DnnSuperResImpl`` model at x4."""

    algorithm: ClassVar[str]

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason is None:
            import cv2

            if not hasattr(cv2, "dnn_superres"):
                return "needs cv2.dnn_superres (pip install opencv-contrib-python-headless)"
        return reason

    def setup(self) -> None:
        import cv2

        sr = cv2.dnn_superres.DnnSuperResImpl_create()
        sr.readModel(str(self.card.weights[0].resolve()))
        sr.setModel(self.algorithm, self.card.scale)
        self._sr = sr

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        bgr = np.ascontiguousarray(to_uint8(img)[:, :, ::-1])
        out = self._sr.upsample(bgr)
        return from_uint8(np.ascontiguousarray(out[:, :, ::-1]))


@register
class FSRCNNx4(_OpenCVSuperRes):
    """FSRCNN x4 (Dong, Loy, Tang 2016)."""

    algorithm = "fsrcnn"
    card = _sr_card(
        "fsrcnn_x4",
        "FSRCNN x4: small hourglass CNN with a final deconvolution, on luma (chroma bicubic)",
        github_weights(
            "fsrcnn/FSRCNN_x4.pb",
            "5c68d18db561aed8ead4ffedf1b897ea615baaf60ebf6c35f8e641f8fa4a21bf",
            "Saafke/FSRCNN_Tensorflow",
            "6a4812c4ef1c4f5947d79beafa32a05a6eb4a94d",
            "models/FSRCNN_x4.pb",
            "Dong, Loy, Tang, Accelerating the Super-Resolution Convolutional Neural Network, ECCV 2016",
        ),
        "C. Dong, C. C. Loy, X. Tang. Accelerating the Super-Resolution Convolutional Neural Network. ECCV 2016.",
        256,
        0.1,
    )


@register
class ESPCNx4(_OpenCVSuperRes):
    """ESPCN x4 (Shi et al. 2016)."""

    algorithm = "espcn"
    card = _sr_card(
        "espcn_x4",
        "ESPCN x4: 3-layer CNN with a sub-pixel (pixel-shuffle) output layer, on luma (chroma bicubic)",
        github_weights(
            "espcn/ESPCN_x4.pb",
            "e403f06309229cf36009cd8fb0da032ba7643fae9f15cf94fe562e8edf8fef47",
            "fannymonori/TF-ESPCN",
            "5c628eca82028161a53e1265cc3a5b571ab8625f",
            "export/ESPCN_x4.pb",
            "Shi et al., Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel "
            "CNN, CVPR 2016",
        ),
        "W. Shi et al. Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel "
        "Convolutional Neural Network. CVPR 2016.",
        256,
        0.05,
    )


@register
class LapSRNx4(_OpenCVSuperRes):
    """LapSRN x4 (Lai et al. 2017)."""

    algorithm = "lapsrn"
    card = _sr_card(
        "lapsrn_x4",
        "LapSRN x4: Laplacian-pyramid CNN predicting x2 then x4 residuals, on luma (chroma bicubic)",
        github_weights(
            "lapsrn/LapSRN_x4.pb",
            "d3e95c93cafae5ce5a8ed57ce9abf07f2de58da8c5d6d656b766774969835ee2",
            "fannymonori/TF-LapSRN",
            "fc51c90af1b5801a357abc919160d7ff4f24b997",
            "export/LapSRN_x4.pb",
            "Lai et al., Deep Laplacian Pyramid Networks for Fast and Accurate Super-Resolution, CVPR 2017",
        ),
        "W.-S. Lai, J.-B. Huang, N. Ahuja, M.-H. Yang. Deep Laplacian Pyramid Networks for Fast and "
        "Accurate Super-Resolution. CVPR 2017.",
        192,
        1.0,
    )
