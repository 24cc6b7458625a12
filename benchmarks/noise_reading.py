"""Time and peak memory of the blind noise readings (:mod:`irpilot.noise`) on a large photo, and
the readings themselves on small crops (to compare two versions of the code bit for bit).

Each reading runs in a fresh child process on scikit-image's *astronaut*, upscaled to ``--size``,
with noise then JPEG (irpilot's synthesis, seed 0).  Peak memory is the child's VmHWM, reset
(``/proc/self/clear_refs``) after the photo is made, so it counts the reading and the photo it
reads, not the photo's synthesis.

    OMP_NUM_THREADS=1 python benchmarks/noise_reading.py --size 4000x3000
    OMP_NUM_THREADS=1 python benchmarks/noise_reading.py --values > readings.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

READINGS = ("pca", "multiscale", "grain", "wavelet", "immerkaer")


def _photo(w: int, h: int, degradations: list[str]) -> np.ndarray:
    import cv2
    import skimage.data

    from irpilot.degrade import degrade
    from irpilot.io import from_uint8

    clean = from_uint8(cv2.resize(skimage.data.astronaut(), (w, h), interpolation=cv2.INTER_CUBIC))
    return degrade(clean, degradations, seed=0)[0] if degradations else clean


def _read(img: np.ndarray, name: str) -> float:
    from irpilot import noise

    if name == "grain":
        return noise.grain_sigma(img)
    return noise.estimate_noise_sigma(img, method=name)


def _child(size: str, name: str, degradations: list[str]) -> None:
    w, h = (int(v) for v in size.split("x"))
    img = _photo(w, h, degradations)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident set
    base = _status("VmRSS:")
    t0 = time.perf_counter()
    value = _read(img, name)
    seconds = time.perf_counter() - t0
    print(json.dumps({"reading": name, "value": value, "seconds": round(seconds, 2),
                      "rss_before_mb": round(base, 1), "peak_rss_mb": round(_status("VmHWM:"), 1)}))


def _status(key: str) -> float:
    """A memory line of this process's /proc status, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _values(sizes: list[int], degradations: list[str]) -> dict[str, float]:
    """Every reading on centre crops of the photo (made at 768 px) of each size, and on the same
    crops without degradation."""
    out: dict[str, float] = {}
    for degs in (degradations, []):
        big = _photo(768, 768, degs)
        for s in sizes:
            y0 = (768 - s) // 2
            crop = big[:, y0 : y0 + s, y0 : y0 + s]
            for name in READINGS:
                out[f"{'+'.join(degs) or 'clean'} {s} {name}"] = _read(crop, name)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="4000x3000")
    ap.add_argument("--degradations", default="noise,jpeg")
    ap.add_argument("--readings", default=",".join(READINGS))
    ap.add_argument("--values", action="store_true", help="print the readings on crops of 48-512 px and exit")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    degs = [d for d in args.degradations.split(",") if d]
    if args.values:
        print(json.dumps(_values([48, 64, 96, 128, 200, 256, 384, 512], degs), indent=1))
        return
    if args.child:
        _child(args.size, args.child, degs)
        return
    for name in args.readings.split(","):
        cmd = [sys.executable, __file__, "--size", args.size, "--degradations", args.degradations, "--child", name]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            print(json.dumps({"reading": name, "error": res.stderr.strip().splitlines()[-1:]}))
            continue
        print(res.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
