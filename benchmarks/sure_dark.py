"""Should ``learned`` skip ``hsv_value_inverse``'s darkening check when perception is sure?

The tool's check leaves photos unchanged that do not look darkened, which saves the false
brightenings but also leaves some darkened photos dark (BENCHMARKS.md, "The low-light tool's
darkening check").  Perception knows more than the tool's five statistics.  This script runs
``learned`` on held-out crops of the *training* photos and, for every case where the tool
declined, records perception's probability of ``dark`` on the image the tool saw and the PSNR
the case reaches when the tool is told to skip its check (``learned:sure_dark=0``).  It then
tabulates, per threshold, the mean PSNR change over all cases if the check were skipped from
that probability on (``learned:sure_dark=T``).

    OMP_NUM_THREADS=1 python benchmarks/sure_dark.py --n 200 --seed 2026 --out runs/dark/s2026.json
    python benchmarks/sure_dark.py --table runs/dark/s2026.json --cases
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)


def collect(n: int, seed: int, base: str) -> dict:
    from irpilot.agent import Agent, AgentConfig
    from irpilot.io import image_hash
    from irpilot.quality import score
    from irpilot.train.evaluate import validation_cases

    def psnr(img: np.ndarray, ref: np.ndarray) -> float:
        return float(score(img, ref, ["psnr"])["psnr"])

    agent = Agent(config=AgentConfig(keep_images=True))
    rows = []
    for case in validation_cases(n, seed):
        plain = agent.run(case.degraded, policy=base, reference=case.clean)
        images = {image_hash(case.degraded): case.degraded}
        images.update({s.output_hash: s.image for s in plain.steps if s.output_hash})
        declined = [s for s in plain.steps if s.action["name"] == "hsv_value_inverse" and s.ok
                    and s.output_hash == s.input_hash]
        row = {"id": case.id, "degradations": list(case.names), "psnr_plain": psnr(plain.output, case.clean)}
        if declined:
            row["p_dark"] = float(agent.perceiver(images[declined[0].input_hash]).probs.get("dark", 0.0))
            forced = agent.run(case.degraded, policy=f"{base}:sure_dark=0", reference=case.clean)
            row["psnr_forced"] = psnr(forced.output, case.clean)
        rows.append(row)
        print(case.id, row, flush=True)
    return {"n": n, "seed": seed, "policy": base, "cases": rows}


def table(data: dict) -> list[dict]:
    """Per threshold: how many declined cases would be forced, how many of them are darkened,
    and the mean PSNR change over all cases."""
    cases = data["cases"]
    out = []
    for t in THRESHOLDS:
        forced = [c for c in cases if "p_dark" in c and c["p_dark"] >= t]
        gain = sum(c["psnr_forced"] - c["psnr_plain"] for c in forced) / len(cases)
        out.append({"threshold": t, "forced": len(forced), "darkened": sum("dark" in c["degradations"] for c in forced),
                    "mean_change_db": gain,
                    "losses": sum(c["psnr_forced"] < c["psnr_plain"] - 0.05 for c in forced)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--policy", default="learned", help="the policy spec (sure_dark is added to it)")
    ap.add_argument("--out", type=Path, help="write the cases here")
    ap.add_argument("--table", type=Path, nargs="+", metavar="RESULTS", help="only tabulate these result files")
    ap.add_argument("--cases", action="store_true",
                    help="also list every declined case from the lowest threshold on (p(dark), PSNR change)")
    args = ap.parse_args(argv)

    if args.table:
        results = [json.loads(f.read_text()) for f in args.table]
    else:
        results = [collect(args.n, args.seed, args.policy)]
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results[0], indent=1))
    for data in results:
        declined = sum("p_dark" in c for c in data["cases"])
        print(f"seed {data['seed']}: {len(data['cases'])} cases, the check declined on {declined}")
        print("| skip the check from p(dark) | cases forced | of them darkened | worse by > 0.05 dB | mean PSNR change over all cases |")
        print("| --- | --- | --- | --- | --- |")
        for r in table(data):
            print(f"| {r['threshold']} | {r['forced']} | {r['darkened']} | {r['losses']} | {r['mean_change_db']:+.3f} |")
        if args.cases:
            for c in sorted(data["cases"], key=lambda c: -c.get("p_dark", -1.0)):
                if c.get("p_dark", -1.0) >= THRESHOLDS[0]:
                    print(f"  {c['id']} {'+'.join(c['degradations'])}: p(dark) {c['p_dark']:.2f}, "
                          f"{c['psnr_forced'] - c['psnr_plain']:+.2f} dB with the check skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
