"""Training crops: clean crops of the training photos, degraded by random combinations.

Training photos only: T91, CSet14, LIVE1, classic5 (grey, used as 3 equal channels) and
scikit-image's bundled photos.  The benchmark test sets (Kodak24, CBSD68, McMaster) are never
read here: :func:`training_photos` refuses them.

For ``low_resolution`` the clean crop is 4x bigger, so the degraded crop (1/4 of it) has the
usual training size and the x4 tools restore it to the reference size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import TRAINING_SETS, check_training_sets, training_photo_paths
from ..vocab import PROTOCOL_DEGRADATIONS

__all__ = [
    "STAGE",
    "Case",
    "training_photos",
    "sample_combination",
    "make_case",
    "STANDS_FOR",
    "perception_size_hint",
]


#: Usual order in which degradations happen (scene -> imaging -> compression); combinations
#: mostly follow it, a share is shuffled.
STAGE: dict[str, int] = {
    "haze": 0,
    "rain": 0,
    "dark": 1,
    "motion_blur": 1,
    "defocus_blur": 1,
    "noise": 2,
    "low_resolution": 3,
    "jpeg": 3,
}


def training_photos(data_dir: str | Path | None = None, sets: Sequence[str] = TRAINING_SETS, skimage: bool = True) -> list[tuple[str, np.ndarray]]:
    """``(name, image)`` for every training photo (float32 (3, H, W))."""
    from ..config import settings
    from ..io import read_image

    root = Path(data_dir) if data_dir else settings.data_dir
    out: list[tuple[str, np.ndarray]] = []
    check_training_sets(sets)
    for s in sets:
        # missing folders are skipped; test-set duplicates (LIVE1 holds Kodak24 photos) never come back
        for p in training_photo_paths(root, [s]):
            out.append((f"{s}/{p.name}", read_image(p)))
    if skimage:
        from ..imaging.photos import POLICY_PHOTOS, bundled_photo

        for name in POLICY_PHOTOS:
            try:
                img = bundled_photo(name)
            except Exception:  # noqa: BLE001 - a missing bundled file only shrinks the set
                continue
            out.append((f"skimage/{name}", img))
    return out


def sample_combination(rng: np.random.Generator, probs_n: Sequence[float] = (0.22, 0.38, 0.3, 0.07, 0.03)) -> list[str]:
    """1-5 distinct degradations, mostly in the natural order (30 % shuffled).

    ``probs_n[k]`` weights ``k + 1`` degradations (weights need not sum to 1).
    """
    n = int(rng.choice(len(probs_n), p=np.asarray(probs_n) / np.sum(probs_n))) + 1
    names = list(rng.choice(PROTOCOL_DEGRADATIONS, size=n, replace=False))
    if rng.random() < 0.7:
        names.sort(key=lambda d: STAGE[d])
    return [str(x) for x in names]


@dataclasses.dataclass
class Case:
    """One training example: clean reference, degraded input and how it was made."""

    id: str
    photo: str
    box: tuple[int, int, int, int]  # y, x, h, w of the clean crop in the photo
    names: list[str]
    levels: list[str | None]
    seed: int
    clean: np.ndarray
    degraded: np.ndarray
    records: list[dict[str, Any]]

    @property
    def tasks(self) -> list[str]:
        from ..degrade import DEGRADATION_TO_TASK, kind_of

        out: list[str] = []
        for n in self.names:
            t = DEGRADATION_TO_TASK[kind_of(n)]  # real_noise -> noise -> denoise
            if t not in out:
                out.append(t)
        return out


def _levels(rng: np.random.Generator, n: int) -> list[str | None]:
    choices: list[str | None] = [None, "mild", "moderate", "severe"]
    return [choices[int(rng.choice(4, p=[0.4, 0.2, 0.2, 0.2]))] for _ in range(n)]


def make_case(
    rng: np.random.Generator,
    photos: Sequence[tuple[str, np.ndarray]],
    *,
    size: tuple[int, int] = (128, 192),
    names: Sequence[str] | None = None,
    case_id: str = "",
    sr_size: tuple[int, int] = (32, 64),
    counts: Sequence[float] | None = None,
    realistic_p: float = 0.0,
) -> Case:
    """Sample a photo, a crop and a degradation combination; degrade it (seeded, replayable).

    ``counts`` weights the number of degradations (``sample_combination``'s ``probs_n``).
    ``realistic_p``: the share of cases made with the realistic family (each degradation's
    camera-like model, :data:`irpilot.degrade.REALISTIC`: shake trajectories, lens defocus,
    Poisson-Gaussian noise, ...) instead of the protocol's recipe; at 0 (the default) no random
    number is drawn for it, so earlier cases replay unchanged."""
    from ..degrade import REALISTIC, degrade, kind_of

    if names is not None:
        names = list(names)
    else:
        names = sample_combination(rng) if counts is None else sample_combination(rng, counts)
    if realistic_p > 0 and rng.random() < realistic_p:
        names = [REALISTIC[kind_of(n)] for n in names]
    scale = 4 if any(kind_of(n) == "low_resolution" for n in names) else 1
    lo, hi = size
    if scale > 1:
        lo, hi = sr_size  # degraded side; the clean crop is 4x (keeps post-SR images affordable)
    for _ in range(100):
        name, photo = photos[int(rng.integers(len(photos)))]
        _, h, w = photo.shape
        s = int(rng.integers(lo, hi + 1))
        ch, cw = s * scale, s * scale
        if h >= ch and w >= cw:
            break
    else:
        raise ValueError(f"no training photo is large enough for a {ch}x{cw} crop")
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    clean = np.ascontiguousarray(photo[:, y : y + ch, x : x + cw])
    if rng.random() < 0.5:
        clean = np.ascontiguousarray(clean[:, :, ::-1])
    from ..imaging.convert import on_8bit_grid

    clean = on_8bit_grid(clean)  # on the 8-bit grid, like the benchmark references
    levels = _levels(rng, len(names))
    # the x4 tools need the protocol's factor 4 (other levels change the factor)
    levels = [None if kind_of(n) == "low_resolution" else lv for n, lv in zip(names, levels)]
    seed = int(rng.integers(0, 2**31 - 1))
    lv = {n: l for n, l in zip(names, levels) if l is not None}
    degraded, records = degrade(clean, names, seed, levels=lv)
    recs = [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in records]
    return Case(case_id, name, (y, x, ch, cw), list(names), levels, seed, clean, degraded, recs)


#: A training crop stands for a photo whose clean version has this longest side: perception's
#: low-resolution decision uses the photo's size (AgenticIR: below 300 px), and a 128 px crop
#: of a full-size photo is not a low-resolution photo.
STANDS_FOR = 384


def perception_size_hint(shape: Sequence[int], ref_shape: Sequence[int]) -> tuple[int, int]:
    """The size (H, W) an image of ``shape`` stands for, when the clean reference of its
    training case has ``ref_shape``: scaled so the reference is :data:`STANDS_FOR` px long."""
    k = STANDS_FOR / max(1, max(int(ref_shape[-2]), int(ref_shape[-1])))
    return max(1, round(int(shape[-2]) * k)), max(1, round(int(shape[-1]) * k))
