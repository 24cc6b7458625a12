"""Command-line options shared by every command that calls tools through the pool."""

from __future__ import annotations

import argparse

from .core import BACKENDS, Pool

__all__ = ["add_pool_arguments", "pool_from_args"]


def add_pool_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--backend --workers --ray-address --cache-dir --cache-mb --timeout --retries``."""
    g = parser.add_argument_group("model-call pool")
    g.add_argument("--backend", choices=BACKENDS, default="local",
                   help="where tools run: threads here (local, default), child processes (process), "
                   "or Ray actors shared by a cluster (ray)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="concurrent workers (default: CPU cores; 4 in-flight batches for ray)")
    g.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="join a running Ray cluster ('auto', 'host:6379', 'ray://host:10001'); "
                   "default: start a local Ray")
    g.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="persistent result cache directory (kept across runs)")
    g.add_argument("--cache-mb", type=float, default=512, metavar="N", help="memory cache budget in MiB (0: off)")
    g.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds one tool call may take")
    g.add_argument("--retries", type=int, default=0, metavar="N",
                   help="extra attempts after a timeout, crash or tool error")
    return parser


def pool_from_args(args: argparse.Namespace, **overrides: object) -> Pool:
    """A :class:`Pool` configured from options added by :func:`add_pool_arguments`."""
    cache_mb = getattr(args, "cache_mb", 512)
    cache_dir = getattr(args, "cache_dir", None)
    kw: dict[str, object] = dict(
        backend=getattr(args, "backend", "local") or "local",
        workers=getattr(args, "workers", None),
        address=getattr(args, "ray_address", None),
        cache=bool(cache_mb) or bool(cache_dir),
        cache_mb=cache_mb or 0,
        cache_dir=cache_dir,
        timeout=getattr(args, "timeout", None),
        retries=getattr(args, "retries", 0) or 0,
    )
    kw.update(overrides)
    return Pool(**kw)  # type: ignore[arg-type]
