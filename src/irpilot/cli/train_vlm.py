"""``irpilot train export|vlm-sft|vlm-grpo``: train a vision-language model as irpilot's agent.

1. ``export``: expert (and policy) trajectories as chat records with images and tool calls;
2. ``vlm-sft``: supervised fine-tuning (LoRA by default) on the export;
3. ``vlm-grpo``: GRPO whose rollouts call tools through the pool, scored by irpilot's reward.

The model is a transformers checkpoint (e.g. ``Qwen/Qwen2.5-VL-3B-Instruct``, a local folder,
or ``tiny`` for a random tiny Qwen2-VL built in code, for trying the pipeline on a CPU).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


def register(tsub: argparse._SubParsersAction) -> None:
    from ..pool import add_pool_arguments

    x = tsub.add_parser("export", help="expert / policy trajectories as VLM chat records (JSONL + PNG)")
    x.add_argument("--expert", default="", help="expert dataset folder(s) from `irpilot train expert`, comma-separated")
    x.add_argument("--traces", nargs="*", default=[], help="trace files (*.trace.json) or folders of them from `irpilot restore`")
    x.add_argument("--out", default="runs/vlm_data")
    x.add_argument("--perturb", type=int, default=2, help="perturbed variants per expert case (TIR-Agent; 0: none)")
    x.add_argument("--p-swap", type=float, default=0.3)
    x.add_argument("--p-sub", type=float, default=0.3)
    x.add_argument("--perturb-eps", type=float, default=0.5)
    x.add_argument("--max-side", type=int, default=448, help="longest side of the saved images (0: as stored)")
    x.add_argument("--tools", default=None, help="offered toolbox, e.g. 'denoise=a,b;dehaze=c' (default: the measured one)")
    x.add_argument("--no-perception", action="store_true", help="leave perception summaries out of the turns")
    x.add_argument("--seed", type=int, default=0)
    add_pool_arguments(x)
    x.set_defaults(func=run_export)

    def model_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", required=True, help="transformers checkpoint (hub name or folder), or 'tiny'")
        p.add_argument("--out", required=True, help="output folder (merged model + adapter + log)")
        p.add_argument("--lora-r", type=int, default=16, help="LoRA rank (0: full fine-tuning)")
        p.add_argument("--lr", type=float)
        p.add_argument("--max-pixels", type=int, default=448 * 448, help="image pixels the processor keeps")
        p.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"))
        p.add_argument("--minutes", type=float, default=None)
        p.add_argument("--seed", type=int, default=0)

    s = tsub.add_parser("vlm-sft", help="supervised fine-tuning of a VLM on an export")
    s.add_argument("--data", default="runs/vlm_data", help="export folder")
    model_args(s)
    s.add_argument("--epochs", type=int, default=2)
    s.add_argument("--batch-size", type=int, default=4)
    s.set_defaults(func=run_sft)

    g = tsub.add_parser("vlm-grpo", help="GRPO of a VLM with tool calls through the pool and irpilot's reward")
    model_args(g)
    g.add_argument("--strategy", choices=("static", "gdpo", "adaptive"), default="adaptive")
    g.add_argument("--updates", type=int, default=50)
    g.add_argument("--group-size", type=int, default=4)
    g.add_argument("--groups-per-update", type=int, default=2)
    g.add_argument("--max-steps", type=int, default=4)
    g.add_argument("--kl", type=float, default=0.04)
    g.add_argument("--call-cost", type=float, default=0.05)
    g.add_argument("--size", default="96,160", help="crop side range of the training cases")
    g.add_argument("--tools", default=None, help="offered toolbox (default: the measured one)")
    g.add_argument("--no-perception", action="store_true")
    add_pool_arguments(g)
    g.set_defaults(func=run_grpo)


def _toolbox(spec: str | None) -> dict[str, list[str]] | None:
    from ..policies.options import toolbox

    return toolbox(spec) if spec else None


def _load(args: argparse.Namespace, texts: list[str] | None = None):
    from ..train.vlm_model import load_vlm, tiny_vlm

    if args.model == "tiny":
        return tiny_vlm(texts or [], seed=args.seed)
    return load_vlm(args.model, max_pixels=args.max_pixels, dtype=args.dtype)


def _say(prefix: str):
    from .train_common import _progress

    return _progress(prefix)


def run_export(args: argparse.Namespace) -> int:
    from ..pool import pool_from_args
    from ..train.vlm_export import ExportConfig, export

    traces: list[Path] = []
    for t in args.traces:
        p = Path(t)
        traces += sorted(p.glob("*.trace.json")) if p.is_dir() else [p]
    cfg = ExportConfig(max_side=args.max_side, perturb=args.perturb, p_swap=args.p_swap, p_sub=args.p_sub,
                       perturb_eps=args.perturb_eps, seed=args.seed, perception=not args.no_perception,
                       tools=_toolbox(args.tools))
    expert = [e for e in args.expert.split(",") if e.strip()]
    with pool_from_args(args) as pool:
        summary = export(args.out, expert=expert, traces=traces, cfg=cfg, pool=pool, progress=_say("export"))
    print(json.dumps(summary, indent=1))
    return 0


def run_sft(args: argparse.Namespace) -> int:
    from ..train.vlm_export import load_steps
    from ..train.vlm_sft import VLMSFTConfig, train_vlm_sft

    texts = [json.dumps(d.prompt) for d in load_steps(args.data)[:200]] if args.model == "tiny" else None
    vlm = _load(args, texts)
    cfg = VLMSFTConfig(epochs=args.epochs, batch_size=args.batch_size, lora_r=args.lora_r, seed=args.seed,
                       time_budget=args.minutes * 60 if args.minutes else None)
    if args.lr:
        cfg = dataclasses.replace(cfg, lr=args.lr)
    res = train_vlm_sft(vlm, args.data, args.out, cfg, progress=_say("vlm-sft"))
    print(f"held-out accuracy {res['accuracy_before']:.3f} -> {res['accuracy_after']:.3f}; model in {args.out}")
    return 0


def run_grpo(args: argparse.Namespace) -> int:
    from ..pool import pool_from_args
    from ..train.data import make_case, training_photos
    from ..train.vlm_grpo import VLMGRPOConfig, train_vlm_grpo
    from .train_common import _size

    photos = training_photos()
    size = _size(args.size)

    def cases(rng, i):
        c = make_case(rng, photos, size=size, case_id=f"g{i}")
        return c.degraded, c.clean

    perceiver = None
    if not args.no_perception:
        from ..agent import _default_perceiver

        perceiver = _default_perceiver()
    cfg = VLMGRPOConfig(group_size=args.group_size, groups_per_update=args.groups_per_update, updates=args.updates,
                        kl_coef=args.kl, max_steps=args.max_steps, strategy=args.strategy, call_cost=args.call_cost,
                        lora_r=args.lora_r, seed=args.seed, time_budget=args.minutes * 60 if args.minutes else None)
    if args.lr:
        cfg = dataclasses.replace(cfg, lr=args.lr)
    vlm = _load(args)
    with pool_from_args(args) as pool:
        res = train_vlm_grpo(vlm, cases, pool, args.out, cfg, toolbox=_toolbox(args.tools), perceiver=perceiver,
                             progress=_say("vlm-grpo"))
    h = res["history"]
    if h:
        print(f"reward {h[0]['reward']:.3f} (update 1) -> {h[-1]['reward']:.3f} (update {h[-1]['update']}); model in {args.out}")
    return 0
