"""The page of ``irpilot app`` (Gradio): the restore tab and the benchmark tab.

Imported only when the app is built (it imports Gradio).  Every handler catches what can go wrong and says it in the page (``#irp-status``); no stack
trace reaches the person.  The handlers are generators: they show progress while tools run.
"""

from __future__ import annotations

import html
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr  # noqa: TID253 - this module is imported only when the app is built
import numpy as np

from ..errors import IrpilotError
from ..report import STYLE, story_html
from .session import (
    Cancelled,
    Restoration,
    RunControl,
    Runner,
    RunOptions,
    Upload,
    UploadError,
    benchmark_combinations,
    center_crop,
    parse_combination,
    read_upload,
    run_in_thread,
    write_downloads,
)

__all__ = ["build_app", "APP_CSS"]

log = logging.getLogger(__name__)

APP_CSS = STYLE + """
#irp-status .msg{padding:10px 14px;border-radius:8px;margin:4px 0;font-size:14px}
#irp-status .msg.info,#irp-bench-status .msg.info{background:#e7f0ff;color:#1c3d7a}
#irp-status .msg.ok,#irp-bench-status .msg.ok{background:#e6f6ea;color:#1b5e2b}
#irp-status .msg.error,#irp-bench-status .msg.error{background:#ffe8e8;color:#8a1c1c}
#irp-status .msg.warn,#irp-bench-status .msg.warn{background:#fff4db;color:#7a4b00}
#irp-bench-status .msg{padding:10px 14px;border-radius:8px;margin:4px 0;font-size:14px}
"""

#: Policies offered in the restore tab (``oracle`` needs the clean photo: benchmark tab only).
RESTORE_POLICIES = ("learned", "fixed", "explore", "explore_first", "random")
PRECISIONS = ("float32", "bfloat16", "auto")
#: Seconds between two progress updates of the page.
TICK = 0.4


def _msg(kind: str, text: str) -> str:
    return f'<div class="msg {kind}">{text}</div>'


def _messages(kind: str, lines: Sequence[str]) -> str:
    return "".join(_msg(kind, html.escape(line)) for line in lines)


def _u8(img: np.ndarray) -> np.ndarray:
    from ..io import to_uint8

    return to_uint8(img)


