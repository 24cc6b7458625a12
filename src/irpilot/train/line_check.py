"""Train the motion tools' line check (:mod:`irpilot.tools.classical.line_check`): the protocol's
one-sided line blur or camera shake, read from a blurred photo's spectrum.

Training photos only, split as the compact networks split them
(:func:`irpilot.train.compact.split_photos`: every 10th photo held out).  Each crop (192-320 px)
is blurred twice, once by the protocol's ``motion_blur`` (label 0) and once by the realistic
family's generated camera shake ``real_motion_blur`` (label 1), in one of the places the agent's
motion step meets it (:data:`CONTEXTS`): alone, or with its family's JPEG, noise or x1/4 and after
the agent's step for those (the JPEG network, a denoiser, the x4 network).  The measured shake
kernels of the data folder are not used.  Each case is kept as its anisotropy map
(:func:`irpilot.tools.classical.spectra.anisotropy_map`) and, for the held-out crops, the motion
tools' line misfit ratio (the check runs only where the line passes).  Cached per part and seed
in ``OUT/data_<part>_seed<S>_n<N>.npz``; ``--collect-only`` fills the cache (one process per
seed runs in parallel).

    irpilot train linecheck --collect-only --seeds 1 --val-seed -1 &
    irpilot train linecheck --collect-only --seeds 2 --val-seed -1 &
    irpilot train linecheck --collect-only --seeds "" &      # the held-out crops
    irpilot train linecheck --collect-only --seeds 3,4 --n 1500 --contexts alone:1 --val-seed -1; wait
    irpilot train linecheck --seeds 1,2 --extra "3:1500:alone:1;4:1500:alone:1" --epochs 30 --threads 2 \
        --export src/irpilot/assets/line_check.safetensors

The report gives, per context, the held-out accuracy and, where the line passes its own check,
how many crops of each family the check would decline at a few thresholds.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CONTEXTS", "add_arguments", "collect", "run"]

#: context -> (the protocol's model, the realistic one, share of the crops); a model is a
#: :func:`irpilot.train.compact.model_degrade` name (``>STEP``: after that agent step)
CONTEXTS: dict[str, tuple[str, str, float]] = {
    "alone": ("motion_blur", "real_motion_blur", 0.4),
    "jpeg": ("motion_blur+jpeg>dejpeg", "real_motion_blur+real_jpeg>dejpeg", 0.2),  # after the JPEG step
    "noise": ("motion_blur+noise>denoised", "real_motion_blur+real_noise>denoised", 0.2),  # after denoising
    "x4": ("motion_blur+low_resolution>upscaled", "real_motion_blur+real_low_resolution>upscaled", 0.2),  # after x4
    # rain or haze still on the photo (a policy may deblur before deraining or dehazing)
    "rain": ("rain+motion_blur", "real_rain+real_motion_blur", 0.0),
    "haze": ("haze+motion_blur", "real_haze+real_motion_blur", 0.0),
}

#: crop sides drawn for each case
SIZES = (192, 256, 320)

#: thresholds the report counts declines at
THRESHOLDS = (0.5, 0.8, 0.9, 0.95)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("runs/linecheck"), help="run folder (default: runs/linecheck)")
    p.add_argument("--seeds", default="1,2", help="training seeds (one cached data file each)")
    p.add_argument("--n", type=int, default=1000, help="training crops per seed (each gives one case per family)")
    p.add_argument("--val-seed", type=int, default=9, help="seed of the held-out crops (-1: none)")
    p.add_argument("--val-n", type=int, default=300, help="held-out crops")
    p.add_argument("--contexts", default="", metavar="NAME:SHARE,...",
                   help=f"shares of the contexts in the crops of --seeds (of {', '.join(CONTEXTS)}; default: "
                        + ", ".join(f"{k}:{v[2]}" for k, v in CONTEXTS.items()) + "), e.g. alone:1")
    p.add_argument("--extra", default="", metavar="SEED:N:CONTEXTS;...",
                   help="more cached crops to train on, made with other --contexts, e.g. '3:1500:alone:1'")
    p.add_argument("--val-extra", default="", metavar="SEED:N:CONTEXTS;...",
                   help="more held-out crops to report on, made with other --contexts, e.g. '10:200:rain:1,haze:1'")
    p.add_argument("--collect-only", action="store_true", help="collect (cache) the data of --seeds and --val-seed and stop")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--width", type=int, default=16, help="channels of the first convolution")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0, help="seed of the initialisation and the batches")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--export", type=Path, default=None, help="write the trained check here (safetensors)")


def parse_contexts(spec: str) -> dict[str, float]:
    """``NAME:SHARE,...`` -> shares of :data:`CONTEXTS` (empty: the defaults)."""
    if not spec.strip():
        return {k: v[2] for k, v in CONTEXTS.items()}
    out = {}
    for part in spec.split(","):
        name, _, share = part.partition(":")
        if name.strip() not in CONTEXTS or not share.strip():
            raise SystemExit(f"--contexts: {part!r} is not NAME:SHARE with NAME one of {', '.join(CONTEXTS)}")
        out[name.strip()] = float(share)
    if not sum(out.values()) > 0:
        raise SystemExit(f"--contexts: {spec!r} gives no context a positive share")
    return out


def collect(seed: int, n: int, part: str = "train", shares: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Anisotropy maps, labels (0: the protocol's line, 1: camera shake), context indices (into
    :data:`CONTEXTS`) and (held-out part only; NaN otherwise) the line misfit ratios of ``n``
    crops, two cases each; ``shares`` of the contexts (default: theirs)."""
    from ..imaging.convert import on_8bit_grid
    from ..tools.classical.deblur import estimate_motion_kernel
    from ..tools.classical.spectra import anisotropy_map
    from .compact import model_degrade, random_crop, split_photos

    train, val, _ = split_photos()
    photos = train if part == "train" else val
    rng = np.random.default_rng([seed, 0 if part == "train" else 1])
    names = list(CONTEXTS)
    given = shares or {k: v[2] for k, v in CONTEXTS.items()}
    weights = np.array([given.get(c, 0.0) for c in names])
    maps, labels, contexts, ratios = [], [], [], []
    for i in range(n):
        photo = photos[int(rng.integers(len(photos)))]
        clean = on_8bit_grid(random_crop(photo, int(rng.choice(SIZES)), rng))
        ci = int(rng.choice(len(names), p=weights / weights.sum()))
        for label, model in enumerate(CONTEXTS[names[ci]][:2]):
            x = model_degrade(model, clean, seed=int(rng.integers(2**31)), rng=rng)
            maps.append(anisotropy_map(x))
            labels.append(label)
            contexts.append(ci)
            if part == "train":
                ratios.append(np.nan)
            else:
                _, info = estimate_motion_kernel(x)
                ratios.append(info["score"] / max(info["sharp_score"], 1e-12))
        if (i + 1) % 100 == 0:
            print(f"{part} seed {seed}: {i + 1}/{n} crops", file=sys.stderr, flush=True)
    return {"maps": np.stack(maps).astype(np.float32), "labels": np.array(labels, np.int64),
            "contexts": np.array(contexts, np.int64), "ratios": np.array(ratios, np.float64)}


