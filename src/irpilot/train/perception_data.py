"""Synthetic training data for the perception CNN.

Training photos only: T91, CSet14, LIVE1, classic5 (from ``settings.data_dir``) and the photos
bundled with scikit-image.  The benchmark test sets (Kodak24, CBSD68, McMaster) are refused.

Each example: a random region (or the whole photo) is flipped/rotated, sometimes re-exposed
(a mild exposure and tone change: photos come in many exposures) or downscaled (photos come in
many sizes, down to smaller than one crop), degraded with a random combination of 0-5
degradations through :mod:`irpilot.degrade` (protocol ranges or a named severity level,
recorded), and a few crops of the *degraded* image are kept at native resolution with their
labels (presence 0/1 and severity in [0, 1] per degradation kind).  With ``realistic_p`` > 0 a
share of the chains uses the realistic family (``real_*``: camera shake from random
trajectories, lens defocus, sensor noise, ...) instead of the protocol's models, labelled by the
kind each stands for (:func:`irpilot.degrade.kind_of`); with ``group_p`` > 0 a share of the
chains is one of the benchmark's combinations (groups A, B, C).

>>> from irpilot.train.perception_data import build_dataset, load_sources
>>> ds = build_dataset(load_sources(), n_images=10, seed=0)        # doctest: +SKIP
>>> ds["crops"].shape, ds["labels"].shape                         # doctest: +SKIP
((20, 96, 96, 3), (20, 9))
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import TRAINING_SETS, check_training_sets, training_photo_paths
from ..imaging.photos import PERCEPTION_PHOTOS
from ..io import read_image, to_uint8
from ..perceive import pad_to_crop

__all__ = [
    "TRAIN_FOLDERS",
    "BOTH_FAMILIES",
    "Mix",
    "Source",
    "load_sources",
    "split_sources",
    "sample_combination",
    "make_example",
    "build_dataset",
]

log = logging.getLogger(__name__)

#: Photo folders under ``settings.data_dir`` used for training, and the benchmark test sets that
#: never are (one definition for the project: :mod:`irpilot.data`).
TRAIN_FOLDERS: tuple[str, ...] = TRAINING_SETS

#: Count of degradations per example (0 = clean) and its probability.
N_DEGRADATIONS_P: dict[int, float] = {0: 0.12, 1: 0.26, 2: 0.30, 3: 0.20, 4: 0.08, 5: 0.04}
#: How often a named level is used instead of the protocol's ranges, and which.
LEVEL_P: dict[str | None, float] = {None: 0.5, "mild": 0.06, "moderate": 0.16, "severe": 0.16, "extreme": 0.12}
#: Degradations the protocol puts at the end of a chain (compression / resizing).
LATE: tuple[str, ...] = ("low_resolution", "jpeg")


@dataclasses.dataclass(frozen=True)
class Mix:
    """How examples are drawn beyond the chain itself (all shares in [0, 1]).

    ``realistic_p``: chains made with the realistic models (``real_*``) instead of the
    protocol's; ``group_p``: chains that are one of the benchmark's combinations (A/B/C,
    in their order); ``physical_p``: other chains put in :data:`irpilot.degrade.PHYSICAL_ORDER`
    (else the protocol-like early/late order, 80 %, or a random order); ``clean_p``: the share
    of chains with no degradation (the rest of :data:`N_DEGRADATIONS_P` rescaled);
    ``tone_p``: a mild exposure/tone change of the clean photo (gain ``tone_gain``, gamma
    ``tone_gamma``, both ranges) before degrading; ``scale_p``: the clean photo downscaled by
    a factor in ``scale_range`` (area-averaged: a sharp photo of fewer pixels); ``small_p``:
    (chains without low resolution) the image made smaller than one crop, ``small_side``
    pixels on its longer side, read whole as the perceiver reads a small photo (reflect-padded).
    ``Mix()`` is the original generator (protocol only, no variation)."""

    realistic_p: float = 0.0
    group_p: float = 0.0
    physical_p: float = 0.0
    clean_p: float | None = None
    tone_p: float = 0.0
    tone_gain: tuple[float, float] = (0.8, 1.2)
    tone_gamma: tuple[float, float] = (0.87, 1.15)
    scale_p: float = 0.0
    scale_range: tuple[float, float] = (1.15, 2.0)
    small_p: float = 0.0
    small_side: tuple[int, int] = (40, 95)


#: The mix the shipped weights were trained with: both families, the benchmark's combinations
#: a third of the time, clean photos of many exposures and sizes a fifth of the time.
BOTH_FAMILIES = Mix(realistic_p=0.5, group_p=0.35, physical_p=0.5, clean_p=0.2, tone_p=0.3, scale_p=0.25, small_p=0.06)


@dataclasses.dataclass
class Source:
    """One clean training photo: ``name`` (folder/file) and uint8 (H, W, 3) pixels."""

    name: str
    pixels: np.ndarray

    @property
    def min_side(self) -> int:
        return int(min(self.pixels.shape[:2]))


def _skimage_photos(names: Sequence[str]) -> list[Source]:
    out: list[Source] = []
    try:
        import skimage.data as sd
    except ImportError:  # pragma: no cover - scikit-image is a core dependency
        return out
    for name in names:
        try:
            arr = np.asarray(getattr(sd, name)())
        except Exception as exc:  # noqa: BLE001 - some need an optional download (pooch)
            log.info("skipping skimage.data.%s: %s", name, exc)
            continue
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        out.append(Source(f"skimage/{name}", np.ascontiguousarray(arr[:, :, :3].astype(np.uint8))))
    try:  # the stereo pair: two more street photos
        left, right, _ = sd.stereo_motorcycle()
        out += [Source("skimage/motorcycle_left", left), Source("skimage/motorcycle_right", right)]
    except Exception as exc:  # noqa: BLE001
        log.info("skipping skimage.data.stereo_motorcycle: %s", exc)
    return out


def load_sources(
    data_dir: str | Path | None = None,
    folders: Sequence[str] = TRAIN_FOLDERS,
    skimage_photos: Sequence[str] = PERCEPTION_PHOTOS,
    max_per_folder: int | None = None,
) -> list[Source]:
    """Load the training photos.  Raises ``ValueError`` if a benchmark test set is asked for;
    folders missing under ``data_dir`` are skipped with a log message."""
    from ..config import settings

    check_training_sets(folders)
    root = Path(data_dir) if data_dir is not None else settings.data_dir
    sources: list[Source] = []
    for folder in folders:
        # missing folders are skipped; test-set duplicates (LIVE1 holds Kodak24 photos) never come back
        paths = training_photo_paths(root, [folder])[: max_per_folder or None]
        for p in paths:
            sources.append(Source(f"{folder}/{p.name}", to_uint8(read_image(p))))
    sources += _skimage_photos(skimage_photos)
    if not sources:
        raise FileNotFoundError("no training photos found (set IRPILOT_DATA_DIR or pass data_dir)")
    return sources


def split_sources(sources: Sequence[Source], val_fraction: float, seed: int) -> tuple[list[Source], list[Source]]:
    """Split by photo (never crops of one photo on both sides)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sources))
    n_val = int(round(val_fraction * len(sources)))
    val = [sources[i] for i in order[:n_val]]
    train = [sources[i] for i in order[n_val:]]
    return train, val


