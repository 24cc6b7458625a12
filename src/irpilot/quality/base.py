"""The metric interface, the ``METRICS`` registry and the scoring entry points.

A metric is a class with its metadata as class attributes (``name``, ``kind``,
``higher_is_better``, ``needs_reference``, ``range``, ``licence``) and a ``compute`` method
on canonical images (float32 (3, H, W) RGB in [0, 1], see :mod:`irpilot.io`).  Built-in
metrics live in :mod:`irpilot.quality.full_reference`, :mod:`~irpilot.quality.statistics`,
:mod:`~irpilot.quality.niqe`, :mod:`~irpilot.quality.brisque` and
:mod:`~irpilot.quality.lpips`; they are imported on the first registry lookup, and plugins
register through the ``irpilot.metrics`` entry-point group.

>>> from irpilot.quality import compute_metric, score       # doctest: +SKIP
>>> compute_metric("psnr", restored, ref)                    # doctest: +SKIP
27.3
>>> score(restored, ref, metrics=["psnr", "ssim", "niqe"])   # doctest: +SKIP
{'psnr': 27.3, 'ssim': 0.81, 'niqe': 4.2}
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from ..errors import IrpilotError
from ..io import as_image
from ..registry import Registry

__all__ = [
    "Metric",
    "METRICS",
    "MetricError",
    "MetricUnavailableError",
    "DEFAULT_FULL_REFERENCE",
    "DEFAULT_NO_REFERENCE",
    "align_to_reference",
    "compute_metric",
    "get_metric",
    "metric_info",
    "score",
]

#: Metrics :func:`score` computes when no list is given (with / without a reference).
DEFAULT_FULL_REFERENCE: tuple[str, ...] = ("psnr", "ssim", "ms_ssim", "gmsd")
DEFAULT_NO_REFERENCE: tuple[str, ...] = ("niqe", "noise_sigma", "sharpness", "blockiness")

_KINDS = ("full_reference", "no_reference", "statistic")


class MetricError(IrpilotError, ValueError):
    """A metric cannot be computed on these inputs (missing reference, incompatible sizes)."""


class MetricUnavailableError(IrpilotError):
    """A metric cannot run here (its weights file or optional package is missing)."""


class Metric:
    """Base class of every metric.  Subclasses set the class attributes and ``compute``.

    Instances are cheap to create; expensive state (network weights, fitted parameters)
    loads lazily on the first call through :meth:`setup`.
    """

    name: ClassVar[str]
    kind: ClassVar[str]  # "full_reference", "no_reference" (a quality model) or "statistic"
    higher_is_better: ClassVar[bool | None]  # None: a neutral statistic (e.g. brightness)
    needs_reference: ClassVar[bool]
    range: ClassVar[tuple[float, float]]  # typical values, a hint for plots and sanity checks
    licence: ClassVar[str] = "Apache-2.0 (irpilot's own implementation)"
    description: ClassVar[str] = ""
    unit: ClassVar[str] = ""

    _REQUIRED = ("name", "kind", "higher_is_better", "needs_reference", "range")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        missing = [a for a in cls._REQUIRED if not hasattr(cls, a)]
        if missing:
            raise TypeError(f"metric class {cls.__name__} lacks class attributes {missing}")
        if cls.kind not in _KINDS:
            raise TypeError(f"metric {cls.name!r}: kind must be one of {_KINDS}, got {cls.kind!r}")
        if cls.needs_reference != (cls.kind == "full_reference"):
            raise TypeError(f"metric {cls.name!r}: needs_reference must be True exactly for full_reference")

    def __init__(self) -> None:
        self._ready = False
        self._lock = threading.Lock()

    # -- availability and lazy loading ---------------------------------------------
    def check_available(self) -> None:
        """Raise :class:`MetricUnavailableError` saying what is missing; default: always available."""

    def available(self) -> bool:
        try:
            self.check_available()
        except MetricUnavailableError:
            return False
        return True

    def setup(self) -> None:
        """Load weights or parameters (called once, before the first ``compute``)."""

    def _ensure_setup(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                self.check_available()
                self.setup()
                self._ready = True

    # -- computing -------------------------------------------------------------------
    def compute(self, img: np.ndarray, ref: np.ndarray | None) -> float:
        """The metric on validated, size-aligned canonical images."""
        raise NotImplementedError

    def __call__(self, img: Any, ref: Any = None) -> float:
        image = as_image(img)
        reference = None
        if self.needs_reference:
            if ref is None:
                raise MetricError(f"metric {self.name!r} is full-reference: give a reference image (ref=...)")
            reference = as_image(ref)
            image = align_to_reference(image, reference)
        self._ensure_setup()
        value = float(self.compute(image, reference))
        if math.isnan(value):
            raise MetricError(f"metric {self.name!r} produced NaN on an image of shape {image.shape}")
        return value

    @classmethod
    def info(cls) -> dict[str, Any]:
        """The metadata as a plain dict (for listings and reports)."""
        return {
            "name": cls.name,
            "kind": cls.kind,
            "higher_is_better": cls.higher_is_better,
            "needs_reference": cls.needs_reference,
            "range": list(cls.range),
            "unit": cls.unit,
            "licence": cls.licence,
            "description": cls.description,
        }

    def __repr__(self) -> str:
        return f"<metric {self.name}>"


Metric.abstract = True  # type: ignore[attr-defined]

METRICS: Registry[type[Metric]] = Registry(
    "metric",
    builtin_modules=(
        "irpilot.quality.full_reference",
        "irpilot.quality.statistics",
        "irpilot.quality.niqe",
        "irpilot.quality.brisque",
        "irpilot.quality.lpips",
    ),
    entry_point_group="irpilot.metrics",
)

_instances: dict[str, Metric] = {}
_instances_lock = threading.Lock()


def get_metric(name: str) -> Metric:
    """The shared instance of metric ``name`` (created on first use, weights load lazily)."""
    cls = METRICS.get(name)
    with _instances_lock:
        inst = _instances.get(name)
        if inst is None or type(inst) is not cls:
            inst = cls()
            _instances[name] = inst
    return inst


def metric_info(name: str) -> dict[str, Any]:
    """Metadata of metric ``name`` plus whether it can run here."""
    info = METRICS.get(name).info()
    info["available"] = get_metric(name).available()
    return info


def align_to_reference(img: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Bring ``img`` to the size of ``ref`` for full-reference scoring.

    Same size: returned unchanged.  A low-resolution image (``ceil(H/4) x ceil(W/4)``, the
    benchmark's x1/4 input, or a method that left its output small): upscaled x4 with
    MATLAB-style bicubic, as the benchmark protocol prescribes, clipped to [0, 1] and cropped
    to the reference.  An x4 output of such an image (``4*ceil(H/4)`` rows when H is not a
    multiple of 4) is cropped to the reference.  Any other mismatch is a :class:`MetricError`.
    """
    if img.shape == ref.shape:
        return img
    (c, h, w), (rc, rh, rw) = img.shape, ref.shape
    lh, lw = -(-rh // 4), -(-rw // 4)
    if c == rc and (h, w) == (lh, lw):
        from ..imaging.resize import upscale_to

        return upscale_to(img, (rh, rw), 4)
    if c == rc and (h, w) == (4 * lh, 4 * lw):
        return np.ascontiguousarray(img[:, :rh, :rw])
    raise MetricError(
        f"image of size {w}x{h} does not match the reference of size {rw}x{rh} "
        "(only equal sizes or an x4 low-resolution image can be compared)"
    )


def compute_metric(name: str, img: Any, ref: Any = None) -> float:
    """One metric on one image (``ref`` required for full-reference metrics).

    Raises :class:`~irpilot.errors.RegistryError` for an unknown name (with suggestions),
    :class:`MetricUnavailableError` when the metric's weights are missing, and
    :class:`MetricError` for a missing reference or incompatible sizes.
    """
    return get_metric(name)(img, ref)


def score(img: Any, ref: Any = None, metrics: Sequence[str] | str | None = None) -> dict[str, float]:
    """Several metrics on one image, ``{name: value}`` in the order asked.

    ``metrics=None`` means :data:`DEFAULT_FULL_REFERENCE` (when ``ref`` is given) followed by
    :data:`DEFAULT_NO_REFERENCE`, skipping defaults that are unavailable here; metrics named
    explicitly must be available.  ``metrics`` may also be a comma-separated string.
    """
    explicit = metrics is not None
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    if metrics is None:
        metrics = (DEFAULT_FULL_REFERENCE if ref is not None else ()) + DEFAULT_NO_REFERENCE
    image = as_image(img)
    reference = as_image(ref) if ref is not None else None
    if reference is not None:
        image = align_to_reference(image, reference)
    out: dict[str, float] = {}
    for name in metrics:
        metric = get_metric(name)
        if not explicit and not metric.available():
            continue
        if metric.needs_reference and reference is None:
            raise MetricError(f"metric {name!r} is full-reference: give a reference image")
        out[name] = metric(image, reference)
    return out
