"""The ``irpilot`` command.  Each subcommand lives in its own module with a
``register(subparsers)`` function; this module only wires them together."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from ..errors import IrpilotError

__all__ = ["main", "build_parser"]

#: Subcommand modules, in the order they are listed in ``irpilot --help``.
COMMANDS = (
    "demo",
    "degrade",
    "restore",
    "bench",
    "tools",
    "weights",
    "score",
    "pool",
    "train",
    "app",
    "policy",
)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="irpilot",
        description="Agentic image restoration: perceive what is wrong with a photo, "
        "choose restoration tools, run them, check, and stop.",
    )
    parser.add_argument("--version", action="version", version=f"irpilot {__version__}")
    parser.add_argument("--weights-dir", help="folder of third-party weights (env IRPILOT_WEIGHTS_DIR)")
    parser.add_argument("--device", help="torch device for networks, e.g. cpu or cuda (env IRPILOT_DEVICE)")
    parser.add_argument(
        "--precision", choices=("auto", "float32", "bfloat16"),
        help="arithmetic of the networks: float32 (default); bfloat16 runs them 1.6-2x faster on a "
        "CPU with native bfloat16 instructions, up to 0.1 dB less; auto: bfloat16 on such a CPU, "
        "float32 elsewhere (env IRPILOT_PRECISION)",
    )
    parser.add_argument("--max-pixels", type=int, help="refuse images with more pixels than this")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 done, 1 some inputs failed, 2 usage
    error, 130 interrupted; see :mod:`irpilot.cli.outputs`).  Called without ``argv`` (the
    ``irpilot`` program) it ends the process itself when a timed-out tool call is still running
    in a thread, which could otherwise abort the interpreter's shutdown."""
    code = _run(argv)
    if argv is None:
        _exit_past_abandoned_threads(code)
    return code


def _run(argv: list[str] | None) -> int:
    from .outputs import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, UsageError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from ..config import configure, settings

    try:  # a bad IRPILOT_PRECISION is reported here, not by every network call
        configure(weights_dir=args.weights_dir, device=args.device, precision=args.precision or settings.precision,
                  max_pixels=args.max_pixels)
    except IrpilotError as exc:
        print(f"irpilot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.precision:  # tool worker processes read it from the environment
        os.environ["IRPILOT_PRECISION"] = args.precision
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"irpilot: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except IrpilotError as exc:
        print(f"irpilot: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # an output that cannot be written, a folder that vanished, ...
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"irpilot: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("irpilot: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _exit_past_abandoned_threads(code: int) -> None:
    """End the process at once (after flushing) when a pool thread is still inside a tool call:
    a call that timed out on the ``local`` backend cannot be stopped, and tearing the
    interpreter down under a running torch or OpenCV call aborts it ("terminate called without
    an active exception", exit 134)."""
    import threading

    busy = [t for t in threading.enumerate() if t.name.startswith("irpilot-pool") and t.is_alive()]
    for t in busy:
        t.join(timeout=0.2)
    if any(t.is_alive() for t in busy):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
