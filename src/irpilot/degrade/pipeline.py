"""Chains of degradations: seeded application, exact replay, and the benchmark presets.

>>> import numpy as np
>>> from irpilot.degrade import degrade, replay
>>> clean = np.random.default_rng(0).random((3, 32, 32)).astype(np.float32)
>>> lq, records = degrade(clean, ["haze", "noise"], seed=7)
>>> bool((replay(clean, records) == lq).all())
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..imaging.convert import on_8bit_grid
from ..vocab import PROTOCOL_DEGRADATIONS
from .base import DEGRADATIONS, DegradationRecord, get_degradation

__all__ = [
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
]


# The 16 combinations of the protocol, in its order; degradations apply left to right.
GROUP_A: tuple[tuple[str, ...], ...] = (
    ("rain", "haze"),
    ("motion_blur", "low_resolution"),
    ("dark", "noise"),
    ("defocus_blur", "jpeg"),
    ("noise", "jpeg"),
    ("rain", "low_resolution"),
    ("motion_blur", "dark"),
    ("defocus_blur", "haze"),
)
GROUP_B: tuple[tuple[str, ...], ...] = (
    ("motion_blur", "jpeg"),
    ("haze", "noise"),
    ("defocus_blur", "low_resolution"),
    ("rain", "dark"),
)
GROUP_C: tuple[tuple[str, ...], ...] = (
    ("haze", "motion_blur", "low_resolution"),
    ("rain", "noise", "low_resolution"),
    ("dark", "defocus_blur", "jpeg"),
    ("motion_blur", "defocus_blur", "noise"),
)


#: Protocol name -> the realistic model of the same degradation (``irpilot.degrade.real_*``).
REALISTIC: dict[str, str] = {n: f"real_{n}" for n in PROTOCOL_DEGRADATIONS + ("snow",)}


def _realistic(group: Sequence[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(REALISTIC[n] for n in combo) for combo in group)


#: Groups A, B and C with each degradation's realistic model in place of the protocol's.
REALISTIC_A: tuple[tuple[str, ...], ...] = _realistic(GROUP_A)
REALISTIC_B: tuple[tuple[str, ...], ...] = _realistic(GROUP_B)
REALISTIC_C: tuple[tuple[str, ...], ...] = _realistic(GROUP_C)

#: The order in which degradations happen to a photo: the scene, the exposure, the optics,
#: the sensor, then processing (resizing, compression).  ``realistic_mix`` chains follow it.
PHYSICAL_ORDER: tuple[str, ...] = (
    "haze", "rain", "snow", "dark", "motion_blur", "defocus_blur", "noise", "low_resolution", "jpeg",
)


def derive_seed(*parts: Any) -> int:
    """A stable 63-bit seed from any parts (ints, strings, name tuples): SHA-256 of their
    text, so it does not depend on Python's hash randomisation or the platform."""
    text = "\x1f".join("+".join(map(str, p)) if isinstance(p, (tuple, list)) else str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def degrade(
    img: Any,
    names: Sequence[str],
    seed: int,
    levels: Mapping[str, str] | None = None,
    *,
    depth: np.ndarray | None = None,
) -> tuple[np.ndarray, list[DegradationRecord]]:
    """Apply ``names`` left to right to ``img`` (float32 (3, H, W) in [0, 1]; quantised to
    the 8-bit grid first), sampling each degradation's params from its own generator seeded
    by ``derive_seed(seed, position, name)``.  ``levels`` maps a name to a severity level
    (``mild`` ... ``extreme``); unlisted names sample the protocol ranges.  ``depth`` is an
    optional real depth map for ``haze``.  Returns the image and one record per step."""
    names = list(names)
    unknown = [n for n in names if n not in DEGRADATIONS]
    if unknown:
        DEGRADATIONS.get(unknown[0])  # raises with did-you-mean
    if len(set(names)) != len(names):
        raise ValueError(f"each degradation may appear once in a chain, got {names}")
    levels = dict(levels or {})
    extra = set(levels) - set(names)
    if extra:
        raise ValueError(f"levels given for degradations not in the chain: {sorted(extra)}")
    cur = on_8bit_grid(img)
    records: list[DegradationRecord] = []
    for pos, name in enumerate(names):
        deg = get_degradation(name)
        sub = derive_seed(int(seed), pos, name)
        params = deg.sample(np.random.default_rng(sub), levels.get(name))
        if name == "haze" and depth is not None:
            params["depth"] = "array"  # replay needs the same depth map
        cur = _apply(deg, cur, params, depth)
        records.append(DegradationRecord(name=name, params=params, seed=sub))
    return cur, records


def _apply(deg: Any, img: np.ndarray, params: Mapping[str, Any], depth: np.ndarray | None) -> np.ndarray:
    if deg.name == "haze" and depth is not None:
        return deg.apply(img, params, depth=depth)
    return deg.apply(img, params)


def replay(
    clean_img: Any,
    records: Sequence[DegradationRecord | Mapping[str, Any]],
    *,
    depth: np.ndarray | None = None,
) -> np.ndarray:
    """Re-apply recorded degradations (records or their dicts) to the clean image; bit for
    bit the image :func:`degrade` returned."""
    cur = on_8bit_grid(clean_img)
    for rec in records:
        r = rec if isinstance(rec, DegradationRecord) else DegradationRecord.from_dict(rec)
        cur = _apply(get_degradation(r.name), cur, r.params, depth)
    return cur


# --------------------------------------------------------------------------------------
Combination = tuple[str, tuple[str, ...]]  # (group label, degradation names in order)


@dataclasses.dataclass(frozen=True)
class Preset:
    """A recipe for a degraded set: per clean image, the list of (group, names) to apply.

    ``combinations(image_key, seed)`` is deterministic; fixed presets ignore its arguments,
    random ones (the out-of-domain sets) derive a generator from them."""

    name: str
    description: str
    _combos: Callable[[str, int], list[Combination]]

    def combinations(self, image_key: str = "", seed: int = 0) -> list[Combination]:
        return [(g, tuple(c)) for g, c in self._combos(image_key, seed)]

    def __repr__(self) -> str:
        return f"Preset({self.name!r})"


def _fixed(group: str, combos: Sequence[tuple[str, ...]]) -> Callable[[str, int], list[Combination]]:
    return lambda key, seed: [(group, c) for c in combos]


_SEEN_PAIRS = {frozenset(c) for c in GROUP_A + GROUP_B}
#: Unordered protocol pairs in neither group A nor B (16 of the 28).
OOD_PAIRS: tuple[frozenset[str], ...] = tuple(
    frozenset(p) for p in itertools.combinations(PROTOCOL_DEGRADATIONS, 2) if frozenset(p) not in _SEEN_PAIRS
)


def _ood_d2(key: str, seed: int, per_image: int = 4) -> list[Combination]:
    """``per_image`` distinct unseen pairs per image, each in a random order."""
    rng = np.random.default_rng(derive_seed(seed, "ood_d2", key))
    picks = rng.choice(len(OOD_PAIRS), size=per_image, replace=False)
    out = []
    for i in picks:
        pair = sorted(OOD_PAIRS[int(i)], key=PROTOCOL_DEGRADATIONS.index)
        out.append(("D2", tuple(rng.permutation(pair).tolist())))
    return out


def _ood_d3plus(key: str, seed: int, per_image: int = 4) -> list[Combination]:
    """``per_image`` random chains of 3 to 5 distinct protocol degradations, random order."""
    rng = np.random.default_rng(derive_seed(seed, "ood_d3plus", key))
    out: list[Combination] = []
    seen: set[tuple[str, ...]] = set()
    while len(out) < per_image:
        k = int(rng.integers(3, 6))
        combo = tuple(rng.permutation(PROTOCOL_DEGRADATIONS)[:k].tolist())
        if combo not in seen:
            seen.add(combo)
            out.append((f"D{k}", combo))
    return out


def _realistic_mix(key: str, seed: int, per_image: int = 4) -> list[Combination]:
    """``per_image`` distinct chains of 1-3 realistic degradations per image (1: 25 %, 2:
    45 %, 3: 30 %; any of the nine kinds, snow included), in :data:`PHYSICAL_ORDER`."""
    rng = np.random.default_rng(derive_seed(seed, "realistic_mix", key))
    out: list[Combination] = []
    seen: set[tuple[str, ...]] = set()
    while len(out) < per_image:
        k = int(rng.choice([1, 2, 3], p=[0.25, 0.45, 0.3]))
        kinds = sorted(rng.choice(len(PHYSICAL_ORDER), size=k, replace=False).tolist())
        combo = tuple(REALISTIC[PHYSICAL_ORDER[i]] for i in kinds)
        if combo not in seen:
            seen.add(combo)
            out.append((f"realistic_d{k}", combo))
    return out


PRESETS: dict[str, Preset] = {
    "agenticir_a": Preset("agenticir_a", "group A: the 8 seen pairs, each on every image", _fixed("A", GROUP_A)),
    "agenticir_b": Preset("agenticir_b", "group B: the 4 unseen pairs, each on every image", _fixed("B", GROUP_B)),
    "agenticir_c": Preset("agenticir_c", "group C: the 4 triples, each on every image", _fixed("C", GROUP_C)),
    "agenticir": Preset(
        "agenticir",
        "groups A, B and C: all 16 combinations on every image",
        lambda k, s: _fixed("A", GROUP_A)(k, s) + _fixed("B", GROUP_B)(k, s) + _fixed("C", GROUP_C)(k, s),
    ),
    "ood_d2": Preset("ood_d2", "out of domain: 4 random pairs in neither A nor B per image (no snow)", _ood_d2),
    "ood_d3plus": Preset("ood_d3plus", "out of domain: 4 random chains of 3-5 degradations per image (no snow)", _ood_d3plus),
    "single": Preset(
        "single",
        "each degradation alone (the 8 of the protocol and snow)",
        lambda k, s: [("single", (n,)) for n in PROTOCOL_DEGRADATIONS + ("snow",)],
    ),
    "realistic_a": Preset("realistic_a", "group A's 8 pairs with the realistic models (real_*)", _fixed("realistic_a", REALISTIC_A)),
    "realistic_b": Preset("realistic_b", "group B's 4 pairs with the realistic models (real_*)", _fixed("realistic_b", REALISTIC_B)),
    "realistic_c": Preset("realistic_c", "group C's 4 triples with the realistic models (real_*)", _fixed("realistic_c", REALISTIC_C)),
    "realistic_mix": Preset(
        "realistic_mix",
        "4 random chains of 1-3 realistic degradations per image (snow included), in the physical order",
        _realistic_mix,
    ),
    "realistic_single": Preset(
        "realistic_single",
        "each realistic degradation alone (the 8 kinds of the protocol and snow)",
        lambda k, s: [("realistic_single", (REALISTIC[n],)) for n in PROTOCOL_DEGRADATIONS + ("snow",)],
    ),
}
