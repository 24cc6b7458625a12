"""Train the tone-curve selector of ``hsv_value_inverse`` (:mod:`irpilot.tools.classical.tone`).

Training photos only (:func:`irpilot.train.data.training_photos`).  For every combination of
:data:`COMBOS` (darkened by the protocol's ``dark`` or the realistic ``real_dark``, alone or with
noise, JPEG, haze or rain; and photos that were *not* darkened: clean, noisy, hazy, blurred),
crops of 192-384 px are degraded, passed through what an agent runs first (FFDNet for noise,
DnCNN-3 for JPEG), and every candidate curve's PSNR gain over that input is recorded with the
crop's features (``collect``; cached in ``OUT/data_<part>_[hard_]seed<S>_n<N>.npz``).  Every
5th photo is held out (:func:`split_photos`): training crops come from the others, validation
crops from these.  Hard crops (``--hard-seeds``) are crops of the combinations that were not
darkened which perception reads as dark: the photos on which an agent calls the tool although
nothing darkened them.  An ensemble of five small networks (two hidden layers of 32) regresses
the gains (clipped at -20 dB) from the standardised features, darkened crops, hard crops and other
crops weighing :data:`SHARES`.  The tool asks its darkening check first and the selector only
which curve (:func:`_gated`).  The report compares, per combination on the held-out photos,
version 3 (the check and the recipe's inverse), version 4 (the check and the selector's curve)
and the best curve after the check in hindsight.

    irpilot train tone --out runs/tone --export src/irpilot/assets/tone_select.safetensors
    # the defaults are the shipped run's: --seeds 21,22 --hard-seeds 31 --val-seed 23 --hard-val-seed 33
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["COMBOS", "add_arguments", "collect", "run"]

#: name -> (degradations, what runs first: "", "denoise" or "dejpeg", darkened?)
COMBOS: dict[str, tuple[list[str], str, bool]] = {
    "dark": (["dark"], "", True),
    "dark+noise": (["dark", "noise"], "denoise", True),
    "dark+jpeg": (["dark", "jpeg"], "dejpeg", True),
    "haze+dark": (["haze", "dark"], "", True),
    "rain+dark": (["rain", "dark"], "", True),
    "real_dark": (["real_dark"], "", True),
    "real_dark, denoised": (["real_dark"], "denoise", True),
    "real_dark+real_noise": (["real_dark", "real_noise"], "denoise", True),
    "real_dark+real_jpeg": (["real_dark", "real_jpeg"], "dejpeg", True),
    "real_haze+real_dark": (["real_haze", "real_dark"], "", True),
    "real_rain+real_dark": (["real_rain", "real_dark"], "", True),
    "real_defocus+real_dark": (["real_defocus_blur", "real_dark"], "", True),
    "clean": ([], "", False),
    "noise": (["noise"], "denoise", False),
    "jpeg": (["jpeg"], "dejpeg", False),
    "haze": (["haze"], "", False),
    "rain": (["rain"], "", False),
    "real_noise": (["real_noise"], "denoise", False),
    "real_jpeg": (["real_jpeg"], "dejpeg", False),
    "real_haze": (["real_haze"], "", False),
    "real_defocus": (["real_defocus_blur"], "", False),
    "real_motion": (["real_motion_blur"], "", False),
}

#: draws per hard crop (a crop not darkened that perception reads as dark)
HARD_TRIES = 20

#: gains below this are clipped for the regression (a curve that loses 20 dB loses enough)
FLOOR = -20.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("runs/tone"), help="run folder (default: runs/tone)")
    p.add_argument("--seeds", default="21,22", help="training seeds (one cached data file each)")
    p.add_argument("--val-seed", type=int, default=23, help="seed of the validation crops (held-out photos; -1: none)")
    p.add_argument("--val-n", type=int, default=40, help="validation crops per combination")
    p.add_argument("--n", type=int, default=80, help="crops per combination and seed")
    p.add_argument("--hard-seeds", default="31", help="seeds of hard crops (not darkened, read dark by perception)")
    p.add_argument("--hard-val-seed", type=int, default=33, help="seed of the hard validation crops (-1: none)")
    p.add_argument("--hard-val-n", type=int, default=40, help="hard validation crops per combination")
    p.add_argument("--hard-n", type=int, default=40, help="hard crops per combination and seed")
    p.add_argument("--collect-only", action="store_true", help="collect (cache) the --seeds and --hard-seeds data and stop")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--ensemble", type=int, default=5, help="networks averaged (each from its own initialisation)")
    p.add_argument("--export", type=Path, default=None, help="write the selector here (safetensors)")


def split_photos(photos: list[tuple[str, np.ndarray]], part: str) -> list[tuple[str, np.ndarray]]:
    """Every 5th training photo (in name order) is held out for validation (``part="val"``); the
    others are for training (``"train"``)."""
    ordered = sorted(photos, key=lambda p: p[0])
    return [p for i, p in enumerate(ordered) if (i % 5 == 0) == (part == "val")]


def collect(seed: int, n: int, hard: bool = False, part: str = "train") -> dict[str, np.ndarray]:
    """Features, gains per curve, the previous tool's gain, perception's dark probability and the
    combination index of ``n`` crops per combination (seeded).  ``hard``: only the combinations
    that were not darkened, and of each only crops perception reads as dark (probability above
    0.5, after what runs first; up to :data:`HARD_TRIES` draws per crop; a draw with a mean value
    above 0.7 is skipped without running perception, to save time), the photos on which an agent
    calls the tool wrongly.  ``part``: the training or the held-out photos (:func:`split_photos`)."""
    from ..perceive import load_default_perceiver
    from ..quality import score
    from ..tools import get_tool
    from ..tools.classical.tone import CURVES, apply_curve, tone_features
    from .data import make_case, training_photos

    photos = split_photos(training_photos(), part)
    first = {"denoise": get_tool("ffdnet_color"), "dejpeg": get_tool("dncnn3_dejpeg")}
    previous = get_tool("hsv_value_inverse")

    def psnr(img: np.ndarray, ref: np.ndarray) -> float:  # a clean crop against itself: capped at 60
        return min(60.0, float(score(img, ref, ["psnr"])["psnr"]))

    perceiver = load_default_perceiver()
    if hard and perceiver is None:
        raise SystemExit("hard crops need perception's weights")
    feats, gains, prev, pdark, combo, names_ = [], [], [], [], [], []
    for ci, (label, (names, pre, darkened)) in enumerate(COMBOS.items()):
        if hard and darkened:
            continue
        for i in range(n):
            for t in range(HARD_TRIES if hard else 1):
                rng = np.random.default_rng([seed, i, ci, t] if hard else [seed, i, ci])
                case = make_case(rng, photos, size=(192, 384), names=names)
                if hard and float(case.degraded.max(axis=0).mean()) > 0.7:
                    continue
                x = first[pre](case.degraded) if pre else case.degraded
                p = float(perceiver(x).probs["dark"]) if perceiver is not None else float("nan")
                if not hard or p > 0.5:
                    break
            else:
                continue
            base = psnr(x, case.clean)
            feats.append(tone_features(x))
            gains.append([psnr(apply_curve(x, c), case.clean) - base for c in CURVES])
            prev.append(psnr(previous(x, selector=False), case.clean) - base)
            pdark.append(p)
            combo.append(ci)
            names_.append(case.photo)
        print(f"seed {seed}: {label} done", file=sys.stderr, flush=True)
    return {"features": np.array(feats, np.float32), "gains": np.array(gains, np.float32),
            "previous": np.array(prev, np.float32), "pdark": np.array(pdark, np.float32), "combo": np.array(combo),
            "hard": np.full(len(combo), hard), "photo": np.array(names_), "curves": np.array(list(CURVES))}


def _data(out: Path, seed: int, n: int, hard: bool = False, part: str = "train") -> dict[str, np.ndarray]:
    from ..io import atomic_write_bytes

    path = out / f"data_{part}_{'hard_' if hard else ''}seed{seed}_n{n}.npz"
    if path.exists():
        with np.load(path) as z:
            data = {k: z[k] for k in z.files}
        return data
    data = collect(seed, n, hard, part)
    import io

    buf = io.BytesIO()
    np.savez(buf, **data)
    atomic_write_bytes(path, buf.getvalue())
    return data


#: shares of the weight: darkened crops, crops not darkened that perception reads as dark (hard),
#: other crops not darkened.  An agent calls the tool when perception reads a photo dark, and
#: about a third of those photos were not darkened (perception's precision for dark is ~0.7).
SHARES = (0.6, 0.3, 0.1)


def _weights(combo: np.ndarray, hard: np.ndarray) -> np.ndarray:
    """Per crop weights summing to 1, by :data:`SHARES` (a group with no crops gives its share to
    the last group)."""
    dark = np.array([COMBOS[k][2] for k in COMBOS])[combo]
    groups = [dark, ~dark & hard, ~dark & ~hard]
    shares = list(SHARES)
    if not groups[1].any():
        shares = [shares[0], 0.0, shares[1] + shares[2]]
    w = np.zeros(len(combo))
    for g, share in zip(groups, shares):
        if g.any():
            w[g] = share / g.sum()
    return w / w.sum()


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, hidden: int, steps: int, seed: int = 0) -> dict[str, np.ndarray]:
    import torch

    torch.manual_seed(seed)
    mean, std = x.mean(0), x.std(0) + 1e-6
    xt = torch.from_numpy((x - mean) / std)
    yt, wt = torch.from_numpy(y), torch.from_numpy(w.astype(np.float32) * len(w))
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.ReLU(), torch.nn.Linear(hidden, y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        loss = (wt[:, None] * (net(xt) - yt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    return {"mean": mean.astype(np.float32), "std": std.astype(np.float32), "w1": sd["0.weight"], "b1": sd["0.bias"],
            "w2": sd["2.weight"], "b2": sd["2.bias"], "w3": sd["4.weight"], "b3": sd["4.bias"]}


def _gated(pred: np.ndarray, gains: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """The realised gain of the tool: where version 3 changed the crop (its darkening check passed,
    or it took the crop for underexposed), the curve other than ``keep`` (column 0) the selector
    predicts best; elsewhere nothing.  (Version 3's output differing from its input stands for the
    check passing: the crops' check decisions were not recorded.)"""
    p = np.array(pred, dtype=np.float64)
    p[:, 0] = -np.inf
    best = p.argmax(1)
    return np.where(previous != 0, gains[np.arange(len(gains)), best], 0.0)


def _stack(data: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([d[k] for d in data]) for k in ("features", "gains", "previous", "combo", "hard", "photo")}


def run(args: argparse.Namespace) -> int:
    from ..tools.classical.tone import ToneSelector

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    hard_seeds = [int(s) for s in str(args.hard_seeds).split(",") if s.strip()]
    if args.collect_only:
        for s in seeds:
            _data(out, s, args.n)
        for s in hard_seeds:
            _data(out, s, args.hard_n, hard=True)
        if args.val_seed >= 0:
            _data(out, args.val_seed, args.val_n, part="val")
        if args.hard_val_seed >= 0:
            _data(out, args.hard_val_seed, args.hard_val_n, hard=True, part="val")
        return 0
    parts = [_data(out, s, args.n) for s in seeds] + [_data(out, s, args.hard_n, hard=True) for s in hard_seeds]
    curves = [str(c) for c in parts[0]["curves"]]
    if curves[0] != "keep":
        raise SystemExit("the first curve must be 'keep'")
    train = _stack(parts)
    val = _stack([_data(out, args.val_seed, args.val_n, part="val")]
                 + ([_data(out, args.hard_val_seed, args.hard_val_n, hard=True, part="val")] if hard_seeds else []))
    members = [_fit(train["features"], np.maximum(train["gains"], FLOOR), _weights(train["combo"], train["hard"]),
                    args.hidden, args.steps, seed=k) for k in range(args.ensemble)]
    tensors = {k: (members[0][k] if k in ("mean", "std") else np.stack([m[k] for m in members])) for k in members[0]}
    selector = ToneSelector(tensors, curves)
    pred = selector.predict(val["features"])
    vw = _weights(val["combo"], val["hard"])
    realised = _gated(pred, val["gains"], val["previous"])
    rows = []
    for hard in (False, True):
        for ci, label in enumerate(COMBOS):
            sel = (val["combo"] == ci) & (val["hard"] == hard)
            if not sel.any():
                continue
            g = val["gains"][sel]
            rows.append({"combination": label + (", read dark" if hard else ""), "n": int(sel.sum()),
                         "previous": float(val["previous"][sel].mean()), "previous_worst": float(val["previous"][sel].min()),
                         "selector": float(realised[sel].mean()), "selector_worst": float(realised[sel].min()),
                         "oracle": float(_gated(g, g, val["previous"][sel]).mean())})
    command = "irpilot train tone " + " ".join(sys.argv[3:] if sys.argv[1:3] == ["train", "tone"] else sys.argv[1:])
    summary = {"command": command, "train_crops": int(len(train["combo"])), "val_crops": int(len(realised)),
               "shares": SHARES,
               "weighted_gain": {"previous": float(vw @ val["previous"]), "selector": float(vw @ realised),
                                 "oracle": float(vw @ _gated(val["gains"], val["gains"], val["previous"]))}, "rows": rows}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"{'combination':34s} {'n':>4s} {'version 3':>16s} {'version 4':>16s} {'best':>7s}")
    for r in rows:
        print(f"{r['combination']:34s} {r['n']:4d} {r['previous']:+7.2f} ({r['previous_worst']:+6.2f}) "
              f"{r['selector']:+7.2f} ({r['selector_worst']:+6.2f}) {r['oracle']:+7.2f}")
    print(f"weighted: version 3 {summary['weighted_gain']['previous']:+.3f}, version 4 {summary['weighted_gain']['selector']:+.3f}, "
          f"best curve after the check {summary['weighted_gain']['oracle']:+.3f}")
    if args.export:
        _save(tensors, curves, summary, args.export)
        print(f"wrote {args.export}")
    return 0


def _save(tensors: dict[str, np.ndarray], curves: list[str], summary: dict[str, Any], path: Path) -> None:
    from safetensors.numpy import save

    from ..io import atomic_write_bytes

    meta = {"curves": ",".join(curves), "command": summary["command"],
            "train_crops": str(summary["train_crops"])}
    atomic_write_bytes(path, save({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, metadata=meta))
