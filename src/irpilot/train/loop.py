"""What irpilot's time-budgeted network trainers share (``irpilot train tool``, ``irpilot train
dejpeg``): the cosine learning-rate schedule, the JSON-lines log, the resumable checkpoint
``OUT/last.pt``, the export of ``OUT/best.safetensors``, and the loop that ties them together.

    log = JsonLog(out / "log.jsonl")
    step, spent, best = resume(out, model, opt) if args.resume else (0, 0.0, -math.inf)
    train_for_budget(out, model, opt, log, step=step, spent=spent, best=best, budget=spent + minutes * 60,
                     peak_lr=args.lr, train_step=one_batch, evaluate=validate, save_best=write_weights)
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io import atomic_torch_save

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["JsonLog", "charbonnier_step", "checkpoint", "cosine_lr", "export_best", "resume", "train_for_budget"]


def charbonnier_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: Any, y: Any) -> float:
    """One optimiser step of ``model`` on the batch ``x`` (numpy, the network's input) towards ``y``
    with the Charbonnier (smooth L1) loss, gradients clipped to norm 1 (one bad batch cannot throw the
    weights off); returns the loss."""
    import torch

    err = model(torch.from_numpy(x)) - torch.from_numpy(y)
    loss = torch.sqrt(err * err + 1e-6).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return float(loss.detach())


def cosine_lr(peak: float, frac: float) -> float:
    """Learning rate at ``frac`` (0-1) of the time budget: cosine decay from ``peak`` to 2 % of it."""
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))


class JsonLog:
    """Appends one JSON object per call to ``path`` (flushed at once) and prints it."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", encoding="utf-8")

    def __call__(self, **kv: Any) -> None:
        line = json.dumps(kv)
        self._file.write(line + "\n")
        self._file.flush()
        print(line, flush=True)

    def close(self) -> None:
        self._file.close()


def resume(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer) -> tuple[int, float, float]:
    """Load ``out/last.pt`` into ``model`` and ``opt`` (tensors only, no code runs) and return its
    ``(step, seconds spent, best validation score)``; ``(0, 0.0, -inf)`` when there is none."""
    import torch

    path = out / "last.pt"
    if not path.is_file():
        return 0, 0.0, -math.inf
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(blob["state_dict"])
    opt.load_state_dict(blob["optimizer"])
    return int(blob["step"]), float(blob["spent"]), float(blob["best"])


def checkpoint(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, *, step: int, spent: float,
               best: float) -> None:
    """Write ``out/last.pt`` atomically (what :func:`resume` reads)."""
    atomic_torch_save({"state_dict": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                       "spent": spent, "best": best}, out / "last.pt")


def export_best(out: Path, dest: Path, log: JsonLog) -> None:
    """Copy ``out/best.safetensors`` to ``dest`` (where a tool reads its weights) and log it."""
    shutil.copyfile(out / "best.safetensors", dest)
    log(event="export", path=str(dest))


def train_for_budget(
    out: Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    log: JsonLog,
    *,
    step: int,
    spent: float,
    best: float,
    budget: float,
    peak_lr: float,
    train_step: Callable[[], float],
    evaluate: Callable[[], tuple[float, dict[str, float]]],
    save_best: Callable[[int, float, dict[str, float]], None],
    eval_minutes: float = 4.0,
    max_steps: int = 0,
) -> tuple[int, float, float]:
    """Train until ``spent`` seconds reach ``budget`` (or ``max_steps`` more steps): before each
    ``train_step()`` (one batch; returns its loss) the learning rate follows :func:`cosine_lr`;
    every ``eval_minutes`` and at the end ``evaluate()`` returns ``(score, fields)``, a better
    score than ``best`` calls ``save_best(step, spent, fields)``, and ``OUT/last.pt`` and a log
    line are written.  Validation does not count against the budget.  Returns ``(step, spent, best)``."""
    first = step
    t_last = t_eval = time.time()
    losses: list[float] = []

    def finished() -> bool:
        return spent >= budget or bool(max_steps and step - first >= max_steps)

    while not finished():
        lr = cosine_lr(peak_lr, spent / budget)
        for g in opt.param_groups:
            g["lr"] = lr
        losses.append(float(train_step()))
        step += 1
        now = time.time()
        spent += now - t_last
        t_last = now
        if step - first == 20:
            log(event="speed", seconds_per_step=round((now - t_eval) / 20, 3))
        if now - t_eval > eval_minutes * 60 or finished():
            score, fields = evaluate()
            better = score > best
            if better:
                best = score
                save_best(step, spent, fields)
            checkpoint(out, model, opt, step=step, spent=spent, best=best)
            log(event="eval", step=step, minutes=round(spent / 60, 2), lr=round(lr, 7), loss=float(sum(losses) / len(losses)),
                best=better, **{k: round(v, 3) for k, v in fields.items()})
            losses = []
            t_eval = t_last = time.time()  # validation does not count against the budget
    return step, spent, best
