"""A task's tools on held-out test crops, per degradation model of the task's compact-network recipe.

For ``--task desnow``: crops of the test photos (Kodak24, CBSD68, McMaster, never trained on;
``tools_bench.test_crops``) degraded by each model of ``irpilot.train.compact.RECIPES[task]``
(``real_snow`` and ``snow``, default severities, seed 1000 + i), and the clean crops themselves.
Every tool of the task restores them.  Reported per tool and model: mean PSNR / SSIM of the input
and of the output, the mean gain, the worst per-crop gain, how many crops got worse, seconds per
crop; for the clean crops the PSNR of the output against the untouched crop (how little the tool
changes a clean photo); and seconds per 512 x 512 image (one run after a warm-up).  For
``--task super_resolution`` the inputs are x1/4, scored after bicubic x4 as the protocol does, the
seconds are per 512 x 512 output, and there is no clean row.

    OMP_NUM_THREADS=1 python benchmarks/compact_bench.py --task desnow --crops 24 --size 256 \
        --png benchmarks/results/compact_desnow.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from tools_bench import test_crops, tool_with_arguments  # noqa: E402

from irpilot.quality.full_reference import psnr, ssim  # noqa: E402
from irpilot.tools import tool_names_for_task  # noqa: E402
from irpilot.train.compact import RECIPES, model_degrade, parse_models, split_photos, upscaled  # noqa: E402


def heldout_crops(n: int, size: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """``n`` crops (at most ``size`` a side, a multiple of 8) of the held-out training photos, round-robin."""
    _, held, names = split_photos()
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = held[i % len(held)]
        _, h, w = img.shape
        s = min(size, h, w) // 8 * 8
        y, x = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        out.append((f"{names[i % len(held)]}@{y},{x}", np.ascontiguousarray(img[:, y : y + s, x : x + s])))
    return out


class _RunWeights:
    """A compact network from a weights file, run like a tool (padded to its size multiple, tiled)."""

    def __init__(self, path: Path, recipe: Any) -> None:
        import torch

        from irpilot.tools.networks.compact import load_compact_net
        from irpilot.tools.tiling import run_tiled

        self.torch, self.run_tiled = torch, run_tiled
        self.net, meta = load_compact_net(path=path)
        self.m = 2 ** (len(meta["widths"].split(",")) - 1)
        self.recipe = recipe

    def _one(self, img: np.ndarray) -> np.ndarray:
        _, h, w = img.shape
        x = np.pad(img, ((0, 0), (0, -h % self.m), (0, -w % self.m)), mode="reflect")
        with self.torch.inference_mode():
            return self.net(self.torch.from_numpy(x[None]))[0].numpy()[:, :h, :w]

    def __call__(self, img: np.ndarray) -> np.ndarray:
        img = upscaled(self.recipe, img)  # super-resolution: the network restores the bicubic x4, as its tool runs it
        return np.clip(self.run_tiled(self._one, img, 512, 32), 0.0, 1.0)


def _panel(rows: list[list[np.ndarray]], path: Path) -> None:
    """Write a grid of (3, h, w) images (one row per crop) as a PNG."""
    from irpilot.io import write_image

    gap = 4
    lines = []
    for row in rows:
        h = row[0].shape[1]
        sep = np.ones((3, h, gap), dtype=np.float32)
        lines.append(np.concatenate([x for img in row for x in (img, sep)][:-1], axis=2))
        lines.append(np.ones((3, gap, lines[-1].shape[2]), dtype=np.float32))
    write_image(path, np.concatenate(lines[:-1], axis=1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", choices=sorted(RECIPES), default="desnow")
    ap.add_argument("--tools", nargs="*",
                    help="tools to compare, each NAME or NAME:key=value:... (default: every available tool of the task)")
    ap.add_argument("--crops", type=int, default=24)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0, help="crop positions")
    ap.add_argument("--photos", choices=("test", "heldout"), default="test",
                    help="test: Kodak24/CBSD68/McMaster; heldout: the training photos `irpilot train tool` holds out "
                    "(every 10th, never trained on), where a task's tool order may be chosen")
    ap.add_argument("--weights", type=Path, default=None,
                    help="also run these compact-network weights (e.g. runs/compact_TASK/best.safetensors) as "
                    "'compact_run', before they are exported or shipped")
    ap.add_argument("--models", default=None,
                    help="degradation models instead of the recipe's, comma-separated, as `irpilot train tool "
                    "--models` names them (without shares): e.g. real_haze,real_haze+real_noise>denoised (the "
                    "gain of a '>denoised' model is over the denoised crop the tool is given)")
    ap.add_argument("--out", type=Path, default=None, help="JSON results (default: benchmarks/results/compact_TASK.json)")
    ap.add_argument("--png", type=Path, default=None, help="before/after panel of the first crops of each model")
    ap.add_argument("--png-crops", type=int, default=2)
    args = ap.parse_args()

    recipe = RECIPES[args.task]
    tools = args.tools or tool_names_for_task(args.task)
    crops = test_crops(args.crops, args.size, seed=args.seed) if args.photos == "test" else heldout_crops(args.crops, args.size, args.seed)
    if args.models:
        models = [n for n, _ in parse_models(args.models)]
    else:
        models = [n for n, _ in recipe.degradations]
    items = {m: [(c, model_degrade(m, c, 1000 + i)) for i, (_, c) in enumerate(crops)] for m in models}
    if recipe.scale == 1:  # a photo as taken is not a x1/4 one: super-resolution has no clean row
        items["clean"] = [(c, c) for _, c in crops]
    res: dict[str, Any] = {"task": args.task, "photos": args.photos, "crops": [n for n, _ in crops], "size": args.size, "tools": {}}
    outputs: dict[str, dict[str, list[np.ndarray]]] = {}
    if args.weights is not None:
        tools = ["compact_run"] + list(tools)
    for name in tools:
        tool = _RunWeights(args.weights, recipe) if name == "compact_run" else tool_with_arguments(name)
        tool(np.ascontiguousarray(crops[0][1][:, :32, :32]))  # load weights outside the timings
        row: dict[str, Any] = {}
        outputs[name] = {}
        for model, pairs in items.items():
            pin, pout, sin, sout, secs, outs = [], [], [], [], [], []
            for clean, lq in pairs:
                t0 = time.perf_counter()
                out = tool(lq)
                secs.append(time.perf_counter() - t0)
                outs.append(out)
                pout.append(psnr(out, clean)), sout.append(ssim(out, clean))
                if model != "clean":  # x1/4 inputs are scored after bicubic x4, as the protocol does
                    ref = upscaled(recipe, lq, clean)
                    pin.append(psnr(ref, clean)), sin.append(ssim(ref, clean))
            outputs[name][model] = outs
            r: dict[str, Any] = {"psnr_out": float(np.mean(pout)), "ssim_out": float(np.mean(sout)),
                                 "seconds_per_crop": float(np.mean(secs))}
            if model == "clean":
                r["psnr_worst"] = float(np.min(pout))
            else:
                gain = np.array(pout) - np.array(pin)
                r.update(psnr_in=float(np.mean(pin)), ssim_in=float(np.mean(sin)), psnr_gain=float(gain.mean()),
                         ssim_gain=float(np.mean(sout) - np.mean(sin)), worst_gain=float(gain.min()),
                         worse=int((gain < 0).sum()), psnr_per_crop=[round(float(v), 3) for v in pout])
            row[model] = r
        c0 = items[models[0]][0][1]
        side = 512 // recipe.scale  # a 512 x 512 output
        big = np.ascontiguousarray(np.tile(c0, (1, -(-side // c0.shape[1]), -(-side // c0.shape[2])))[:, :side, :side])
        t0 = time.perf_counter()
        tool(big)
        row["seconds_512"] = time.perf_counter() - t0
        res["tools"][name] = row
        print(json.dumps({name: {m: {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()
                                     if k != "psnr_per_crop"} if isinstance(r, dict) else round(r, 3)
                                 for m, r in row.items()}}), flush=True)
    out = args.out or REPO / "benchmarks" / "results" / f"compact_{args.task}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    if args.png:
        rows = []
        for model in list(items):
            for i in range(min(args.png_crops, len(crops))):
                clean, lq = items[model][i]
                rows.append([upscaled(recipe, lq, clean)] + [outputs[t][model][i] for t in tools] + [clean])
        _panel(rows, args.png)
        print(f"panel ({', '.join(['input'] + tools + ['clean'])} per row): {args.png}")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
