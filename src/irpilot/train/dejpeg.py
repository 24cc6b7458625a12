"""Train the chroma network of the colour JPEG tool (``jpeg_ycc_net``) on the training photos.

Training photos only (:func:`irpilot.data.training_photo_paths`: T91, CSet14, LIVE1 without its
Kodak photographs, classic5); every 10th photo is held out for validation.  Random crops (rotated
and flipped) are JPEG-compressed by OpenCV, the protocol's codec, with its default 4:2:0 chroma
subsampling, at a random quality (75 % in the protocol's range 10-29, 25 % in 5-90); the network
gets the true quality.  The loss is the RGB squared error the chroma error causes (luma taken as
exact), i.e. the part of RGB PSNR the network is responsible for.  Validation scores fixed crops of
the held-out photos degraded by the protocol's own ``jpeg`` with the quality *estimated* from the
pixels, as the tool runs.

Runs for ``--minutes``, logs JSON lines to ``OUT/log.jsonl``, keeps ``OUT/last.pt`` (resumable
with ``--resume``) and ``OUT/best.safetensors`` (best validation PSNR); ``--export PATH`` copies
the best weights to where the tool reads them (``src/irpilot/assets/jpeg_chroma.safetensors``).

    irpilot train dejpeg --out runs/dejpeg --threads 2        # the shipped network: U-Net, 60 min
    irpilot train dejpeg --out runs/dejpeg --minutes 20 --resume --export src/irpilot/assets/jpeg_chroma.safetensors
    irpilot train dejpeg --out runs/dejpeg_more --init src/irpilot/assets/jpeg_chroma.safetensors --lr 3e-4 --seed 1
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .loop import JsonLog, export_best, resume, train_for_budget

__all__ = ["add_arguments", "run", "jpeg_rgb_u8"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("runs/dejpeg"), help="run folder (default: runs/dejpeg)")
    p.add_argument("--minutes", type=float, default=60.0, help="training time budget (validation excluded)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=128, help="crop side (a multiple of 16)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak Adam learning rate (cosine decay)")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--blocks", type=int, default=2, help="residual blocks (plain) or blocks at 1/8 size (unet)")
    p.add_argument("--arch", choices=("plain", "unet"), default="unet",
                   help="the chroma CNN: plain residual blocks at half size, or a three-level U-Net")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--eval-minutes", type=float, default=5.0, help="validate and checkpoint this often")
    p.add_argument("--val-crops", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue OUT/last.pt with --minutes more")
    p.add_argument("--init", type=Path, default=None,
                   help="start from these chroma weights (a .safetensors of this script, e.g. the shipped "
                        "src/irpilot/assets/jpeg_chroma.safetensors) with a fresh optimiser and schedule; "
                        "their width, blocks and arch replace the options'")
    p.add_argument("--export", type=Path, default=None, help="copy the best weights here at the end")


def jpeg_rgb_u8(rgb: np.ndarray, quality: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB through OpenCV JPEG at ``quality`` (its default 4:2:0 subsampling)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode a training crop")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


def _photos() -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    from ..data import training_photo_paths
    from ..io import read_image, to_uint8

    paths = sorted(training_photo_paths())
    if not paths:
        raise SystemExit("no training photos found (set IRPILOT_DATA_DIR)")
    held = set(range(0, len(paths), 10))
    train = [to_uint8(read_image(p)) for i, p in enumerate(paths) if i not in held]
    val = [to_uint8(read_image(p)) for i, p in enumerate(paths) if i in held]
    return train, val, [f"{p.parent.name}/{p.name}" for i, p in enumerate(paths) if i in held]


def _ycc(batch_hwc_u8: list[np.ndarray]) -> np.ndarray:
    from ..imaging.color import rgb_to_ycbcr

    return np.stack([rgb_to_ycbcr(a.transpose(2, 0, 1).astype(np.float32) / 255.0) for a in batch_hwc_u8])


def _sample(photos: list[np.ndarray], p: np.ndarray, rng: np.random.Generator, n: int, size: int):
    from ..tools.networks.jpeg_chroma import quant_scale

    xs, ys, ss = [], [], []
    for _ in range(n):
        img = photos[int(rng.choice(len(photos), p=p))]
        h, w = img.shape[:2]
        s = min(size, h, w)
        y0, x0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        crop = img[y0 : y0 + s, x0 : x0 + s]
        k = int(rng.integers(8))
        crop = np.rot90(crop, k % 4)
        if k >= 4:
            crop = crop[:, ::-1]
        crop = np.ascontiguousarray(crop)
        if s < size:  # a small photo: pad the clean crop, then compress
            crop = np.pad(crop, ((0, size - s), (0, size - s), (0, 0)), mode="reflect")
        q = int(rng.integers(10, 30)) if rng.random() < 0.75 else int(rng.integers(5, 91))
        xs.append(jpeg_rgb_u8(crop, q))
        ys.append(crop)
        ss.append(quant_scale(q))
    return _ycc(xs), _ycc(ys), np.array(ss, dtype=np.float32)


def _val_items(val: list[np.ndarray], n: int, size: int) -> list[tuple[np.ndarray, np.ndarray, int, int]]:
    """(clean YCbCr, degraded YCbCr, true quality, estimated quality): the protocol's ``jpeg``."""
    from ..degrade import degrade
    from ..imaging.color import rgb_to_ycbcr
    from ..tools.classical.dejpeg import estimate_jpeg_quality

    rng = np.random.default_rng(1234)
    out = []
    for i in range(n):
        img = val[i % len(val)]
        h, w = img.shape[:2]
        s = min(size, h, w) // 16 * 16
        y0, x0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        clean = np.ascontiguousarray(img[y0 : y0 + s, x0 : x0 + s].transpose(2, 0, 1)).astype(np.float32) / 255.0
        lq, records = degrade(clean, ["jpeg"], seed=5000 + i)
        out.append((rgb_to_ycbcr(clean), rgb_to_ycbcr(lq), int(records[0].params["quality"]), estimate_jpeg_quality(lq)[0]))
    return out


