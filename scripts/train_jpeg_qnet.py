"""Train irpilot's colour JPEG-artefact network (``jpeg_qnet``) on the training photos.

Training photos only (``irpilot.data.training_photo_paths``: T91, CSet14, LIVE1 without its
Kodak photographs, classic5); every 10th photo is held out for validation.  Random crops are
JPEG-compressed with OpenCV (the protocol's codec) at a random quality (70 % in the protocol's
range [10, 30), 30 % in [5, 60]); the network gets the true quality during training.
Validation scores fixed crops of the held-out photos degraded by the protocol's own ``jpeg``
(``irpilot.degrade``) with the quality *estimated* from the pixels, as the tool runs.

Runs for ``--minutes``, logs JSON lines to ``OUT/log.jsonl``, keeps ``OUT/last.pt`` (resumable
with ``--resume``) and ``OUT/best.pt`` (best validation PSNR); ``--export`` writes the best
weights where the tool reads them (``src/irpilot/assets/jpeg_qnet.pt``).

    python scripts/train_jpeg_qnet.py --out runs/jpeg_qnet --minutes 60
    python scripts/train_jpeg_qnet.py --out runs/jpeg_qnet --minutes 30 --resume
    python scripts/train_jpeg_qnet.py --out runs/jpeg_qnet --export-only --export src/irpilot/assets/jpeg_qnet.pt
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def load_photos(seed: int) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    from irpilot.data import training_photo_paths
    from irpilot.io import read_image, to_uint8

    paths = sorted(training_photo_paths())
    if not paths:
        raise SystemExit("no training photos found (set IRPILOT_DATA_DIR)")
    val_idx = set(range(0, len(paths), 10))
    train = [to_uint8(read_image(p)) for i, p in enumerate(paths) if i not in val_idx]
    val = [to_uint8(read_image(p)) for i, p in enumerate(paths) if i in val_idx]
    return train, val, [f"{p.parent.name}/{p.name}" for i, p in enumerate(paths) if i in val_idx]


def jpeg_u8(rgb: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


def sample_batch(photos: list[np.ndarray], weights: np.ndarray, rng: np.random.Generator, n: int, size: int):
    xs, ys, qs = [], [], []
    for _ in range(n):
        img = photos[int(rng.choice(len(photos), p=weights))]
        h, w = img.shape[:2]
        s = min(size, h, w) // 2 * 2
        y0, x0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        crop = img[y0 : y0 + s, x0 : x0 + s]
        k = int(rng.integers(8))
        crop = np.rot90(crop, k % 4)
        if k >= 4:
            crop = crop[:, ::-1]
        crop = np.ascontiguousarray(crop)
        if s < size:  # small photo: pad the clean crop, then compress (the network sees a full patch)
            crop = np.pad(crop, ((0, size - s), (0, size - s), (0, 0)), mode="reflect")
        q = int(rng.integers(10, 30)) if rng.random() < 0.7 else int(rng.integers(5, 61))
        xs.append(jpeg_u8(crop, q))
        ys.append(crop)
        qs.append(q)
    to = lambda a: np.stack(a).transpose(0, 3, 1, 2).astype(np.float32) / 255.0  # noqa: E731
    return to(xs), to(ys), np.array(qs, dtype=np.float32)


def val_set(val: list[np.ndarray], n: int, size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, int, int]]:
    """(clean, degraded, true quality, estimated quality) crops, the protocol's jpeg degradation."""
    from irpilot.degrade import degrade
    from irpilot.io import from_uint8
    from irpilot.tools.classical.dejpeg import estimate_jpeg_quality

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = val[i % len(val)]
        h, w = img.shape[:2]
        s = min(size, h, w) // 8 * 8
        y0, x0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        clean = from_uint8(np.ascontiguousarray(img[y0 : y0 + s, x0 : x0 + s]))
        lq, records = degrade(clean, ["jpeg"], seed=5000 + i)
        q_true = int(records[0].params["quality"])
        out.append((clean, lq, q_true, estimate_jpeg_quality(lq)[0]))
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(np.mean((a.astype(np.float64) - b) ** 2), 1e-12)))


def evaluate(model: Any, items: list[tuple[np.ndarray, np.ndarray, int, int]]) -> dict[str, float]:
    import torch

    p_in, p_est, p_true = [], [], []
    model.eval()
    with torch.inference_mode():
        for clean, lq, q_true, q_est in items:
            x = torch.from_numpy(lq[None])
            _, _, h, w = x.shape
            x = torch.nn.functional.pad(x, (0, w % 2, 0, h % 2), mode="replicate")
            for q, acc in ((q_est, p_est), (q_true, p_true)):
                y = model(x, torch.tensor([float(q)]))[0, :, :h, :w].clamp(0, 1).numpy()
                acc.append(psnr(y, clean))
            p_in.append(psnr(lq, clean))
    model.train()
    return {"psnr_in": float(np.mean(p_in)), "psnr_est_q": float(np.mean(p_est)), "psnr_true_q": float(np.mean(p_true)),
            "gain_est_q": float(np.mean(p_est) - np.mean(p_in)), "gain_true_q": float(np.mean(p_true) - np.mean(p_in))}


