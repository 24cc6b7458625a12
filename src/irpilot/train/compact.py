"""Train irpilot's compact network of one task (``irpilot train tool TASK``) on the training photos.

Training photos only (:func:`irpilot.train.data.training_photos`: T91, CSet14, LIVE1 without its
Kodak photographs, classic5, scikit-image's photos); every 10th photo is held out for validation.
Random crops (rotated and flipped) are degraded by one of the task's degradation models (its
:class:`Recipe`: for ``desnow`` the realistic ``real_snow`` and the protocol-style ``snow``, half
each), at the model's default severities or, for 30 % of the crops, at a random level; a share of
the crops stays clean with itself as the target, so that the network leaves clean photos alone.
For ``super_resolution`` the crop is made x1/4 and the network sees it brought back by bicubic x4
(its tool's first step), with no clean crops and no other factor
(``--clean-share`` overrides the recipe's share; ``--select all`` also counts the clean crops when
picking the best weights).
The loss is the Charbonnier (smooth L1) distance to the clean crop.  Validation scores fixed
crops of the held-out photos, per degradation model, and the change the network makes to clean
crops.

Runs for ``--minutes``, logs JSON lines to ``OUT/log.jsonl``, keeps ``OUT/last.pt`` (resumable
with ``--resume``) and ``OUT/best.safetensors`` (best validation PSNR over the degraded crops);
``--export PATH`` copies the best weights to where the tool reads them
(``src/irpilot/assets/compact_<task>.safetensors``, :mod:`irpilot.tools.networks.compact`).
Another task is one more :data:`RECIPES` entry.

    irpilot train tool desnow --out runs/compact_desnow --minutes 30
    irpilot train tool desnow --minutes 10 --resume --export src/irpilot/assets/compact_desnow.safetensors

A model that ends with a slow agent step (``>dejpeg``: the JPEG network, about 1 s a 192 px crop on
one thread) is better made once and stored: ``--make N --data DIR`` writes N (degraded, clean)
pairs of ``--crop`` px (several processes with different ``--seed``; once with ``--photos val``
for the held-out photos), and ``--data DIR`` trains on random crops of them (rotated and flipped)
and validates on the held-out pairs, whole.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .loop import JsonLog, charbonnier_step, export_best, resume, train_for_budget

__all__ = ["Recipe", "RECIPES", "add_arguments", "random_crop", "run", "sample_batch", "split_photos"]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What one task's network is trained on: ``degradations`` (registered degradation names,
    each with its share of the degraded crops) and ``clean_share``, the share of crops left
    clean (target: the crop itself)."""

    task: str
    degradations: tuple[tuple[str, float], ...]
    clean_share: float = 0.1
    #: share of degraded crops whose severity level is drawn uniformly (else the model's default)
    level_share: float = 0.3
    #: the network's output head (:data:`irpilot.tools.networks.compact.HEADS`)
    head: str = "residual"
    #: share of darkened crops given light sources (:func:`light_sources`)
    highlights: float = 0.0
    #: super-resolution: the degraded crop is 1/scale of the clean one and the network sees it
    #: upscaled by bicubic interpolation (:func:`upscaled`), as its tool runs it
    scale: int = 1


