#!/usr/bin/env python
"""Benchmark the degradation perceiver on synthetic test sets (evaluation only).

Clean photos: Kodak24, CBSD68, McMaster (never used in training).  Degraded with
``irpilot.degrade.degrade`` (protocol ranges, applied left to right) as the benchmark groups
A, B, C, each single degradation, out-of-domain chains of 3-5 (``D3+``) and clean (no
degradation).  Each combination is applied to ``--per-combo`` photos drawn (seeded) from the
pool of all test photos; whole images go through ``Perceiver.__call__``.

Reports per degradation: accuracy, AUC, precision and recall at threshold 0.5 (over every
image: positive when the chain contains it); per group: label accuracy and the share of
images whose predicted set is exactly right; low resolution by the combined rule, the CNN alone
and the size rule alone; severity error; milliseconds per image.

    python benchmarks/perception_bench.py --per-combo 20 --out runs/perception_bench
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
from irpilot.degrade import GROUP_A, GROUP_B, GROUP_C, PROTOCOL_DEGRADATIONS, degrade, derive_seed
from irpilot.io import list_images, read_image
from irpilot.perceive import Perceiver, load_default_perceiver
from irpilot.train.perception import binary_auc, class_metrics

TEST_SETS = ("Kodak24", "CBSD68", "McMaster")


def combos(seed: int, n_ood: int) -> list[tuple[str, tuple[str, ...]]]:
    out: list[tuple[str, tuple[str, ...]]] = [("A", c) for c in GROUP_A] + [("B", c) for c in GROUP_B]
    out += [("C", c) for c in GROUP_C]
    out += [("single", (n,)) for n in PROTOCOL_DEGRADATIONS]
    out += [("clean", ())]
    rng = np.random.default_rng(derive_seed(seed, "perception_bench_ood"))
    for _ in range(n_ood):
        k = int(rng.integers(3, 6))
        out.append(("D3+", tuple(rng.permutation(PROTOCOL_DEGRADATIONS)[:k].tolist())))
    return out


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
    for ci, (group, chain) in enumerate(combos(args.seed, args.n_ood)):
        rng = np.random.default_rng(derive_seed(args.seed, "pick", group, chain))
        for idx in rng.choice(len(photos), size=min(args.per_combo, len(photos)), replace=False):
            path = photos[int(idx)]
            if path not in cache:
                cache[path] = read_image(path)
            img, records = degrade(cache[path], chain, seed=derive_seed(args.seed, path.name, chain))
            p = perceiver(img)
            rows.append({
                "group": group, "chain": list(chain), "image": f"{path.parent.name}/{path.name}",
                "shape": list(img.shape[1:]), "probs": p.probs, "cnn_probs": p.cnn_probs, "severity": p.severity,
                "true_severity": {r.name: r.params.get("severity") for r in records}, "seconds": p.seconds,
            })
        print(f"[{ci + 1}] {group} {'+'.join(chain) or 'clean'}: {len(rows)} images, "
              f"{time.perf_counter() - t_start:.0f} s", flush=True)
    with open(out_dir / "images.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    labels = np.array([[1.0 if n in r["chain"] else 0.0 for n in names] for r in rows])
    probs = np.array([[r["probs"][n] for n in names] for r in rows])
    report: dict = {"n_images": len(rows), "date": time.strftime("%Y-%m-%d", time.gmtime()),
                    "command": " ".join(["python", "benchmarks/perception_bench.py"] + (argv or sys.argv[1:])),
                    "machine": f"{platform.machine()}, torch threads {args.threads}",
                    "perceiver": repr(perceiver), "meta": perceiver.meta}
    protocol = [n for n in names if n in PROTOCOL_DEGRADATIONS]
    report["per_degradation"] = class_metrics(probs, labels, names)
    groups = sorted({r["group"] for r in rows}, key=["A", "B", "C", "D3+", "single", "clean"].index)
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
    sev_err = {n: [abs(r["severity"][n] - r["true_severity"][n]) for r in rows
                   if n in r["true_severity"] and r["true_severity"][n] is not None] for n in names}
    report["severity_mae"] = {n: float(np.mean(v)) for n, v in sev_err.items() if v}
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
    lines = [f"{rep['n_images']} degraded test images; threshold 0.5.", "",
             "| degradation | positives | accuracy | AUC | precision | recall | severity MAE |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for n, m in rep["per_degradation"].items():
        lines.append(f"| {n} | {m['positives']} | {_f(m['accuracy'])} | {_f(m['auc'])} | {_f(m['precision'])} | "
                     f"{_f(m['recall'])} | {_f(rep['severity_mae'].get(n, float('nan')))} |")
    pd_ = [rep["per_degradation"][n] for n in protocol]
    lines.append(f"| mean of the 8 protocol degradations | | {_f(np.mean([m['accuracy'] for m in pd_]))} | "
                 f"{_f(np.nanmean([m['auc'] for m in pd_]))} | | | |")
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
