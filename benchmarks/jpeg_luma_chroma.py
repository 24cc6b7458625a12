"""Where a colour JPEG tool's remaining error is: in luma or in chroma.

For the protocol's JPEG (OpenCV, quality 10-29, 4:2:0) on crops of the training photos (never
Kodak24, CBSD68 or McMaster; ``tools_bench.test_crops(photos="training")``), each tool's output is
scored as it is, with the clean crop's luma put back (what its chroma error alone costs) and with
the clean crop's chroma put back (what its luma error alone costs), in the codec's full-range
YCbCr (``irpilot.imaging.color.rgb_to_ycbcr``).  The column that stays far below the clean crop is
where a better network would gain.

    OMP_NUM_THREADS=1 python benchmarks/jpeg_luma_chroma.py --tools jpeg_ycc_net dncnn3_dejpeg --crops 24 --size 256
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from tools_bench import test_crops  # noqa: E402

from irpilot.degrade import degrade  # noqa: E402
from irpilot.imaging.color import rgb_to_ycbcr, ycbcr_to_rgb  # noqa: E402
from irpilot.quality.full_reference import psnr  # noqa: E402
from irpilot.tools import get_tool  # noqa: E402


def with_planes(out: np.ndarray, clean: np.ndarray, keep_luma_of: str) -> np.ndarray:
    """``out`` with one of its planes replaced by ``clean``'s: ``keep_luma_of="clean"`` takes the
    clean luma (``out``'s chroma stays), ``"out"`` keeps ``out``'s luma and takes the clean chroma."""
    a, b = rgb_to_ycbcr(out), rgb_to_ycbcr(clean)
    mixed = np.concatenate([b[:1], a[1:]]) if keep_luma_of == "clean" else np.concatenate([a[:1], b[1:]])
    return np.clip(ycbcr_to_rgb(mixed), 0.0, 1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tools", nargs="+", default=["jpeg_ycc_net", "dncnn3_dejpeg"])
    ap.add_argument("--crops", type=int, default=24)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    crops = [c for _, c in test_crops(args.crops, args.size, seed=args.seed, photos="training")]
    crops = [c for c in crops if float(np.abs(c[0] - c[1]).mean() + np.abs(c[1] - c[2]).mean()) > 1e-3]  # colour only
    pairs = [(c, degrade(c, ["jpeg"], seed=100 + i)[0]) for i, c in enumerate(crops)]
    print(f"{len(pairs)} colour crops of {args.size} px, the protocol's JPEG; mean PSNR (dB)\n")
    print("| tool | output | clean luma put back (chroma error alone) | clean chroma put back (luma error alone) |")
    print("| --- | --- | --- | --- |")
    inputs = [(psnr(x, c), psnr(with_planes(x, c, "clean"), c), psnr(with_planes(x, c, "out"), c)) for c, x in pairs]
    rows = {"input": np.mean(inputs, axis=0)}
    for name in args.tools:
        tool = get_tool(name)
        scores = []
        for c, x in pairs:
            y = tool(x)
            scores.append((psnr(y, c), psnr(with_planes(y, c, "clean"), c), psnr(with_planes(y, c, "out"), c)))
        rows[name] = np.mean(scores, axis=0)
    for name, (whole, chroma_err, luma_err) in rows.items():
        print(f"| {name} | {whole:.2f} | {chroma_err:.2f} | {luma_err:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