def _count_p(clean_p: float | None) -> np.ndarray:
    p = np.array(list(N_DEGRADATIONS_P.values()), np.float64)
    p /= p.sum()
    if clean_p is not None:
        p[1:] *= (1.0 - clean_p) / p[1:].sum()
        p[0] = clean_p
    return p


def sample_combination(
    rng: np.random.Generator, names: Sequence[str], mix: Mix | None = None
) -> tuple[list[str], list[str | None]]:
    """A random chain of degradation kinds: 0-5 distinct degradations (benchmark-like counts),
    ordered like the protocol's groups (scene/imaging degradations in random order, then
    resize/JPEG) 80 % of the time, fully random otherwise; each with the protocol range or a
    named level.  ``mix`` adds the benchmark's own combinations and the physical order."""
    from ..degrade import GROUP_A, GROUP_B, GROUP_C, PHYSICAL_ORDER

    mix = mix or Mix()
    groups = [c for c in GROUP_A + GROUP_B + GROUP_C if set(c) <= set(names)]
    if mix.group_p > 0 and groups and rng.random() < mix.group_p:
        chosen = list(groups[int(rng.integers(0, len(groups)))])
    else:
        n = int(rng.choice(list(N_DEGRADATIONS_P), p=_count_p(mix.clean_p)))
        chosen = [str(x) for x in rng.choice(list(names), size=min(n, len(names)), replace=False)]
        u = rng.random()
        if u < mix.physical_p:
            chosen.sort(key=lambda c: PHYSICAL_ORDER.index(c) if c in PHYSICAL_ORDER else len(PHYSICAL_ORDER))
        elif u < mix.physical_p + 0.8 * (1.0 - mix.physical_p):
            early = [c for c in chosen if c not in LATE]
            late = [c for c in chosen if c in LATE]
            rng.shuffle(late)
            chosen = early + late
    level_keys = list(LEVEL_P)
    level_p = np.array(list(LEVEL_P.values()), dtype=np.float64)
    levels = [level_keys[int(rng.choice(len(level_keys), p=level_p / level_p.sum()))] for _ in chosen]
    return chosen, levels