def _data(out: Path, seed: int, n: int, part: str = "train", contexts: str = "") -> dict[str, np.ndarray]:
    """The cached crops of ``part`` / ``seed`` / ``n`` (and ``contexts``), collected first if absent."""
    from .compact import save_shard

    tag = "_" + "_".join(f"{k}{v:g}" for k, v in parse_contexts(contexts).items()) if contexts.strip() else ""
    stem = f"data_{part}_seed{seed}_n{n}{tag}"
    path = out / f"{stem}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    data = collect(seed, n, part, parse_contexts(contexts))
    save_shard(out, stem, data)  # whole or absent
    return data


def _extra(spec: str) -> list[tuple[int, int, str]]:
    """``--extra``: ``SEED:N:CONTEXTS`` entries separated by ``;``."""
    out = []
    for part in spec.split(";"):
        if part.strip():
            fields = part.split(":", 2)
            if len(fields) != 3 or not fields[0].strip().isdigit() or not fields[1].strip().isdigit():
                raise SystemExit(f"--extra / --val-extra: {part!r} is not SEED:N:CONTEXTS, e.g. 3:1500:alone:1")
            out.append((int(fields[0]), int(fields[1]), fields[2]))
    return out


def _stack(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _train(data: dict[str, np.ndarray], val: dict[str, np.ndarray] | None, args: argparse.Namespace,
           log: Path) -> Any:
    import torch

    from ..tools.classical.line_check import build_line_check_net

    torch.manual_seed(args.seed)
    g = torch.Generator().manual_seed(args.seed)
    net = build_line_check_net(args.width)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    x, y = net.prepare(data["maps"]), torch.from_numpy(data["labels"]).float()
    start = time.perf_counter()
    with open(log, "w") as f:
        for epoch in range(args.epochs):
            net.train()
            perm = torch.randperm(len(x), generator=g)
            losses = []
            for b in range(0, len(x), 64):
                idx = perm[b : b + 64]
                xb = x[idx]
                # a flipped or transposed photo has a flipped or transposed spectrum
                flips = torch.rand(3, generator=g)
                if flips[0] < 0.5:
                    xb = xb.flip(-1)
                if flips[1] < 0.5:
                    xb = xb.flip(-2)
                if flips[2] < 0.5:
                    xb = xb.transpose(-1, -2)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xb), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
            sched.step()
            net.eval()
            row: dict[str, Any] = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - start, 1),
                                   "train_loss": round(float(np.mean(losses)), 4)}
            if val is not None:
                p = net.probability(val["maps"])
                row["val_accuracy"] = round(float(((p > 0.5) == val["labels"]).mean()), 4)
                row["val_loss"] = round(float(-np.mean(np.log(np.where(val["labels"] == 1, p, 1 - p) + 1e-7))), 4)
            f.write(json.dumps(row) + "\n")
            f.flush()
            print(json.dumps(row), file=sys.stderr, flush=True)
    return net


