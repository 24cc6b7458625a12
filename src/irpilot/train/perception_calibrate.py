"""Per-degradation decision thresholds for the perceiver, fit on whole held-out training photos.

The network is trained on crops; the agent reads whole photos (a few crops averaged), with
degradations combined as the benchmark combines them.  :func:`fit_offsets` degrades the photos
held out of training (the validation split of the data set, never a test set) with every
combination of groups A, B and C in both families (the protocol's models and the realistic
``real_*`` ones), plus the clean photo at three exposures, runs the perceiver on each whole
image and, per degradation, picks the logit offset whose decision ``probability >= 0.5``
maximises F-beta on these images.  The offsets go into the checkpoint (``"offsets"``), which
:meth:`irpilot.perceive.Perceiver.load` applies.

>>> report = fit_offsets("runs/perception/perceive_cnn.pt", "runs/perception/data.npz")  # doctest: +SKIP
>>> report["offsets"]["motion_blur"]                                                    # doctest: +SKIP
1.2
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_torch_save

__all__ = ["EXPOSURES", "UNCALIBRATED", "calibration_images", "best_offset", "fit_offsets", "parse_betas"]

log = logging.getLogger(__name__)

#: (gain, gamma) of the clean photos: as shot, a little darker, a little brighter.
EXPOSURES: tuple[tuple[float, float], ...] = ((1.0, 1.0), (0.85, 1.1), (1.15, 0.9))
#: The largest threshold move allowed, in logits (a guard against a degenerate split).
MAX_OFFSET: float = 3.0
#: Degradations never given an offset: low resolution is decided mostly by the image size
#: (:meth:`irpilot.perceive.Perceiver.low_resolution_logit`), and the held-out photos include
#: small ones (T91: 100-300 px) that the size rule rightly calls low-resolution although no
#: chain downscaled them; snow is in no benchmark combination.
UNCALIBRATED: tuple[str, ...] = ("low_resolution", "snow")


def calibration_images(photos: Sequence[tuple[str, np.ndarray]], seed: int = 0, repeats: int = 2
                       ) -> Iterator[tuple[np.ndarray, tuple[str, ...], str]]:
    """(degraded image, degradation kinds, group) for each photo (name, float32 (3, H, W)):
    each combination of A/B/C and of their realistic twins ``repeats`` times (other seeds),
    and the clean photo at each of :data:`EXPOSURES`."""
    from ..degrade import GROUP_A, GROUP_B, GROUP_C, REALISTIC, degrade, derive_seed

    combos = [("protocol", c) for c in GROUP_A + GROUP_B + GROUP_C]
    combos += [("realistic", tuple(REALISTIC[n] for n in c)) for c in GROUP_A + GROUP_B + GROUP_C]
    for name, img in photos:
        for gain, gamma in EXPOSURES:
            yield np.clip(gain * img, 0.0, 1.0) ** np.float32(gamma), (), "clean"
        for fam, chain in combos:
            kinds = tuple(n.removeprefix("real_") for n in chain)
            for r in range(repeats):
                out, _ = degrade(img, chain, seed=derive_seed(seed, "calibrate", name, chain, r))
                yield out, kinds, fam


def best_offset(logits: np.ndarray, labels: np.ndarray, beta: float) -> tuple[float, float]:
    """(offset, F-beta) such that ``logits + offset >= 0`` maximises F-beta (ties: the offset
    closest to 0), within +-:data:`MAX_OFFSET`."""
    y = labels > 0.5
    if y.all() or not y.any():
        return 0.0, float("nan")  # one class only: keep the network's own threshold
    cand = np.unique(np.clip(-logits, -MAX_OFFSET, MAX_OFFSET))
    cand = np.unique(np.concatenate([[0.0], (cand[:-1] + cand[1:]) / 2.0, cand - 1e-6, cand + 1e-6]))
    cand = cand[np.abs(cand) <= MAX_OFFSET]
    b2 = beta * beta
    best = (-1.0, 0.0)
    for off in cand:
        pred = logits + off >= 0
        tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
        f = (1 + b2) * tp / max(1, (1 + b2) * tp + b2 * fn + fp)
        if f > best[0] + 1e-12 or (abs(f - best[0]) <= 1e-12 and abs(off) < abs(best[1])):
            best = (f, float(off))
    return best[1], best[0]


def _pr(pred: np.ndarray, y: np.ndarray) -> dict[str, float | None]:
    """Precision and recall (None when undefined: JSON has no NaN)."""
    tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
    return {"precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None}


def _fingerprint(ckpt: dict[str, Any], seed: int, repeats: int) -> str:
    """What the calibration logits depend on: the weights, the stacked cue, the image recipe."""
    h = hashlib.sha256()
    for k, v in sorted(ckpt["state_dict"].items()):
        h.update(k.encode())
        h.update(v.detach().cpu().numpy().tobytes())
    h.update(json.dumps([ckpt.get("stacking", {}), ckpt.get("inference", {}), seed, repeats], sort_keys=True).encode())
    return h.hexdigest()


def parse_betas(text: str) -> dict[str, float]:
    """``"motion_blur=1.5,dark=0.8"`` -> ``{"motion_blur": 1.5, "dark": 0.8}``.

    >>> parse_betas("motion_blur=1.5")
    {'motion_blur': 1.5}
    """
    out: dict[str, float] = {}
    for part in filter(None, (x.strip() for x in text.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"per-degradation beta {part!r} is not NAME=VALUE (e.g. motion_blur=1.5)")
        out[name.strip()] = float(value)
    return out


def fit_offsets(weights: str | Path, data: str | Path, beta: float = 1.5, data_dir: str | Path | None = None,
                seed: int = 0, repeats: int = 2, threads: int = 1, betas: dict[str, float] | None = None) -> dict[str, Any]:
    """Fit the per-degradation offsets of ``weights`` on the held-out photos named by the
    validation split of the data set ``data`` and store them in the checkpoint; returns a
    report (offsets, precision/recall on the calibration images before and after, counts).
    ``betas`` overrides ``beta`` for some degradations.

    The perceiver's logits on the calibration images are kept beside the weights
    (``<weights>.calibration.npz``) and reused while the weights are unchanged, so fitting
    again with another ``beta`` takes a second."""
    import torch

    from ..perceive import Perceiver
    from .perception_data import load_sources

    torch.set_num_threads(threads)
    ckpt = torch.load(str(weights), map_location="cpu", weights_only=True)
    key = _fingerprint(ckpt, seed, repeats)
    cache = Path(str(weights) + ".calibration.npz")
    if cache.is_file() and str(np.load(cache)["fingerprint"]) == key:
        c = np.load(cache)
        zz, yy, fams, photo_names = c["logits"], c["labels"], [str(f) for f in c["groups"]], [str(n) for n in c["photos"]]
        names = tuple(str(n) for n in c["names"])
    else:
        held_out = {str(n) for n in np.load(data)["val_sources"]}
        photos = [(s.name, np.ascontiguousarray(s.pixels.transpose(2, 0, 1), np.float32) / np.float32(255.0))
                  for s in load_sources(data_dir) if s.name in held_out]
        if not photos:
            raise FileNotFoundError(f"none of the held-out photos of {data} was found")
        perceiver = Perceiver.load(weights, device="cpu", offsets={})
        names = perceiver.names
        z, y, fams = [], [], []
        for img, kinds, fam in calibration_images(photos, seed, repeats):
            p = np.clip(np.array([perceiver(img).probs[n] for n in names]), 1e-12, 1 - 1e-12)
            z.append(np.log(p / (1 - p)))
            y.append([n in kinds for n in names])
            fams.append(fam)
        zz, yy, photo_names = np.array(z), np.array(y), [n for n, _ in photos]
        np.savez(cache, fingerprint=np.array(key), logits=zz, labels=yy, groups=np.array(fams),
                 photos=np.array(photo_names), names=np.array(list(names)))
    betas = dict(betas or {})
    unknown = set(betas) - (set(names) - set(UNCALIBRATED))
    if unknown:
        raise ValueError(f"no threshold is fit for {sorted(unknown)}; calibrated: "
                         f"{[n for n in names if n not in UNCALIBRATED]}")
    offsets: dict[str, float] = {}
    per: dict[str, Any] = {}
    for k, name in enumerate(names):
        if name in UNCALIBRATED:
            continue
        off, f = best_offset(zz[:, k], yy[:, k], betas.get(name, beta))
        offsets[name] = round(off, 4)
        per[name] = {"offset": offsets[name], "beta": betas.get(name, beta), "f_beta": round(f, 4) if f == f else None, "positives": int(yy[:, k].sum()),
                     "before": _pr(zz[:, k] >= 0, yy[:, k]), "after": _pr(zz[:, k] + off >= 0, yy[:, k])}
    report = {"offsets": offsets, "beta": beta, "photos": photo_names, "images": len(zz),
              "images_by_group": {g: fams.count(g) for g in sorted(set(fams))}, "per_degradation": per}
    ckpt["offsets"] = offsets
    ckpt.setdefault("meta", {})["calibration"] = report
    atomic_torch_save(ckpt, weights)
    log.info("calibration: %s", json.dumps(report))
    return report
