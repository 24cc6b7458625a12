#!/usr/bin/env python
"""Benchmark the degradation perceiver on synthetic test sets (evaluation only).

Clean photos: Kodak24, CBSD68, McMaster (never used in training).  Degraded with
``irpilot.degrade.degrade`` (protocol ranges, applied left to right) as the benchmark groups
A, B, C, each single degradation, out-of-domain chains of 3-5 (``D3+``) and clean (no
degradation); ``--groups`` adds the realistic family (``realistic_a/b/c``: the same
combinations with the camera-like models ``real_*``; ``realistic_single``).  Each combination
is applied to ``--per-combo`` photos drawn (seeded) from the pool of all test photos, the
same photos for a realistic combination as for its protocol twin; whole images go through
``Perceiver.__call__``.  Labels are degradation kinds (``real_noise`` counts as ``noise``).

Reports per degradation: accuracy, AUC, precision and recall at threshold 0.5 (over every
image of a family, clean images included: positive when the chain contains it); per group: label accuracy and the share of
images whose predicted set is exactly right; low resolution by the combined rule, the CNN alone
and the size rule alone; severity error; milliseconds per image.

    python benchmarks/perception_bench.py --per-combo 20 --out runs/perception_bench
    python benchmarks/perception_bench.py --groups A,B,C,realistic_a,realistic_b,realistic_c,clean --out runs/pb_real
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from irpilot.config import settings
from irpilot.degrade import (
    GROUP_A,
    GROUP_B,
    GROUP_C,
    PROTOCOL_DEGRADATIONS,
    REALISTIC,
    degrade,
    derive_seed,
    kind_of,
)
from irpilot.io import list_images, read_image
from irpilot.perceive import Perceiver, load_default_perceiver
from irpilot.train.perception import binary_auc, class_metrics

TEST_SETS = ("Kodak24", "CBSD68", "McMaster")
DEFAULT_GROUPS = ("A", "B", "C", "D3+", "single", "clean")
GROUP_ORDER = ("A", "B", "C", "D3+", "single", "realistic_a", "realistic_b", "realistic_c", "realistic_single", "clean")
#: a realistic group -> its protocol twin (same combinations, same photos)
TWIN = {"realistic_a": "A", "realistic_b": "B", "realistic_c": "C", "realistic_single": "single"}


def combos(seed: int, n_ood: int, groups: tuple[str, ...] = DEFAULT_GROUPS) -> list[tuple[str, tuple[str, ...]]]:
    unknown = set(groups) - set(GROUP_ORDER)
    if unknown:
        raise SystemExit(f"unknown groups {sorted(unknown)}; known: {', '.join(GROUP_ORDER)}")
    base: dict[str, list[tuple[str, ...]]] = {"A": list(GROUP_A), "B": list(GROUP_B), "C": list(GROUP_C),
                                               "single": [(n,) for n in PROTOCOL_DEGRADATIONS], "clean": [()]}
    rng = np.random.default_rng(derive_seed(seed, "perception_bench_ood"))
    base["D3+"] = []
    for _ in range(n_ood):
        k = int(rng.integers(3, 6))
        base["D3+"].append(tuple(rng.permutation(PROTOCOL_DEGRADATIONS)[:k].tolist()))
    for g, twin in TWIN.items():
        base[g] = [tuple(REALISTIC[n] for n in c) for c in base[twin]]
    order = ("A", "B", "C", "single", "clean", "D3+") + tuple(TWIN)  # the original run's order first
    return [(g, c) for g in order if g in groups for c in base[g]]


def family(group: str) -> str:
    return "realistic" if group.startswith("realistic") else "protocol"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="checkpoint (default: the shipped weights)")
    ap.add_argument("--per-combo", type=int, default=20, help="photos per combination")
    ap.add_argument("--n-ood", type=int, default=8, help="random chains of 3-5 degradations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-crops", type=int, default=None)
    ap.add_argument("--crop", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="runs/perception_bench")
    ap.add_argument("--groups", default=",".join(DEFAULT_GROUPS),
                    help=f"comma-separated, of {', '.join(GROUP_ORDER)} (default: the protocol's)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    opts = {k: v for k, v in (("n_crops", args.n_crops), ("crop", args.crop)) if v is not None}
    perceiver = Perceiver.load(args.weights, device="cpu", **opts) if args.weights else load_default_perceiver("cpu", **opts)
    if perceiver is None:
        print("no perception weights", file=sys.stderr)
        return 1
    if settings.data_dir is None:
        print("no data directory (set IRPILOT_DATA_DIR)", file=sys.stderr)
        return 1
    photos = [p for s in TEST_SETS for p in list_images(Path(settings.data_dir) / s)]
    names = perceiver.names
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    cache: dict[Path, np.ndarray] = {}
    t_start = time.perf_counter()
    groups_arg = tuple(g.strip() for g in args.groups.split(",") if g.strip())
    for ci, (group, chain) in enumerate(combos(args.seed, args.n_ood, groups_arg)):
        kinds = tuple(kind_of(n) for n in chain)
        # a realistic combination is drawn on the same photos as its protocol twin
        rng = np.random.default_rng(derive_seed(args.seed, "pick", TWIN.get(group, group), kinds))
        for idx in rng.choice(len(photos), size=min(args.per_combo, len(photos)), replace=False):
            path = photos[int(idx)]
            if path not in cache:
                cache[path] = read_image(path)
            img, records = degrade(cache[path], chain, seed=derive_seed(args.seed, path.name, chain))
            p = perceiver(img)
            rows.append({
                "group": group, "chain": list(chain), "kinds": list(kinds), "image": f"{path.parent.name}/{path.name}",
                "shape": list(img.shape[1:]), "probs": p.probs, "cnn_probs": p.cnn_probs, "severity": p.severity,
                "true_severity": {r.kind: r.params.get("severity") for r in records}, "seconds": p.seconds,
            })
        print(f"[{ci + 1}] {group} {'+'.join(chain) or 'clean'}: {len(rows)} images, "
              f"{time.perf_counter() - t_start:.0f} s", flush=True)
    with open(out_dir / "images.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    labels = np.array([[1.0 if n in r["kinds"] else 0.0 for n in names] for r in rows])
    probs = np.array([[r["probs"][n] for n in names] for r in rows])
    report: dict = {"n_images": len(rows), "date": time.strftime("%Y-%m-%d", time.gmtime()),
                    "command": " ".join(["python", "benchmarks/perception_bench.py"] + (argv or sys.argv[1:])),
                    "machine": f"{platform.machine()}, torch threads {args.threads}",
                    "perceiver": repr(perceiver), "meta": perceiver.meta}
    protocol = [n for n in names if n in PROTOCOL_DEGRADATIONS]
    fams = {family(r["group"]) for r in rows if r["group"] != "clean"} or {"protocol"}
    for fam in sorted(fams):  # clean images count as negatives in every family
        m = np.array([r["group"] == "clean" or family(r["group"]) == fam for r in rows])
        key = "per_degradation" if fam == "protocol" or len(fams) == 1 else f"per_degradation_{fam}"
        report[key] = class_metrics(probs[m], labels[m], names)
        if key != "per_degradation" and "per_degradation" not in report:
            report["per_degradation"] = report[key]
    groups = sorted({r["group"] for r in rows}, key=GROUP_ORDER.index)
    report["per_group"] = {}
    for g in groups + ["all"]:
        m = np.array([g == "all" or r["group"] == g for r in rows])
        pl = probs[m][:, [names.index(n) for n in protocol]] >= 0.5
        yl = labels[m][:, [names.index(n) for n in protocol]] > 0.5
        report["per_group"][g] = {"n": int(m.sum()), "label_accuracy": float((pl == yl).mean()),
                                  "exact_set": float((pl == yl).all(1).mean()),
                                  "false_positives_per_image": float((pl & ~yl).sum(1).mean()),
                                  "missed_per_image": float((~pl & yl).sum(1).mean())}
    k = names.index("low_resolution")
    longest = np.array([max(r["shape"]) for r in rows])
    variants = {"combined (shipped)": probs[:, k],
                "cnn only": np.array([r["cnn_probs"]["low_resolution"] for r in rows]),
                "size only (< 300 px)": (longest < 300).astype(float)}
    report["low_resolution"] = {
        v: {"auc": binary_auc(s, labels[:, k]), "accuracy": float(((s >= 0.5) == (labels[:, k] > 0.5)).mean())}
        for v, s in variants.items()
    }
    for fam in sorted(fams):
        sev_err = {n: [abs(r["severity"][n] - r["true_severity"][n]) for r in rows if family(r["group"]) == fam
                       and n in r["true_severity"] and r["true_severity"][n] is not None] for n in names}
        key = "severity_mae" if fam == "protocol" or len(fams) == 1 else f"severity_mae_{fam}"
        report[key] = {n: float(np.mean(v)) for n, v in sev_err.items() if v}
        report.setdefault("severity_mae", report[key])
    ms = [1000 * r["seconds"] for r in rows]
    report["ms_per_image"] = {"mean": statistics.fmean(ms), "median": statistics.median(ms), "max": max(ms)}
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    md = markdown(report, protocol)
    (out_dir / "report.md").write_text(md)
    print(md)
    return 0


def _f(x: float, digits: int = 3) -> str:
    return "-" if x is None or x != x else f"{x:.{digits}f}"


def markdown(rep: dict, protocol: list[str]) -> str:
    lines = [f"{rep['n_images']} degraded test images; threshold 0.5."]
    tables = [("", "per_degradation", "severity_mae")]
    if "per_degradation_realistic" in rep:
        tables = [(" (protocol family and clean images)", "per_degradation", "severity_mae"),
                  (" (realistic family and clean images)", "per_degradation_realistic", "severity_mae_realistic")]
    for title, key, sev_key in tables:
        lines += ["", f"| degradation{title} | positives | accuracy | AUC | precision | recall | severity MAE |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for n, m in rep[key].items():
            lines.append(f"| {n} | {m['positives']} | {_f(m['accuracy'])} | {_f(m['auc'])} | {_f(m['precision'])} | "
                         f"{_f(m['recall'])} | {_f(rep[sev_key].get(n, float('nan')))} |")
        pd_ = [rep[key][n] for n in protocol]
        lines.append(f"| mean of the 8 protocol degradations | | {_f(np.mean([m['accuracy'] for m in pd_]))} | "
                     f"{_f(np.nanmean([m['auc'] for m in pd_]))} | | {_f(np.nanmean([m['recall'] for m in pd_]))} | |")
    lines += ["", "| group | images | label accuracy | exact set | false positives / image | missed / image |",
              "| --- | --- | --- | --- | --- | --- |"]
    for g, m in rep["per_group"].items():
        lines.append(f"| {g} | {m['n']} | {_f(m['label_accuracy'])} | {_f(m['exact_set'])} | "
                     f"{_f(m['false_positives_per_image'], 2)} | {_f(m['missed_per_image'], 2)} |")
    lines += ["", "| low resolution decided by | AUC | accuracy |", "| --- | --- | --- |"]
    for v, m in rep["low_resolution"].items():
        lines.append(f"| {v} | {_f(m['auc'])} | {_f(m['accuracy'])} |")
    t = rep["ms_per_image"]
    lines += ["", f"Perception time per image: mean {t['mean']:.1f} ms, median {t['median']:.1f} ms, "
              f"max {t['max']:.1f} ms (1 thread)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
