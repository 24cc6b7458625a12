"""Build the ``explore`` policy's scheduling experience on training photos.

AgenticIR distils "experience" from exhaustive exploration on Group A: for every pair of
degradations, which restoration order works better.  This script does the same without an LLM:
for each Group-A pair and each training crop, both orders are run (each task with its best
tools in the agent's toolbox, the best result of each order kept) and scored by PSNR against the clean
crop; ``first_wins["a>b"]`` is the share of crops where undoing ``a`` first won.

Training photos only (T91, CSet14, LIVE1, classic5, scikit-image's bundled photos); never the
test sets.  Output: the package's ``assets/explore_experience.json``.

    irpilot train experience --crops 6 --size 128 --seed 0 --tools-per-task 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

from ..data import training_photo_paths
from ..degrade import PRESETS, degrade
from ..io import atomic_write_bytes, read_image
from ..policies.common import available_tools
from ..policies.oracle import reference_psnr
from ..pool import Pool
from ..vocab import DEGRADATION_TO_TASK

__all__ = ["EXPERIENCE_SETS", "DEFAULT_OUT", "training_crops", "best_of_order", "add_arguments", "run"]

#: The photo sets the shipped experience was built from.
EXPERIENCE_SETS: tuple[str, ...] = ("CSet14", "LIVE1", "T91")
#: Where the shipped experience lives.
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "assets" / "explore_experience.json"


def training_crops(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    paths = training_photo_paths(sets=EXPERIENCE_SETS)  # test-set duplicates removed
    crops = []
    for p in rng.permutation(len(paths)):
        img = read_image(paths[p])
        _, h, w = img.shape
        if h < size or w < size:
            continue
        y, x = int(rng.integers(h - size + 1)), int(rng.integers(w - size + 1))
        crops.append(img[:, y : y + size, x : x + size])
        if len(crops) == n:
            break
    return crops


def fast_tools(task: str, k: int) -> list[str]:
    """The task's ``k`` best tools of the agent's toolbox."""
    return available_tools(task)[:k]


def best_of_order(pool: Pool, img: np.ndarray, clean: np.ndarray, order: list[str], k: int) -> float:
    """Best PSNR over every tool choice for the degradations undone in ``order``."""
    frontier = [img]
    for d in order:
        tools = fast_tools(DEGRADATION_TO_TASK[d], k)
        nxt = []
        for x, t in itertools.product(frontier, tools):
            r = pool.run(t, x)
            if r.ok:
                nxt.append(r.image)
        frontier = nxt or frontier
    return max(reference_psnr(x, clean) for x in frontier)


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of ``irpilot train experience``."""
    ap.add_argument("--crops", type=int, default=6, help="training crops per pair")
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tools-per-task", type=int, default=2)
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output JSON (default: the package's assets)")


def run(args: argparse.Namespace) -> int:
    """``irpilot train experience``."""
    rng = np.random.default_rng(args.seed)
    crops = training_crops(args.crops, args.size, rng)
    pairs = [tuple(names) for _, names in PRESETS["agenticir_a"].combinations()]
    wins: dict[str, list[int]] = {}
    t0 = time.time()
    with Pool(backend="local", workers=2) as pool:
        for pi, (a, b) in enumerate(pairs):
            for ci, clean in enumerate(crops):
                degraded, _ = degrade(clean, [a, b], seed=args.seed * 1000 + pi * 100 + ci)
                ab = best_of_order(pool, degraded, clean, [a, b], args.tools_per_task)
                ba = best_of_order(pool, degraded, clean, [b, a], args.tools_per_task)
                wins.setdefault(f"{a}>{b}", []).append(int(ab > ba))
                wins.setdefault(f"{b}>{a}", []).append(int(ba > ab))
            print(f"{a}+{b}: undo {a} first wins {np.mean(wins[f'{a}>{b}']):.2f} ({time.time() - t0:.0f} s)", flush=True)
    result = {
        "first_wins": {k: float(np.mean(v)) for k, v in sorted(wins.items())},
        "crops_per_pair": len(crops),
        "crop_size": args.size,
        "seed": args.seed,
        "photos": list(EXPERIENCE_SETS),
        "command": "irpilot train experience "
        + f"--crops {args.crops} --size {args.size} --seed {args.seed} --tools-per-task {args.tools_per_task}",
    }
    atomic_write_bytes(args.out, json.dumps(result, indent=1).encode())
    print(f"wrote {args.out}")
    return 0
