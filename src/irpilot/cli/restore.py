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
        "OUT_DIR/<stem>.png and OUT_DIR/<stem>.trace.json (every decision, tool call, timing and score). "
        "Nothing else is written (with --report: OUT_DIR/report.html and OUT_DIR/<stem>_steps/). An image "
        "whose outputs exist from an earlier run of the same input is skipped; any other existing file is "
        "never replaced without --overwrite, and an input file never. Exit status: 0 all restored, "
        "1 some images failed, 2 usage error, 130 interrupted.",
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
    p.add_argument("--overwrite", action="store_true",
                   help="redo images whose outputs exist, replacing them (input files are never replaced)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    from ..pool import add_pool_arguments

    add_pool_arguments(p)
    p.set_defaults(func=run)


def _inputs(paths: list[str]) -> tuple[list[Path], int]:
    """The image files of ``paths`` (files and folders), and how many of ``paths`` were refused."""
    from ..errors import ImageReadError
    from ..io import list_images

    files: list[Path] = []
    refused = 0
    for raw in paths:
        try:
            files.extend(list_images(raw))
        except ImageReadError as exc:
            print(f"irpilot: {exc}", file=sys.stderr)
            refused += 1
    return files, refused


def _done_before(png: Path, trace: Path, source: Path) -> bool:
    """Whether ``png`` and ``trace`` are this command's outputs for ``source`` from an earlier run."""
    if not (png.is_file() and trace.is_file()):
        return False
    try:
        recorded = json.loads(trace.read_text()).get("source", "")
        return bool(recorded) and Path(recorded).resolve() == source.resolve()
    except (OSError, ValueError, AttributeError):
        return False


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
    from ..errors import IrpilotError
    from ..io import read_image, write_image
    from ..policies.common import default_policy_name
    from ..pool import pool_from_args
    from .outputs import EXIT_FAILED, prepare_output_dir, report_failed_calls
    from .report import write_report

    files, refused = _inputs(args.inputs)
    if not files:
        print("irpilot: no images found in the given inputs", file=sys.stderr)
        return EXIT_FAILED
    out = prepare_output_dir(args.out)
    from ..policies.base import make_policy

    # built once, so a bad option is reported once, before any image, and weights load once
    agent_policy = make_policy(args.policy or default_policy_name(), **({"tasks": args.tasks} if args.tasks else {}))
    config = AgentConfig(
        max_calls=args.max_calls,
        check_metrics=tuple(m for m in args.metrics.split(",") if m),
        keep_images=args.report,
        seed=args.seed,
    )
    protected = {p.resolve() for p in files}  # no output may replace any input, whatever --overwrite says
    if args.ref and Path(args.ref).is_dir():
        from ..io import list_images

        protected |= {p.resolve() for p in list_images(args.ref)}
    used: set[str] = set()
    failures = refused
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
            target, trace = out / f"{stem}.png", out / f"{stem}.trace.json"
            clash = [t for t in (target, trace) if t.resolve() in protected]
            if not clash:
                used.add(stem)
            else:
                print(f"irpilot: {path}: the output {clash[0]} would replace an input file; choose another -o",
                      file=sys.stderr)
                failures += 1
                continue
            if not args.overwrite:
                if _done_before(target, trace, path):
                    print(f"{path}: done before, skipped ({target})")
                    continue
                existing = [t for t in (target, trace) if t.exists()]
                if existing:
                    print(f"irpilot: {path}: {existing[0]} exists; not replaced (give --overwrite, or another -o)",
                          file=sys.stderr)
                    failures += 1
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
                msg = str(exc) if isinstance(exc, IrpilotError) else f"{type(exc).__name__}: {exc}"
                print(f"irpilot: {msg if msg.startswith(str(path)) else f'{path}: {msg}'}", file=sys.stderr)
                continue
            try:
                write_image(target, traj.output)
                traj.save(trace)
            except (OSError, IrpilotError) as exc:  # e.g. a read-only folder: this image failed, the batch goes on
                failures += 1
                reason = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
                print(f"irpilot: {path}: cannot write {getattr(exc, 'filename', None) or target}: {reason}",
                      file=sys.stderr)
                continue
            report_failed_calls(path, traj)
            calls = ", ".join(c["name"] for c in traj.chain) or "nothing"
            print(f"{path} -> {target}  [{calls}; {traj.tool_calls} calls, {traj.wall_seconds:.1f} s]")
            records.append((stem, path, traj, ref))
    if args.report and records:
        report = write_report(out, records)
        print(f"report: {report}")
    summary = {"images": len(files) + refused, "restored": len(records), "failed": failures}
    print(json.dumps(summary))
    return EXIT_FAILED if failures else 0
