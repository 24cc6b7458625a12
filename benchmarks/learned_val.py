"""Validation of the learned policy's training variants on held-out synthetic crops of the
*training* photos (never the benchmark test sets): mean PSNR / SSIM gain over the input,
tool calls per degradation present, seconds per image, share of images made worse.

Crops are 320 px (80 px degraded for low resolution), the benchmark's sizes.

    OMP_NUM_THREADS=1 python benchmarks/learned_val.py --n 60 --details --out val.json \
        --policies learned,sft=learned:weights=sft,learned:weights=sft_noperturb,learned:weights=rl_static,fixed,random,explore
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=40, help="validation crops")
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--realistic", type=float, default=0.0, metavar="P",
                    help="share of crops made with the realistic family (camera shake, lens defocus, ...; default 0: the protocol's)")
    ap.add_argument("--policies", default="learned,learned_sft3,fixed,random,explore")
    ap.add_argument("--weights", action="append", default=[], metavar="LABEL=PATH",
                    help="an extra learned policy file (the same as LABEL=learned:weights=PATH in --policies)")
    ap.add_argument("--out", default=None, help="write the JSON here")
    ap.add_argument("--only", default=None, metavar="IDS",
                    help="run only these cases of the set, e.g. val0082,val0088 (ids as in --details)")
    ap.add_argument("--combos", default=None, metavar="COMBOS",
                    help="only these combinations, taken in turn, e.g. motion_blur+dark,dark+defocus_blur+jpeg "
                         "(protocol names; --realistic still decides each case's family)")
    ap.add_argument("--details", action="store_true", help="also record every case's PSNR gain, tool chain and the policy's top choices at each decision")
    args = ap.parse_args(argv)

    from irpilot.policies.base import make_policy, split_label
    from irpilot.pool import Pool
    from irpilot.train.evaluate import evaluate_policies, validation_cases

    combos = [c.split("+") for c in args.combos.split(",") if c] if args.combos else None
    cases = validation_cases(args.n, args.seed, realistic_p=args.realistic, combos=combos)
    if args.only:
        wanted = {x.strip() for x in args.only.split(",") if x.strip()}
        unknown = wanted - {c.id for c in cases}
        if unknown:
            ap.error(f"--only: no case {', '.join(sorted(unknown))} among the {args.n} of seed {args.seed}")
        cases = [c for c in cases if c.id in wanted]
    pols = []
    specs = [p for p in args.policies.split(",") if p]
    specs += [f"{label}=learned:weights={path}" for label, _, path in (w.partition("=") for w in args.weights)]
    for spec in specs:
        pols.append((split_label(spec)[0], make_policy(spec)))  # [label=]name:key=value, as for irpilot bench
    from irpilot.tools import unavailable_tools

    missing = unavailable_tools(provided_only=True)
    if missing:  # a policy never calls them, so the numbers are not a full toolbox's: say so
        print(f"learned_val: {len(missing)} tool(s) cannot run here: {', '.join(missing)} (`irpilot tools` says why)",
              file=sys.stderr, flush=True)
    with Pool(workers=2) as pool:
        res = evaluate_policies(
            pols, cases, pool=pool, details=args.details, progress=lambda m: print(m, file=sys.stderr, flush=True)
        )
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        from pathlib import Path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
