"""``irpilot train expert|sft|rl``: train the learned tool-calling policy.

1. ``expert``: tree search over (order, tool) sequences on degraded training crops, through the
   pool with prefix caching; writes ``expert.jsonl`` (tool-call format) + ``images/*.npz``.
2. ``sft``: supervised fine-tuning on the expert (state -> action) pairs, with perturbed targets.
3. ``rl``: GRPO from the SFT policy with the static / gdpo / adaptive reward.

Every stage resumes where it stopped (``expert`` skips finished crops, ``rl`` reloads its
state file) and has a time budget (``--minutes``) so it fits a small CPU machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .train_common import _progress, _size


def _parse_tools(spec: str | None) -> dict[str, list[str]] | None:
    """``"denoise=ffdnet_color,nlm;dehaze=dark_channel_prior"`` -> dict."""
    if not spec:
        return None
    out: dict[str, list[str]] = {}
    for part in spec.split(";"):
        if not part.strip():
            continue
        task, _, tools = part.partition("=")
        out[task.strip()] = [t.strip() for t in tools.split(",") if t.strip()]
    return out


def register(sub: argparse._SubParsersAction) -> None:
    from ..pool import add_pool_arguments
    from ..train import compact, deconv, dejpeg, experience, line_check, niqe, perception, probe, tone

    p = sub.add_parser("train", help="train irpilot's learned parts: perception, NIQE, explore's experience, "
                                     "the learned policy (expert search, SFT, GRPO)")
    tsub = p.add_subparsers(dest="stage", metavar="STAGE")

    for name, module, text in (
        ("perception", perception, "the degradation perception CNN on synthetic crops of training photos"),
        ("niqe", niqe, "NIQE's pristine model on training photos"),
        ("experience", experience, "explore's pairwise order experience on training crops"),
        ("probe", probe, "measure every tool on single-degradation crops (the learned policy's action list)"),
        ("dejpeg", dejpeg, "the colour JPEG tool's chroma network (jpeg_ycc_net) on JPEG crops of training photos"),
        ("tone", tone, "the low-light tool's tone-curve selector (hsv_value_inverse) on darkened and other training crops"),
        ("deconv", deconv, "the camera-shake deblurring tool's refinement network (shake_deblur_pnp) on shaken crops of training photos"),
        ("linecheck", line_check, "the motion tools' line check: the protocol's line blur or camera shake, from the spectrum"),
        ("tool", compact, "irpilot's compact network of a task (e.g. desnow_net) on degraded crops of training photos"),
    ):
        sp = tsub.add_parser(name, help=text, description=(module.__doc__ or "").split("\n\n")[0])
        module.add_arguments(sp)
        sp.set_defaults(func=module.run)

    g = tsub.add_parser("grow", help="add tools to a trained policy, or put one in another's place, without retraining it",
                        description="Add tools to a trained policy (each of a task it has): every trained weight is "
                        "kept, each new tool takes its task's first tool's output row, with its logit moved by "
                        "--offset (negative: the policy decides as before until fine-tuned; positive: the new tool "
                        "takes that tool's place); --replace puts a tool in another's place with every weight "
                        "kept (the same decisions, the other tool). For a tool measured better than its task's "
                        "first tool; fine-tuning with `irpilot train sft --init ... --add-tools` is the trained "
                        "alternative.")
    g.add_argument("--init", required=True, help="the trained policy (.pt, or a shipped policy's name)")
    g.add_argument("--add-tools", default="", metavar="TOOLS", help="comma-separated, e.g. dehaze_net,low_light_net")
    g.add_argument("--replace", default="", metavar="OLD=NEW,...",
                   help="tools that take another's place: the same decisions, the new tool called where the old one "
                   "was (its output row and history input), e.g. dncnn3_sr_x4=sr_net_x4")
    g.add_argument("--offset", type=float, default=-1.0, help="logit offset of the new tools (default -1)")
    g.add_argument("--out", required=True, help="the grown policy (.pt; its .json meta beside it)")
    g.set_defaults(func=run_grow)

    e = tsub.add_parser("expert", help="expert trajectories by tree search on training crops")
    e.add_argument("--out", default="runs/expert", help="dataset folder (default: runs/expert)")
    e.add_argument("-n", "--cases", type=int, default=300, help="number of crops (default: 300)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--beam", type=int, default=10, help="nodes kept per depth (0: full tree)")
    e.add_argument("--eps", type=float, default=0.5, help="near-best margin in score units (~dB)")
    e.add_argument("--size", default="96,144", help="crop side range in pixels (default: 96,144)")
    e.add_argument("--tools", default=None, help="candidates, e.g. 'denoise=ffdnet_color,nlm;dehaze=aod_net'")
    e.add_argument("--minutes", type=float, default=None, help="stop after this many minutes (resumable)")
    e.add_argument(
        "--counts",
        default=None,
        help="weights of 1, 2, 3, ... degradations per crop, e.g. '0,0.6,0.4' for pairs and triples only",
    )
    e.add_argument("--realistic", type=float, default=0.0, metavar="P",
                   help="share of crops degraded with the realistic family (camera shake, lens defocus, sensor noise, "
                   "...; irpilot.degrade.real_*) instead of the protocol's recipe, e.g. 0.5 (default 0)")
    e.add_argument("--only-tasks", default=None, metavar="TASKS",
                   help="search only the cases that need one of these tasks (comma-separated, e.g. "
                   "'motion_deblur,super_resolution'); the others are drawn and skipped, so with an earlier run's "
                   "--seed and settings the same cases are searched again with today's tools, and `train sft` lets "
                   "these records replace the earlier ones")
    e.add_argument("--on-policy", default=None, metavar="POLICY",
                   help="on-policy labels: restore each case with this policy (e.g. 'learned' or "
                   "'learned:weights=PATH') and search on from every state its chain passes through; one record "
                   "per state, from which `train sft` learns the decisions after that state")
    add_pool_arguments(e)
    e.set_defaults(func=run_expert)

    s = tsub.add_parser("sft", help="supervised fine-tuning on expert data")
    s.add_argument("--expert", default="runs/expert", help="expert dataset folder(s), comma-separated; a case searched again in a later "
                   "folder (train expert --only-tasks) replaces its earlier record")
    s.add_argument("--out", default="runs/sft/policy_sft.pt", help="output weights (.pt; .json meta beside)")
    s.add_argument("--epochs", type=int, default=40)
    s.add_argument("--lr", type=float, default=2e-3)
    s.add_argument("--no-perturb", action="store_true", help="ablation: train on the best sequences only")
    s.add_argument("--p-swap", type=float, default=0.3)
    s.add_argument("--p-sub", type=float, default=0.3)
    s.add_argument("--perturb-eps", type=float, default=0.5)
    s.add_argument("--perception", action="store_true", help="feed the perception model's probabilities")
    s.add_argument(
        "--no-input-perception",
        action="store_true",
        help="with --perception: see only the current image's perception, not the input's (ablation)",
    )
    s.add_argument("--dropout", type=float, default=0.0, help="dropout in the policy head (default: 0)")
    s.add_argument("--init", default=None,
                   help="fine-tune this policy (.pt) instead of a new network (its actions, encoder and architecture "
                   "are kept; --perception and --dropout are then ignored)")
    s.add_argument("--add-tools", default="", metavar="TOOLS",
                   help="with --init: add these tools (comma-separated, each of a task the policy has) to its actions "
                   "before fine-tuning, e.g. shake_deblur_pnp,jpeg_ycc_net")
    s.add_argument("--minutes", type=float, default=None)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=run_sft)

    r = tsub.add_parser("rl", help="GRPO from an SFT policy")
    r.add_argument("--init", default="runs/sft/policy_sft.pt", help="starting policy (.pt)")
    r.add_argument("--out", default="runs/rl/policy_rl.pt")
    r.add_argument("--strategy", choices=("static", "gdpo", "adaptive"), default="adaptive")
    r.add_argument("--updates", type=int, default=60)
    r.add_argument("--group-size", type=int, default=8)
    r.add_argument("--groups-per-update", type=int, default=2)
    r.add_argument("--lr", type=float, default=3e-4)
    r.add_argument("--kl", type=float, default=0.05, help="KL coefficient to the SFT policy")
    r.add_argument("--entropy", type=float, default=0.01)
    r.add_argument("--call-cost", type=float, default=0.05)
    r.add_argument("--time-cost", type=float, default=0.0,
                   help="reward cost per second of tool execution per megapixel (e.g. 0.002; default 0: time is free)")
    r.add_argument("--size", default="72,104", help="crop side range of non-low-resolution cases")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--minutes", type=float, default=None)
    r.add_argument("--no-resume", action="store_true")
    r.add_argument("--lag", choices=("relative", "level", "absolute", "none"), default="relative",
                   help="the adaptive reward's lag rule (irpilot.train.reward; default: relative; "
                        "none: only the agreement with the full-reference metrics moves the weights)")
    r.add_argument("--norm", choices=("group", "scale"), default=None,
                   help="the adaptive reward's normalisation: z-scores within the group (GDPO, default) "
                        "or the static sum's unit scales (adaptive only)")
    r.add_argument("--counts", default=None, help="weights of 1, 2, 3, ... degradations per crop, as for expert")
    r.add_argument("--realistic", type=float, default=0.0, metavar="P",
                   help="share of crops degraded with the realistic family (camera shake, lens defocus, sensor noise, "
                   "...; irpilot.degrade.real_*) instead of the protocol's recipe, e.g. 0.5 (default 0)")
    r.add_argument("--no-finish-agenda", action="store_true",
                   help="let rollouts stop before every degradation perceived in the input is treated")
    add_pool_arguments(r)
    r.set_defaults(func=run_rl)
    x = tsub.add_parser("explore-check", help="GRPO-style rollouts without updates: exploration stagnation of a policy")
    x.add_argument("policies", nargs="+", help="policy .pt files")
    x.add_argument("--groups", type=int, default=10)
    x.add_argument("--group-size", type=int, default=8)
    x.add_argument("--seed", type=int, default=4242)
    add_pool_arguments(x)
    x.set_defaults(func=run_explore_check)
    from . import train_vlm

    train_vlm.register(tsub)  # export, vlm-sft, vlm-grpo
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])


def _counts(s: str | None) -> tuple[float, ...] | None:
    if not s:
        return None
    from ..errors import ConfigError

    try:
        w = tuple(float(x) for x in s.split(","))
    except ValueError:
        raise ConfigError(f"--counts takes comma-separated weights, got {s!r}") from None
    if any(x < 0 for x in w) or sum(w) <= 0 or len(w) > 8:
        raise ConfigError(f"--counts needs 1-8 non-negative weights with a positive sum, got {s!r}")
    return w


def _task_list(s: str | None) -> tuple[str, ...] | None:
    if not s:
        return None
    from ..errors import ConfigError
    from ..vocab import TASKS

    tasks = tuple(t.strip() for t in s.split(",") if t.strip())
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise ConfigError(f"--only-tasks takes task names ({', '.join(TASKS)}), got {s!r}")
    return tasks


def run_expert(args: argparse.Namespace) -> int:
    from ..pool import pool_from_args
    from ..train.expert import run_expert as _run

    only_tasks = _task_list(args.only_tasks)  # before any tool or pool starts
    policy = None
    if args.on_policy:
        from ..errors import ConfigError
        from ..policies.base import StepPolicy, make_policy

        policy = make_policy(args.on_policy)
        if not isinstance(policy, StepPolicy) or policy.needs_reference:
            raise ConfigError(f"--on-policy takes a step policy that runs without the clean image (e.g. 'learned'), "
                              f"got {args.on_policy!r}")
    pool = pool_from_args(args, workers=args.workers or 2)
    path = _run(
        args.out,
        args.cases,
        pool=pool,
        candidates=_parse_tools(args.tools),
        seed=args.seed,
        beam=args.beam or None,
        eps=args.eps,
        size=_size(args.size),
        progress=_progress("expert"),
        time_budget=args.minutes * 60 if args.minutes else None,
        counts=_counts(args.counts),
        realistic_p=args.realistic,
        only_tasks=only_tasks,
        policy=policy,
    )
    print(pool.stats_table())
    print(f"expert data: {path}")
    return 0


def run_sft(args: argparse.Namespace) -> int:
    from ..train.perturb import PerturbConfig
    from ..train.sft import SFTConfig, train_sft

    pc = PerturbConfig(0.0, 0.0, args.perturb_eps) if args.no_perturb else PerturbConfig(args.p_swap, args.p_sub, args.perturb_eps)
    cfg = SFTConfig(
        epochs=args.epochs,
        lr=args.lr,
        seed=args.seed,
        perturb=pc,
        dropout=args.dropout,
        time_budget=args.minutes * 60 if args.minutes else None,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    encoder = perceiver = None
    if args.perception and not args.init:  # a fine-tuned policy keeps its own encoder
        from ..perceive import load_default_perceiver
        from ..policies.learned.actions import default_action_space
        from ..policies.learned.network import StateEncoder

        perceiver = load_default_perceiver()
        if perceiver is None:
            print("irpilot: no perception model available; training without it", file=sys.stderr)
        else:
            from ..vocab import DEGRADATION_NAMES

            encoder = StateEncoder(
                default_action_space(),
                perception_labels=list(DEGRADATION_NAMES),
                input_perception=not args.no_input_perception,
            )
    if args.add_tools and not args.init:
        from ..errors import ConfigError

        raise ConfigError("--add-tools grows a trained policy: give it with --init")
    res = train_sft([p for p in args.expert.split(",") if p], out, cfg, encoder=encoder, perceiver=perceiver, progress=_progress("sft"),
                    log_path=out.with_suffix(".log.jsonl"), init=args.init,
                    add_tools=[t.strip() for t in args.add_tools.split(",") if t.strip()])
    print({k: v for k, v in res["info"].items() if k.startswith("val_")})
    print(f"policy: {out}")
    return 0


def run_grow(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..policies.learned.checkpoint import grow_policy, load_policy, replace_tools, save_policy
    from ..policies.learned.policy import resolve_weights
    from ..tools import TOOLS

    init = resolve_weights(args.init)
    net, space, encoder, meta = load_policy(init)
    tools = [t.strip() for t in args.add_tools.split(",") if t.strip()]
    pairs: list[tuple[str, str]] = []
    for item in (x.strip() for x in args.replace.split(",") if x.strip()):
        old, sep, new = (x.strip() for x in item.partition("="))
        if not (sep and old and new):
            raise ConfigError(f"grow: --replace takes OLD=NEW pairs, got {item!r}")
        pairs.append((old, new))
    if not tools and not pairs:
        raise ConfigError("grow: give --add-tools, --replace or both")
    width = int(meta["net"]["width"])
    grown: dict[str, object] = {"init": init.name}
    if pairs:
        try:
            space, encoder = replace_tools(space, encoder, pairs)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        grown["replaced"] = dict(pairs)
    if tools:
        net, space, encoder = grow_policy(net, space, encoder, [(t, TOOLS.get(t).card.task) for t in tools],
                                          width=width, offset=args.offset)
        grown.update(tools=tools, offset=args.offset)
    if "grown" in meta.get("info", {}):  # the init was itself grown: keep that record too
        grown["earlier"] = meta["info"]["grown"]
    info = {**meta.get("info", {}), "grown": grown}
    out = save_policy(args.out, net, space, encoder, width=width, info=info)
    print(f"policy: {out} ({space.n} tools: {', '.join(space.tools)})")
    return 0


def run_rl(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..pool import pool_from_args
    from ..train.reward import RewardConfig
    from ..train.rl import RLConfig, train_rl

    try:  # a contradicting --norm is an error before anything loads
        RewardConfig(strategy=args.strategy, norm=args.norm)
    except ValueError as exc:
        raise ConfigError(f"--norm {args.norm}: {exc}") from None
    cfg = RLConfig(
        group_size=args.group_size,
        groups_per_update=args.groups_per_update,
        updates=args.updates,
        lr=args.lr,
        kl_coef=args.kl,
        entropy_coef=args.entropy,
        call_cost=args.call_cost,
        time_cost=args.time_cost,
        strategy=args.strategy,
        seed=args.seed,
        case_size=_size(args.size),
        time_budget=args.minutes * 60 if args.minutes else None,
        finish_agenda=not args.no_finish_agenda,
        reward_lag=args.lag,
        reward_norm=args.norm,
        counts=_counts(args.counts),
        realistic_p=args.realistic,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pool = pool_from_args(args, workers=args.workers or 2)
    train_rl(args.init, out, cfg, pool=pool, progress=_progress(f"rl-{args.strategy}"), log_path=out.with_suffix(".log.jsonl"), resume=not args.no_resume)
    print(pool.stats_table())
    print(f"policy: {out}")
    return 0


def run_explore_check(args: argparse.Namespace) -> int:
    import json

    from ..pool import pool_from_args
    from ..train.rl import measure_exploration

    pool = pool_from_args(args, workers=args.workers or 2)
    res = {}
    for path in args.policies:
        res[path] = measure_exploration(path, args.groups, args.group_size, pool=pool, seed=args.seed, progress=_progress("explore-check"))
        print(json.dumps({path: res[path]}), flush=True)
    return 0
