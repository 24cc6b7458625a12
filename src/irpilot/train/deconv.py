"""Train the refinement network of the camera-shake deblurring tool (``irpilot train deconv``).

``shake_deblur_pnp`` estimates a blur kernel and deconvolves with it; where the kernel is wrong
the result rings or ghosts, and where the blur is long it stays soft.  Its refinement network
(:func:`irpilot.tools.networks.compact.build_compact_net` with the ``deconv`` head) reads the
tool's input and its deconvolution side by side and returns a corrected deconvolution: it learns
where to trust the kernel and where to fall back towards the input.

Two stages, because the deconvolution is slow (6-8 s per 256 px crop on one CPU thread):

1. ``--make N``: ``N`` triples (shaken crop, the tool's deconvolution of it, clean crop) of
   256 px crops of the training photos (held-out photos with ``--photos val``), written in shards
   of 25 to ``--data``.  The crops are degraded by the realistic family's camera shake
   (``real_motion_blur``, generated trajectories, 70 % in linear light), alone or followed by
   sensor noise or JPEG, or by the protocol's line blur, at the default severities or (30 %) a
   random level; a few stay sharp.  Run several workers with different ``--seed``.
2. ``--out OUT --minutes M``: train on random 128 px crops (rotated and flipped together) of the
   training triples, validate on the held-out ones (whole 256 px crops), keep
   ``OUT/best.safetensors`` and ``--export`` it to ``src/irpilot/assets/compact_deconv.safetensors``.
   Validation runs the network as the tool does: only where the tool deconvolved.
3. ``--check WEIGHTS``: that validation of saved weights, printed.

    irpilot train deconv --make 400 --seed 1 --data runs/deconv_data
    irpilot train deconv --make 40 --seed 9 --photos val --data runs/deconv_data
    irpilot train deconv --data runs/deconv_data --out runs/deconv --minutes 40
    irpilot train deconv --data runs/deconv_data --check src/irpilot/assets/compact_deconv.safetensors

``--head deconv2`` (tried, not shipped): the triples also keep a second deconvolution with the same
kernel at the tool's ``LOW_FLOOR``, and the network reads it as well; ``--init`` starts it from the
shipped network, whose function it keeps until trained (BENCHMARKS.md, "Camera shake: a refinement
network that reads a second deconvolution").
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .compact import _psnr
from .loop import JsonLog, charbonnier_step, export_best, resume, train_for_budget

__all__ = ["MODELS", "add_arguments", "grow_inputs", "make_triples", "run", "validate"]

#: degradation models of the shaken crops and their shares (``+`` chains; "clean": left sharp)
MODELS: tuple[tuple[str, float], ...] = (
    ("real_motion_blur", 0.55),
    ("real_motion_blur+real_noise", 0.15),
    ("real_motion_blur+real_jpeg", 0.15),
    ("motion_blur", 0.1),
    ("clean", 0.05),
)
CROP = 256
SHARD = 25


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=Path("runs/deconv_data"), help="folder of the triples' shards")
    p.add_argument("--make", type=int, default=0, metavar="N", help="make N triples into --data (then stop)")
    p.add_argument("--photos", choices=("train", "val"), default="train",
                   help="with --make: crops of the training photos or of the held-out ones (validation)")
    p.add_argument("--out", type=Path, default=Path("runs/deconv"), help="training run folder")
    p.add_argument("--minutes", type=float, default=40.0, help="training time budget (validation excluded)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=128, help="training crop side (a multiple of 8)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak Adam learning rate (cosine decay)")
    p.add_argument("--widths", default="16,32,48,64", help="channels per U-Net level, full resolution first")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--eval-minutes", type=float, default=4.0, help="validate and checkpoint this often")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time budget only)")
    p.add_argument("--crop", type=int, default=CROP, help="with --make: side of the crops (the tool's kernel is 17 px from 256 px)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue OUT/last.pt with --minutes more")
    p.add_argument("--export", type=Path, default=None, help="copy the best weights here at the end")
    p.add_argument("--head", choices=("deconv", "deconv2"), default="deconv",
                   help="deconv: the network reads the deconvolution at the tool's noise floor (the shipped one); "
                   "deconv2: also a second one at LOW_FLOOR (tried, not shipped: BENCHMARKS.md); with --make, "
                   "deconv2 keeps that second deconvolution too (about 1.7x the time per triple)")
    p.add_argument("--init", type=Path, default=None, metavar="WEIGHTS",
                   help="start from these weights (same widths); a deconv network starting a deconv2 one reads "
                   "the second deconvolution through new input weights set to zero, so it starts as it was")
    p.add_argument("--check", type=Path, default=None, metavar="WEIGHTS",
                   help="only score these weights on the held-out triples as the tool runs them (then stop)")


def _draw_model(rng: np.random.Generator) -> str:
    shares = np.array([s for _, s in MODELS])
    return MODELS[int(rng.choice(len(MODELS), p=shares / shares.sum()))][0]


def make_triples(n: int, out: Path, seed: int, photos: str = "train", crop: int = CROP, second: bool = False) -> int:
    """Write ``n`` (shaken, deconvolved, clean) triples to ``out`` in shards of :data:`SHARD`
    (``{photos}_{seed}_{k}.npz``: ``x`` and ``c`` uint8, ``d`` (the deconvolution at the tool's
    noise floor) float16, each (k, 3, crop, crop), ``model`` the degradation of each; with
    ``second`` also ``low``, float16, the deconvolution at ``LOW_FLOOR``).  Returns the number written."""
    from ..degrade import degrade
    from ..degrade.base import LEVELS
    from ..imaging.convert import on_8bit_grid
    from ..tools import get_tool
    from ..tools.classical.blind_deblur import LOW_FLOOR
    from .compact import random_crop, save_shard, split_photos

    train, val, _ = split_photos()
    pool = train if photos == "train" else val
    area = np.array([p.shape[1] * p.shape[2] for p in pool], dtype=np.float64)
    rng = np.random.default_rng(seed)
    tool = get_tool("shake_deblur_pnp")
    out.mkdir(parents=True, exist_ok=True)
    xs: list[np.ndarray] = []
    ds: list[np.ndarray] = []
    lows: list[np.ndarray] = []
    cs: list[np.ndarray] = []
    names: list[str] = []
    done = 0
    t0 = time.perf_counter()
    while done < n:
        clean = on_8bit_grid(random_crop(pool[int(rng.choice(len(pool), p=area / area.sum()))], crop, rng))
        model = _draw_model(rng)
        if model == "clean":
            x = clean
        else:
            chain = model.split("+")
            levels = {chain[0]: LEVELS[int(rng.integers(len(LEVELS)))]} if rng.random() < 0.3 else None
            x, _ = degrade(clean, chain, seed=int(rng.integers(2**31)), levels=levels)
        # the deconvolution(s) the network corrects (not its own output): at the tool's noise floor
        # (and at LOW_FLOOR for the deconv2 head); where the tool declines, the input itself
        outs = tool.deconvolutions(x, (None, LOW_FLOOR) if second else (None,)) or [x, x]
        xs.append(np.round(x * 255).astype(np.uint8))
        ds.append(np.clip(outs[0], 0, 1).astype(np.float16))
        if second:
            lows.append(np.clip(outs[1], 0, 1).astype(np.float16))
        cs.append(np.round(clean * 255).astype(np.uint8))
        names.append(model)
        done += 1
        if len(xs) == SHARD or done == n:
            arrays = {"x": np.stack(xs), "d": np.stack(ds), "c": np.stack(cs), "model": np.array(names)}
            save_shard(out, f"{photos}_{seed}_{(done - 1) // SHARD}", {**arrays, **({"low": np.stack(lows)} if second else {})})
            print(json.dumps({"written": done, "of": n, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
            xs, ds, lows, cs, names = [], [], [], [], []
    return done


def _load(data: Path, photos: str, second: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray,
                                                                  np.ndarray]:
    files = sorted(data.glob(f"{photos}_*.npz"))
    if not files:
        raise SystemExit(f"no {photos} triples in {data}: make them with --make N (--photos {photos})")
    parts = [np.load(f) for f in files]
    if second and not all("low" in p for p in parts):
        raise SystemExit(f"some {photos} shards in {data} have no second deconvolution ('low'): make them with --head deconv2")
    x, d, c, model = (np.concatenate([p[k] for p in parts]) for k in ("x", "d", "c", "model"))
    return x, d, np.concatenate([p["low"] for p in parts]) if second else None, c, model


#: largest difference (0-1 scale) between a stored input and its deconvolution where the tool
#: declined (returned the input: the float16 storage of the deconvolution differs by less)
_DECLINED = 2e-3


def validate(model: Any, vx: np.ndarray, vd: np.ndarray, vl: np.ndarray | None, vc: np.ndarray,
             vm: np.ndarray) -> dict[str, float]:
    """``model`` on held-out triples as the tool runs it (:func:`irpilot.tools.classical.blind_deblur.
    refine_deconvolution`, only where the tool deconvolved): per degradation model the mean PSNR of
    the input, the deconvolution and the output (for sharp crops: of the output only); over the
    shaken ones the mean gains over the input, the shares made worse than the input (by more than
    0.05 dB), how many were deconvolved, and the least and largest change of a deconvolution's PSNR."""
    from ..tools.classical.blind_deblur import refine_deconvolution, refiner_inputs

    two = refiner_inputs(model) == 9
    if two and vl is None:
        raise ValueError("a deconv2 network needs the triples' second deconvolutions")
    acc: dict[str, list[tuple[float, float, float]]] = {}
    for i, (x8, d16, c8, name) in enumerate(zip(vx, vd, vc, vm)):
        x, d, clean = x8.astype(np.float32) / 255, d16.astype(np.float32), c8.astype(np.float32) / 255
        low = vl[i].astype(np.float32) if two and vl is not None else None
        out = d if float(np.abs(x - d).max()) <= _DECLINED else refine_deconvolution(model, x, d, low)
        acc.setdefault(str(name), []).append((_psnr(x, clean), _psnr(d, clean), _psnr(out, clean)))
    res: dict[str, float] = {}
    for name, vals in acc.items():
        a = np.array(vals)
        res[f"{name}_in"], res[f"{name}_deconv"], res[f"{name}_out"] = (float(v) for v in a.mean(axis=0))
    res.pop("clean_in", None)  # a sharp crop's own PSNR: what the tool and the network keep of it
    every = np.array([v for name, vals in acc.items() if name != "clean" for v in vals])
    change = every[:, 2] - every[:, 1]
    ran = np.abs(change) > 0
    res["gain_deconv"] = float((every[:, 1] - every[:, 0]).mean())
    res["gain_out"] = float((every[:, 2] - every[:, 0]).mean())
    res["worse_deconv"] = float((every[:, 1] < every[:, 0] - 0.05).mean())
    res["worse_out"] = float((every[:, 2] < every[:, 0] - 0.05).mean())
    res["refined"] = float(ran.sum())
    res["change_min"], res["change_max"] = (float(change[ran].min()), float(change[ran].max())) if ran.any() else (0.0, 0.0)
    return res