def save(path: Path, model: Any, meta: dict[str, Any], extra: dict[str, Any] | None = None) -> None:
    import torch

    blob = {"state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()}, "meta": meta, **(extra or {})}
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/jpeg_qnet"))
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-minutes", type=float, default=6.0, help="validate and checkpoint this often")
    ap.add_argument("--val-crops", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export", type=Path, help="copy the best weights here at the end")
    ap.add_argument("--export-only", action="store_true")
    args = ap.parse_args(argv)

    import torch

    from irpilot.tools.networks.jpeg_qnet import build_jpeg_qnet

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.export_only:
        if args.export is None:
            raise SystemExit("--export-only needs --export PATH")
        blob = torch.load(args.out / "best.pt", map_location="cpu", weights_only=True)
        torch.save({"state_dict": blob["state_dict"], "meta": blob["meta"]}, args.export)
        print(f"exported {args.out / 'best.pt'} -> {args.export}")
        return 0

    train, val, val_names = load_photos(args.seed)
    weights = np.array([p.shape[0] * p.shape[1] for p in train], dtype=np.float64)
    weights /= weights.sum()
    items = val_set(val, args.val_crops, 128, args.seed)
    model = build_jpeg_qnet(args.width, args.depth)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, spent, best = 0, 0.0, -math.inf
    rng = np.random.default_rng(args.seed)
    if args.resume and (args.out / "last.pt").is_file():
        blob = torch.load(args.out / "last.pt", map_location="cpu", weights_only=False)  # our own checkpoint
        model.load_state_dict(blob["state_dict"])
        opt.load_state_dict(blob["optimizer"])
        step, spent, best = int(blob["step"]), float(blob["spent"]), float(blob["best"])
        rng = np.random.default_rng(args.seed + step)
    budget = spent + args.minutes * 60.0
    meta = {"width": args.width, "depth": args.depth, "params": sum(p.numel() for p in model.parameters()),
            "train_photos": len(train), "val_photos": val_names, "command": "python scripts/train_jpeg_qnet.py "
            + " ".join(argv if argv is not None else sys.argv[1:])}
    log = open(args.out / "log.jsonl", "a", encoding="utf-8")

    def record(**kv: Any) -> None:
        log.write(json.dumps(kv) + "\n")
        log.flush()
        print(json.dumps(kv), flush=True)

    record(event="start", step=step, spent=spent, budget=budget, **{k: v for k, v in meta.items() if k != "val_photos"},
           val_crops=len(items), est_q_exact=float(np.mean([q == e for _, _, q, e in items])))
    t_last, t_eval, losses = time.time(), time.time(), []
    total_steps_guess = None
    while spent < budget:
        frac = spent / budget
        lr = args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, q = sample_batch(train, weights, rng, args.batch, args.size)
        out = model(torch.from_numpy(x), torch.from_numpy(q))
        loss = torch.sqrt((out - torch.from_numpy(y)) ** 2 + 1e-6).mean()  # Charbonnier
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        now = time.time()
        spent += now - t_last
        t_last = now
        if step == 20 and total_steps_guess is None:
            total_steps_guess = int(step * budget / max(spent, 1e-6))
            record(event="speed", seconds_per_step=spent / step, steps_expected=total_steps_guess)
        if now - t_eval > args.eval_minutes * 60 or spent >= budget:
            res = evaluate(model, items)
            t_eval = time.time()
            t_last = t_eval  # validation time does not count against the training budget
            better = res["psnr_est_q"] > best
            if better:
                best = res["psnr_est_q"]
                save(args.out / "best.pt", model, {**meta, "step": step, **res})
            save(args.out / "last.pt", model, meta,
                 {"optimizer": opt.state_dict(), "step": step, "spent": spent, "best": best})
            record(event="eval", step=step, minutes=round(spent / 60, 2), lr=lr, loss=float(np.mean(losses)),
                   best=better, **{k: round(v, 3) for k, v in res.items()})
            losses = []
    if args.export is not None:
        blob = torch.load(args.out / "best.pt", map_location="cpu", weights_only=True)
        torch.save({"state_dict": blob["state_dict"], "meta": blob["meta"]}, args.export)
        record(event="export", path=str(args.export), step=int(blob["meta"]["step"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