def report(p: np.ndarray, val: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Per context: held-out accuracy, and where the line passes (``MOTION_FIT_RATIO``) the
    cases of each family and how many the check declines at each of :data:`THRESHOLDS`."""
    from ..tools.classical.deblur import MOTION_FIT_RATIO

    rows = []
    for ci, name in enumerate(CONTEXTS):
        sel = val["contexts"] == ci
        if not sel.any():
            continue
        passes = sel & (val["ratios"] < MOTION_FIT_RATIO)
        row: dict[str, Any] = {"context": name, "cases": int(sel.sum()),
                               "accuracy": round(float(((p[sel] > 0.5) == val["labels"][sel]).mean()), 3)}
        for label, family in enumerate(("protocol", "shake")):
            m = passes & (val["labels"] == label)
            row[f"{family}_line_passes"] = int(m.sum())
            row[f"{family}_declined"] = {str(t): int((p[m] >= t).sum()) for t in THRESHOLDS}
            row[f"{family}_max" if label == 0 else f"{family}_median"] = (
                round(float(p[m].max() if label == 0 else np.median(p[m])), 3) if m.any() else None)
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    if args.collect_only:
        for s in seeds:
            _data(out, s, args.n, contexts=args.contexts)
        if args.val_seed >= 0:
            _data(out, args.val_seed, args.val_n, part="val")
        for s, n, c in _extra(args.val_extra):
            _data(out, s, n, part="val", contexts=c)
        return 0
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    train = _stack([_data(out, s, args.n, contexts=args.contexts) for s in seeds]
                   + [_data(out, int(s), n, contexts=c) for s, n, c in _extra(args.extra)])
    vals = ([_data(out, args.val_seed, args.val_n, part="val")] if args.val_seed >= 0 else []) + [
        _data(out, s, n, part="val", contexts=c) for s, n, c in _extra(args.val_extra)]
    val = _stack(vals) if vals else None
    net = _train(train, val, args, out / "train_log.jsonl")
    command = "irpilot train linecheck " + shlex.join(sys.argv[3:] if sys.argv[1:3] == ["train", "linecheck"] else sys.argv[1:])
    summary: dict[str, Any] = {"command": command, "train_cases": int(len(train["labels"]))}
    if val is not None:
        summary["val_cases"] = int(len(val["labels"]))
        summary["rows"] = report(net.probability(val["maps"]), val)
        print(f"{'context':28s} {'cases':>5s} {'acc':>6s}  line passes: protocol (max p), declined at "
              f"{'/'.join(map(str, THRESHOLDS))}; shake (median p), declined")
        for r in summary["rows"]:
            print(f"{r['context']:28s} {r['cases']:5d} {r['accuracy']:6.3f}  {r['protocol_line_passes']:3d} "
                  f"({r['protocol_max']}) {'/'.join(map(str, r['protocol_declined'].values()))}; "
                  f"{r['shake_line_passes']:3d} ({r['shake_median']}) {'/'.join(map(str, r['shake_declined'].values()))}")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    if args.export:
        from ..tools.networks._common import save_own_safetensors

        meta = {"width": str(args.width), "command": command, "train_cases": str(summary["train_cases"])}
        save_own_safetensors(net, args.export, meta, {"width"})
        print(f"wrote {args.export}")
    return 0