def _batch(x: np.ndarray, d: np.ndarray, low: np.ndarray | None, c: np.ndarray, rng: np.random.Generator, n: int,
           size: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random (input: shaken and deconvolved stacked, 6 channels, or 9 with the second
    deconvolution ``low``; target) crops (:func:`.compact.crop_stored`)."""
    from .compact import crop_stored

    parts = [(x, 1.0 / 255), (d, 1.0), *([(low, 1.0)] if low is not None else []), (c, 1.0 / 255)]
    stack = crop_stored(parts, rng, n, size)
    return np.ascontiguousarray(stack[:, :-3]), np.ascontiguousarray(stack[:, -3:])


def grow_inputs(model: Any, start: Any) -> None:
    """Copy ``start``'s weights into ``model`` (same widths).  Where ``model``'s first layer reads
    more channels (``deconv2``: a second deconvolution), their weights are zero, so ``model``
    computes exactly what ``start`` did until training teaches it to use them."""
    import torch

    state = start.state_dict()
    own = model.state_dict()
    for name, value in state.items():
        if own[name].shape != value.shape:
            if name != "enc.0.0.weight" or own[name].shape[1] < value.shape[1]:
                raise SystemExit(f"--init: {name} has shape {tuple(value.shape)}, the new network {tuple(own[name].shape)}")
            grown = torch.zeros_like(own[name])
            grown[:, : value.shape[1]] = value
            value = grown
        own[name] = value
    model.load_state_dict(own)


def run(args: argparse.Namespace) -> int:
    if args.make:
        make_triples(args.make, args.data, args.seed, args.photos, args.crop, second=args.head == "deconv2")
        return 0
    import torch

    from ..tools.networks.compact import build_compact_net, load_compact_net, save_compact_net

    torch.set_num_threads(args.threads)
    if args.check is not None:
        net, meta = load_compact_net(path=args.check)
        data = _load(args.data, "val", second=meta.get("head") == "deconv2")
        print(json.dumps({k: round(v, 3) for k, v in validate(net, *data).items()}))
        return 0

    widths = tuple(int(v) for v in str(args.widths).split(","))
    start = None
    if args.init is not None:  # checked before any triple is read
        if args.resume:
            raise SystemExit("--init starts a new run: use it without --resume")
        start, start_meta = load_compact_net(path=args.init)
        widths = tuple(int(v) for v in start_meta.get("widths", args.widths).split(","))
        if start_meta.get("head") not in ("deconv", args.head):
            raise SystemExit(f"--init {args.init}: a {start_meta.get('head')!r} network cannot start a {args.head!r} one")
    second = args.head == "deconv2"
    x, d, low, c, _ = _load(args.data, "train", second)
    if args.size % 2 ** (len(widths) - 1) or args.size > x.shape[-1]:
        raise SystemExit(f"--size must be a multiple of {2 ** (len(widths) - 1)} and at most {x.shape[-1]} (the triples' side)")
    vx, vd, vl, vc, vm = _load(args.data, "val", second)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    model = build_compact_net(widths, context=False, head=args.head)  # no per-image bias: tiles run alike
    if start is not None:
        grow_inputs(model, start)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, spent, best = resume(args.out, model, opt) if args.resume else (0, 0.0, -math.inf)
    rng = np.random.default_rng(args.seed + step)
    argv = sys.argv[1:]
    meta = {"task": "deconv", "widths": ",".join(map(str, widths)), "context": "0", "head": args.head,
            "params": sum(p.numel() for p in model.parameters()), "train_triples": len(x), "val_triples": len(vx),
            "models": ",".join(n for n, _ in MODELS), "command": "irpilot " + " ".join(argv)}
    record = JsonLog(args.out / "log.jsonl")
    record(event="start", step=step, spent=round(spent, 1), **meta)

    def train_step() -> float:
        return charbonnier_step(model, opt, *_batch(x, d, low, c, rng, args.batch, args.size))

    def evaluate() -> tuple[float, dict[str, float]]:
        model.eval()
        res = validate(model, vx, vd, vl, vc, vm)
        model.train()
        return res["gain_out"], res

    def save_best(step: int, spent: float, res: dict[str, float]) -> None:
        save_compact_net(model, args.out / "best.safetensors",
                         {**{k: str(v) for k, v in meta.items()}, "step": str(step), "train_minutes": f"{spent / 60:.1f}",
                          "val": json.dumps({k: round(v, 3) for k, v in res.items()})})

    train_for_budget(args.out, model, opt, record, step=step, spent=spent, best=best, budget=spent + args.minutes * 60,
                     peak_lr=args.lr, train_step=train_step, evaluate=evaluate, save_best=save_best,
                     eval_minutes=args.eval_minutes, max_steps=args.max_steps)
    if args.export is not None:
        export_best(args.out, args.export, record)
    record.close()
    return 0
