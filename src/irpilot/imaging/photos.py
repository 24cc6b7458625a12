"""Public-domain photos bundled with scikit-image, loaded offline.

They serve as training photos (never as test photos) and as the demo's input.  Each training
job picks its own selection by name, so a change to one job's list leaves the others alone.

>>> bundled_photo("astronaut").shape                  # doctest: +SKIP
(3, 512, 512)
"""

from __future__ import annotations

import numpy as np

from .convert import from_uint8

__all__ = ["SKIMAGE_PHOTOS", "POLICY_PHOTOS", "PERCEPTION_PHOTOS", "NIQE_PHOTOS", "bundled_photo"]

#: Every bundled colour or grey photograph irpilot uses.
SKIMAGE_PHOTOS: tuple[str, ...] = (
    "astronaut", "chelsea", "coffee", "rocket", "camera", "immunohistochemistry", "coins", "grass", "gravel", "brick",
)
#: The selection each training job uses (policy training, perception training, NIQE fitting).
POLICY_PHOTOS: tuple[str, ...] = ("astronaut", "chelsea", "coffee", "rocket")
PERCEPTION_PHOTOS: tuple[str, ...] = (*POLICY_PHOTOS, "camera", "immunohistochemistry")
NIQE_PHOTOS: tuple[str, ...] = (*POLICY_PHOTOS, "camera", "coins", "grass", "gravel", "brick")


def bundled_photo(name: str = "astronaut") -> np.ndarray:
    """A photo bundled with scikit-image, as float32 (3, H, W) in [0, 1].

    Raises ``KeyError`` naming the known photos when scikit-image has no photo ``name``."""
    import skimage.data

    loader = getattr(skimage.data, name, None)
    if loader is None:
        raise KeyError(f"scikit-image has no bundled photo named {name!r}; irpilot uses {', '.join(SKIMAGE_PHOTOS)}")
    return from_uint8(np.asarray(loader()))