def _augment(arr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = int(rng.integers(0, 4))
    arr = np.rot90(arr, k)
    if rng.random() < 0.5:
        arr = arr[:, ::-1]
    return np.ascontiguousarray(arr)


def _region(src: Source, side_lo: int, side_hi: int, rng: np.random.Generator) -> np.ndarray:
    h, w = src.pixels.shape[:2]
    rh = min(h, int(rng.integers(side_lo, side_hi + 1)))
    rw = min(w, int(rng.integers(side_lo, side_hi + 1)))
    t = int(rng.integers(0, h - rh + 1))
    l = int(rng.integers(0, w - rw + 1))
    return src.pixels[t : t + rh, l : l + rw]


def _vary_photo(region: np.ndarray, rng: np.random.Generator, mix: Mix, need: int,
                small: bool) -> tuple[np.ndarray, dict[str, Any]]:
    """The clean photo as a camera might have delivered it: another exposure, fewer pixels."""
    from PIL import Image

    info: dict[str, Any] = {}
    img = np.ascontiguousarray(region.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0)
    if mix.tone_p > 0 and rng.random() < mix.tone_p:
        gain, gamma = float(rng.uniform(*mix.tone_gain)), float(rng.uniform(*mix.tone_gamma))
        img = np.clip(gain * img, 0.0, 1.0) ** np.float32(gamma)
        info["tone"] = {"gain": round(gain, 3), "gamma": round(gamma, 3)}
    h, w = img.shape[1:]
    if small:
        side = int(rng.integers(mix.small_side[0], mix.small_side[1] + 1))
        scale = side / max(h, w)
    elif mix.scale_p > 0 and rng.random() < mix.scale_p:
        scale = 1.0 / float(rng.uniform(*mix.scale_range))
        scale = max(scale, need / min(h, w))  # keep room for the crops (and a low-resolution factor)
    else:
        scale = 1.0
    arr = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(1, 2, 0)
    if scale < 0.999:  # box filter: a sharp photo of fewer pixels (the protocol's downscale is bicubic)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        arr = np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.BOX))
        info["scale"] = round(scale, 4)
    return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32) / np.float32(255.0), info


