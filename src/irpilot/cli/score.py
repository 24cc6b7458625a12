"""``irpilot score``: quality metrics for a folder of images (optionally against references).

    irpilot score --metric psnr,ssim,niqe results/ --ref clean/ --json scores.json --csv scores.csv
    irpilot score --list

Reference images are matched by file-name stem (``results/kodim01.png`` <-> ``clean/kodim01.bmp``).
An image that cannot be read or scored, or has no reference, is reported on stderr and the
others are still scored; the exit status is then 1.  ``--json`` / ``--csv`` files that exist
are replaced only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="compute quality metrics (PSNR, SSIM, NIQE, ...) for images, optionally against references",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="?", help="an image file or a folder of images")
    p.add_argument(
        "-m",
        "--metric",
        "--metrics",
        dest="metrics",
        help="comma-separated metric names (default: psnr,ssim,niqe with --ref, else niqe,noise_sigma,sharpness,blockiness)",
    )
    p.add_argument("--ref", help="reference image or folder (matched by file-name stem)")
    p.add_argument("--json", dest="json_path", help="write {image path: {metric: value}} to this file")
    p.add_argument("--csv", dest="csv_path", help="write a table (one row per image, then the mean) to this file")
    p.add_argument("--overwrite", action="store_true", help="replace existing --json / --csv files")
    p.add_argument("-r", "--recursive", action="store_true", help="look for images in sub-folders too")
    p.add_argument("--list", action="store_true", help="list the metrics and whether each can run here")
    p.set_defaults(func=run)


def _list_metrics() -> int:
    from ..quality import METRICS, metric_info

    rows = []
    for name in METRICS.names():
        info = metric_info(name)
        better = {True: "higher", False: "lower", None: "neutral"}[info["higher_is_better"]]
        rows.append((name, info["kind"], better, "yes" if info["available"] else "NO", info["description"]))
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'kind':<14}  {'better':<7}  {'ready':<5}  description")
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:<14}  {r[2]:<7}  {r[3]:<5}  {r[4]}")
    return 0


def _references(ref: Path, recursive: bool) -> dict[str, Path]:
    from ..io import list_images

    found: dict[str, Path] = {}
    for p in list_images(ref, recursive=recursive):
        found.setdefault(p.stem, p)  # sorted listing: the first of duplicate stems wins
    return found


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "-"
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:.1f}"


def format_table(results: dict[str, dict[str, float]], metrics: list[str]) -> str:
    """A plain-text table: one row per image, then the mean of each metric."""
    names = [Path(k).name for k in results] + ["mean"]
    width = max([len("image")] + [len(n) for n in names])
    cols = [max(len(m), 9) for m in metrics]
    out = io.StringIO()
    out.write(f"{'image':<{width}}  " + "  ".join(f"{m:>{c}}" for m, c in zip(metrics, cols)) + "\n")
    for key, row in results.items():
        vals = [row.get(m, float("nan")) for m in metrics]
        out.write(f"{Path(key).name:<{width}}  " + "  ".join(f"{_fmt(v):>{c}}" for v, c in zip(vals, cols)) + "\n")
    means = mean_scores(results, metrics)
    out.write(f"{'mean':<{width}}  " + "  ".join(f"{_fmt(means[m]):>{c}}" for m, c in zip(metrics, cols)) + "\n")
    return out.getvalue()


def mean_scores(results: dict[str, dict[str, float]], metrics: list[str]) -> dict[str, float]:
    means = {}
    for m in metrics:
        vals = [r[m] for r in results.values() if m in r]
        means[m] = float(sum(vals) / len(vals)) if vals else float("nan")
    return means


def run(args: argparse.Namespace) -> int:
    from ..errors import ImageReadError, IrpilotError
    from ..io import atomic_write_bytes, list_images, read_image
    from ..quality import MetricError, get_metric, score

    if args.list:
        return _list_metrics()
    if not args.inputs:
        print("irpilot score: give an image or a folder (or --list)", file=sys.stderr)
        return 2
    if args.json_path and args.csv_path and Path(args.json_path).resolve() == Path(args.csv_path).resolve():
        from .outputs import UsageError

        raise UsageError("--json and --csv name the same file")
    if args.metrics:
        metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    else:
        metrics = ["psnr", "ssim", "niqe"] if args.ref else ["niqe", "noise_sigma", "sharpness", "blockiness"]
    for m in metrics:
        metric = get_metric(m)  # RegistryError with suggestions for a wrong name
        metric.check_available()  # MetricUnavailableError saying which files are missing
        if metric.needs_reference and not args.ref:
            raise MetricError(f"metric {m!r} is full-reference: give reference images with --ref")
    images = list_images(Path(args.inputs), recursive=args.recursive)
    if not images:
        raise ImageReadError(f"{args.inputs}: no images found")
    from .outputs import check_output_file

    sources = [*images, *([args.ref] if args.ref and Path(args.ref).is_file() else [])]
    for option, target in (("--json", args.json_path), ("--csv", args.csv_path)):
        if target:  # checked before any scoring: a bad path costs nothing
            check_output_file(target, overwrite=args.overwrite, inputs=sources, option=option)
    refs = _references(Path(args.ref), args.recursive) if args.ref else {}
    if args.ref and Path(args.ref).is_file() and len(images) == 1:
        refs = {images[0].stem: Path(args.ref)}
    if args.ref and not any(p.stem in refs for p in images):
        raise MetricError(
            f"no reference in {args.ref} matches any image in {args.inputs} by file-name stem "
            f"(e.g. {images[0].stem}.* is missing)"
        )

    results: dict[str, dict[str, float]] = {}
    failures = 0
    for path in images:
        try:
            ref = None
            if args.ref:
                if path.stem not in refs:
                    raise MetricError(f"no reference image named {path.stem}.* in {args.ref}")
                ref = read_image(refs[path.stem])
            results[str(path)] = score(read_image(path), ref, metrics)
        except (IrpilotError, ValueError) as exc:
            failures += 1
            msg = str(exc)
            print(f"irpilot score: {msg if msg.startswith(str(path)) else f'{path}: {msg}'}", file=sys.stderr)
    if results:
        print(format_table(results, metrics), end="")
    if args.json_path:
        atomic_write_bytes(args.json_path, (json.dumps(results, indent=2) + "\n").encode())
    if args.csv_path:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["image", *metrics])
        for key, row in results.items():
            writer.writerow([key, *[repr(row[m]) for m in metrics]])
        means = mean_scores(results, metrics)
        writer.writerow(["mean", *[repr(means[m]) for m in metrics]])
        atomic_write_bytes(args.csv_path, buf.getvalue().encode())
    if failures:
        print(f"irpilot score: {failures} of {len(images)} image(s) failed", file=sys.stderr)
    return 1 if failures else 0
