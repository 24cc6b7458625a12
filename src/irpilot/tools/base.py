"""The Tool interface and its card.

A tool restores one kind of degradation (a *task*).  It takes float32 RGB (3, H, W) in
[0, 1] and returns the same (scaled by ``card.scale`` for super-resolution).  Weights
load lazily in :meth:`Tool.setup`, so listing tools never touches a checkpoint.

Subclasses declare their card as a class attribute and implement :meth:`Tool._run`;
:meth:`Tool.__call__` validates input, runs ``setup()`` once, tiles large images when the
tool supports it, and checks the output contract (shape, dtype, range).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..config import settings, weights_search_path
from ..errors import ToolError, ToolUnavailableError
from ..io import as_image
from ..registry import Registry
from ..vocab import TASKS
from .packages import RegistryPackage

__all__ = ["TASKS", "FALLBACK_FAMILIES", "WeightsFile", "ToolCard", "Tool", "TOOLS", "sha256_file", "tool_names_for_task",
           "measured_speeds", "may_fall_back", "argument_bounds"]

#: tasks whose tools may name each other's as their :attr:`ToolCard.fallback`: a blur that none
#: of a defocus tool's kernel shapes fits (motion blur or camera shake read as defocus) is a job
#: for the motion tools (a line kernel, then the general one of ``shake_deblur_pnp``)
FALLBACK_FAMILIES: tuple[frozenset[str], ...] = (frozenset({"motion_deblur", "defocus_deblur"}),)


def may_fall_back(task: str, fallback_task: str | None) -> bool:
    """Whether a tool of ``task`` may name a tool of ``fallback_task`` as its fallback."""
    return fallback_task == task or any({task, fallback_task} <= family for family in FALLBACK_FAMILIES)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """A third-party weights file: where it lives under the weights directory, its
    checksum, and where users with internet can get it.

    Files that ship inside a package-registry archive name it as ``package`` (and their path
    inside the archive as ``member``): ``irpilot weights fetch`` puts them in the fetch dir.
    Without an explicit ``root``, a file is looked up in the weights dir, then the fetch dir
    (:func:`irpilot.config.weights_search_path`)."""

    relpath: str
    sha256: str
    url: str = ""
    source: str = ""  # human-readable origin (repository, paper)
    package: RegistryPackage | None = None  # the registry archive that carries the file
    member: str = ""  # the file's path inside that archive
    #: where a copy may already be under the data dir (``IRPILOT_DATA_DIR``), looked up after the
    #: weights folders: data a network needs beside its weights (SRMD's kernel PCA comes with the
    #: blur kernels of the data dir)
    data_relpath: str = ""

    def path(self, root: Path | None = None) -> Path:
        """The file under ``root``; without one, the first folder of the search path that has
        it, then the data dir's copy (``data_relpath``), or, when none has it, where it would be
        in the first folder."""
        if root is not None:
            return Path(root) / self.relpath
        candidates = [Path(r) / self.relpath for r in weights_search_path()]
        if self.data_relpath and settings.data_dir is not None:
            candidates.append(Path(settings.data_dir) / self.data_relpath)
        return next((p for p in candidates if p.is_file()), candidates[0])

    def resolve(self, root: Path | None = None, *, verify: bool = True) -> Path:
        """Path of the verified file, or :class:`ToolUnavailableError` saying what is missing."""
        p = self.path(root)
        if not p.is_file():
            where = str(root) if root is not None else " or ".join(str(r) for r in weights_search_path())
            if self.package is not None:
                raise ToolUnavailableError(
                    f"weights file {self.relpath!r} not found under {where}; it ships in the "
                    f"{self.package.registry} package {self.package.spec}: run "
                    f"`irpilot weights fetch {self.package.name}`"
                )
            raise ToolUnavailableError(
                f"weights file {self.relpath!r} not found under {where}; "
                f"get it from {self.url or self.source or 'its upstream project'} "
                f"and place it there (or set IRPILOT_WEIGHTS_DIR)"
            )
        if verify and self.sha256:
            got = _verified_sha(p)
            if got != self.sha256:
                raise ToolUnavailableError(
                    f"weights file {p} has sha256 {got[:12]}..., expected {self.sha256[:12]}...: "
                    "the file is corrupt or a different release"
                    + (f" (fetch it again: `irpilot weights fetch --force {self.package.name}`)" if self.package else "")
                )
        return p

    def download(self, root: Path | None = None) -> Path:
        """Download from ``url`` (needs internet), verify sha256, write atomically."""
        import urllib.request

        from ..io import atomic_write_bytes

        if not self.url:
            raise ToolUnavailableError(f"{self.relpath}: no download URL known; source: {self.source}")
        with urllib.request.urlopen(self.url, timeout=60) as r:  # noqa: S310 (https URLs from cards)
            data = r.read()
        got = hashlib.sha256(data).hexdigest()
        if self.sha256 and got != self.sha256:
            raise ToolUnavailableError(f"download of {self.url} has sha256 {got}, expected {self.sha256}")
        return atomic_write_bytes(self.path(root), data)


_SHA_CACHE: dict[tuple[str, float, int], str] = {}


def _verified_sha(p: Path) -> str:
    st = p.stat()
    key = (str(p), st.st_mtime, st.st_size)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = sha256_file(p)
    return _SHA_CACHE[key]


def argument_bounds(spec: dict[str, Any]) -> str | None:
    """The range a card argument's ``minimum`` / ``maximum`` allow, in words ("from 0 to 4",
    "at least 0.5", "at most 100"); None without either."""
    low, high = spec.get("minimum"), spec.get("maximum")
    if low is None and high is None:
        return None
    if low is not None and high is not None:
        return f"from {low} to {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


@dataclasses.dataclass(frozen=True)
class ToolCard:
    """What a tool is: everything a user, a policy or the pool needs to know about it."""

    id: str
    task: str
    description: str
    scale: int = 1
    code_license: str = "Apache-2.0"  # irpilot's own implementation
    weights_license: str = "none"  # "none" = no weights
    weights: tuple[WeightsFile, ...] = ()
    python_packages: tuple[str, ...] = ()  # importable modules the tool needs
    min_size: int = 1  # smallest side in pixels the tool accepts (smaller inputs are padded)
    multiple_of: int = 1  # input sides are padded to a multiple of this
    tiling: bool = True  # whether the tool may run tile by tile with overlap
    tile_size: int = 512
    tile_overlap: int = 32
    #: seconds per 512x512 image on 2 CPU cores when the tool was written; ``irpilot tools`` shows
    #: the measurement of ``benchmarks/tool_speed.py`` (``assets/tool_speeds.json``) instead
    cpu_seconds_512: float | None = None
    devices: tuple[str, ...] = ("cpu",)
    kind: str = "classical"  # "network" | "classical"
    reference: str = ""  # paper
    version: str = "1"  # bump when outputs change (part of the pool's cache key)
    arguments: dict[str, Any] = dataclasses.field(default_factory=dict)  # JSON Schema properties
    #: a tool with a more general model that the agent runs when this one returns its input
    #: unchanged because its model of the degradation does not fit (e.g. a straight-line blur
    #: kernel on camera shake): of the same task, or of another task of its family in
    #: :data:`FALLBACK_FAMILIES` (a defocus kernel that fits nothing hands over to the motion
    #: tools); a fallback that returns the image unchanged too hands over to its own; not for
    #: tools whose "unchanged" means "nothing to do here"
    fallback: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"tool {self.id!r}: unknown task {self.task!r}; tasks: {TASKS}")

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["weights"] = [dataclasses.asdict(w) for w in self.weights]
        return d


class Tool:
    """Base class of every restoration tool.  Subclasses set ``card`` and implement ``_run``.

    >>> from irpilot.tools import get_tool           # doctest: +SKIP
    >>> out = get_tool("dncnn_color_blind")(img)     # doctest: +SKIP
    """

    card: ClassVar[ToolCard]
    #: False for a tool whose weights irpilot does not ship or fetch (the user trains them): it is
    #: absent by design, not for a missing download
    weights_provided: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        self.options = options
        self._ready = False
        self._lock = threading.Lock()

    # -- availability / loading -----------------------------------------------------
    @classmethod
    def unavailable_reason(cls) -> str | None:
        """``None`` when the tool can run here, otherwise a message saying what is missing."""
        import importlib.util

        for module in cls.card.python_packages:
            if importlib.util.find_spec(module) is None:
                return f"needs the Python package providing {module!r} (pip install it)"
        for w in cls.card.weights:
            try:
                w.resolve(verify=False)
            except ToolUnavailableError as exc:
                return str(exc)
        return None

    @classmethod
    def available(cls) -> bool:
        return cls.unavailable_reason() is None

    @classmethod
    def precision_tag(cls, device: str | None = None, precision: str | None = None) -> str:
        """A tag that tells apart outputs of different arithmetic (e.g. "bf16"), part of the
        result cache key; "" for tools whose arithmetic does not depend on the settings."""
        return ""

    def setup(self) -> None:
        """Load weights.  Called once, lazily, before the first run."""

    def ensure_setup(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                reason = self.unavailable_reason()
                if reason:
                    raise ToolUnavailableError(f"tool {self.card.id!r} is unavailable: {reason}")
                self.setup()
                self._ready = True

    @property
    def device(self) -> str:
        return str(self.options.get("device", settings.device))

    # -- running --------------------------------------------------------------------
    def _run(self, img: np.ndarray, **args: Any) -> np.ndarray:
        """Restore one image (3, H, W) float32 [0, 1] whose sides meet the card's size rules."""
        raise NotImplementedError

    def __call__(self, img: np.ndarray, **args: Any) -> np.ndarray:
        img = as_image(img)
        self.check_arguments(args)
        self.ensure_setup()
        card = self.card
        _, h, w = img.shape
        tile = self.tile_size(args)
        args.pop("tile", None)
        try:
            if card.tiling and tile and (h > tile or w > tile):
                from .tiling import run_tiled

                out = run_tiled(lambda x: self._run_padded(x, **args), img, tile, card.tile_overlap, card.scale)
            else:
                out = self._run_padded(img, **args)
        except (ToolUnavailableError, ToolError):
            raise
        except Exception as exc:
            raise ToolError(f"tool {card.id!r} failed: {type(exc).__name__}: {exc}") from exc
        out = np.asarray(out, dtype=np.float32)
        expected = (3, h * card.scale, w * card.scale)
        if out.shape != expected:
            raise ToolError(f"tool {card.id!r} returned shape {out.shape}, expected {expected}")
        if not np.all(np.isfinite(out)):
            raise ToolError(f"tool {card.id!r} returned non-finite values")
        return np.ascontiguousarray(np.clip(out, 0.0, 1.0))

    def check_arguments(self, args: dict[str, Any]) -> None:
        """Refuse, with a clear ``ToolError`` and before any weights load, a card argument its
        card rules out: the wrong JSON type (a boolean given as text: ``sky=False`` from a
        command line is the string "False", which ``bool()`` reads as true; a number given as
        text or as a boolean), a value outside the card's ``enum``, a number outside its
        ``minimum`` / ``maximum``.  None passes for an argument without a default (unset: the tool
        estimates it, e.g. ``noise_sigma``).  Arguments the card does not declare (``tile``, a network's
        ``airlight``, ...) are the tool's own business."""
        import numbers

        for key, value in args.items():
            spec = self.card.arguments.get(key, {})
            kind = spec.get("type")
            if value is None and spec.get("default") is None:  # an optional argument left unset
                continue
            if kind == "boolean":
                ok = isinstance(value, (bool, np.bool_))
            elif kind in ("number", "integer"):
                base = numbers.Integral if kind == "integer" else numbers.Real
                ok = isinstance(value, base) and not isinstance(value, (bool, np.bool_))
            else:
                ok = True
            if not ok:
                raise ToolError(f"tool {self.card.id!r}: argument {key!r} must be a {kind}, got {value!r}")
            if "enum" in spec and value not in spec["enum"]:
                choices = ", ".join(repr(c) for c in spec["enum"])
                raise ToolError(f"tool {self.card.id!r}: argument {key!r} must be one of {choices}, got {value!r}")
            low, high = spec.get("minimum"), spec.get("maximum")
            if kind in ("number", "integer") and ((low is not None and value < low) or (high is not None and value > high)):
                raise ToolError(f"tool {self.card.id!r}: argument {key!r} must be {argument_bounds(spec)}, got {value!r}")

    def tile_size(self, args: dict[str, Any]) -> int:
        """The tile side ``args`` ask for (``tile``; default the card's, 0: untiled).  A tile no
        larger than the card's overlap is refused: the tiles would advance one pixel at a time."""
        card = self.card
        tile = int(args.get("tile", card.tile_size if card.tiling else 0) or 0)
        if card.tiling and tile and tile <= card.tile_overlap:
            raise ToolError(f"tool {card.id!r}: tiles of {tile} px cannot overlap by {card.tile_overlap} px; "
                            "give a larger tile")
        return tile

    def _run_padded(self, img: np.ndarray, **args: Any) -> np.ndarray:
        """Pad (reflect, or edge for tiny inputs) to the card's size rules, run, crop back."""
        _, h, w = img.shape
        out = self._run(self._pad(img), **args)
        s = self.card.scale
        return out[:, : h * s, : w * s]

    def _pad(self, img: np.ndarray) -> np.ndarray:
        """``img`` padded at its bottom and right (reflect, or edge for tiny inputs) to the card's size rules."""
        card = self.card
        _, h, w = img.shape
        m = max(1, card.multiple_of)
        ph = max(card.min_size, -(-h // m) * m) - h
        pw = max(card.min_size, -(-w // m) * m) - w
        if ph or pw:
            mode = "reflect" if (ph < h and pw < w) else "edge"
            img = np.pad(img, ((0, 0), (0, ph), (0, pw)), mode=mode)
        return img

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.card.id} ({self.card.task})>"


TOOLS: Registry[type[Tool]] = Registry(
    "tool",
    builtin_modules=("irpilot.tools.builtin",),
    entry_point_group="irpilot.tools",
)


def task_of_tool(name: str) -> str | None:
    """The task of the registered tool ``name`` (None for a name not registered, e.g. ``stop``)."""
    return TOOLS.get(name).card.task if name in TOOLS else None


def tool_names_for_task(task: str, *, only_available: bool = True) -> list[str]:
    return [
        name
        for name, cls in TOOLS.items()
        if cls.card.task == task and (not only_available or cls.available())
    ]


def unavailable_tools(*, provided_only: bool = False) -> dict[str, str]:
    """The registered tools that cannot run here, id -> why (weights not in the weights or fetch
    folder, a package missing).  A policy never calls them, so a measurement made without them is
    not a full toolbox's.  ``provided_only``: leave out the tools whose weights the user trains
    (``Tool.weights_provided`` False), which are absent by design."""
    return {
        name: reason
        for name, cls in sorted(TOOLS.items())
        if (cls.weights_provided or not provided_only) and (reason := cls.unavailable_reason())
    }


@functools.lru_cache(maxsize=1)
def measured_speeds() -> dict[str, Any]:
    """The tools' measured seconds per 512 x 512 image (``assets/tool_speeds.json``, written by
    ``benchmarks/tool_speed.py``): ``{"seconds_512": {tool id: s}, "date", "machine", ...}``;
    empty when the file is absent.  They take the place of the cards' ``cpu_seconds_512``."""
    from importlib import resources

    try:
        return dict(json.loads(resources.files("irpilot").joinpath("assets/tool_speeds.json").read_text()))
    except (FileNotFoundError, OSError, ValueError):
        return {}

