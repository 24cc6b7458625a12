"""Make degraded images: the eight degradations of the agentic-restoration benchmark
protocol (plus snow), sampled apart from applied, seeded, and replayable from records.

>>> from irpilot.degrade import degrade, replay, PRESETS, DEGRADATIONS   # doctest: +SKIP
>>> lq, records = degrade(clean, ["rain", "haze"], seed=0)               # doctest: +SKIP
>>> records[0].params["level"]                                          # doctest: +SKIP
'severe'

Modules: ``base`` (interface, registry, records) (MATLAB bicubic resizing is
:mod:`irpilot.imaging.resize`),
``classical`` (low resolution, noise, motion/defocus blur, dark, JPEG), ``weather``
(haze, rain, snow), ``pipeline`` (chains, presets), ``dataset`` (sets on disk).
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
)
from .dataset import build_set, contact_sheet, read_manifest, replay_entry
from .pipeline import (
    GROUP_A,
    GROUP_B,
    GROUP_C,
    PRESETS,
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
    "degrade",
    "replay",
    "derive_seed",
    "Preset",
    "PRESETS",
    "GROUP_A",
    "GROUP_B",
    "GROUP_C",
    "PROTOCOL_DEGRADATIONS",
    "build_set",
    "replay_entry",
    "read_manifest",
    "contact_sheet",
    "imresize",
    "imresize_u8",
    "upscale_to",
]
