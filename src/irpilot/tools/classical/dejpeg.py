"""JPEG artefact removal without the bitstream.

:func:`estimate_jpeg_quality` finds the quality a decoded JPEG was saved with: re-encoding
at the same quality is almost idempotent, so the re-encoding error has a sharp minimum there.
``jpeg_reapply`` averages shifted re-compressions at that quality (Nosratinia): each shift
puts the 8x8 grid elsewhere, so block edges average out while the compressible content stays.
``jpeg_tv`` is total-variation denoising in YCbCr with a weight set by the quality.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...imaging.color import rgb_to_ycbcr, ycbcr_to_rgb
from ...imaging.convert import to_chw, to_hwc
from ..base import Tool, ToolCard
from ._common import register

__all__ = ["estimate_jpeg_quality", "estimate_jpeg_settings", "JpegReapply", "JpegTV"]


def _to_bgr_u8(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.clip(np.round(to_hwc(img)[:, :, ::-1] * 255), 0, 255).astype(np.uint8))


#: OpenCV's ``IMWRITE_JPEG_SAMPLING_FACTOR`` values (4:2:0 is OpenCV's default)
_SAMPLING = {"420": 0x221111, "444": 0x111111}


def _jpeg(bgr: np.ndarray, quality: int, subsampling: str = "420") -> np.ndarray:
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    if subsampling != "420":
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, _SAMPLING[subsampling]]
    ok, buf = cv2.imencode(".jpg", bgr, params)
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode the image")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def _central_crop(bgr: np.ndarray) -> np.ndarray:
    h, w = bgr.shape[:2]
    if h * w > 256 * 256:  # a block-aligned central crop is enough
        y0, x0 = max(0, (h - 256) // 2) // 16 * 16, max(0, (w - 256) // 2) // 16 * 16
        bgr = np.ascontiguousarray(bgr[y0 : y0 + 256, x0 : x0 + 256])
    return bgr


def _reencode_errors(bgr: np.ndarray, qualities: range, subsampling: str) -> np.ndarray:
    """Mean squared change of ``bgr`` re-encoded at each quality, over its whole 16 x 16
    blocks: the partial blocks at the right and bottom edges are padded by the encoder with
    other content each time, so they are not idempotent."""
    h, w = bgr.shape[:2]
    hh, ww = (h // 16 * 16 or h), (w // 16 * 16 or w)
    ref = bgr[:hh, :ww].astype(np.float32)
    return np.array(
        [np.mean((_jpeg(bgr, q, subsampling)[:hh, :ww].astype(np.float32) - ref) ** 2) for q in qualities]
    )


def estimate_jpeg_quality(
    img: np.ndarray, qualities: range = range(5, 91), subsampling: str = "420"
) -> tuple[int, float]:
    """(quality, sharpness) of the JPEG an image (3, H, W) was decoded from: the quality
    whose re-encoding (with chroma ``subsampling``, ``420`` or ``444``) changes the image
    least; ``sharpness`` = that error relative to the median error (near 0 for a freshly
    decoded JPEG, near 1 when there is no clear minimum)."""
    errs = _reencode_errors(_central_crop(_to_bgr_u8(img)), qualities, subsampling)
    i = int(np.argmin(errs))
    return int(qualities[i]), float(errs[i] / max(np.median(errs), 1e-6))


def estimate_jpeg_settings(img: np.ndarray, qualities: range = range(5, 91)) -> tuple[int, str]:
    """(quality, chroma subsampling ``420`` or ``444``) of the JPEG an image was decoded from:
    the pair whose re-encoding changes the image least (4:2:2 reads as the nearer of the two)."""
    bgr = _central_crop(_to_bgr_u8(img))
    best = min(
        ((float(e), int(q), sub) for sub in ("420", "444") for q, e in zip(qualities, _reencode_errors(bgr, qualities, sub))),
    )
    return best[1], best[2]


_ARGS = {
    "quality": {"type": "integer", "minimum": 1, "maximum": 100,
                "description": "JPEG quality the image was saved with (estimated when omitted)"},
}


@register
class JpegReapply(Tool):
    card = ToolCard(
        id="jpeg_reapply",
        version="2",  # 2: quality estimated over whole 16 x 16 blocks of a 16-aligned crop
        task="dejpeg",
        description=(
            "JPEG deblocking by re-application: estimates the quality the image was saved with, "
            "then averages re-compressions of the image shifted over the 8x8 grid at that quality "
            "(block edges and ringing average out).  Works on images whose 8x8 grid is at the "
            "origin, i.e. not cropped or resized after compression."
        ),
        tiling=False,
        cpu_seconds_512=0.11,
        reference="Nosratinia, Enhancement of JPEG-compressed images by re-application of JPEG, J. VLSI Signal Proc. 2001",
        arguments={**_ARGS, "shifts": {"type": "integer", "minimum": 2, "maximum": 8, "default": 4,
                                       "description": "shifts per axis over the 8-pixel grid"}},
    )

    def _run(self, img: np.ndarray, quality: int | None = None, shifts: int = 4, **args: Any) -> np.ndarray:
        q = estimate_jpeg_quality(img)[0] if quality is None else int(quality)
        bgr = _to_bgr_u8(img)
        h, w = bgr.shape[:2]
        pad = np.pad(bgr, ((8, 8), (8, 8), (0, 0)), mode="reflect")
        acc = np.zeros((h, w, 3), np.float64)
        steps = np.unique(np.linspace(0, 8, int(shifts), endpoint=False).astype(int))
        for dy in steps:
            for dx in steps:
                sub = np.ascontiguousarray(pad[8 - dy : 8 - dy + h + 8, 8 - dx : 8 - dx + w + 8])
                dec = _jpeg(sub, q)
                acc += dec[dy : dy + h, dx : dx + w]
        out = acc / (len(steps) ** 2) / 255.0
        return to_chw(out[:, :, ::-1].astype(np.float32))


@register
class JpegTV(Tool):
    card = ToolCard(
        id="jpeg_tv",
        version="2",  # 2: quality estimated over whole 16 x 16 blocks of a 16-aligned crop
        task="dejpeg",
        description=(
            "JPEG artefact smoothing by total-variation denoising of Y and (more strongly) CbCr, "
            "weight set from the estimated JPEG quality."
        ),
        tiling=False,  # the quality estimate needs the original 8x8 grid
        cpu_seconds_512=0.18,
        reference="Rudin, Osher & Fatemi 1992; Chambolle, An algorithm for total variation minimization, JMIV 2004",
        arguments={**_ARGS, "strength": {"type": "number", "minimum": 0.1, "maximum": 5.0, "default": 1.0}},
    )

    def _run(self, img: np.ndarray, quality: int | None = None, strength: float = 1.0, **args: Any) -> np.ndarray:
        from skimage.restoration import denoise_tv_chambolle

        q = estimate_jpeg_quality(img)[0] if quality is None else int(quality)
        wy = float(strength) * 0.015 * float(np.clip((50.0 - q) / 30.0, 0.1, 1.5))
        ycc = rgb_to_ycbcr(img)
        out = np.stack([denoise_tv_chambolle(c, weight=wy * f) for c, f in zip(ycc, (1.0, 2.0, 2.0))])
        return ycbcr_to_rgb(out.astype(np.float32))