def _chroma_to_rgb_matrix() -> np.ndarray:
    """(3, 2): the RGB change per unit change of (Cb, Cr) in full-range BT.601."""
    from ..imaging.color import _FULL_INV

    return np.ascontiguousarray(_FULL_INV[:, 1:])


def _rgb_psnr(ycc: np.ndarray, clean_ycc: np.ndarray) -> float:
    from ..imaging.color import ycbcr_to_rgb

    a = np.clip(ycbcr_to_rgb(ycc), 0, 1).astype(np.float64)
    b = np.clip(ycbcr_to_rgb(clean_ycc), 0, 1).astype(np.float64)
    return float(10 * np.log10(1.0 / max(np.mean((a - b) ** 2), 1e-12)))


def _evaluate(model: Any, items: list[tuple[np.ndarray, np.ndarray, int, int]]) -> dict[str, float]:
    """Mean RGB PSNR of the decoded crops and of the crops with the network's chroma (decoded luma
    in both), with the estimated and the true quality."""
    import torch

    from ..tools.networks.jpeg_chroma import quant_scale

    p_in, p_est, p_true = [], [], []
    model.eval()
    with torch.inference_mode():
        for clean, lq, q_true, q_est in items:
            x = torch.from_numpy(lq[None])
            for q, acc in ((q_est, p_est), (q_true, p_true)):
                out = lq.copy()
                out[1:] = model(x, torch.tensor([quant_scale(q)]))[0].numpy()
                acc.append(_rgb_psnr(out, clean))
            p_in.append(_rgb_psnr(lq, clean))
    model.train()
    pin = float(np.mean(p_in))
    return {"psnr_in": pin, "psnr_est_q": float(np.mean(p_est)), "psnr_true_q": float(np.mean(p_true)),
            "gain_est_q": float(np.mean(p_est)) - pin, "gain_true_q": float(np.mean(p_true)) - pin}


def run(args: argparse.Namespace) -> int:
    import torch

    from ..tools.networks.jpeg_chroma import build_chroma_net, load_chroma_net, save_chroma_net

    if args.size % 16:
        raise SystemExit(f"--size must be a multiple of 16 (the 4:2:0 JPEG block grid), got {args.size}")
    if args.init is not None and args.resume:
        raise SystemExit("--init starts a new run; --resume continues OUT/last.pt: give one of them")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    train, val, val_names = _photos()
    weights = np.array([p.shape[0] * p.shape[1] for p in train], dtype=np.float64)
    weights /= weights.sum()
    items = _val_items(val, args.val_crops, 128)
    if args.init is not None:
        model, init_meta = load_chroma_net(args.init)
        model.train()
        args.width, args.blocks = int(init_meta["width"]), int(init_meta["blocks"])
        args.arch = init_meta.get("arch", "plain")
    else:
        model = build_chroma_net(args.width, args.blocks, arch=args.arch)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, spent, best = resume(out, model, opt) if args.resume else (0, 0.0, -math.inf)
    rng = np.random.default_rng(args.seed + step)
    budget = spent + args.minutes * 60.0
    n_params = sum(p.numel() for p in model.parameters())
    command = "irpilot train dejpeg " + " ".join(sys.argv[3:] if sys.argv[1:3] == ["train", "dejpeg"] else sys.argv[1:])
    meta = {"width": args.width, "blocks": args.blocks, "arch": args.arch, "params": n_params, "train_photos": len(train),
            "command": command, **({"init": str(args.init)} if args.init is not None else {})}
    m = torch.from_numpy(_chroma_to_rgb_matrix())
    record = JsonLog(out / "log.jsonl")

    record(event="start", step=step, spent=round(spent, 1), budget=budget, **meta, val_crops=len(items),
           val_photos=val_names, est_q_exact=float(np.mean([q == e for _, _, q, e in items])))

    def train_step() -> float:
        x, y, sc = _sample(train, weights, rng, args.batch, args.size)
        err = model(torch.from_numpy(x), torch.from_numpy(sc)) - torch.from_numpy(y)[:, 1:]
        loss = torch.einsum("rc,nchw->nrhw", m, err).pow(2).mean()  # RGB MSE caused by the chroma
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach())

    def evaluate() -> tuple[float, dict[str, float]]:
        res = _evaluate(model, items)
        return res["psnr_est_q"], res

    def save_best(step: int, spent: float, res: dict[str, float]) -> None:
        save_chroma_net(model, out / "best.safetensors",
                        {**{k: str(v) for k, v in meta.items()}, "step": str(step), "val_gain_db": f"{res['gain_est_q']:.3f}"})

    train_for_budget(out, model, opt, record, step=step, spent=spent, best=best, budget=budget, peak_lr=args.lr,
                     train_step=train_step, evaluate=evaluate, save_best=save_best, eval_minutes=args.eval_minutes)
    if args.export is not None:
        export_best(out, args.export, record)
    record.close()
    return 0
