"""Train the perception CNN: generate a synthetic crop set once, then train epochs on it.

Run as ``irpilot train perception --out runs/perception`` (see ``--help``).  The run
directory receives ``data.npz`` (the generated crops, reused by later runs), ``config.json``,
``train.log`` (one JSON line per epoch), ``last.pt`` (resumable: model, optimiser, epoch) and
``perceive_cnn.pt`` (the best epoch by validation loss, in the format
:meth:`irpilot.perceive.Perceiver.load` reads: state dict, names, architecture, inference
settings, the stacked JPEG-cue coefficients (:func:`fit_stacking`, run at the end of training)
and training metadata; loads with ``torch.load(weights_only=True)``).

Everything is seeded: the data set from ``seed``, the initialisation and batch order from
``seed + 1``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..imaging.photos import PERCEPTION_PHOTOS
from ..io import atomic_torch_save
from ..vocab import DEGRADATION_NAMES
from .perception_data import BOTH_FAMILIES, TRAIN_FOLDERS, Mix, build_dataset, load_sources, split_sources

#: ``--mix``: how training examples are drawn (:class:`~irpilot.train.perception_data.Mix`).
MIXES: dict[str, Mix] = {"protocol": Mix(), "both": BOTH_FAMILIES}

__all__ = ["TrainConfig", "add_arguments", "binary_auc", "class_metrics", "generate_data", "fit_stacking", "run", "train"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainConfig:
    """Every setting of a training run (written to ``config.json`` in the run directory)."""

    out: str = "runs/perception"
    data: str = ""  #: data set path (default ``<out>/data.npz``; generated if absent)
    folders: tuple[str, ...] = TRAIN_FOLDERS
    max_per_folder: int = 0  #: 0 = all photos (smaller for smoke tests)
    skimage: bool = True  #: also use scikit-image's bundled photos
    n_images: int = 5000  #: degraded training regions
    n_val_images: int = 600  #: degraded regions from held-out photos
    val_fraction: float = 0.12  #: share of photos held out for validation
    crops_per_image: int = 2
    crop: int = 96
    mix: str = "protocol"  #: ``protocol`` (the protocol's models only) or ``both`` (with the realistic family)
    seed: int = 0
    split_seed: int = 0  #: which photos are held out (keep it fixed when generating more data)
    extra_data: str = ""  #: comma-separated further data sets whose training crops are appended
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    severity_weight: float = 1.0
    threads: int = 1
    max_minutes: float = 0.0  #: stop after this long (0 = no limit); the best epoch is kept
    widths: tuple[int, ...] = (32, 48, 64, 96)
    embed_dim: int = 128
    head_only: bool = False  #: train only the layers after pooling, on features computed once (fast; needs --init)
    cues: bool = False  #: give the network the spectrum / gradient-orientation cues (:mod:`irpilot.perceive.cues`)
    calibrate: bool = False  #: fit per-degradation thresholds on whole held-out photos after training
    calibration_beta: float = 1.0  #: the F-beta each threshold maximises (beta > 1 favours recall)
    calibration_betas: str = ""  #: per-degradation betas overriding it, e.g. ``motion_blur=1.5``
    names: tuple[str, ...] = DEGRADATION_NAMES
    resume: bool = False
    init: str = ""  #: start from these weights (a perceive_cnn.pt) instead of a random initialisation

    @property
    def data_path(self) -> Path:
        return Path(self.data) if self.data else Path(self.out) / "data.npz"


# -- metrics ------------------------------------------------------------------------------
def binary_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); NaN when only
    one class is present."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels) > 0.5
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def class_metrics(
    probs: np.ndarray, labels: np.ndarray, names: Sequence[str], threshold: float = 0.5
) -> dict[str, dict[str, float]]:
    """Per-class accuracy, AUC, precision, recall (at ``threshold``) and positive count."""
    out: dict[str, dict[str, float]] = {}
    for k, name in enumerate(names):
        y = labels[:, k] > 0.5
        pred = probs[:, k] >= threshold
        tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
        out[name] = {
            "accuracy": float((pred == y).mean()) if len(y) else float("nan"),
            "auc": binary_auc(probs[:, k], labels[:, k]),
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "positives": int(y.sum()),
            "n": int(len(y)),
        }
    return out


# -- data ---------------------------------------------------------------------------------
def generate_data(cfg: TrainConfig) -> Path:
    """Build the train/validation crop set (split by photo) and save it to ``cfg.data_path``."""
    sources = load_sources(folders=cfg.folders, max_per_folder=cfg.max_per_folder or None,
                           skimage_photos=PERCEPTION_PHOTOS if cfg.skimage else ())
    train_src, val_src = split_sources(sources, cfg.val_fraction, cfg.split_seed)
    if not val_src:
        val_src = train_src[:1]
    if cfg.mix not in MIXES:
        raise ValueError(f"unknown mix {cfg.mix!r}; known: {', '.join(MIXES)}")
    mix = MIXES[cfg.mix]
    log.info("%d training photos, %d held out for validation", len(train_src), len(val_src))
    t0 = time.perf_counter()
    tr = build_dataset(train_src, cfg.n_images, cfg.seed, cfg.names, cfg.crop, cfg.crops_per_image, mix=mix)
    va = build_dataset(val_src, cfg.n_val_images, cfg.seed + 10_000, cfg.names, cfg.crop, cfg.crops_per_image,
                       mix=mix)
    path = cfg.data_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        train_crops=tr["crops"], train_labels=tr["labels"], train_severity=tr["severity"], train_group=tr["group"],
        val_crops=va["crops"], val_labels=va["labels"], val_severity=va["severity"], val_group=va["group"],
        names=np.array(list(cfg.names)),
        val_sources=np.array([s.name for s in val_src]),
        train_sources=np.array([s.name for s in train_src]),
    )
    tmp.replace(path)
    log.info("data set: %d train / %d val crops in %.0f s -> %s", len(tr["crops"]), len(va["crops"]),
             time.perf_counter() - t0, path)
    return path


# -- training -----------------------------------------------------------------------------
def _to_tensor(crops: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0)


def _evaluate(net: Any, crops: np.ndarray, labels: np.ndarray, severity: np.ndarray, group: np.ndarray,
              names: Sequence[str], batch: int = 256, cached: tuple[Any, Any] | None = None) -> dict[str, Any]:
    """Validation loss on crops and per-class metrics on images (logits averaged over the
    crops of each degraded image, as the perceiver does).  ``cached``: the crops' pooled
    features and cues (:func:`_pooled_features`), when only the head has changed."""
    import torch
    from torch.nn import functional as F

    net.eval()
    logits, sev = [], []
    with torch.inference_mode():
        for i in range(0, len(crops), batch):
            if cached is not None:
                lg, sv, _ = net.head(cached[0][i : i + batch], None if cached[1] is None else cached[1][i : i + batch])
            else:
                lg, sv, _ = net(_to_tensor(crops[i : i + batch]))
            logits.append(lg)
            sev.append(sv)
    lg = torch.cat(logits)
    sv = torch.cat(sev)
    y = torch.from_numpy(labels)
    t = torch.from_numpy(severity)
    bce = float(F.binary_cross_entropy_with_logits(lg, y))
    sev_mae = float(((sv - t).abs() * y).sum() / y.sum().clamp(min=1))
    groups = np.unique(group)
    lg_np = lg.numpy()
    img_logits = np.stack([lg_np[group == g].mean(0) for g in groups])
    img_labels = np.stack([labels[group == g][0] for g in groups])
    probs = 1.0 / (1.0 + np.exp(-img_logits))
    metrics = class_metrics(probs, img_labels, names)
    return {"bce": bce, "severity_mae": sev_mae, "classes": metrics,
            "mean_auc": float(np.nanmean([m["auc"] for m in metrics.values()])),
            "mean_accuracy": float(np.mean([m["accuracy"] for m in metrics.values()]))}


def _pooled_features(net: Any, crops: np.ndarray, batch: int = 256) -> tuple[Any, Any]:
    """(pooled convolutional features, crop cues or None) of every crop, in eval mode."""
    import torch

    from ..perceive.cues import crop_cues

    net.eval()
    pooled, cues = [], []
    with torch.inference_mode():
        for i in range(0, len(crops), batch):
            x = _to_tensor(crops[i : i + batch])
            pooled.append(net.pooled(x))
            if net.cues:
                cues.append(crop_cues(x))
    return torch.cat(pooled).clone(), (torch.cat(cues).clone() if cues else None)


def export_weights(net: Any, path: Path, cfg: TrainConfig, meta: dict[str, Any]) -> Path:
    """Write the inference checkpoint (weights_only-loadable) atomically."""

    ckpt = {
        "state_dict": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        "names": list(cfg.names),
        "arch": {"widths": list(cfg.widths), "embed_dim": int(cfg.embed_dim), "cues": bool(cfg.cues)},
        "inference": {"crop": int(cfg.crop), "n_crops": 5, "pad_small": True},
        "meta": meta,
    }
    return atomic_torch_save(ckpt, path)


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Train (generating the data set first if needed); returns a summary dict."""
    import torch
    from torch.nn import functional as F

    from ..perceive.model import PerceptionNet

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=1))
    if not cfg.data_path.is_file():
        generate_data(cfg)
    d = np.load(cfg.data_path)
    names = tuple(str(n) for n in d["names"])
    if names != tuple(cfg.names):
        raise ValueError(f"data set {cfg.data_path} has names {names}, config has {cfg.names}")
    tr_crops, tr_labels, tr_sev = d["train_crops"], d["train_labels"], d["train_severity"]
    va = (d["val_crops"], d["val_labels"], d["val_severity"], d["val_group"])
    for extra in filter(None, (x.strip() for x in cfg.extra_data.split(","))):
        e = np.load(extra)
        if tuple(str(n) for n in e["names"]) != names or set(e["val_sources"]) != set(d["val_sources"]):
            raise ValueError(f"{extra} has other names or another validation split than {cfg.data_path}")
        tr_crops = np.concatenate([tr_crops, e["train_crops"]])
        tr_labels = np.concatenate([tr_labels, e["train_labels"]])
        tr_sev = np.concatenate([tr_sev, e["train_severity"]])
    log.info("training on %d crops, validating on %d", len(tr_crops), len(va[0]))

    gen = torch.Generator().manual_seed(cfg.seed + 1)
    torch.manual_seed(cfg.seed + 1)  # layer initialisation draws from torch's default generator
    net = PerceptionNet(num_outputs=len(names), widths=cfg.widths, embed_dim=cfg.embed_dim, cues=cfg.cues)
    if cfg.init:
        init = torch.load(cfg.init, map_location="cpu", weights_only=True)
        missing, unexpected = net.load_state_dict(init["state_dict"] if "state_dict" in init else init, strict=False)
        if unexpected or any(not k.startswith("cue_") for k in missing):
            raise ValueError(f"{cfg.init} does not fit this architecture: missing {missing}, unexpected {unexpected}")
        log.info("initialised from %s%s", cfg.init, " (cue layers new)" if missing else "")
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(tr_crops) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    warm = max(1, total // 20)
    start_epoch, best, step, elapsed0 = 0, math.inf, 0, 0.0
    last = out / "last.pt"
    if cfg.resume and last.is_file():
        state = torch.load(str(last), map_location="cpu", weights_only=True)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        start_epoch, best = int(state["epoch"]) + 1, float(state["best"])
        step, elapsed0 = int(state["step"]), float(state["elapsed"])
        log.info("resumed from epoch %d (best val bce %.4f)", start_epoch, best)
    budget = 60.0 * cfg.max_minutes
    t_start = time.perf_counter()

    def progress() -> float:
        """Share of the schedule done: by steps, or by time when a budget is set (whichever
        is further), so a run cut short by its budget still ends with a small learning rate."""
        p = step / total
        if budget > 0:
            p = max(p, (elapsed0 + time.perf_counter() - t_start) / budget)
        return min(1.0, p)

    history: list[dict[str, Any]] = []
    stopped_early = False
    lr = cfg.lr
    cached: tuple[Any, Any] | None = None
    cached_val: tuple[Any, Any] | None = None
    if cfg.head_only:  # the convolutions stay as initialised: compute their pooled output once
        if not cfg.init:
            raise ValueError("head_only trains on the features of --init weights: give --init")
        cached = _pooled_features(net, tr_crops)
        cached_val = _pooled_features(net, va[0])
        for p in net.features.parameters():
            p.requires_grad_(False)
        log.info("pooled features of %d crops computed (%.0f s)", len(tr_crops), time.perf_counter() - t_start)
    for epoch in range(start_epoch, cfg.epochs):
        net.train()
        perm = torch.randperm(len(tr_crops), generator=gen).numpy()
        t0 = time.perf_counter()
        run_loss = run_bce = 0.0
        n_steps = 0
        for s in range(steps_per_epoch):
            done = progress()
            if done >= 1.0:
                stopped_early = epoch < cfg.epochs - 1 or s < steps_per_epoch - 1
                break
            # linear warm-up, then cosine decay to zero
            lr = cfg.lr * min(1.0, (step + 1) / warm) * 0.5 * (1.0 + math.cos(math.pi * done))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = np.sort(perm[s * cfg.batch_size : (s + 1) * cfg.batch_size])
            y = torch.from_numpy(tr_labels[idx])
            t = torch.from_numpy(tr_sev[idx])
            if cached is not None:
                logits, sev, _ = net.head(cached[0][idx], None if cached[1] is None else cached[1][idx])
            else:
                x = _to_tensor(tr_crops[idx])
                flip = torch.rand(len(idx), generator=gen) < 0.5  # horizontal flips keep rain near-vertical
                x[flip] = x[flip].flip(-1)
                logits, sev, _ = net(x)
            bce = F.binary_cross_entropy_with_logits(logits, y)
            sev_loss = (((sev - t) ** 2) * y).sum() / y.sum().clamp(min=1)
            loss = bce + cfg.severity_weight * sev_loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            n_steps += 1
            run_loss += loss.item()
            run_bce += bce.item()
        if n_steps == 0:
            break
        ev = _evaluate(net, *va, names, cached=cached_val)
        rec = {
            "epoch": epoch, "steps": n_steps, "train_loss": run_loss / n_steps, "train_bce": run_bce / n_steps,
            "val_bce": ev["bce"], "val_severity_mae": ev["severity_mae"], "val_mean_auc": ev["mean_auc"],
            "val_mean_accuracy": ev["mean_accuracy"],
            "val_auc": {k: round(v["auc"], 4) for k, v in ev["classes"].items()},
            "val_accuracy": {k: round(v["accuracy"], 4) for k, v in ev["classes"].items()},
            "epoch_seconds": time.perf_counter() - t0, "lr": lr,
        }
        history.append(rec)
        with open(out / "train.log", "a") as f:
            f.write(json.dumps(rec) + "\n")
        log.info("epoch %d: train %.4f val bce %.4f auc %.4f acc %.4f (%.0f s, lr %.2e)", epoch, rec["train_loss"],
                 rec["val_bce"], rec["val_mean_auc"], rec["val_mean_accuracy"], rec["epoch_seconds"], lr)
        if ev["bce"] < best:
            best = ev["bce"]
            meta = {"epoch": epoch, "val_bce": ev["bce"], "val_mean_auc": ev["mean_auc"],
                    "val_mean_accuracy": ev["mean_accuracy"], "seed": cfg.seed,
                    "train_crops": int(len(tr_crops)), "folders": list(cfg.folders),
                    "skimage": bool(cfg.skimage)}
            export_weights(net, out / "perceive_cnn.pt", cfg, meta)
        state = {"model": net.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                 "epoch": epoch, "best": best, "step": step,
                 "elapsed": elapsed0 + time.perf_counter() - t_start}
        atomic_torch_save(state, last)
        if stopped_early:
            log.info("time budget of %.1f min reached in epoch %d", cfg.max_minutes, epoch)
            break
    stacking = fit_stacking(out / "perceive_cnn.pt", cfg.data_path) if (out / "perceive_cnn.pt").is_file() else {}
    calibration: dict[str, Any] = {}
    if cfg.calibrate and (out / "perceive_cnn.pt").is_file():
        from .perception_calibrate import fit_offsets, parse_betas

        calibration = fit_offsets(out / "perceive_cnn.pt", cfg.data_path, beta=cfg.calibration_beta,
                                  data_dir=None, seed=cfg.seed, betas=parse_betas(cfg.calibration_betas))
    return {"best_val_bce": best, "history": history, "weights": str(out / "perceive_cnn.pt"), "stacking": stacking,
            "calibration": calibration, "stopped_early": stopped_early}


def fit_stacking(weights: str | Path, data: str | Path, names: Sequence[str] = ("jpeg",)) -> dict[str, Any]:
    """Fit ``logit = a * cnn_logit + b * cue + c`` per degradation in ``names`` (logistic
    regression, deterministic) on the *validation* crops of ``data`` (held-out training
    photos) and store the coefficients in the checkpoint ``weights`` under ``"stacking"``."""
    import torch
    from scipy.optimize import minimize

    from ..perceive import STACKING_CUES, Perceiver

    perceiver = Perceiver.load(weights, device="cpu", stacking={})
    d = np.load(data)
    crops = d["val_crops"]
    with torch.inference_mode():
        logits = np.concatenate([perceiver.net(_to_tensor(crops[i : i + 256]))[0].numpy()
                                 for i in range(0, len(crops), 256)]).astype(np.float64)
    floats = [np.ascontiguousarray(c.transpose(2, 0, 1), np.float32) / 255.0 for c in crops]
    stacking: dict[str, dict[str, float]] = {}
    report: dict[str, Any] = {}
    for name in names:
        k = perceiver.names.index(name)
        y = d["val_labels"][:, k].astype(np.float64)
        cue = np.array([STACKING_CUES[name](c) for c in floats])
        X = np.stack([logits[:, k], cue, np.ones(len(y))], axis=1)

        def nll(w: np.ndarray, X: np.ndarray = X, y: np.ndarray = y) -> float:
            z = X @ w
            return float(np.mean(np.logaddexp(0.0, z) - y * z) + 1e-4 * (w[:2] ** 2).sum())

        w = minimize(nll, np.array([1.0, 0.0, 0.0]), method="BFGS").x
        stacking[name] = {"cnn": float(w[0]), "cue": float(w[1]), "bias": float(w[2])}
        z = X @ w
        report[name] = {"coefficients": stacking[name], "val_crop_auc_cnn": binary_auc(logits[:, k], y),
                        "val_crop_auc_stacked": binary_auc(z, y),
                        "val_crop_accuracy_cnn": float(((logits[:, k] > 0) == (y > 0.5)).mean()),
                        "val_crop_accuracy_stacked": float(((z > 0) == (y > 0.5)).mean())}
    ckpt = torch.load(str(weights), map_location="cpu", weights_only=True)
    ckpt["stacking"] = stacking
    ckpt.setdefault("meta", {})["stacking_fit"] = report
    atomic_torch_save(ckpt, weights)
    log.info("stacking fit: %s", json.dumps(report))
    return report


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``irpilot train perception``: one per :class:`TrainConfig` field."""
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        if f.name in ("names", "widths", "folders"):
            p.add_argument(f"--{f.name.replace('_', '-')}", nargs="+", default=None,
                           type=int if f.name == "widths" else str)
            continue
        value = getattr(defaults, f.name)
        if isinstance(value, bool):
            p.add_argument(f"--{f.name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=value)
        else:
            p.add_argument(f"--{f.name.replace('_', '-')}", type=type(value), default=value)
    p.add_argument("--generate-only", action="store_true", help="build the data set and exit")
    p.add_argument("--stack-only", default="", metavar="WEIGHTS",
                   help="only fit the stacked hand-made cues of WEIGHTS on the validation crops of --data")
    p.add_argument("--calibrate-only", default="", metavar="WEIGHTS",
                   help="only fit the per-degradation thresholds of WEIGHTS on whole held-out photos "
                        "(those named by --data's validation split)")


def run(ns: argparse.Namespace) -> int:
    """``irpilot train perception``."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    args = {k: v for k, v in vars(ns).items() if k in fields}
    for key in ("names", "widths", "folders"):
        if args[key] is None:
            args.pop(key)
        else:
            args[key] = tuple(args[key])
    cfg = TrainConfig(**args)
    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True,
                        handlers=[logging.StreamHandler(), logging.FileHandler(Path(cfg.out) / "run.txt")])
    if ns.generate_only:
        generate_data(cfg)
        return 0
    if ns.stack_only:
        print(json.dumps(fit_stacking(ns.stack_only, cfg.data_path), indent=1))
        return 0
    if ns.calibrate_only:
        from .perception_calibrate import fit_offsets, parse_betas

        print(json.dumps(fit_offsets(ns.calibrate_only, cfg.data_path, beta=cfg.calibration_beta, seed=cfg.seed,
                                     betas=parse_betas(cfg.calibration_betas)), indent=1))
        return 0
    summary = train(cfg)
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=1))
    return 0
