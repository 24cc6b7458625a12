"""``jpeg_ycc_net``: colour JPEG artefact removal in YCbCr, where the codec works.

Luma goes through DnCNN-3 (Zhang et al. 2017, blind JPEG deblocking), chroma through irpilot's
quality-conditioned chroma network (:mod:`.jpeg_chroma`), which reads the decoded luma to put
the colour edges back where 4:2:0 subsampling and coarse quantisation smeared them.  Both see
the decoded image; the JPEG quality is estimated once from the whole image (re-encoding at the
saved quality is almost idempotent) unless the caller gives it.

The 8x8 luma / 16x16 chroma block grid must stay where the codec put it, so large images are
tiled with tile origins on a 16-pixel grid (``run_tiled(..., align=16)``), and the image must
not have been cropped or resized since it was decoded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ...imaging.color import rgb_to_ycbcr, ycbcr_to_rgb
from ..base import ToolCard
from . import jpeg_chroma
from ._common import NetworkTool, register
from .dncnn import _DNCNN_REF, _NO_LICENCE, _W_DNCNN3

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["JpegYccNet"]

#: studio-range luma (DnCNN-3's training colour space) -> full-range luma (the JPEG codec's)
_STUDIO_LO, _STUDIO_SPAN = 16.0 / 255.0, 219.0 / 255.0


@register
class JpegYccNet(NetworkTool):
    """DnCNN-3 on luma + irpilot's quality-conditioned chroma network on Cb/Cr."""

    card = ToolCard(
        id="jpeg_ycc_net",
        task="dejpeg",
        description="colour JPEG artefact removal fitted to OpenCV-style JPEG with 4:2:0 chroma "
        "subsampling: DnCNN-3 restores luma, irpilot's own chroma network (a learned guided "
        "filter corrected by a three-level U-Net, 1.24 M parameters, conditioned on the JPEG quality, "
        "given or estimated from the pixels) restores Cb/Cr guided by the luma; a 4:4:4 JPEG (estimated) "
        "gets DnCNN-3 on each YCbCr plane, a grey one (neutral chroma) its luma only. Chroma network trained 60 min on two CPU threads on irpilot's "
        "training photos (T91, CSet14, LIVE1 without Kodak, classic5; OpenCV JPEG, quality 5-90, mostly "
        "10-29). Protocol JPEG, 12 test crops: +1.30 dB (dncnn3_dejpeg +0.99; the first chroma network "
        "+1.23); 4 test crops +1.28. Needs the image's original 8x8 grid (not cropped or resized after "
        "decoding); does not handle noise or blur on top of the JPEG.",
        weights_license=f"DnCNN-3: {_NO_LICENCE}; chroma network: Apache-2.0 (irpilot)",
        weights=(_W_DNCNN3,),
        python_packages=("torch", "safetensors"),
        multiple_of=16,
        tiling=True,  # on the 16-pixel block grid: __call__ tiles, not the base class
        tile_size=512,
        tile_overlap=48,
        devices=("cpu", "cuda"),
        cpu_seconds_512=1.7,  # tool_speed.py --threads 2 --repeats 3, idle: dncnn3_dejpeg 2.4 in the same run
        kind="network",
        reference=_DNCNN_REF + " Chroma network: irpilot (irpilot train dejpeg --arch unet).",
        arguments={
            "quality": {"type": "integer", "minimum": 1, "maximum": 100,
                        "description": "JPEG quality the image was saved with (estimated when omitted)"},
            "subsampling": {"type": "string", "enum": ["420", "444"],
                            "description": "chroma subsampling of the JPEG (estimated with the quality when "
                            "both are omitted; 420 when only the quality is given); 444 restores chroma "
                            "with DnCNN-3 at full size instead of the chroma network"},
        },
    )

    chroma: Any = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        reason = super().unavailable_reason()
        if reason:
            return reason
        if not jpeg_chroma.asset_exists():
            return f"its chroma weights ({jpeg_chroma.ASSET}) are not in this install; train them with `irpilot train dejpeg`"
        return None

    def build(self) -> torch.nn.Module:
        from ._common import load_matconvnet
        from .archs import PlainConvNet

        return PlainConvNet(load_matconvnet(self.weights_path()), residual=True)

    def setup(self) -> None:
        import torch

        super().setup()
        chroma = jpeg_chroma.load_chroma_net()[0]
        for p in chroma.parameters():
            p.requires_grad_(False)
        self.chroma = chroma.to(torch.device(self.device))

    def __call__(self, img: np.ndarray, **args: Any) -> np.ndarray:
        from ...io import as_image

        img = as_image(img)
        if args.get("quality") is None:  # once, on the whole image: a tile may be flat
            from ..classical.dejpeg import estimate_jpeg_settings

            args["quality"], args["subsampling"] = estimate_jpeg_settings(img)
        tile = self.tile_size(args)
        args.pop("tile", None)
        _, h, w = img.shape
        if tile and (h > tile or w > tile):
            from .. import tiling

            self.ensure_setup()
            out = tiling.run_tiled(lambda x: self._run_padded(x, **args), img, tile, self.card.tile_overlap, align=16)
            return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)
        return super().__call__(img, tile=0, **args)

    def _run(self, img: np.ndarray, quality: int = 20, subsampling: str | None = None, **args: Any) -> np.ndarray:
        import torch

        if subsampling not in (None, "420", "444"):
            raise ValueError(f"subsampling must be 420 or 444, got {subsampling!r}")
        ycc = rgb_to_ycbcr(img)
        if subsampling == "444":  # full-size chroma: DnCNN-3 on each YCbCr plane (studio range, as trained)
            studio = rgb_to_ycbcr(img, studio=True)
            return ycbcr_to_rgb(self.forward(studio[:, None])[:, 0], studio=True)
        studio_y = _STUDIO_LO + _STUDIO_SPAN * ycc[:1]
        y = (self.forward(studio_y)[0] - _STUDIO_LO) / _STUDIO_SPAN
        if float(np.abs(ycc[1:] - 0.5).max()) < 1.0 / 255.0:  # a grey photo: no colour to restore, none to add
            return ycbcr_to_rgb(np.concatenate([y[None], ycc[1:]]).astype(np.float32))
        with torch.inference_mode():
            x = torch.from_numpy(ycc[None]).to(self.device)
            scale = torch.tensor([jpeg_chroma.quant_scale(quality)], device=self.device)
            chroma = self.chroma(x, scale)[0].float().cpu().numpy()
        return ycbcr_to_rgb(np.concatenate([y[None], chroma]).astype(np.float32))
