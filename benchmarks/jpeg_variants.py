"""Colour JPEG tools on JPEG variants the protocol does not make: 4:4:4 chroma, double compression.

The crops are the Toolbox benchmark's (``tools_bench.test_crops``: test photos by default,
``--photos training`` for the training photos).  Each crop is compressed by the realistic
family's codec (``real_jpeg``: Pillow / libjpeg-turbo) in four ways, at one quality per crop
drawn from ``--quality`` (default 15-39, ``real_jpeg``'s range):

* ``420``: 4:2:0 once (like the protocol, another encoder);
* ``444``: 4:4:4 once (no chroma subsampling);
* ``420_double``: first at quality 85 (4:2:0), then at the crop's quality, same 8x8 grid;
* ``420_double_shifted``: the same with the first grid shifted by (3, 5) pixels.

Every tool sees the decoded image only (quality and subsampling estimated from the pixels).

    python benchmarks/jpeg_variants.py --tools jpeg_ycc_net dncnn3_dejpeg --crops 4 --size 256
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from tools_bench import test_crops  # noqa: E402

from irpilot.degrade import get_degradation  # noqa: E402
from irpilot.quality.full_reference import psnr  # noqa: E402
from irpilot.tools import get_tool  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "420": {"subsampling": "420", "first": None},
    "444": {"subsampling": "444", "first": None},
    "420_double": {"subsampling": "420", "first": {"quality": 85, "subsampling": "420", "shift": [0, 0]}},
    "420_double_shifted": {"subsampling": "420", "first": {"quality": 85, "subsampling": "420", "shift": [3, 5]}},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tools", nargs="+", default=["jpeg_ycc_net", "dncnn3_dejpeg"])
    ap.add_argument("--crops", type=int, default=4)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--photos", choices=("test", "training"), default="test")
    ap.add_argument("--quality", type=int, nargs=2, default=(15, 40), metavar=("LO", "HI"))
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "jpeg_variants.json")
    args = ap.parse_args(argv)

    crops = test_crops(args.crops, args.size, photos=args.photos)
    rng = np.random.default_rng(7)
    qualities = [int(rng.integers(args.quality[0], args.quality[1])) for _ in crops]
    codec = get_degradation("real_jpeg")
    tools = {name: get_tool(name) for name in args.tools}
    rows: dict[str, dict[str, Any]] = {}
    for variant, spec in VARIANTS.items():
        lqs = [codec.apply(clean, {**spec, "quality": q}) for (_, clean), q in zip(crops, qualities)]
        row: dict[str, Any] = {"psnr_in": float(np.mean([psnr(lq, c) for lq, (_, c) in zip(lqs, crops)]))}
        for name, tool in tools.items():
            t0 = time.perf_counter()
            outs = [tool(lq) for lq in lqs]
            row[name] = {"psnr_out": float(np.mean([psnr(o, c) for o, (_, c) in zip(outs, crops)])),
                         "seconds": time.perf_counter() - t0}
            row[name]["gain"] = row[name]["psnr_out"] - row["psnr_in"]
        rows[variant] = row
        print(variant, json.dumps({k: (round(v, 2) if isinstance(v, float) else {kk: round(vv, 2) for kk, vv in v.items()})
                                   for k, v in row.items()}), flush=True)
    res = {"command": "python benchmarks/jpeg_variants.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
           "machine": f"{os.cpu_count()} CPU cores, no GPU", "load_average": " / ".join(f"{v:.1f}" for v in os.getloadavg()),
           "crops": [c[0] for c in crops], "qualities": qualities, "variants": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