def _slider_pairs(results: Sequence[Restoration]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Label -> (before, after) uint8 images at the after image's full resolution."""
    from ..io import image_hash
    from ..report import resize_image

    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for r in results:
        images = {image_hash(r.image): r.image, r.traj.input_hash: r.image}
        for s in r.traj.steps:
            if s.output_hash and s.image is not None:
                images[s.output_hash] = s.image
        pairs[f"{r.name}: input -> result"] = (r.image, r.traj.output)
        n = 0
        for s in r.traj.steps:
            if s.action.get("name") == "stop":
                continue
            n += 1
            before, after = images.get(s.input_hash), images.get(s.output_hash or "")
            if before is not None and after is not None:
                pairs[f"{r.name}: step {n}, {s.action.get('name')}"] = (before, after)
    out = {}
    for label, (before, after) in pairs.items():
        before = resize_image(before, *after.shape[1:], nearest=True) if before.shape != after.shape else before
        out[label] = (_u8(before), _u8(after))
    return out


class App:
    """The handlers of the page, bound to one :class:`Runner` and one working folder."""

    def __init__(self, runner: Runner, workdir: Path, max_upload_bytes: int) -> None:
        self.runner = runner
        self.workdir = workdir
        self.max_upload_bytes = max_upload_bytes
        self.controls: dict[str, RunControl] = {}

    # -- shared -------------------------------------------------------------------------
    def _read(self, files: Any) -> tuple[list[Upload], list[str]]:
        if not files:
            return [], []
        if not isinstance(files, (list, tuple)):
            files = [files]
        uploads, errors = [], []
        for f in files:
            path = Path(getattr(f, "name", f))
            try:
                uploads.append(read_upload(path, max_bytes=self.max_upload_bytes))
            except UploadError as exc:
                errors.append(str(exc))
            except Exception as exc:  # noqa: BLE001 - any other failure is said, not thrown
                log.exception("reading %s", path.name)
                errors.append(f"{path.name}: could not be read ({type(exc).__name__}: {exc})")
        return uploads, errors

    def _run(self, session: str, work: Any) -> Iterator[tuple[str, Any]]:
        """Run ``work(control)`` in a thread; yield ``("progress", line)`` while it runs and
        finally ``("done", result)``, ``("cancelled", None)`` or ``("error", message)``."""
        control = RunControl()
        self.controls[session] = control
        thread, box = run_in_thread(lambda: work(control))
        try:
            while thread.is_alive():
                thread.join(TICK)
                yield "progress", control.describe()
        finally:
            if thread.is_alive():  # the page went away: stop at the next tool call
                control.cancel()
            self.controls.pop(session, None)
        err = box.get("error")
        if isinstance(err, Cancelled):
            yield "cancelled", control.steps_done
        elif isinstance(err, IrpilotError):
            yield "error", str(err)
        elif err is not None:
            log.error("run failed", exc_info=err)
            yield "error", f"the run failed: {type(err).__name__}: {err}"
        else:
            yield "done", box.get("result")

    def cancel(self, request: Any = None) -> str:
        control = self.controls.get(_session(request))
        if control is None:
            return _msg("info", "nothing is running")
        control.cancel()
        return _msg("warn", "cancelling: the run stops when the running tool has finished")

    def _outdir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="run-", dir=self.workdir))

    # -- the restore tab ------------------------------------------------------------------
    def restore(self, files: Any, policy: str, tasks: str, precision: str, max_side: float,
                request: Any = None) -> Iterator[tuple[Any, ...]]:
        nothing = (gr.update(), gr.update(), gr.update(), gr.update(), gr.update())
        uploads, errors = self._read(files)
        bad = _messages("error", errors)
        if not uploads:
            text = bad or _msg("error", "Drop one or more photos (PNG, JPEG, TIFF, BMP or WebP) first.")
            yield (text, "", gr.update(choices=[], value=None), None, None, {})
            return
        options = RunOptions(policy=policy or "learned", tasks=tasks or "", precision=precision or "float32",
                             max_side=int(max_side or 0))
        yield (bad + _msg("info", f"Restoring {len(uploads)} photo(s) with {html.escape(options.policy)}..."),
               *nothing)
        outcome: Any = None
        for kind, value in self._run(_session(request), lambda c: self.runner.restore(uploads, options, c)):
            if kind == "progress":
                yield (bad + _msg("info", "Running: " + html.escape(value)), *nothing)
            else:
                outcome = (kind, value)
        kind, value = outcome
        if kind != "done":
            text = (_msg("warn", f"Cancelled after {value} tool call(s).") if kind == "cancelled"
                    else _msg("error", html.escape(value)))
            yield (bad + text, *nothing)
            return
        yield self._show(value, bad)

    def _show(self, results: list[Restoration], bad: str = "") -> tuple[Any, ...]:
        files = [str(p) for p in write_downloads(results, self._outdir())]
        notes = [f"{r.name}: {n}" for r in results for n in r.notes]
        seconds = sum(r.traj.wall_seconds for r in results)
        status = bad + _messages("warn", notes) + _msg(
            "ok", f"Done: {len(results)} photo(s) in {seconds:.1f} s. Downloads are below.")
        story = "".join(story_html(r.traj, r.image, reference=r.reference, name=r.name) for r in results)
        pairs = _slider_pairs(results)
        first = next(iter(pairs), None)
        return (status, story, gr.update(choices=list(pairs), value=first),
                pairs[first] if first else None, files, pairs)

    @staticmethod
    def pick(label: str, pairs: dict[str, Any]) -> Any:
        return (pairs or {}).get(label)

    # -- the benchmark tab ----------------------------------------------------------------
    def benchmark(self, file: Any, combination: str, seed: float, policy: str, crop: float, precision: str,
                  request: Any = None) -> Iterator[tuple[Any, ...]]:
        from ..degrade import degrade

        nothing = (gr.update(), gr.update(), gr.update(), gr.update(), gr.update())
        uploads, errors = self._read(file)
        if not uploads:
            text = _messages("error", errors) or _msg("error", "Drop a clean photo first.")
            yield (text, "", gr.update(choices=[], value=None), None, None, {})
            return
        clean = uploads[0]
        try:
            names = parse_combination(combination)
            image = center_crop(clean.image, int(crop or 0))
            degraded, _ = degrade(image, names, seed=int(seed or 0))
        except (IrpilotError, ValueError, KeyError) as exc:
            yield (_msg("error", html.escape(str(exc))), *nothing)
            return
        degraded_upload = Upload(name=f"{Path(clean.name).stem} ({' + '.join(names)})", image=degraded, notes=clean.notes)
        options = RunOptions(policy=policy or "learned", precision=precision or "float32", max_side=0,
                             tasks=",".join(names) if (policy or "").startswith("oracle") else "")
        yield (_msg("info", f"Degraded with {html.escape(' + '.join(names))} (seed {int(seed or 0)}); restoring..."),
               *nothing)
        outcome: Any = None
        work = lambda c: self.runner.restore([degraded_upload], options, c, references=[image])  # noqa: E731
        for kind, value in self._run(_session(request), work):
            if kind == "progress":
                yield (_msg("info", "Running: " + html.escape(value)), *nothing)
            else:
                outcome = (kind, value)
        kind, value = outcome
        if kind != "done":
            text = (_msg("warn", f"Cancelled after {value} tool call(s).") if kind == "cancelled"
                    else _msg("error", html.escape(value)))
            yield (text, *nothing)
            return
        yield self._show(value)


def _session(request: Any) -> str:
    return str(getattr(request, "session_hash", None) or "default")


