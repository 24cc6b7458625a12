"""Run a tool over overlapping tiles so a large photo does not exhaust memory.

Tiles overlap by ``overlap`` pixels; outputs are blended with a linear ramp over the
overlap so seams do not show.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["run_tiled", "tile_starts"]


def tile_starts(length: int, tile: int, overlap: int, align: int = 1) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels overlapping by at least ``overlap``, each a
    multiple of ``align`` (the last tile then runs to the end and may be up to ``align - 1``
    pixels longer than ``tile``)."""
    if length <= tile:
        return [0]
    if overlap >= tile:  # the step would shrink to one pixel: a tile per pixel, a run that never ends
        raise ValueError(f"tiles of {tile} px cannot overlap by {overlap} px: give a larger tile")
    step = max(align, (tile - overlap) // align * align)
    last = (length - tile) // align * align
    starts = list(range(0, last, step))
    starts.append(last)
    return starts


def _ramp(n: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    r = np.ones(n, dtype=np.float32)
    k = min(overlap, n // 2)
    if k > 0:
        ramp = (np.arange(k, dtype=np.float32) + 1.0) / (k + 1.0)
        if not at_start:
            r[:k] = ramp
        if not at_end:
            r[n - k :] = ramp[::-1]
    return r


def run_tiled(
    fn: Callable[[np.ndarray], np.ndarray],
    img: np.ndarray,
    tile: int,
    overlap: int,
    scale: int = 1,
    align: int = 1,
    channels: int | None = None,
) -> np.ndarray:
    """Apply ``fn`` (C, h, w) -> (``channels``, h*scale, w*scale) tile by tile and blend
    (``channels``: C unless given).  ``align`` puts every tile origin on a grid of that many
    pixels (a JPEG's block grid: 16 for 4:2:0)."""
    c, h, w = img.shape
    out = np.zeros((c if channels is None else channels, h * scale, w * scale), dtype=np.float32)
    weight = np.zeros((1, h * scale, w * scale), dtype=np.float32)
    ys, xs = tile_starts(h, tile, overlap, align), tile_starts(w, tile, overlap, align)
    for y in ys:
        for x in xs:
            th = h - y if y == ys[-1] else min(tile, h - y)
            tw = w - x if x == xs[-1] else min(tile, w - x)
            res = np.asarray(fn(np.ascontiguousarray(img[:, y : y + th, x : x + tw])), dtype=np.float32)
            wy = _ramp(th * scale, overlap * scale, y == 0, y + th >= h)
            wx = _ramp(tw * scale, overlap * scale, x == 0, x + tw >= w)
            wt = wy[:, None] * wx[None, :]
            sy, sx = y * scale, x * scale
            out[:, sy : sy + th * scale, sx : sx + tw * scale] += res * wt
            weight[:, sy : sy + th * scale, sx : sx + tw * scale] += wt
    return out / np.maximum(weight, 1e-8)
