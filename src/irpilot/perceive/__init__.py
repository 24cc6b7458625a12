"""Degradation perception: which degradations an image shows, and how strongly.

A small CNN (:mod:`irpilot.perceive.model`), trained by irpilot's own script
(``irpilot train perception``) on synthetic degradations of *training* photos, looks at a
few crops of the image at native resolution (never a downscaled copy: blur radii, noise grain
and JPEG blocks change character when an image is resized) and averages its predictions.

Low resolution is the exception: the pixels of a small sharp photo look like a clean photo,
so its probability combines the image size with what the CNN sees (see
:meth:`Perceiver.low_resolution_logit`).

>>> from irpilot.perceive import load_default_perceiver
>>> perceiver = load_default_perceiver()                  # doctest: +SKIP
>>> p = perceiver(img)                                    # doctest: +SKIP
>>> p.present(), p.probs["noise"], p.severity["noise"]   # doctest: +SKIP

Importing this module is cheap: torch is imported when a perceiver is built or loaded.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..imaging.blocks import grid_peak_log_ratio
from ..io import as_image
from ..vocab import DEGRADATION_NAMES

if TYPE_CHECKING:  # pragma: no cover
    from .model import PerceptionNet

__all__ = [
    "DEGRADATION_NAMES",
    "DEFAULT_WEIGHTS",
    "Perception",
    "Perceiver",
    "load_default_perceiver",
    "pad_to_crop",
]

log = logging.getLogger(__name__)

#: Where the shipped weights live (inside the package, so wheels carry them).
DEFAULT_WEIGHTS: Path = Path(__file__).resolve().parent.parent / "assets" / "perceive_cnn.pt"


#: Hand-made cues a checkpoint may stack onto a CNN logit (``logit = cnn * a + cue * b + bias``,
#: fit on validation crops of the training photos by :func:`irpilot.train.perception.fit_stacking`).
STACKING_CUES = {"jpeg": grid_peak_log_ratio}


def pad_to_crop(crop: np.ndarray, side: int) -> np.ndarray:
    """Mirror-pad an (H, W, C) array to at least ``side`` x ``side`` (bottom and right; repeated
    reflections for arrays much smaller than ``side``): how a photo smaller than one crop is
    shown to the network, in training and at inference alike.

    >>> pad_to_crop(np.zeros((40, 100, 3)), 96).shape
    (96, 100, 3)
    """
    h, w = crop.shape[:2]
    pad = ((0, max(0, side - h)), (0, max(0, side - w))) + ((0, 0),) * (crop.ndim - 2)
    return np.pad(crop, pad, mode="symmetric") if any(p[1] for p in pad[:2]) else crop


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


@dataclasses.dataclass
class Perception:
    """What the perceiver saw in one image.

    ``probs[name]`` is the probability that degradation ``name`` is present; ``severity[name]``
    the predicted severity in [0, 1] (the degradation module's scale: each quarter is one
    level, mild to extreme; meaningful when the degradation is present).  ``cnn_probs`` are the
    probabilities of the CNN alone (they differ from ``probs`` for low resolution, where the
    image size is combined in, and for degradations with a stacked hand-made cue: JPEG).  ``embedding`` is the CNN's pooled feature vector
    (averaged over crops), kept for learned policies; it is not part of :meth:`as_dict`.
    """

    probs: dict[str, float]
    severity: dict[str, float]
    seconds: float = 0.0
    size: tuple[int, int] = (0, 0)  #: (H, W) of the image
    cnn_probs: dict[str, float] = dataclasses.field(default_factory=dict)
    embedding: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)

    def present(self, threshold: float = 0.5) -> list[str]:
        """Names whose probability is at least ``threshold``, most probable first."""
        names = [n for n, p in self.probs.items() if p >= threshold]
        return sorted(names, key=lambda n: -self.probs[n])

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe summary (probabilities, severities, seconds, size, what is present)."""
        return {
            "probs": {k: round(float(v), 4) for k, v in self.probs.items()},
            "severity": {k: round(float(v), 4) for k, v in self.severity.items()},
            "cnn_probs": {k: round(float(v), 4) for k, v in self.cnn_probs.items()},
            "present": self.present(),
            "size": [int(self.size[0]), int(self.size[1])],
            "seconds": float(self.seconds),
        }

    def features(self) -> np.ndarray:
        """Fixed-length vector for a learned policy: embedding, then probs, then severities
        (both in the order of :data:`DEGRADATION_NAMES` / the perceiver's names), then
        log2(longest side / 300)."""
        emb = np.zeros(0, np.float32) if self.embedding is None else np.asarray(self.embedding, np.float32)
        probs = np.array(list(self.probs.values()), np.float32)
        sev = np.array(list(self.severity.values()), np.float32)
        longest = max(self.size) if max(self.size) > 0 else 300
        return np.concatenate([emb, probs, sev, np.array([math.log2(longest / 300.0)], np.float32)])