def build_app(runner: Runner | None = None, workdir: str | Path | None = None,
              max_upload_bytes: int = 50 * 2**20) -> Any:
    """The Gradio ``Blocks`` of the app.  ``workdir`` holds the results offered for download."""
    from ..policies.common import default_policy_name

    runner = runner or Runner()
    workdir = Path(workdir or tempfile.mkdtemp(prefix="irpilot-app-"))
    app = App(runner, workdir, max_upload_bytes)
    default_policy = default_policy_name()
    policies = list(dict.fromkeys((default_policy,) + RESTORE_POLICIES))
    limit_mb = max_upload_bytes / 2**20

    def restore(files, policy, tasks, precision, max_side, request: gr.Request):  # noqa: ANN001, ANN202
        yield from app.restore(files, policy, tasks, precision, max_side, request)

    def benchmark(file, combination, seed, policy, crop, precision, request: gr.Request):  # noqa: ANN001, ANN202
        yield from app.benchmark(file, combination, seed, policy, crop, precision, request)

    def cancel(request: gr.Request) -> str:
        return app.cancel(request)

    with gr.Blocks(title="irpilot", analytics_enabled=False) as demo:
        gr.Markdown("## irpilot: agentic photo restoration\nDrop photos: irpilot sees what is wrong, "
                    "chooses the restoration steps and tools, runs them and shows every step.")
        with gr.Tab("Restore", id="restore"):
            with gr.Row():
                with gr.Column(scale=1, min_width=280):
                    files = gr.File(label=f"Photos (up to {limit_mb:.0f} MB each)", file_count="multiple",
                                    elem_id="irp-files")
                    policy = gr.Dropdown(policies, value=default_policy, label="Policy", elem_id="irp-policy")
                    tasks = gr.Textbox(label="Say what to undo (optional; skips perception's choice)",
                                       placeholder="e.g. noise, jpeg", elem_id="irp-tasks")
                    with gr.Row():
                        precision = gr.Dropdown(list(PRECISIONS), value="float32", label="Precision")
                        max_side = gr.Number(value=1024, precision=0, minimum=0, label="Max size (px, 0 = any)")
                    with gr.Row():
                        go = gr.Button("Restore", variant="primary", elem_id="irp-go")
                        stop = gr.Button("Cancel", variant="stop", elem_id="irp-cancel")
                    status = gr.HTML(elem_id="irp-status")
                    downloads = gr.File(label="Downloads: restored PNG, trace JSON, report", file_count="multiple",
                                        interactive=False, elem_id="irp-downloads")
                with gr.Column(scale=2):
                    pick = gr.Dropdown([], label="Compare at full resolution", elem_id="irp-pick")
                    slider = gr.ImageSlider(label="before | after", format="png", elem_id="irp-slider",
                                            interactive=False, max_height=480)
                    story = gr.HTML(elem_id="irp-story")
            pairs = gr.State({})
            go.click(restore, [files, policy, tasks, precision, max_side], [status, story, pick, slider, downloads, pairs],
                     concurrency_limit=None)
            stop.click(cancel, None, status, concurrency_limit=None)
            pick.change(App.pick, [pick, pairs], slider)
        with gr.Tab("Benchmark your photo", id="bench"):
            gr.Markdown("Degrade a **clean** photo of yours with a combination of the benchmark protocol, restore "
                        "it, and see PSNR/SSIM against your photo after every step.")
            with gr.Row():
                with gr.Column(scale=1, min_width=280):
                    b_file = gr.File(label="Clean photo", file_count="single", elem_id="irp-bench-file")
                    combos = benchmark_combinations()
                    b_combo = gr.Dropdown(combos, value=combos[4], label="Degradations (group: chain)")
                    with gr.Row():
                        b_seed = gr.Number(value=0, precision=0, label="Seed")
                        b_crop = gr.Number(value=320, precision=0, minimum=0, label="Centre crop (px, 0 = whole)")
                    with gr.Row():
                        b_policy = gr.Dropdown(policies + ["oracle"], value=default_policy, label="Policy")
                        b_precision = gr.Dropdown(list(PRECISIONS), value="float32", label="Precision")
                    with gr.Row():
                        b_go = gr.Button("Degrade and restore", variant="primary", elem_id="irp-bench-go")
                        b_stop = gr.Button("Cancel", variant="stop")
                    b_status = gr.HTML(elem_id="irp-bench-status")
                    b_downloads = gr.File(label="Downloads", file_count="multiple", interactive=False)
                with gr.Column(scale=2):
                    b_pick = gr.Dropdown([], label="Compare at full resolution")
                    b_slider = gr.ImageSlider(label="before | after", format="png", interactive=False, max_height=480)
                    b_story = gr.HTML(elem_id="irp-bench-story")
            b_pairs = gr.State({})
            b_go.click(benchmark, [b_file, b_combo, b_seed, b_policy, b_crop, b_precision],
                       [b_status, b_story, b_pick, b_slider, b_downloads, b_pairs], concurrency_limit=None)
            b_stop.click(cancel, None, b_status, concurrency_limit=None)
            b_pick.change(App.pick, [b_pick, b_pairs], b_slider)
    demo.irpilot_app = app  # type: ignore[attr-defined]
    return demo
