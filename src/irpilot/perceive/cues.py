"""Hand-made image cues the perceiver stacks onto its CNN logits.

Only one so far: JPEG blockiness.  JPEG quantises 8x8 blocks independently, so the mean
absolute step between neighbouring pixels peaks at one phase of the 8-pixel grid.  The cue
compares that peak with the other seven phases (log ratio, averaged over the horizontal and
vertical directions); it does not need to know where the grid starts, so it works on any crop.
"""

from __future__ import annotations

import numpy as np

__all__ = ["jpeg_blockiness"]


def jpeg_blockiness(crop: np.ndarray) -> float:
    """Blockiness of an image crop: float (3, H, W) in [0, 1] or (H, W) grey.  About 0 for
    photos without block artefacts, larger (0.2-1.5) for strongly compressed JPEG.  Crops
    narrower than 16 px in a direction contribute 0 for that direction."""
    g = np.asarray(crop, np.float32)
    if g.ndim == 3:
        g = g.mean(axis=0)
    g = g * 255.0
    out = []
    for steps in (np.abs(np.diff(g, axis=1)).mean(axis=0), np.abs(np.diff(g, axis=0)).mean(axis=1)):
        n = len(steps) // 8 * 8
        if n < 16:
            out.append(0.0)
            continue
        phases = steps[:n].reshape(-1, 8).mean(axis=0)
        p = int(phases.argmax())
        out.append(float(np.log((phases[p] + 1e-3) / (np.delete(phases, p).mean() + 1e-3))))
    return float(np.mean(out))