class Perceiver:
    """Runs the perception CNN on a few native-resolution crops and averages the outputs.

    Parameters
    ----------
    net:
        A :class:`~irpilot.perceive.model.PerceptionNet` (weights loaded).
    names:
        The degradation name of each output (default :data:`DEGRADATION_NAMES`).
    crop:
        Crop side in pixels (images smaller than this are mirror-padded with ``pad_small``,
        read whole along that side otherwise).
    n_crops:
        Number of crops averaged: 1 = centre, 5 = four corners + centre, more adds seeded
        random positions (deterministic for a given image size).
    lr_max_side, lr_size_weight, lr_mode:
        The low-resolution rule (see :meth:`low_resolution_logit`).
    stacking:
        ``{name: {"cnn": a, "cue": b, "bias": c}}``: per crop, the logit of ``name`` becomes
        ``a * cnn_logit + b * cue(crop) + c`` with the hand-made cue of :data:`STACKING_CUES`
        (stored in the checkpoint by the training script).
    offsets:
        ``{name: b}`` added to the final logit of ``name``: per-degradation decision thresholds
        (probability 0.5 after the offset = ``sigmoid(-b)`` before it), fit on held-out
        training photos by the training script.
    pad_small:
        Mirror-pad crops of images smaller than ``crop`` to full size (:func:`pad_to_crop`),
        as the network saw them in training; off for weights trained without it.
    device:
        torch device string (default ``irpilot.config.settings.device``).

    >>> perceiver = Perceiver.load("perceive_cnn.pt")      # doctest: +SKIP
    >>> perceiver(img).present()                           # doctest: +SKIP
    ['noise', 'jpeg']
    """

    def __init__(
        self,
        net: PerceptionNet,
        names: tuple[str, ...] = DEGRADATION_NAMES,
        *,
        crop: int = 96,
        n_crops: int = 5,
        lr_max_side: float = 300.0,
        lr_size_weight: float = 6.0,
        lr_mode: str = "combined",
        stacking: dict[str, dict[str, float]] | None = None,
        offsets: dict[str, float] | None = None,
        pad_small: bool = False,
        device: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        import torch

        from ..config import settings

        if lr_mode not in ("combined", "size", "cnn"):
            raise ValueError(f"lr_mode must be 'combined', 'size' or 'cnn', got {lr_mode!r}")
        if len(names) != net.num_outputs:
            raise ValueError(f"{len(names)} names for a network with {net.num_outputs} outputs")
        self.device = torch.device(device or settings.device)
        self.net = net.to(self.device).eval()
        self.names = tuple(names)
        self.crop = int(crop)
        self.n_crops = int(n_crops)
        self.lr_max_side = float(lr_max_side)
        self.lr_size_weight = float(lr_size_weight)
        self.lr_mode = lr_mode
        unknown = set(stacking or {}) - set(STACKING_CUES)
        if unknown:
            raise ValueError(f"no hand-made cue for {sorted(unknown)}; known: {sorted(STACKING_CUES)}")
        self.stacking = {k: dict(v) for k, v in (stacking or {}).items()}
        unknown = set(offsets or {}) - set(self.names)
        if unknown:
            raise ValueError(f"offsets for unknown degradations {sorted(unknown)}; known: {list(self.names)}")
        self.offsets = {k: float(v) for k, v in (offsets or {}).items()}
        self.pad_small = bool(pad_small)
        self.meta = dict(meta or {})

    # -- loading ------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, device: str | None = None, **options: Any) -> Perceiver:
        """Load a checkpoint written by the training script (``torch.load(weights_only=True)``:
        no code runs).  ``options`` override the stored inference settings (crop, n_crops,
        lr_*)."""
        import torch

        from .model import PerceptionNet

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"perception weights not found: {path}")
        ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
            raise ValueError(f"{path} is not a perception checkpoint (no 'state_dict')")
        names = tuple(ckpt.get("names", DEGRADATION_NAMES))
        arch = dict(ckpt.get("arch", {}))
        net = PerceptionNet(num_outputs=len(names), **arch)
        net.load_state_dict(ckpt["state_dict"])
        settings_ = dict(ckpt.get("inference", {}))
        settings_.setdefault("stacking", dict(ckpt.get("stacking", {})))
        settings_.setdefault("offsets", dict(ckpt.get("offsets", {})))
        settings_.update(options)
        return cls(net, names, device=device, meta=dict(ckpt.get("meta", {})), **settings_)

    # -- crops --------------------------------------------------------------------------
    def crop_boxes(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """(top, left, h, w) of each crop: corners and centre, then seeded random positions."""
        ch, cw = min(self.crop, height), min(self.crop, width)
        ys, xs = height - ch, width - cw
        fixed = [(ys // 2, xs // 2), (0, 0), (0, xs), (ys, 0), (ys, xs)]
        boxes = fixed[: max(1, self.n_crops)]
        if self.n_crops > len(fixed):
            rng = np.random.default_rng(height * 100_003 + width)
            for _ in range(self.n_crops - len(fixed)):
                boxes.append((int(rng.integers(0, ys + 1)), int(rng.integers(0, xs + 1))))
        unique = list(dict.fromkeys(boxes))  # tiny images: identical crops count once
        return [(t, l, ch, cw) for t, l in unique]

    def _batch(self, img: np.ndarray) -> np.ndarray:
        """The crops, (N, 3, crop, crop); a side shorter than a crop is mirror-padded (with
        ``pad_small``, the training scripts' convention) or read as it is (older weights)."""
        _, h, w = img.shape
        crops = [img[:, t : t + ch, l : l + cw] for t, l, ch, cw in self.crop_boxes(h, w)]
        if self.pad_small and (h < self.crop or w < self.crop):
            crops = [pad_to_crop(c.transpose(1, 2, 0), self.crop).transpose(2, 0, 1) for c in crops]
        return np.ascontiguousarray(np.stack(crops))

    # -- low resolution ---------------------------------------------------------------------
    def low_resolution_logit(self, cnn_logit: float, height: int, width: int) -> float:
        """The low-resolution decision.

        * ``"size"``: AgenticIR's rule, longest side < ``lr_max_side`` (a steep logistic in
          log2 of the size ratio, so the probability is ~0.5 at exactly ``lr_max_side``);
        * ``"cnn"``: the CNN's logit alone (it was trained to tell crops of 1/4-downscaled
          photos, dense in detail and aliasing, from crops of full-size photos);
        * ``"combined"`` (default): ``cnn_logit + lr_size_weight * log2(lr_max_side / longest)``:
          the size term dominates far from the threshold (a 192 px image gets +3.9, a 768 px
          one -8.1 with the default weight 6) and the CNN decides near it.
        """
        size_term = math.log2(self.lr_max_side / max(1, max(height, width)))
        if self.lr_mode == "size":
            return 40.0 * size_term
        if self.lr_mode == "cnn":
            return cnn_logit
        return cnn_logit + self.lr_size_weight * size_term

    # -- inference ------------------------------------------------------------------------
    def __call__(self, img: Any, size_hint: tuple[int, int] | None = None) -> Perception:
        """Perceive one image: float32 (3, H, W) in [0, 1] (grey and uint8 HWC accepted), any size.

        ``size_hint`` (H, W): the size of the photo this image stands for, used instead of its
        own size in the low-resolution decision (a small training crop cut from a full-size
        photo is not a low-resolution photo)."""
        import torch

        t0 = time.perf_counter()
        arr = as_image(img)
        _, h, w = arr.shape
        lr_h, lr_w = (int(size_hint[0]), int(size_hint[1])) if size_hint is not None else (h, w)
        crops = self._batch(arr)
        with torch.inference_mode():
            logits, sev, emb = self.net(torch.from_numpy(crops).to(self.device))
        crop_logits = logits.cpu().numpy().astype(np.float64)
        cnn_m = crop_logits.mean(0)
        for name, coef in self.stacking.items():  # per-crop logistic stacking, then the crop mean
            k = self.names.index(name)
            cue = np.array([STACKING_CUES[name](c) for c in crops])
            crop_logits[:, k] = coef["cnn"] * crop_logits[:, k] + coef["cue"] * cue + coef["bias"]
        logits_m = crop_logits.mean(0)
        sev_m = sev.mean(0).cpu().numpy().astype(np.float64)
        emb_m = emb.mean(0).cpu().numpy().astype(np.float32)
        probs: dict[str, float] = {}
        cnn_probs: dict[str, float] = {}
        for i, name in enumerate(self.names):
            cnn_probs[name] = _sigmoid(float(cnn_m[i]))
            z = self.low_resolution_logit(float(logits_m[i]), lr_h, lr_w) if name == "low_resolution" else float(logits_m[i])
            probs[name] = _sigmoid(z + self.offsets.get(name, 0.0))
        severity = {name: float(np.clip(sev_m[i], 0.0, 1.0)) for i, name in enumerate(self.names)}
        return Perception(
            probs=probs,
            severity=severity,
            seconds=time.perf_counter() - t0,
            size=(int(h), int(w)),
            cnn_probs=cnn_probs,
            embedding=emb_m,
        )

    def features(self, img: Any) -> np.ndarray:
        """Fixed-length feature vector (length :attr:`feature_dim`): see :meth:`Perception.features`."""
        return self(img).features()

    @property
    def feature_dim(self) -> int:
        return int(self.net.embed_dim) + 2 * len(self.names) + 1

    def __repr__(self) -> str:
        return f"Perceiver(names={len(self.names)}, crop={self.crop}, n_crops={self.n_crops}, device={self.device})"


def load_default_perceiver(device: str | None = None, **options: Any) -> Perceiver | None:
    """The perceiver with irpilot's shipped weights, or ``None`` (with a logged warning) when
    the weights file is absent or unreadable."""
    if not DEFAULT_WEIGHTS.is_file():
        log.warning("perception weights %s are absent; running without perception", DEFAULT_WEIGHTS.name)
        return None
    try:
        return Perceiver.load(DEFAULT_WEIGHTS, device=device, **options)
    except Exception as exc:  # noqa: BLE001 - a broken asset must not stop the agent
        log.warning("could not load perception weights %s: %s", DEFAULT_WEIGHTS.name, exc)
        return None
