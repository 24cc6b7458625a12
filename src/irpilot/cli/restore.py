"""``irpilot restore``: run the agent on files or folders."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "restore",
        help="restore photos with the agent",
        description="Perceive what is wrong with each photo, restore it with the chosen policy, and write "
        "OUT_DIR/<stem>.png and OUT_DIR/<stem>.trace.json (every decision, tool call, timing and score).",
    )
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("-o", "--out", required=True, help="output folder")
    from ..policies.common import default_policy_name

    p.add_argument("--policy", default=None,
                   help=f"policy, options as name:key=value[:key=value] (default: {default_policy_name()})")
    p.add_argument("--tasks", help="skip perception: degradations/tasks to undo, comma-separated (e.g. noise,jpeg)")
    p.add_argument("--max-calls", type=int, help="limit on tool calls per image")
    p.add_argument("--metrics", default="", help="no-reference metrics to record after every step, e.g. niqe,brisque")
    p.add_argument("--ref", help="folder of clean references matched by file name (needed by --policy oracle)")
    p.add_argument("--report", action="store_true", help="write OUT_DIR/report.html with every step's image and scores")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="redo images whose output already exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    from ..pool import add_pool_arguments

    add_pool_arguments(p)
    p.set_defaults(func=run)


def _inputs(paths: list[str]) -> list[Path]:
    from ..io import list_images

    files: list[Path] = []
    for raw in paths:
        files.extend(list_images(raw))
    return files


def _find_ref(ref_dir: Path, stem: str) -> Path | None:
    from ..io import IMAGE_EXTENSIONS

    for ext in IMAGE_EXTENSIONS:
        for cand in (ref_dir / f"{stem}{ext}", ref_dir / f"{stem}{ext.upper()}"):
            if cand.is_file():
                return cand
    return None


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..agent import Agent, AgentConfig
    from ..io import read_image, write_image
    from ..policies.common import default_policy_name
    from ..pool import pool_from_args
    from .report import write_report

    out = Path(args.out)
    files = _inputs(args.inputs)
    if not files:
        print("irpilot: no images found in the given inputs", file=sys.stderr)
        return 1
    from ..policies.base import make_policy

    # built once, so a bad option is reported once, before any image, and weights load once
    agent_policy = make_policy(args.policy or default_policy_name(), **({"tasks": args.tasks} if args.tasks else {}))
    config = AgentConfig(
        max_calls=args.max_calls,
        check_metrics=tuple(m for m in args.metrics.split(",") if m),
        keep_images=args.report,
        seed=args.seed,
    )
    used: set[str] = set()
    failures = 0
    records = []
    from ..progress import BarStatus

    bar = tqdm(files, desc=f"restore ({agent_policy.name})", unit="img", disable=args.quiet or not sys.stderr.isatty())
    status = BarStatus(bar)
    with pool_from_args(args) as pool:
        agent = Agent(pool=pool, config=config, listener=status.listener)
        for path in bar:
            status.image(path.name)
            stem = path.stem
            n = 1
            while stem in used:  # two inputs with the same name from different folders
                n += 1
                stem = f"{path.stem}_{n}"
            used.add(stem)
            target = out / f"{stem}.png"
            if target.resolve() == path.resolve():
                print(f"irpilot: {path}: output would overwrite the input; choose another -o", file=sys.stderr)
                failures += 1
                continue
            if target.exists() and (out / f"{stem}.trace.json").exists() and not args.overwrite:
                print(f"{path}: done before, skipped ({target})")
                continue
            try:
                img = read_image(path)
                ref = None
                if args.ref:
                    ref_path = _find_ref(Path(args.ref), path.stem)
                    if ref_path is None:
                        raise FileNotFoundError(f"no reference named {path.stem}.* in {args.ref}")
                    ref = read_image(ref_path)
                traj = agent.run(img, agent_policy, reference=ref, source=str(path))
            except Exception as exc:  # one bad file does not stop the batch
                failures += 1
                print(f"irpilot: {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            write_image(target, traj.output)
            traj.save(out / f"{stem}.trace.json")
            calls = ", ".join(c["name"] for c in traj.chain) or "nothing"
            print(f"{path} -> {target}  [{calls}; {traj.tool_calls} calls, {traj.wall_seconds:.1f} s]")
            records.append((stem, path, traj, ref))
    if args.report and records:
        report = write_report(out, records)
        print(f"report: {report}")
    summary = {"images": len(files), "restored": len(records), "failed": failures}
    print(json.dumps(summary))
    return 1 if failures and not records else 0
