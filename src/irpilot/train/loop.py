"""What irpilot's time-budgeted network trainers share (``irpilot train tool``, ``irpilot train
dejpeg``): the cosine learning-rate schedule, the JSON-lines log, the resumable checkpoint
``OUT/last.pt`` and the export of ``OUT/best.safetensors``.

    log = JsonLog(out / "log.jsonl")
    step, spent, best = resume(out, model, opt) if args.resume else (0, 0.0, -math.inf)
    ...
    lr = cosine_lr(args.lr, spent / budget)
    checkpoint(out, model, opt, step=step, spent=spent, best=best)
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..io import atomic_torch_save

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["JsonLog", "checkpoint", "cosine_lr", "export_best", "resume"]


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
