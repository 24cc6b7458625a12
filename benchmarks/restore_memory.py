"""Peak memory and wall time of ``irpilot restore`` on a 12-megapixel photo.

A 4000x3000 photo is made from scikit-image's *astronaut* (upscaled), degraded with irpilot's
synthesis, and restored by ``irpilot restore`` in a child process; the child's peak resident set
(VmHWM, read while it runs) is reported.  Tools tile large images, so memory stays bounded.

    python benchmarks/restore_memory.py --degradations noise,jpeg --policy fixed
"""

from __future__ import annotations

import argparse
import json
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
    ap.add_argument("--size", default="4000x3000")
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
        cmd = [sys.executable, "-m", "irpilot", "restore", str(src), "-o", str(Path(tmp) / "out"),
               "--policy", args.policy, "--tasks", ",".join(names)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, peak_rss_mb(proc.pid) or 0.0)
            time.sleep(0.5)
        out = proc.stdout.read() if proc.stdout else ""
        seconds = time.perf_counter() - t0
    result = {"size": args.size, "degradations": names, "policy": args.policy, "peak_rss_mb": round(peak, 1),
              "seconds": round(seconds, 1), "exit": proc.returncode, "output": out.strip().splitlines()[-2:]}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
