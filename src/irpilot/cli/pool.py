"""``irpilot pool``: inspect and prepare the shared model-call pool.

- ``irpilot pool status [--ray-address ADDR]``: backends available here; with a Ray address, the
  irpilot tool actors alive in that cluster and their counters.
- ``irpilot pool serve --ray-address ADDR --tools a,b``: start (detached) tool actors in a Ray
  cluster and load their models, so every job that joins the cluster finds them warm.
- ``irpilot pool stop --ray-address ADDR``: remove irpilot's tool actors from the cluster.
- ``irpilot pool run TOOL IMAGE -o OUT``: one call through a pool (any backend), then statistics.
"""

from __future__ import annotations

import argparse
import importlib.util
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pool", help="the shared model-call pool: status, serve tools on Ray, run one call")
    psub = p.add_subparsers(dest="pool_command", metavar="ACTION")

    def ray_opts(q: argparse.ArgumentParser, default: str | None) -> None:
        q.add_argument("--ray-address", default=default, metavar="ADDR",
                       help=f"Ray cluster address (default: {default or 'none'}; 'auto' finds a local cluster)")
        q.add_argument("--namespace", default="irpilot", help="Ray namespace of the tool actors")
        q.add_argument("--imports", default="", help="comma-separated modules registering extra tools")

    q = psub.add_parser("status", help="backends here; tool actors of a Ray cluster")
    ray_opts(q, None)
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=run_status)

    q = psub.add_parser("serve", help="start warm, detached tool actors in a Ray cluster")
    ray_opts(q, "auto")
    q.add_argument("--tools", required=True, help="comma-separated tool ids ('all': every available tool)")
    q.add_argument("--gpu-fraction", type=float, default=0.25, help="GPU share per network actor (when GPUs exist)")
    q.add_argument("--actor-concurrency", type=int, default=1, help="batches one actor runs at a time")
    q.set_defaults(func=run_serve)

    q = psub.add_parser("stop", help="remove irpilot's tool actors from a Ray cluster")
    ray_opts(q, "auto")
    q.set_defaults(func=run_stop)

    from ..pool import add_pool_arguments

    q = psub.add_parser("run", help="run one tool call through a pool and print its statistics")
    q.add_argument("tool", help="tool id")
    q.add_argument("image", help="input image file")
    q.add_argument("-o", "--out", required=True, help="output image file")
    q.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    q.add_argument("--args", default="{}", help="tool arguments as JSON")
    add_pool_arguments(q)
    q.set_defaults(func=run_one)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _imports(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(m for m in (args.imports or "").split(",") if m)


def _connect(args: argparse.Namespace):  # noqa: ANN202 - ray module
    from ..pool.ray_backend import _ray

    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=args.ray_address, namespace=args.namespace, log_to_driver=False)
    return ray


def run_status(args: argparse.Namespace) -> int:
    from ..pool import BACKENDS
    from ..pool.execute import import_modules

    import_modules(_imports(args))
    info: dict[str, object] = {
        "backends": {b: (b != "ray" or importlib.util.find_spec("ray") is not None) for b in BACKENDS},
    }
    if args.ray_address:
        from ..pool.ray_backend import list_tool_actors

        ray = _connect(args)
        info["ray"] = {"address": args.ray_address, "resources": ray.cluster_resources(),
                       "actors": list_tool_actors(args.namespace)}
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for b, ok in info["backends"].items():  # type: ignore[union-attr]
        print(f"backend {b:<8} {'available' if ok else 'needs: pip install ray'}")
    if "ray" in info:
        r = info["ray"]
        print(f"ray cluster {r['address']}: {r['resources']}")
        if not r["actors"]:
            print(f"  no irpilot tool actors in namespace {args.namespace!r}")
        for a in r["actors"]:
            print("  " + ", ".join(f"{k}={v}" for k, v in a.items()))
    return 0


def _tool_list(spec: str) -> list[str]:
    from ..tools import TOOLS

    if spec == "all":
        return [n for n, cls in TOOLS.items() if cls.available()]
    names = [t for t in spec.split(",") if t]
    for n in names:
        TOOLS.get(n)  # unknown names fail with a did-you-mean message
    return names


def run_serve(args: argparse.Namespace) -> int:
    from ..pool.execute import import_modules
    from ..pool.ray_backend import RayBackend

    import_modules(_imports(args))
    tools = _tool_list(args.tools)
    _connect(args)
    backend = RayBackend(
        namespace=args.namespace,
        imports=_imports(args),
        options={"detached": True, "gpu_fraction": args.gpu_fraction, "actor_concurrency": args.actor_concurrency},
    )
    loaded = backend.warmup(tools)
    for name, ok in zip(tools, loaded):
        print(f"{name}: {'ready' if ok else 'started, but the tool cannot load here (see irpilot tools)'}")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    from ..pool.ray_backend import ACTOR_PREFIX

    ray = _connect(args)
    from ray.util import list_named_actors

    n = 0
    for entry in list_named_actors(all_namespaces=True):
        if entry["namespace"] == args.namespace and entry["name"].startswith(ACTOR_PREFIX):
            ray.kill(ray.get_actor(entry["name"], namespace=args.namespace), no_restart=True)
            n += 1
    print(f"stopped {n} tool actor(s)")
    return 0


def run_one(args: argparse.Namespace) -> int:
    from ..errors import ToolError
    from ..io import read_image, write_image
    from ..pool import pool_from_args
    from .outputs import UsageError, check_output_file

    try:
        tool_args = json.loads(args.args)
    except ValueError as exc:
        raise UsageError(f"--args is not JSON: {exc}") from None
    check_output_file(args.out, overwrite=args.overwrite, inputs=[args.image], option="--out")
    with pool_from_args(args) as pool:
        res = pool.run(args.tool, read_image(args.image), tool_args)
        print(pool.stats_table())
    if not res.ok:
        raise ToolError(f"{args.tool}: {res.error}")
    write_image(args.out, res.image)
    print(f"{args.out}: {res.seconds:.3f} s{' (cached)' if res.cached else ''}")
    return 0
