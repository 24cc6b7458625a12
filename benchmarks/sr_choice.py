"""Which x4 network for a small photo: ``dncnn3_sr_x4``, ``sr_net_x4``, ``srmd_x4`` (``--tools``), case
by case, and whether simple features of the small photo tell which of the first two will do better.

``dncnn3_sr_x4`` (DnCNN-3, trained on MATLAB bicubic x1/4) is ahead on the protocol's x1/4 alone and
loses up to 1.8 dB on a camera's small photo that was sharpened after downscaling, where
``sr_net_x4`` (irpilot's, trained on both) gains (BENCHMARKS.md, "`sr_net_x4`").  Cases: crops of
the training photos (never Kodak24, CBSD68 or McMaster), made small by the protocol's
``low_resolution`` or the realistic ``real_low_resolution``, half each, alone or after one other
degradation of the benchmark's combinations with low resolution (motion or defocus blur, rain,
haze, noise; the family's own model), as the agent's x4 step meets them.  Photos are split as
``irpilot train tool`` splits them: ``--part train`` (``sr_net_x4`` was trained on these photos)
and ``--part heldout`` (every 10th photo, never trained on).  Each case: both tools' PSNR gain over
bicubic x4 (the input as the protocol scores it) and :func:`sr_features` of the small input.  A
tool name ``A+B`` is the average of the two tools' outputs; ``NAME:key=value`` runs a tool with
those arguments (``srmd_x4:blur=1.2``).  Files made with the same ``--part``,
``--seed`` and ``--n`` hold the same cases; ``--table`` merges their tools' columns.

    OMP_NUM_THREADS=1 python benchmarks/sr_choice.py --n 240 --part train --seed 1 --out runs/sr_choice/train.jsonl
    OMP_NUM_THREADS=1 python benchmarks/sr_choice.py --n 120 --part heldout --seed 2 --out runs/sr_choice/heldout.jsonl
    python benchmarks/sr_choice.py --table runs/sr_choice/heldout.jsonl --fit runs/sr_choice/train.jsonl
    OMP_NUM_THREADS=1 python benchmarks/sr_choice.py --n 120 --part heldout --seed 2 --tools srmd_x4,sr_net_x4+srmd_x4 \
        --out runs/sr_choice/heldout_srmd.jsonl
    python benchmarks/sr_choice.py --table runs/sr_choice/heldout.jsonl runs/sr_choice/heldout_srmd.jsonl

``--table`` gives each tool's mean gain per family and per degradation before the x4 step, and
the better of the first two per case (what a perfect chooser would reach); ``--fit`` chooses, on its
files, the best single-feature threshold rule between those two and scores it on the ``--table`` files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

BEFORE = {"protocol": ("", "motion_blur", "defocus_blur", "rain", "haze", "noise"),
          "realistic": ("", "real_motion_blur", "real_defocus_blur", "real_rain", "real_haze", "real_noise")}
TOOLS = ("dncnn3_sr_x4", "sr_net_x4")


#: radial frequency bands (cycles per pixel) of :func:`sr_features`
BANDS = ((0.03, 0.1), (0.1, 0.2), (0.3, 0.5))
FEATURES = ("log top / middle band power", "log middle / low band power", "log |Laplacian| / |gradient|", "noise (0-255)")


def sr_features(img: np.ndarray) -> np.ndarray:
    """What sharpening and the downscaling kernel should show in a small photo (3, H, W): the log
    ratios of its luma's spectral power in the top band to the middle one and of the middle one to
    the low one (:data:`BANDS`, Hann-windowed periodogram), the log ratio of its mean absolute
    Laplacian to its mean absolute gradient, and its noise level (``blind_deblur.estimate_noise_level``)."""
    from irpilot.tools.classical.blind_deblur import estimate_noise_level

    x = np.asarray(img, dtype=np.float64)
    y = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    h, w = y.shape
    p = np.abs(np.fft.fft2((y - y.mean()) * np.outer(np.hanning(h), np.hanning(w)))) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    r = np.hypot(fy, fx)
    low, mid, high = (float(p[(r >= a) & (r < b)].mean()) + 1e-12 for a, b in BANDS)
    grad = 0.5 * (np.abs(np.diff(y, axis=0)).mean() + np.abs(np.diff(y, axis=1)).mean()) + 1e-9
    lap = np.abs(4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]).mean() + 1e-9
    return np.array([np.log(high / mid), np.log(mid / low), np.log(lap / grad), estimate_noise_level(x) * 255.0])


def collect(args: argparse.Namespace) -> None:
    from tools_bench import tool_with_arguments

    from irpilot.degrade import degrade
    from irpilot.quality.full_reference import psnr
    from irpilot.tools.networks.dncnn import bicubic_upscale
    from irpilot.train.compact import random_crop, split_photos

    train, held, _ = split_photos()
    photos = train if args.part == "train" else held
    names_run = [t for spec in args.tools for t in spec.split("+")]
    tools = {t: tool_with_arguments(t) for t in dict.fromkeys(names_run)}
    rng = np.random.default_rng(args.seed)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as f:
        for i in range(args.n):
            family = "protocol" if i % 2 == 0 else "realistic"
            before = BEFORE[family][int(rng.integers(len(BEFORE[family])))]
            small = "low_resolution" if family == "protocol" else "real_low_resolution"
            clean = random_crop(photos[int(rng.integers(len(photos)))], args.size, rng)
            names = [before, small] if before else [small]
            lq, _ = degrade(clean, names, seed=int(rng.integers(2**31)))
            base = psnr(bicubic_upscale(lq, 4)[:, : clean.shape[1], : clean.shape[2]], clean)
            row = {"case": i, "family": family, "names": names, "psnr_bicubic": round(base, 3),
                   "features": [round(float(v), 5) for v in sr_features(lq)]}
            outs = {name: tool(lq) for name, tool in tools.items()}
            for spec in args.tools:
                out = np.mean([outs[t] for t in spec.split("+")], axis=0)
                row[spec] = round(psnr(out, clean) - base, 3)
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(json.dumps(row), flush=True)


def load(paths: list[str]) -> list[dict]:
    """The cases of ``paths``, one row per case: rows of the same case in several files (the same
    ``--part``, ``--seed`` and ``--n``: the same case number, degradations and input) are merged."""
    merged: dict[tuple, dict] = {}
    for p in paths:
        for line in Path(p).read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                merged.setdefault((row["case"], tuple(row["names"]), row["psnr_bicubic"]), {}).update(row)
    return list(merged.values())


def _arrays(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([r["features"] for r in rows], dtype=np.float64)
    a = np.array([r["dncnn3_sr_x4"] for r in rows])
    b = np.array([r["sr_net_x4"] for r in rows])
    return x, a, b


def fit(rows: list[dict]) -> tuple[int, float, int]:
    """The single-feature rule "``sr_net_x4`` where feature i is above (sign 1) or below (-1) t"
    with the highest mean gain on ``rows``: (i, t, sign)."""
    x, a, b = _arrays(rows)
    best = (-np.inf, 0, 0.0, 1)
    for i in range(x.shape[1]):
        for t in np.unique(x[:, i]):
            for sign in (1, -1):
                gain = float(np.where(sign * (x[:, i] - t) > 0, b, a).mean())
                best = max(best, (gain, i, float(t), sign))
    _, i, t, sign = best
    print(f"fitted on {len(rows)} cases: sr_net_x4 where {FEATURES[i]} {'>' if sign > 0 else '<'} {t:.4g}; "
          f"correlation of each feature with sr_net_x4's lead: "
          + ", ".join(f"{np.corrcoef(x[:, k], b - a)[0, 1]:+.2f}" for k in range(x.shape[1])))
    return i, t, sign


def table(rows: list[dict], rule: tuple[int, float, int] | None) -> None:
    groups: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (r["family"], r["names"][0] if len(r["names"]) > 1 else "")):
        before = r["names"][0] if len(r["names"]) > 1 else "(alone)"
        groups.setdefault(f"{r['family']}: {before}", []).append(r)
    for fam in ("protocol", "realistic"):
        groups[f"**{fam}**"] = [r for r in rows if r["family"] == fam]
    groups["**all**"] = rows
    extra = [k for k in rows[0] if k not in (*TOOLS, "case", "family", "names", "psnr_bicubic", "features")
             and all(k in r for r in rows)]
    head = "| cases | dncnn3_sr_x4 | sr_net_x4 | the better of the two |" + "".join(f" {k} |" for k in extra)
    print(head + (" the rule (sr_net_x4 share) |" if rule else ""))
    print("| --- " * (4 + len(extra) + bool(rule)) + "|")
    for name, sub in groups.items():
        x, a, b = _arrays(sub)
        line = f"| {name} ({len(sub)}) | {a.mean():+.3f} ({(a < 0).sum()}) | {b.mean():+.3f} ({(b < 0).sum()}) | {np.maximum(a, b).mean():+.3f} |"
        for k in extra:
            v = np.array([r[k] for r in sub])
            line += f" {v.mean():+.3f} ({(v < 0).sum()}) |"
        if rule:
            i, t, sign = rule
            pick = sign * (x[:, i] - t) > 0
            line += f" {np.where(pick, b, a).mean():+.3f} ({pick.mean():.2f}) |"
        print(line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=0, help="cases to make and measure")
    ap.add_argument("--part", choices=("train", "heldout"), default="train")
    ap.add_argument("--size", type=int, default=320, help="clean crop side (the small input is a quarter)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tools", type=lambda s: s.split(","), default=list(TOOLS),
                    help="tools to measure, separated by commas; A+B: the average of two tools' outputs")
    ap.add_argument("--out", default="runs/sr_choice/cases.jsonl", help="JSON lines, appended")
    ap.add_argument("--fit", nargs="*", default=None, help="case files to choose a single-feature rule on")
    ap.add_argument("--table", nargs="*", default=None, help="case files to tabulate (and score the rule on)")
    args = ap.parse_args()
    if args.n:
        collect(args)
    rule = fit(load(args.fit)) if args.fit else None
    if args.table:
        table(load(args.table), rule)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
