"""Make degraded images: the eight degradations of the agentic-restoration benchmark
protocol (plus snow), and a realistic family of camera-like models of the same nine kinds
(``real_*``: camera shake, lens defocus, sensor noise, under-exposure, coloured haze,
chroma-subsampled and double JPEG, several downscaling kernels, layered rain and snow);
all sampled apart from applied, seeded, and replayable from records.

>>> from irpilot.degrade import degrade, replay, PRESETS, DEGRADATIONS   # doctest: +SKIP
>>> lq, records = degrade(clean, ["rain", "haze"], seed=0)               # doctest: +SKIP
>>> records[0].params["level"]                                          # doctest: +SKIP
'severe'

Modules: ``base`` (interface, registry, records) (MATLAB bicubic resizing is
:mod:`irpilot.imaging.resize`),
``classical`` (low resolution, noise, motion/defocus blur, dark, JPEG), ``weather``
(haze, rain, snow), ``real_optics`` / ``real_camera`` / ``real_scene`` (the realistic
family), ``pipeline`` (chains, presets), ``dataset`` (sets on disk).
``kind_of(name)`` maps any degradation to the protocol kind it stands for
(``kind_of("real_motion_blur") == "motion_blur"``): the label perception is scored on.
"""

from __future__ import annotations

from ..imaging.resize import imresize, imresize_u8, upscale_to
from ..vocab import DEGRADATION_TO_TASK, PROTOCOL_DEGRADATIONS
from .base import (
    DEGRADATIONS,
    LEVELS,
    Degradation,
    DegradationRecord,
    get_degradation,
    kind_of,
)
from .dataset import build_set, contact_sheet, read_manifest, replay_entry
from .pipeline import (
    GROUP_A,
    GROUP_B,
    GROUP_C,
    PHYSICAL_ORDER,
    PRESETS,
    REALISTIC,
    REALISTIC_A,
    REALISTIC_B,
    REALISTIC_C,
    Preset,
    degrade,
    derive_seed,
    replay,
)

__all__ = [
    "DEGRADATIONS",
    "DEGRADATION_TO_TASK",
    "LEVELS",
    "Degradation",
    "DegradationRecord",
    "get_degradation",
    "kind_of",
    "degrade",
    "replay",
    "derive_seed",
    "Preset",
    "PRESETS",
    "GROUP_A",
    "GROUP_B",
    "GROUP_C",
    "PROTOCOL_DEGRADATIONS",
    "REALISTIC",
    "REALISTIC_A",
    "REALISTIC_B",
    "REALISTIC_C",
    "PHYSICAL_ORDER",
    "build_set",
    "replay_entry",
    "read_manifest",
    "contact_sheet",
    "imresize",
    "imresize_u8",
    "upscale_to",
]