def make_example(
    sources: Sequence[Source],
    rng: np.random.Generator,
    names: Sequence[str],
    crop: int = 96,
    crops_per_image: int = 2,
    mix: Mix | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """One degraded region -> (crops uint8 (n, crop, crop, 3), presence (K,), severity (K,), info).

    ``names`` are the degradation kinds (the labels); a realistic chain applies each kind's
    realistic model (:data:`irpilot.degrade.REALISTIC`)."""
    from ..degrade import REALISTIC
    from ..degrade.base import get_degradation, level_of, severity_from_ranges

    mix = mix or Mix()
    chain, levels = sample_combination(rng, names, mix)
    realistic = mix.realistic_p > 0 and rng.random() < mix.realistic_p
    models = [REALISTIC[k] if realistic else k for k in chain]
    small = mix.small_p > 0 and "low_resolution" not in chain and rng.random() < mix.small_p
    lr_factor = 1
    if "low_resolution" in chain:
        i = chain.index("low_resolution")
        params_lr = get_degradation(models[i]).sample(rng, levels[i])
        lr_factor = int(params_lr["factor"])
    need = crop * lr_factor
    big = [s for s in sources if s.min_side >= need]
    while not big:  # no photo large enough for this factor: use a smaller one
        lr_factor -= 1
        need = crop * lr_factor
        big = [s for s in sources if s.min_side >= need]
    src = big[int(rng.integers(0, len(big)))]
    lo = max(need, 192)
    region = _augment(_region(src, lo, max(lo, 384, need + need // 2), rng), rng)
    img, variation = _vary_photo(region, rng, mix, need, small)
    presence = np.zeros(len(names), np.float32)
    severity = np.zeros(len(names), np.float32)
    records = []
    for name, model, level in zip(chain, models, levels):
        deg = get_degradation(model)
        if name == "low_resolution":
            params = dict(params_lr)
            if int(params["factor"]) != lr_factor:  # reduced above to fit the photo
                sev = severity_from_ranges(lr_factor, deg.RANGES)
                params.update(factor=lr_factor, severity=round(sev, 4), level=level_of(sev))
        else:
            params = deg.sample(rng, level)
        img = deg.apply(img, params)
        k = list(names).index(name)
        presence[k] = 1.0
        severity[k] = float(params.get("severity", 0.5))
        records.append({"name": model, "params": params})
    arr = np.ascontiguousarray((np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(1, 2, 0))
    h, w = arr.shape[:2]
    crops = []
    for _ in range(crops_per_image):
        ch, cw = min(crop, h), min(crop, w)
        t = int(rng.integers(0, h - ch + 1))
        l = int(rng.integers(0, w - cw + 1))
        c = arr[t : t + ch, l : l + cw]
        if c.shape[:2] != (crop, crop):  # only when a photo is smaller than a crop: as the perceiver pads
            c = pad_to_crop(c, crop)
        crops.append(c)
    info = {"source": src.name, "chain": chain, "levels": levels, "records": records, "shape": (h, w),
            "realistic": realistic, **variation}
    return np.stack(crops), presence, severity, info


def build_dataset(
    sources: Sequence[Source],
    n_images: int,
    seed: int,
    names: Sequence[str],
    crop: int = 96,
    crops_per_image: int = 2,
    progress_every: int = 500,
    mix: Mix | None = None,
) -> dict[str, np.ndarray]:
    """Generate ``n_images`` degraded regions (``crops_per_image`` crops each), seeded.
    Returns arrays ``crops`` (N, crop, crop, 3) uint8, ``labels`` and ``severity`` (N, K)
    float32, ``group`` (N,) the index of the degraded image each crop came from."""
    rng = np.random.default_rng(seed)
    crops, labels, sev, group = [], [], [], []
    t0 = time.perf_counter()
    for i in range(n_images):
        c, p, s, _ = make_example(sources, rng, names, crop, crops_per_image, mix)
        crops.append(c)
        labels.append(np.repeat(p[None], len(c), 0))
        sev.append(np.repeat(s[None], len(c), 0))
        group.append(np.full(len(c), i, np.int32))
        if progress_every and (i + 1) % progress_every == 0:
            log.info("generated %d/%d images (%.0f s)", i + 1, n_images, time.perf_counter() - t0)
    return {
        "crops": np.concatenate(crops),
        "labels": np.concatenate(labels),
        "severity": np.concatenate(sev),
        "group": np.concatenate(group),
        "names": np.array(list(names)),
    }
