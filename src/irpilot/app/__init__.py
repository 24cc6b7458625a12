"""``irpilot app``: a local web app that shows every step of a restoration.

Drop photos and see what perception found, the chain the policy chose with the alternatives it
weighed, each step's image with a before/after comparison and its time, and download the result
with its trace.  A second tab degrades a clean photo with a benchmark combination and restores it
against the clean photo (PSNR/SSIM after every step).

The app makes no outside connection (analytics off, fonts from the system, Hugging Face offline)
and keeps uploads and results in one temporary folder that is removed when it stops.

>>> from irpilot.app import serve
>>> serve(port=7860)                                   # doctest: +SKIP

Importing this package is cheap; Gradio is imported by :func:`serve` and :func:`build_app`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .session import DEFAULT_MAX_UPLOAD_MB

__all__ = ["serve", "build_app", "prepare_environment", "DEFAULT_MAX_UPLOAD_MB"]


def prepare_environment(workdir: str | Path) -> None:
    """Settings that keep Gradio local: no analytics, Hugging Face offline, and uploads in
    ``workdir/uploads``.  Call before Gradio is imported."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["GRADIO_TEMP_DIR"] = str(Path(workdir) / "uploads")
    os.environ.setdefault("GRADIO_SSR_MODE", "False")


def build_app(**kwargs: Any) -> Any:
    """The Gradio ``Blocks`` (see :func:`irpilot.app.ui.build_app`)."""
    from .ui import build_app as _build

    return _build(**kwargs)


def _theme() -> Any:
    import gradio as gr

    system = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"]
    mono = ["ui-monospace", "SFMono-Regular", "Menlo", "monospace"]
    return gr.themes.Default(primary_hue="blue", font=system, font_mono=mono)  # no web fonts


def _stop_on_sigterm() -> None:
    """Make SIGTERM end the app like Ctrl-C does, so that its temporary folder is removed."""
    import signal
    import threading

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def serve(host: str = "127.0.0.1", port: int | None = None, *, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
          open_browser: bool = False, block: bool = True, workdir: str | Path | None = None) -> Any:
    """Start the app on ``host:port`` (port None: the first free one from 7860).  With
    ``block`` it serves until interrupted and then removes its temporary folder; without, it
    returns the running ``Blocks`` (call ``.close()``; the folder is ``blocks.irpilot_workdir``)."""
    own = workdir is None
    root = Path(workdir or tempfile.mkdtemp(prefix="irpilot-app-"))
    prepare_environment(root)
    try:
        from .session import Runner
        from .ui import APP_CSS
        from .ui import build_app as _build

        (root / "results").mkdir(parents=True, exist_ok=True)
        limit = int(max_upload_mb * 2**20)
        blocks = _build(runner=Runner(), workdir=root / "results", max_upload_bytes=limit)
        blocks.irpilot_workdir = root
        blocks.queue(default_concurrency_limit=None)
        blocks.launch(
            server_name=host, server_port=port, share=False, inbrowser=open_browser, prevent_thread_lock=True,
            max_file_size=limit, show_error=False, quiet=False, theme=_theme(), css=APP_CSS,
            ssr_mode=False, mcp_server=False, footer_links=[], allowed_paths=[str(root / "results")],
        )
    except BaseException:
        if own:
            shutil.rmtree(root, ignore_errors=True)
        raise
    if not block:
        return blocks
    _stop_on_sigterm()
    try:
        blocks.block_thread()
    finally:
        blocks.close()
        if own:
            shutil.rmtree(root, ignore_errors=True)
    return blocks
