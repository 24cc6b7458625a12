"""What the web app does, without the web: read an upload safely, restore it with progress and
cancel, degrade a clean photo with a benchmark combination and restore it against the clean
reference.  Plain Python (no Gradio), so every function here is tested directly.
"""

from __future__ import annotations

import dataclasses
import io as _io
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageReadError, IrpilotError
from ..imaging.resize import shrink

__all__ = [
    "DEFAULT_MAX_UPLOAD_MB",
    "UploadError",
    "Cancelled",
    "Upload",
    "RunOptions",
    "RunControl",
    "Restoration",
    "Runner",
    "read_upload",
    "shrink",
    "benchmark_combinations",
    "parse_combination",
    "center_crop",
    "write_downloads",
    "run_in_thread",
]

#: Largest upload accepted by default, in megabytes (``irpilot app --max-upload-mb``).
DEFAULT_MAX_UPLOAD_MB = 50


class UploadError(IrpilotError):
    """An uploaded file cannot be used; the message is shown to the person as it is."""


class Cancelled(IrpilotError):
    """A run was cancelled from the page."""


@dataclasses.dataclass
class Upload:
    """A photo read from an upload: the image (float32 (3, H, W)), the name the person gave it,
    and what was converted on the way in (e.g. ``"16-bit, reduced to 8-bit precision"``)."""

    name: str
    image: np.ndarray
    notes: list[str] = dataclasses.field(default_factory=list)


