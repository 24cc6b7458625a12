"""How far a tool's tiled output is from its untiled one on whole photos: the seams tiling leaves.

A tool runs a photo larger than its card's ``tile_size`` tile by tile (overlapping by the card's
``tile_overlap``, blended). Where the tool reads anything beyond its overlap (a global statistic,
a wide filter), tiles disagree and their borders show. This runs each tool of ``--tools`` on each
photo twice, untiled (``tile=0``) and tiled (the card's tiles, or ``--tile``), and prints the
difference in 1/255 (maximum, and inside a ``--border`` of the photo's edges, where the untiled
run's own padding differs from the last tile's, the maximum and the 99.9th and 99th percentiles)
and as PSNR between the two. ``--scale``
shrinks each photo first (an x4 tool reads a small photo; 0.25 gives it a 4x smaller input).

    OMP_NUM_THREADS=2 python benchmarks/tile_seams.py --tools dehaze_net desnow_net \\
        --photos ../shared/data/real_hazy_AODNet/test10.jpg ../shared/data/real_hazy_AODNet/test9.jpg
    OMP_NUM_THREADS=2 python benchmarks/tile_seams.py --tools sr_net_x4 --scale 0.25 \\
        --photos ../shared/data/real_hazy_AODNet/test10.jpg ../shared/data/real_hazy_AODNet/test9.jpg
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def seams(tool_name: str, img: np.ndarray, tile: int | None = None, border: int = 24) -> dict[str, float]:
    """Untiled against tiled output of ``tool_name`` on ``img`` (3, H, W); ``border`` in output pixels."""
    from irpilot.tools import get_tool

    tool = get_tool(tool_name)
    t0 = time.perf_counter()
    whole = tool(img, tile=0)
    t1 = time.perf_counter()
    tiled = tool(img, tile=tile) if tile else tool(img)
    t2 = time.perf_counter()
    d = np.abs(tiled.astype(np.float64) - whole) * 255.0
    mse = float(np.mean((d / 255.0) ** 2))
    inner = d[:, border:-border, border:-border] if border else d
    return {"max": float(d.max()), "inner_max": float(inner.max()), "p999": float(np.percentile(inner, 99.9)),
            "p99": float(np.percentile(inner, 99)),
            "psnr": float(10 * np.log10(1.0 / max(mse, 1e-12))), "sec_whole": t1 - t0, "sec_tiled": t2 - t1}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tools", nargs="+", required=True)
    ap.add_argument("--photos", nargs="+", required=True, type=Path)
    ap.add_argument("--tile", type=int, default=None, help="tile side (default: the card's)")
    ap.add_argument("--scale", type=float, default=1.0, help="resize each photo by this factor first")
    ap.add_argument("--border", type=int, default=24, help="output pixels along the edges left out of the inner figures")
    ap.add_argument("--out", type=Path, default=None, help="also write the rows as JSON lines here")
    args = ap.parse_args(argv)

    import cv2

    from irpilot.io import read_image

    rows = []
    print(f"{'tool':<16} {'photo':<14} {'size':>10} {'max':>6} {'inner':>6} {'p99.9':>6} {'p99':>6} {'PSNR':>6}")
    for path in args.photos:
        img = read_image(path)
        if args.scale != 1.0:
            hwc = img.transpose(1, 2, 0)
            size = (max(8, round(hwc.shape[1] * args.scale)), max(8, round(hwc.shape[0] * args.scale)))
            img = np.ascontiguousarray(cv2.resize(hwc, size, interpolation=cv2.INTER_AREA).transpose(2, 0, 1))
        for name in args.tools:
            r = {"tool": name, "photo": path.name, "size": f"{img.shape[2]}x{img.shape[1]}", **seams(name, img, args.tile, args.border)}
            rows.append(r)
            print(f"{name:<16} {path.name:<14} {r['size']:>10} {r['max']:6.1f} {r['inner_max']:6.1f} {r['p999']:6.1f} {r['p99']:6.2f} {r['psnr']:6.1f}",
                  flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
