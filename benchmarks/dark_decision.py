"""Whether to brighten: perception's dark reading and ``hsv_value_inverse``'s darkening check,
measured together on photos that were darkened and photos that were not.

An agent calls a low-light tool when perception reads the image as dark (probability >= 0.5);
``hsv_value_inverse`` then brightens it only if its darkening check passes.  A photo as taken
that passes both is washed out (BENCHMARKS.md, "``jpeg_ycc_net``": a CBSD68 crop of herons on a
dark green background lost 14.6 dB).  This script records, per crop, the step an agent runs
first (the denoiser after noise, DnCNN-3 after JPEG), then on its output perception's ``dark``
probability, the check's score and the PSNR gain of the tool with the check off (its learned
curve selector's curve), so that rules deciding on both readings can be compared.

Crops of the *training* photos (``--photos training``, for choosing a rule) or of the test sets
(``--photos test``, for measuring one), darkened by the protocol's ``dark`` or the realistic
family's ``real_dark``, alone or with noise or JPEG, and the same photos not darkened (clean,
noise, JPEG; their gain is measured against the clean crop, capped at 60 dB).

    OMP_NUM_THREADS=1 python benchmarks/dark_decision.py --photos training --n 40 --seed 1 --out runs/dark_decision/train_s1.jsonl
    python benchmarks/dark_decision.py --table runs/dark_decision/train_s1.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

COMBOS: dict[str, list[str]] = {
    "clean": [],
    "noise": ["noise"],
    "jpeg": ["jpeg"],
    "real_noise": ["real_noise"],
    "real_jpeg": ["real_jpeg"],
    "dark": ["dark"],
    "dark+noise": ["dark", "noise"],
    "dark+jpeg": ["dark", "jpeg"],
    "real_dark": ["real_dark"],
    "real_dark+real_noise": ["real_dark", "real_noise"],
    "real_dark+real_jpeg": ["real_dark", "real_jpeg"],
}


def collect(args: argparse.Namespace) -> None:
    from tools_bench import test_crops

    from irpilot.degrade import degrade
    from irpilot.perceive import load_default_perceiver
    from irpilot.quality import score
    from irpilot.tools import get_tool
    from irpilot.tools.classical.lowlight import darkening_score, darkness_features

    perceiver = load_default_perceiver()
    tool, dejpeg, denoise = (get_tool(t) for t in ("hsv_value_inverse", "dncnn3_dejpeg", "ffdnet_color"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for i, (name, clean) in enumerate(test_crops(args.n, args.size, seed=args.seed, photos=args.photos)):
            rng = np.random.default_rng([args.seed, i])
            for label, names in COMBOS.items():
                img = degrade(clean, names, seed=int(rng.integers(1 << 30)))[0] if names else clean
                kinds = "+".join(names)
                x = dejpeg(img) if "jpeg" in kinds else denoise(img) if "noise" in kinds else img
                base = min(60.0, float(score(x, clean, ["psnr"])["psnr"]))
                after = min(60.0, float(score(tool(x, check=False), clean, ["psnr"])["psnr"]))
                feats = darkness_features(x)
                row = {"photo": name, "i": i, "combo": label, "darkened": "dark" in label,
                       "p_dark": round(float(perceiver(x).probs["dark"]), 4),
                       "score": round(float(darkening_score(feats)), 4),
                       "features": [round(float(v), 5) for v in feats],
                       "input_psnr": round(base, 3), "gain": round(after - base, 3)}
                f.write(json.dumps(row) + "\n")
                f.flush()
            print(f"{i + 1}/{args.n} {name}", flush=True)


def decide(rows: list[dict], t: float = 0.0, p_sure: float = 1.0) -> np.ndarray:
    """Which crops a rule brightens: perception >= 0.5 and the check's score above 0, or above
    ``t`` where perception is under ``p_sure`` (the shipped rule: ``t`` = 0)."""
    p = np.array([r["p_dark"] for r in rows])
    s = np.array([r["score"] for r in rows])
    return (p >= 0.5) & (s > np.where(p >= p_sure, 0.0, t))


def table(paths: list[str], rules: list[tuple[float, float]]) -> None:
    rows = [json.loads(line) for p in paths for line in Path(p).read_text().splitlines() if line.strip()]
    print(f"{len(rows)} crops from {', '.join(paths)}\n")
    print("| combination | n | read dark (p >= 0.5) | " + " | ".join(_name(r) for r in rules) + " |")
    print("|---|---|---|" + "---|" * len(rules))
    darkened_means: dict[tuple[float, float], list[float]] = {r: [] for r in rules}
    for combo in COMBOS:
        sub = [r for r in rows if r["combo"] == combo]
        if not sub:
            continue
        g = np.array([r["gain"] for r in sub])
        read = int(np.sum([r["p_dark"] >= 0.5 for r in sub]))
        cells = []
        for rule in rules:
            gain = np.where(decide(sub, *rule), g, 0.0)
            cells.append(f"{int(np.count_nonzero(gain))} on, {gain.mean():+.2f} (worst {gain.min():+.2f})")
            if "dark" in combo:
                darkened_means[rule].append(float(gain.mean()))
        print(f"| {combo} | {len(sub)} | {read} | " + " | ".join(cells) + " |")
    g = np.array([r["gain"] for r in rows])
    darkened = np.array([r["darkened"] for r in rows])
    shipped = decide(rows)
    for rule in rules:
        on = decide(rows, *rule)
        dropped = shipped & ~on  # what the rule no longer brightens, against the shipped one
        print(f"{_name(rule)}: photos not darkened brightened {int(np.sum(on & ~darkened))} of {int(np.sum(~darkened))}; "
              f"mean over the darkened combinations {np.mean(darkened_means[rule]):+.2f} dB; against the shipped rule "
              f"{-g[dropped & darkened].sum():+.0f} dB on darkened crops, {-g[dropped & ~darkened].sum():+.0f} dB on the others")


def _name(rule: tuple[float, float]) -> str:
    return "shipped" if rule[0] == 0 else f"score > {rule[0]:g} under p {rule[1]:g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", choices=("training", "test"), default="training")
    ap.add_argument("--n", type=int, default=40, help="crops (each in every combination)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="runs/dark_decision/cases.jsonl")
    ap.add_argument("--table", nargs="+", help="print the table of these cases files and stop")
    ap.add_argument("--rules", default="shipped", help="comma-separated: shipped, or T@P (score > T where p < P)")
    args = ap.parse_args()
    if args.table:
        rules = [(0.0, 1.0) if r == "shipped" else tuple(float(v) for v in r.split("@")) for r in args.rules.split(",")]
        table(args.table, rules)  # type: ignore[arg-type]
        return
    collect(args)


if __name__ == "__main__":
    main()