RECIPES: dict[str, Recipe] = {
    "desnow": Recipe("desnow", (("real_snow", 0.5), ("snow", 0.5)), clean_share=0.1),
    "derain": Recipe("derain", (("real_rain", 0.5), ("rain", 0.5)), clean_share=0.1),
    "defocus_deblur": Recipe("defocus_deblur", (("real_defocus_blur", 0.5), ("defocus_blur", 0.5)), clean_share=0.05),
    "dehaze": Recipe("dehaze", (("real_haze", 0.5), ("haze", 0.5)), clean_share=0.1, head="haze"),
    "low_light": Recipe("low_light", (("real_dark", 0.5), ("dark", 0.5)), clean_share=0.1, head="exposure"),
    # x4 only (the tool's factor): no severity levels, no clean crops (a photo as taken is not x1/4)
    "super_resolution": Recipe("super_resolution", (("real_low_resolution", 0.5), ("low_resolution", 0.5)),
                               clean_share=0.0, level_share=0.0, scale=4),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("task", choices=sorted(RECIPES), help="the task whose network is trained")
    p.add_argument("--out", type=Path, default=None, help="run folder (default: runs/compact_TASK)")
    p.add_argument("--minutes", type=float, default=30.0, help="training time budget (validation excluded)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--size", type=int, default=128, help="crop side (a multiple of 8)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak Adam learning rate (cosine decay)")
    p.add_argument("--widths", default="16,32,48,64", help="channels per U-Net level, full resolution first")
    p.add_argument("--clean-share", type=float, default=None,
                   help="share of crops left clean (default: the task's recipe, e.g. 0.1 for desnow)")
    p.add_argument("--models", default=None, metavar="NAME:SHARE,...",
                   help="the degradation models trained on, with their shares, instead of the recipe's: a "
                   "degradation, several joined by '+', optionally followed by '>STEP', an agent step the crop then "
                   "goes through (denoised: one of the agent's denoisers; upscaled: the x4 network; dejpeg: the JPEG "
                   "network), e.g. real_haze:0.4,haze:0.4,real_haze+real_noise>denoised:0.2")
    p.add_argument("--highlights", type=float, default=None,
                   help="share of realistically darkened crops given light sources (default: none)")
    p.add_argument("--level-share", type=float, default=None,
                   help="share of degraded crops at a random severity level, mild to extreme (default: the recipe's 0.3)")
    p.add_argument("--no-context", action="store_true", help="no per-image context bias (ablation)")
    p.add_argument("--arch", choices=("unet", "aod"), default="unet",
                   help="irpilot's compact U-Net, or AOD-Net's architecture (1,761 parameters; dehaze) trained from scratch")
    p.add_argument("--head", choices=("residual", "haze", "exposure"), default=None,
                   help="the network's output: a residual, (dehaze) the inversion of the scattering model, or "
                   "(low light) a per-pixel gain with a colour-cast correction (default: the task's recipe)")
    p.add_argument("--refine", type=int, default=0,
                   help="(the haze head) radius of the guided filter that makes the transmission follow the "
                   "photo's edges, in training and at run time (0: none)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--eval-minutes", type=float, default=4.0, help="validate and checkpoint this often")
    p.add_argument("--val-crops", type=int, default=12, help="validation crops per degradation model")
    p.add_argument("--val-size", type=int, default=128, help="validation crop side (a multiple of 8)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time budget only)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue OUT/last.pt with --minutes more")
    p.add_argument("--init", type=Path, default=None,
                   help="start from these weights (a .safetensors of the same network, e.g. the packaged one) "
                   "instead of random ones; a fresh optimiser and learning-rate schedule")
    p.add_argument("--select", choices=("degraded", "all"), default="degraded",
                   help="which validation score picks best.safetensors: the mean output PSNR over the degraded "
                   "crops, or over all of them with the clean crops' as one more model (a network that must "
                   "also leave clean photos alone)")
    p.add_argument("--reset-best", action="store_true",
                   help="with --resume: forget the best validation score so far (a fine-tune with another recipe)")
    p.add_argument("--export", type=Path, default=None, help="copy the best weights here at the end")
    p.add_argument("--data", type=Path, default=None,
                   help="train on stored pairs of this folder (made by --make) instead of degrading crops on the "
                   "fly: for models whose agent step is slow (e.g. '>dejpeg', about 1 s a 192 px crop on one thread)")
    p.add_argument("--make", type=int, default=0, metavar="N",
                   help="write N (degraded, clean) pairs of the recipe into --data, then stop; run several with "
                   "different --seed, and once with --photos val for validation")
    p.add_argument("--photos", choices=("train", "val"), default="train",
                   help="with --make: crops of the training photos or of the held-out ones (validation)")
    p.add_argument("--crop", type=int, default=192, help="with --make: side of the stored crops")


def split_photos(every: int = 10) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """The training photos split into (trained on, held out, names of the held out): every
    ``every``-th photo by name is held out, never trained on (for validation and for ranking
    a task's tools without the test sets)."""
    from .data import training_photos

    photos = sorted(training_photos(), key=lambda t: t[0])
    if not photos:
        raise SystemExit("no training photos found (set IRPILOT_DATA_DIR)")
    held = set(range(0, len(photos), every))
    train = [img for i, (_, img) in enumerate(photos) if i not in held]
    val = [img for i, (_, img) in enumerate(photos) if i in held]
    return train, val, [name for i, (name, _) in enumerate(photos) if i in held]


def random_crop(img: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random (3, size, size) crop, rotated and flipped (reflect-padded if the photo is small)."""
    _, h, w = img.shape
    if h < size or w < size:
        img = np.pad(img, ((0, 0), (0, max(0, size - h)), (0, max(0, size - w))), mode="reflect")
        _, h, w = img.shape
    y0, x0 = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    crop = img[:, y0 : y0 + size, x0 : x0 + size]
    k = int(rng.integers(8))
    crop = np.rot90(crop, k % 4, axes=(1, 2))
    if k >= 4:
        crop = crop[:, :, ::-1]
    return np.ascontiguousarray(crop, dtype=np.float32)


#: the agent's steps a training model can end with (``MODEL>STEP``): the tools whose output the
#: network is given, as the agent would give it (a dehazing step after denoising a hazy, noisy photo;
#: a deraining step after the x4 step, ``rain+low_resolution>upscaled``, whose target is the clean crop)
AFTER_STEPS: dict[str, tuple[str, ...]] = {"denoised": ("dncnn_color_blind", "ffdnet_color"), "upscaled": ("sr_net_x4",),
                                          "dejpeg": ("jpeg_ycc_net",)}


def model_degrade(name: str, clean: np.ndarray, seed: int, levels: dict[str, str] | None = None,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """``clean`` degraded by the training model ``name``: a registered degradation, several joined
    by ``+`` (applied in that order, one seed), and optionally ``>STEP`` (:data:`AFTER_STEPS`): the
    result then goes through one of that step's tools (drawn with ``rng``; the first without)."""
    from ..degrade import degrade
    from ..tools import get_tool

    chain, _, step = name.partition(">")
    out, _ = degrade(clean, chain.split("+"), seed=seed, levels=levels)
    if step:
        tools = AFTER_STEPS[step]
        tool = tools[int(rng.integers(len(tools)))] if rng is not None else tools[0]
        out = get_tool(tool)(out)  # one shared instance per process: the network loads once
    return out


def parse_models(spec: str) -> tuple[tuple[str, float], ...]:
    """``--models``: ``NAME:SHARE`` pairs separated by commas (see :func:`model_degrade`); a
    ``NAME`` without its share has share 1."""
    from ..degrade import DEGRADATIONS, kind_of

    out = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, sep, share = part.rpartition(":")
        if not sep:
            name, share = part, "1"
        chain, _, step = name.partition(">")
        unknown = [d for d in chain.split("+") if d not in DEGRADATIONS]
        try:
            value = float(share)
        except ValueError:
            value = 0.0
        if not name or unknown or (step and step not in AFTER_STEPS) or not value > 0:
            raise SystemExit(f"--models: {part!r} is not NAME:SHARE with NAME a degradation, several joined by '+', "
                             f"optionally '>' and one of {', '.join(AFTER_STEPS)}, and SHARE a positive number")
        if step == "upscaled" and not any(kind_of(d) == "low_resolution" for d in chain.split("+")):
            # the x4 step would give a crop four times the clean one's size
            raise SystemExit(f"--models: {part!r} ends with '>upscaled' but makes no x1/4 crop: "
                             "add a low-resolution degradation, e.g. rain+low_resolution>upscaled")
        out.append((name, value))
    return tuple(out)


def _degrade(recipe: Recipe, clean: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """``clean`` degraded by one of the recipe's models (or left clean): (image, model name or "clean")."""
    from ..degrade.base import LEVELS

    if rng.random() < recipe.clean_share:
        return clean, "clean"
    names = [n for n, _ in recipe.degradations]
    shares = np.array([s for _, s in recipe.degradations], dtype=np.float64)
    name = names[int(rng.choice(len(names), p=shares / shares.sum()))]
    first = name.partition(">")[0].split("+")[0]  # a chain's random severity is its first degradation's
    levels = {first: LEVELS[int(rng.integers(len(LEVELS)))]} if rng.random() < recipe.level_share else None
    out = model_degrade(name, clean, int(rng.integers(2**31)), levels, rng)
    return upscaled(recipe, out, clean), name


def upscaled(recipe: Recipe, lq: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """``lq`` as the network sees it: for super-resolution upscaled x ``recipe.scale`` with
    bicubic interpolation (:func:`irpilot.tools.networks.dncnn.bicubic_upscale`, what the tool
    does first), cut to the size of ``like`` (the clean crop) when given; otherwise unchanged."""
    if recipe.scale == 1:
        return lq
    from ..tools.networks.dncnn import bicubic_upscale

    up = bicubic_upscale(lq, recipe.scale)
    return up if like is None else up[:, : like.shape[1], : like.shape[2]]


def light_sources(clean: np.ndarray, dark: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Lamps in a night photo: 1-4 glowing spots (core radius 1.5-8 px, warm to white) drawn into
    both the clean crop and its darkened copy at full brightness (a light source's radiance is far
    above the exposure that darkens the rest), so that saturated spots in a dark photo do not read as
    a photo exposed for its highlights."""
    _, h, w = clean.shape
    yy, xx = np.mgrid[0:h, 0:w]
    glow = np.zeros((h, w), dtype=np.float32)
    colour = np.zeros((3, h, w), dtype=np.float32)
    for _ in range(int(rng.integers(1, 5))):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1.5, 8.0)
        d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (r * r)
        g = np.clip(1.5 * np.exp(-0.5 * d2) + 0.35 * np.exp(-0.08 * d2), 0.0, 1.0).astype(np.float32)
        tint = np.array([1.0, rng.uniform(0.75, 1.0), rng.uniform(0.45, 1.0)], dtype=np.float32)
        new = g > glow
        glow = np.where(new, g, glow)
        colour = np.where(new[None], tint[:, None, None], colour)
    light = glow[None] * colour
    return np.maximum(clean, light), np.maximum(dark, light)


def sample_batch(recipe: Recipe, photos: list[np.ndarray], p: np.ndarray, rng: np.random.Generator, n: int,
                 size: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (degraded, clean) training pairs, each (n, 3, size, size) float32; photos drawn
    with probabilities ``p`` (by area)."""
    from ..imaging.convert import on_8bit_grid

    xs, ys = [], []
    for _ in range(n):
        clean = on_8bit_grid(random_crop(photos[int(rng.choice(len(photos), p=p))], size, rng))
        lq, name = _degrade(recipe, clean, rng)
        if recipe.highlights and name == "real_dark" and rng.random() < recipe.highlights:
            clean, lq = light_sources(clean, lq, rng)
        xs.append(lq)
        ys.append(clean)
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)


#: pairs per shard file of :func:`make_pairs`
SHARD = 25


def save_shard(out: Path, stem: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``out/STEM.npz`` through a temporary file renamed at the end, so that a
    shard is whole or absent (a run stopped while writing leaves no half file to train on)."""
    tmp = out / f".{stem}.tmp.npz"
    np.savez(tmp, **arrays)
    tmp.replace(out / f"{stem}.npz")


def make_pairs(recipe: Recipe, n: int, out: Path, seed: int, photos: str = "train", crop: int = 192) -> int:
    """Write ``n`` (degraded, clean) pairs of the recipe's models (and clean crops) to ``out`` in
    shards of :data:`SHARD`: ``{photos}_{seed}_{k}.npz`` with ``x`` (the network's input, float16:
    an agent step's output is not on the 8-bit grid), ``c`` (the clean crop, uint8), each (k, 3,
    crop, crop), and ``model`` (the model of each).  Crops of the training photos, or of the
    held-out ones with ``photos="val"``.  Returns the number written."""
    import time

    from ..imaging.convert import on_8bit_grid

    train, val, _ = split_photos()
    pool = train if photos == "train" else val
    area = np.array([p.shape[1] * p.shape[2] for p in pool], dtype=np.float64)
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    xs: list[np.ndarray] = []
    cs: list[np.ndarray] = []
    names: list[str] = []
    done, t0 = 0, time.perf_counter()
    while done < n:
        clean = on_8bit_grid(random_crop(pool[int(rng.choice(len(pool), p=area / area.sum()))], crop, rng))
        lq, name = _degrade(recipe, clean, rng)
        xs.append(np.clip(lq, 0, 1).astype(np.float16))
        cs.append(np.round(clean * 255).astype(np.uint8))
        names.append(name)
        done += 1
        if len(xs) == SHARD or done == n:
            save_shard(out, f"{photos}_{seed}_{(done - 1) // SHARD}",
                       {"x": np.stack(xs), "c": np.stack(cs), "model": np.array(names)})
            print(json.dumps({"written": done, "of": n, "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
            xs, cs, names = [], [], []
    return done


def load_pairs(data: Path, photos: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stored pairs of :func:`make_pairs`: inputs (n, 3, s, s) float16, clean crops uint8, models."""
    files = sorted(data.glob(f"{photos}_*.npz"))
    if not files:
        raise SystemExit(f"no {photos} pairs in {data}: make them with --make N --photos {photos}")
    parts = [np.load(f) for f in files]
    return tuple(np.concatenate([p[k] for p in parts]) for k in ("x", "c", "model"))  # type: ignore[return-value]


def crop_stored(parts: list[tuple[np.ndarray, float]], rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``n`` random ``size`` crops of stored samples: for each, one random sample of ``parts``
    (arrays (m, C, s, s), each with the factor that brings it to [0, 1]), all cropped at the same
    place and rotated and flipped alike, their channels stacked: (n, sum of C, size, size) float32."""
    side = parts[0][0].shape[-1]
    if size > side:
        raise SystemExit(f"--size {size} is larger than the stored crops ({side} px)")
    out = []
    for _ in range(n):
        i = int(rng.integers(len(parts[0][0])))
        y0, x0 = (int(v) for v in rng.integers(0, side - size + 1, size=2))
        stack = np.concatenate([arr[i].astype(np.float32) * np.float32(scale) for arr, scale in parts])
        stack = np.rot90(stack[:, y0 : y0 + size, x0 : x0 + size], (k := int(rng.integers(8))) % 4, axes=(1, 2))
        out.append(stack[:, :, ::-1] if k >= 4 else stack)
    return np.ascontiguousarray(np.stack(out))


def sample_stored(x: np.ndarray, c: np.ndarray, rng: np.random.Generator, n: int,
                  size: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training pairs from stored ones (:func:`crop_stored`): the input and its clean crop."""
    stack = crop_stored([(x, 1.0), (c, 1.0 / 255.0)], rng, n, size)
    return np.ascontiguousarray(stack[:, : x.shape[1]]), np.ascontiguousarray(stack[:, x.shape[1] :])


def _val_items(recipe: Recipe, val: list[np.ndarray], n: int, size: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Fixed (model name, clean, degraded) crops of the held-out photos: ``n`` per model, and
    ``n`` clean ones (name "clean")."""
    from ..imaging.convert import on_8bit_grid

    rng = np.random.default_rng(1234)
    out = []
    names = [n_ for n_, _ in recipe.degradations] + (["clean"] if recipe.clean_share > 0 else [])
    for name in names:
        for i in range(n):
            clean = on_8bit_grid(random_crop(val[i % len(val)], size, rng))
            lq = clean if name == "clean" else upscaled(recipe, model_degrade(name, clean, 7000 + i), clean)
            out.append((name, clean, lq))
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.clip(a, 0, 1).astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def _evaluate(model: Any, items: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Per model: mean PSNR of the input and of the output (for "clean": of the output against
    the untouched crop, i.e. how little the network changes it); ``score``: mean output PSNR over
    the degraded crops; ``score_all``: over the models and the clean crops."""
    import torch

    acc: dict[str, list[tuple[float, float]]] = {}
    model.eval()
    with torch.inference_mode():
        for name, clean, lq in items:
            out = model(torch.from_numpy(lq[None]))[0].numpy()
            acc.setdefault(name, []).append((_psnr(lq, clean), _psnr(out, clean)))
    model.train()
    res: dict[str, float] = {}
    for name, vals in acc.items():
        a = np.array(vals)
        if name != "clean":
            res[f"{name}_in"] = float(a[:, 0].mean())
        res[f"{name}_out"] = float(a[:, 1].mean())
    res["score"] = float(np.mean([v for k, v in res.items() if k.endswith("_out") and not k.startswith("clean")]))
    res["score_all"] = float(np.mean([v for k, v in res.items() if k.endswith("_out")]))
    return res


def run(args: argparse.Namespace) -> int:
    import torch

    from ..tools.networks.compact import build_net, save_compact_net

    recipe = RECIPES[args.task]
    if args.clean_share is not None:
        if not 0.0 <= args.clean_share < 1.0:
            raise SystemExit(f"--clean-share must be in [0, 1), got {args.clean_share}")
        recipe = dataclasses.replace(recipe, clean_share=float(args.clean_share))
    if args.head is not None:
        recipe = dataclasses.replace(recipe, head=args.head)
    if args.models is not None:
        recipe = dataclasses.replace(recipe, degradations=parse_models(args.models))
    if args.highlights is not None:
        recipe = dataclasses.replace(recipe, highlights=float(args.highlights))
    if args.level_share is not None:
        if not 0.0 <= args.level_share <= 1.0:
            raise SystemExit(f"--level-share must be in [0, 1], got {args.level_share}")
        recipe = dataclasses.replace(recipe, level_share=float(args.level_share))
    if recipe.scale > 1 and (recipe.clean_share > 0 or recipe.level_share > 0):
        # a photo as taken is not a x1/4 one, and other severity levels change the factor
        raise SystemExit(f"{recipe.task} trains at factor {recipe.scale} only: --clean-share and --level-share must be 0")
    if args.arch == "aod" and recipe.task != "dehaze":
        raise SystemExit("--arch aod is a dehazing network: use it with the dehaze task")
    widths = tuple(int(c) for c in str(args.widths).split(","))
    m = 2 ** (len(widths) - 1) if args.arch == "unet" else 1
    if args.size % m:
        raise SystemExit(f"--size must be a multiple of {m} (the network's downsampling), got {args.size}")
    start = None
    if args.init is not None:  # checked before any photo is read
        if args.resume:
            raise SystemExit("--init starts a new run: use it without --resume")
        from ..tools.networks.compact import load_compact_net

        start, start_meta = load_compact_net(path=args.init)
        if start_meta.get("widths") != ",".join(map(str, widths)) or start_meta.get("head", "residual") != recipe.head:
            raise SystemExit(f"--init {args.init}: widths {start_meta.get('widths')} and head "
                             f"{start_meta.get('head', 'residual')}, not this run's {','.join(map(str, widths))} "
                             f"and {recipe.head}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.make:
        if args.data is None:
            raise SystemExit("--make needs --data, the folder the pairs go to")
        if args.crop % m:
            raise SystemExit(f"--crop must be a multiple of {m} (the network validates on whole stored crops), got {args.crop}")
        make_pairs(recipe, args.make, args.data, args.seed, args.photos, args.crop)
        return 0
    out: Path = args.out or Path(f"runs/compact_{recipe.task}")
    out.mkdir(parents=True, exist_ok=True)
    train, val, val_names = split_photos()
    weights = np.array([p.shape[1] * p.shape[2] for p in train], dtype=np.float64)
    weights /= weights.sum()
    if args.data is not None:  # stored pairs: the held-out ones, whole, validate
        stored = load_pairs(args.data, "train")
        vx, vc, vm = load_pairs(args.data, "val")
        items = [(str(m), c.astype(np.float32) / 255.0, x.astype(np.float32)) for x, c, m in zip(vx, vc, vm)]
    else:
        items = _val_items(recipe, val, args.val_crops, args.val_size)
    try:
        model = build_net(args.arch, widths, context=not args.no_context, head=recipe.head, refine=args.refine)
    except ValueError as e:  # e.g. --refine without the haze head
        raise SystemExit(str(e)) from None
    if start is not None:
        model.load_state_dict(start.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    step, spent, best = resume(out, model, opt) if args.resume else (0, 0.0, -math.inf)
    if args.reset_best:
        best = -math.inf
    rng = np.random.default_rng(args.seed + step)
    budget = spent + args.minutes * 60.0
    n_params = sum(p.numel() for p in model.parameters())
    argv = sys.argv[1:]
    command = "irpilot " + " ".join(argv) if argv[:2] == ["train", "tool"] else "irpilot train tool " + " ".join(argv)
    meta = {"task": recipe.task, "arch": args.arch, "widths": ",".join(map(str, widths)), "context": "0" if args.no_context else "1",
            "head": recipe.head, "refine": args.refine, "params": n_params,
            "train_photos": len(train), "degradations": ",".join(n for n, _ in recipe.degradations),
            "clean_share": recipe.clean_share, "command": command}
    record = JsonLog(out / "log.jsonl")

    if args.data is not None:  # what the network trained on is what the pairs hold, whatever --models says now
        meta["data"] = f"{len(stored[0])} stored pairs of {stored[0].shape[-1]} px"
        meta["degradations"] = ",".join(sorted({str(v) for v in stored[2]}))
    record(event="start", step=step, spent=round(spent, 1), budget=budget, **meta, val_crops=len(items),
           val_photos=val_names)
    key = "score_all" if args.select == "all" else "score"

    def train_step() -> float:
        if args.data is not None:
            return charbonnier_step(model, opt, *sample_stored(stored[0], stored[1], rng, args.batch, args.size))
        return charbonnier_step(model, opt, *sample_batch(recipe, train, weights, rng, args.batch, args.size))

    def evaluate() -> tuple[float, dict[str, float]]:
        res = _evaluate(model, items)
        return res[key], res

    def save_best(step: int, spent: float, res: dict[str, float]) -> None:
        save_compact_net(model, out / "best.safetensors",
                         {**{k: str(v) for k, v in meta.items()}, "step": str(step), "train_minutes": f"{spent / 60:.1f}",
                          "val": json.dumps({k: round(v, 3) for k, v in res.items()})})

    train_for_budget(out, model, opt, record, step=step, spent=spent, best=best, budget=budget, peak_lr=args.lr,
                     train_step=train_step, evaluate=evaluate, save_best=save_best, eval_minutes=args.eval_minutes,
                     max_steps=args.max_steps)
    if args.export is not None:
        export_best(out, args.export, record)
    record.close()
    return 0
