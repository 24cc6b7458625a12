"""Peak memory and wall time of ``irpilot restore`` on a 12-megapixel photo.

A 4000x3000 photo is made from scikit-image's *astronaut* (upscaled), degraded with irpilot's
synthesis, and restored by ``irpilot restore`` in a child process; the child's peak resident set
is reported (VmHWM, read every 0.2 s while it runs; not ``ru_maxrss``, which on Linux carries the
parent's size over fork and exec), with the tools it called and their seconds (from its trace).  Tools tile large
images, so memory stays bounded.  ``low_resolution`` shrinks the photo 4x, so x4 super-resolution
restores a 1000x750 input to 12 MP.  With ``--tool`` the child runs that one tool instead
(``irpilot tools run``), e.g. a deblurring tool with a known kernel, which a policy's call on
this smooth, upscaled photo may not find.

    python benchmarks/restore_memory.py --degradations noise,jpeg --policy fixed
    python benchmarks/restore_memory.py --degradations low_resolution,noise --log runs/memory.jsonl
    python benchmarks/restore_memory.py --degradations motion_blur --tool motion_deblur_hqs --arg angle=30 --arg sigma=3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--degradations", default="noise,jpeg")
    ap.add_argument("--policy", default="fixed")
    ap.add_argument("--size", default="4000x3000", help="size of the clean photo, before degradation")
    ap.add_argument("--tool", default="", help="run this one tool (irpilot tools run) instead of the agent")
    ap.add_argument("--arg", action="append", default=[], metavar="K=V", help="an argument of --tool (repeatable)")
    ap.add_argument("--log", default="", help="also append the result as one JSON line to this file")
    args = ap.parse_args()
    import cv2
    import skimage.data

    from irpilot.degrade import degrade
    from irpilot.io import from_uint8, write_image

    w, h = (int(v) for v in args.size.split("x"))
    names = [n for n in args.degradations.split(",") if n]
    with tempfile.TemporaryDirectory() as tmp:
        clean = from_uint8(cv2.resize(skimage.data.astronaut(), (w, h), interpolation=cv2.INTER_CUBIC))
        degraded, _ = degrade(clean, names, seed=0)
        src = write_image(Path(tmp) / "big.png", degraded)
        del clean, degraded
        out_dir = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "irpilot", "restore", str(src), "-o", str(out_dir),
               "--policy", args.policy, "--tasks", ",".join(names), "-q"]
        if args.tool:
            out_dir.mkdir()
            cmd = [sys.executable, "-m", "irpilot", "tools", "run", args.tool, str(src), str(out_dir / "big.png"),
                   *(a for kv in args.arg for a in ("--arg", kv))]
        t0 = time.perf_counter()
        with open(Path(tmp) / "log.txt", "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
            peak, peak_at = 0.0, 0.0
            while proc.poll() is None:
                hwm = peak_rss_mb(proc.pid) or 0.0
                if hwm > peak:  # when the peak was reached tells which call made it
                    peak, peak_at = hwm, time.perf_counter() - t0
                time.sleep(0.2)
            status = proc.returncode
        seconds = time.perf_counter() - t0
        out = (Path(tmp) / "log.txt").read_text()
        trace_file = out_dir / "big.trace.json"
        trace = json.loads(trace_file.read_text()) if trace_file.is_file() else {}
    calls = [f"{s['action']['name']} {s['seconds']:.0f} s" + ("" if s.get("ok", True) else " (failed)")
             for s in trace.get("steps", []) if s.get("action", {}).get("name") not in (None, "stop")]
    if args.tool:
        calls = [" ".join([args.tool, *args.arg])]
    result = {"size": args.size, "input_shape": trace.get("input_shape"), "degradations": names,
              "policy": "" if args.tool else args.policy, "precision": os.environ.get("IRPILOT_PRECISION", "default"),
              "threads": os.environ.get("OMP_NUM_THREADS", ""), "calls": calls,
              "peak_rss_mb": round(peak, 1), "peak_at_s": round(peak_at, 1), "seconds": round(seconds, 1), "exit": status,
              "output": out.strip().splitlines()[-2:]}
    print(json.dumps(result, indent=1))
    if args.log:
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        with open(args.log, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