def _conversions(data: bytes) -> list[str]:
    """What :func:`irpilot.io.read_image` will convert in this file, said for a person."""
    from PIL import Image

    notes = []
    try:
        with Image.open(_io.BytesIO(data)) as im:
            mode, fmt, info = im.mode, im.format, im.info
    except Exception:  # noqa: BLE001 - read_image reports unreadable files itself
        return notes
    deep = mode.startswith("I;16") or mode in ("I", "F")
    if not deep and fmt in ("PNG", "TIFF"):
        import cv2

        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        deep = arr is not None and arr.dtype == np.uint16
    if deep:
        notes.append("16-bit image: read at full depth, results are 8-bit")
    if mode == "CMYK":
        notes.append("CMYK image: converted to RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in info):
        notes.append("transparency: composited onto white")
    if mode in ("L", "1", "I;16", "I", "F", "LA"):
        notes.append("greyscale image: restored as RGB")
    return notes


def read_upload(path: str | Path, *, name: str | None = None, max_bytes: int | None = None) -> Upload:
    """Read an uploaded file as the CLI does (16-bit, CMYK, alpha and grey converted), or raise
    :class:`UploadError` with a message that names the file, never the temporary path."""
    from ..io import read_image

    path = Path(path)
    name = name or path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UploadError(f"{name}: the upload could not be read ({exc.strerror or exc})") from exc
    if max_bytes is not None and size > max_bytes:
        raise UploadError(f"{name}: {size / 2**20:.1f} MB is above the upload limit of {max_bytes / 2**20:g} MB")
    try:
        image = read_image(path)
    except ImageReadError as exc:
        message = str(exc).replace(str(path), name)
        raise UploadError(message) from exc
    return Upload(name=name, image=image, notes=_conversions(path.read_bytes()))


def center_crop(image: np.ndarray, side: int | None) -> np.ndarray:
    """The benchmark's centre crop (``side`` x ``side``, or the whole image when it is smaller
    or ``side`` is 0/None)."""
    h, w = image.shape[1:]
    if not side or (h <= side and w <= side):
        return image
    ch, cw = min(h, side), min(w, side)
    top, left = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(image[:, top:top + ch, left:left + cw])


def benchmark_combinations() -> list[str]:
    """Labels of the benchmark protocol's degradation combinations, e.g. ``"A: rain + haze"``
    (groups A, B, C, then each degradation alone), for the app's second tab."""
    from ..degrade import PRESETS

    labels = []
    for preset in ("agenticir_a", "agenticir_b", "agenticir_c", "single"):
        for group, combo in PRESETS[preset].combinations():
            labels.append(f"{group}: {' + '.join(combo)}")
    return labels


def parse_combination(label: str) -> list[str]:
    """``"A: rain + haze"`` -> ``["rain", "haze"]`` (degradation names, applied in that order)."""
    from ..degrade import DEGRADATIONS

    names = [n.strip() for n in label.split(":", 1)[-1].split("+") if n.strip()]
    for n in names:
        DEGRADATIONS.get(n)  # raises with did-you-mean
    if not names:
        raise UploadError(f"no degradation in {label!r}")
    return names


@dataclasses.dataclass
class RunOptions:
    """The choices of the page."""

    policy: str = "learned"
    tasks: str = ""  #: "say what to undo": task or degradation names, comma-separated
    precision: str = "float32"
    max_side: int = 1024  #: longest side photos are shrunk to before restoring (0: no limit)


class RunControl:
    """Progress of one run, read by the page, and its cancel switch.  The agent reports through
    :meth:`listener`; a cancel takes effect before the next tool call."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self.photo = ""
        self.photo_index = 0
        self.photos = 0
        self.step = ""
        self.steps_done = 0
        self.started = time.perf_counter()
        self.step_started = self.started

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled")

    def start_photo(self, index: int, total: int, name: str) -> None:
        with self._lock:
            self.photo_index, self.photos, self.photo, self.step = index, total, name, "starting"

    def listener(self, event: str, step: Any = None) -> None:
        self.check()
        with self._lock:
            if event == "perceive":
                self.step = "perception"
            elif event == "call":
                self.step = f"{step.action.get('name')} ({step.task})" if step is not None else "tool"
            elif event == "step":
                self.steps_done += 1
                self.step = "choosing the next step"
            self.step_started = time.perf_counter()

    def describe(self) -> str:
        """One line for the page, e.g. ``photo 1/2 'a.png': dncnn3_dejpeg (dejpeg), 3.2 s``."""
        with self._lock:
            now = time.perf_counter()
            where = f"photo {self.photo_index}/{self.photos} '{self.photo}'" if self.photos else "starting"
            return (f"{where}: {self.step or 'waiting'} for {now - self.step_started:.1f} s; "
                    f"{self.steps_done} tool calls done, {now - self.started:.0f} s in all")


@dataclasses.dataclass
class Restoration:
    """A finished restoration of one photo (``reference``: the clean photo of the benchmark tab)."""

    name: str
    image: np.ndarray
    traj: Any
    notes: list[str] = dataclasses.field(default_factory=list)
    reference: np.ndarray | None = None


def _policy_for(options: RunOptions) -> tuple[str, dict[str, Any], str]:
    """(policy spec, its options, a note for the page) for the page's choices."""
    from ..policies.base import POLICIES, parse_policy

    spec = options.policy or "learned"
    name, _ = parse_policy(spec)
    POLICIES.get(name)  # a wrong name raises with did-you-mean
    tasks = options.tasks.strip()
    if not tasks:
        return spec, {}, ""
    if name.startswith("learned"):
        # the learned policy decides from what it sees and takes no list of tasks
        return "fixed", {"tasks": tasks}, (f"'{name}' decides from what it sees; the tasks you named run with the "
                                           "'fixed' policy (each task's best tool, in the usual order)")
    return spec, {"tasks": tasks}, ""


class Runner:
    """Runs restorations for the app: one at a time (the CPU is shared), with one pool and one
    perception model for every run."""

    def __init__(self, pool: Any = None, perceiver: Any = "default") -> None:
        if pool is None:
            from ..pool import default_pool

            pool = default_pool()
        self.pool = pool
        if perceiver == "default":
            from ..perceive import load_default_perceiver

            perceiver = load_default_perceiver()
        self.perceiver = perceiver
        self._lock = threading.Lock()
        self._policies: dict[tuple[str, str], Any] = {}

    def _policy(self, spec: str, options: dict[str, Any]) -> Any:
        from ..policies.base import make_policy

        key = (spec, repr(sorted(options.items())))
        if key not in self._policies:
            self._policies[key] = make_policy(spec, **options)
        return self._policies[key]

    def restore(
        self,
        uploads: Sequence[Upload],
        options: RunOptions,
        control: RunControl | None = None,
        *,
        references: Sequence[np.ndarray | None] | None = None,
    ) -> list[Restoration]:
        """Restore every upload (shrunk to ``options.max_side``) with the chosen policy; raises
        :class:`Cancelled` when ``control`` is cancelled (before the next tool call)."""
        from ..agent import Agent, AgentConfig
        from ..config import configure

        control = control or RunControl()
        spec, policy_options, note = _policy_for(options)
        with self._lock:
            control.check()
            configure(precision=options.precision or "float32")
            needs_ref = spec.split(":")[0] == "oracle"
            results = []
            for i, up in enumerate(uploads):
                control.start_photo(i + 1, len(uploads), up.name)
                ref = references[i] if references is not None else None
                if needs_ref and ref is None:
                    raise UploadError("the 'oracle' policy needs the clean photo: use it in the benchmark tab")
                image = shrink(up.image, options.max_side)
                notes = list(up.notes)
                if image.shape != up.image.shape:
                    notes.append(f"shrunk from {up.image.shape[2]}x{up.image.shape[1]} to "
                                 f"{image.shape[2]}x{image.shape[1]} px (max size {options.max_side})")
                    ref = shrink(ref, options.max_side) if ref is not None else None
                if note:
                    notes.append(note)
                policy = self._policy(spec, policy_options)
                agent = Agent(pool=self.pool, perceiver=self.perceiver,
                              config=AgentConfig(keep_images=True), listener=control.listener)
                traj = agent.run(image, policy, reference=ref if needs_ref else None, source=up.name)
                results.append(Restoration(name=up.name, image=image, traj=traj, notes=notes, reference=ref))
            return results


def write_downloads(results: Sequence[Restoration], folder: str | Path) -> list[Path]:
    """Write each result's PNG and trace JSON, and one report page of them all, into ``folder``."""
    from ..io import write_image
    from ..report import ReportItem, write_report

    folder = Path(folder)
    paths: list[Path] = []
    used: set[str] = set()
    for r in results:
        stem = re.sub(r"[^\w.-]+", "_", Path(r.name).stem).strip("_") or "photo"
        base, n = stem, 1
        while stem in used:
            n += 1
            stem = f"{base}_{n}"
        used.add(stem)
        paths.append(write_image(folder / f"{stem}.restored.png", r.traj.output))
        paths.append(r.traj.save(folder / f"{stem}.trace.json"))
    items = [ReportItem(name=r.name, image=r.image, traj=r.traj, reference=r.reference) for r in results]
    paths.append(write_report(folder, items))
    return paths


def run_in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``fn`` in a daemon thread; the returned dict gets ``result`` or ``error``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the page
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True, name="irpilot-app-run")
    thread.start()
    return thread, box
