"""``irpilot app``: the local web app (needs the ``app`` extra: Gradio)."""

from __future__ import annotations

import argparse
import importlib.util
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from ..app.session import DEFAULT_MAX_UPLOAD_MB

    p = sub.add_parser(
        "app",
        help="a local web app that shows every step of a restoration",
        description="Serve a web page where you drop photos and see what perception found, the chain the "
        "policy chose with its alternatives, every step before/after with its time, and download the "
        "results. Served on 127.0.0.1 (this computer only) unless --host says otherwise. "
        "Uploads and results live in a temporary folder that is removed when the app stops.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 serves every network you are on)")
    p.add_argument("--port", type=int, default=None, help="port (default: the first free one from 7860)")
    p.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_MB,
                   help=f"largest upload accepted, in MB (default {DEFAULT_MAX_UPLOAD_MB})")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("gradio") is None:
        print("irpilot: error: the app needs Gradio: pip install 'irpilot[app]'", file=sys.stderr)
        return 2
    from ..app import serve

    serve(host=args.host, port=args.port, max_upload_mb=args.max_upload_mb, open_browser=args.open)
    return 0
