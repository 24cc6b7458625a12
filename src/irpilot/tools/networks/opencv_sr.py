"""x4 super-resolution networks of OpenCV's ``dnn_superres`` model zoo (frozen TensorFlow graphs
from its GSoC 2019 work: FSRCNN, ESPCN, LapSRN; Apache-2.0), run in torch.

The graphs work on luma: as ``dnn_superres`` does, the image is converted to YCrCb (8-bit),
the network upscales Y and the chroma is upscaled bilinearly.  They were trained on
low-resolution images made by OpenCV's bicubic resize *without* antialiasing: on such inputs
they beat bicubic upscaling by about 0.5 dB, on antialiased (MATLAB-style) downscaling, the
benchmark's, by only about 0.1 dB.

The graphs are evaluated by :mod:`.tf_graph` rather than by ``cv2.dnn_superres``, which
OpenCV 5.1 no longer lets read them; the outputs match OpenCV 4.13's (``tests/tools/
test_tf_graph.py``), whatever OpenCV is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ...io import from_uint8, to_uint8
from ..base import ToolCard
from ._common import NetworkTool, github_weights, register

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["FSRCNNx4", "ESPCNx4", "LapSRNx4"]


def _sr_card(tool_id: str, description: str, weights, reference: str, tile: int, seconds: float) -> ToolCard:
    return ToolCard(
        id=tool_id,
        task="super_resolution",
        description=description + "; trained on non-antialiased bicubic downscaling",
        scale=4,
        weights_license="Apache-2.0",
        weights=(weights,),
        python_packages=("torch", "cv2"),
        kind="network",
        reference=reference,
        tile_size=tile,
        tile_overlap=16,
        devices=("cpu", "cuda"),
        cpu_seconds_512=seconds,  # per 512x512 output (128x128 input)
    )


class _LumaSuperRes(NetworkTool):
    """A ``dnn_superres`` graph at x4 on the luma of a YCrCb image."""

    #: the graph node holding the x4 luma output
    output_node: ClassVar[str] = "NCHW_output"
    #: the graphs' arithmetic is tuned to float32 8-bit output; keep them exact
    bf16_ok = False

    def build(self) -> torch.nn.Module:
        from .tf_graph import TFGraphModule, read_graph_def

        return TFGraphModule(read_graph_def(self.weights_path()), self.output_node)

    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        import cv2

        # dnn_superres: 8-bit BGR -> 8-bit YCrCb -> float in [0, 1]
        ycrcb = cv2.cvtColor(np.ascontiguousarray(to_uint8(img)[:, :, ::-1]), cv2.COLOR_BGR2YCrCb)
        ycrcb = ycrcb.astype(np.float32) / 255.0
        y = self.forward(ycrcb[None, :, :, 0])[0]
        h, w = y.shape
        cr = cv2.resize(ycrcb[:, :, 1], (w, h), interpolation=cv2.INTER_LINEAR)
        cb = cv2.resize(ycrcb[:, :, 2], (w, h), interpolation=cv2.INTER_LINEAR)
        merged = np.stack([y, cr, cb], axis=-1) * 255.0
        merged8 = np.clip(np.rint(merged), 0, 255).astype(np.uint8)
        rgb = cv2.cvtColor(merged8, cv2.COLOR_YCrCb2RGB)
        return from_uint8(rgb)


@register
class FSRCNNx4(_LumaSuperRes):
    """FSRCNN x4 (Dong, Loy, Tang 2016)."""

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
class ESPCNx4(_LumaSuperRes):
    """ESPCN x4 (Shi et al. 2016)."""

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
class LapSRNx4(_LumaSuperRes):
    """LapSRN x4 (Lai et al. 2017)."""

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
