"""Speed of the torch-run dnn_superres graphs against OpenCV's own ``cv2.dnn_superres``.

Needs an OpenCV that still reads the graphs (4.x; 5.1 does not), e.g. put first on the path
by the overlay ``scripts/check_opencv_major.sh`` makes:

    pip install --no-deps --target /tmp/cv4 opencv-contrib-python-headless==4.13.0.92
    PYTHONPATH=/tmp/cv4 .venv/bin/python benchmarks/opencv_sr_speed.py

Both run alternately on the same 128 px crop (-> 512 px); prints the mean seconds of each
and their ratio (torch / OpenCV).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
import skimage.data

from irpilot.config import settings
from irpilot.io import from_uint8
from irpilot.tools import get_tool

MODELS = {"fsrcnn": "fsrcnn/FSRCNN_x4.pb", "espcn": "espcn/ESPCN_x4.pb", "lapsrn": "lapsrn/LapSRN_x4.pb"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    crop = np.ascontiguousarray(skimage.data.astronaut()[100:228, 100:228])
    bgr, img = np.ascontiguousarray(crop[:, :, ::-1]), from_uint8(crop)
    print(f"OpenCV {cv2.__version__}; {args.repeats} alternating runs, 128 -> 512 px")
    print("| network | cv2.dnn_superres s | irpilot (torch) s | ratio |")
    print("| --- | --- | --- | --- |")
    for name, rel in MODELS.items():
        sr = cv2.dnn_superres.DnnSuperResImpl_create()
        sr.readModel(str(settings.weights_dir / rel))
        sr.setModel(name, 4)
        tool = get_tool(f"{name}_x4", device="cpu")
        sr.upsample(bgr), tool(img)  # warm up
        a = b = 0.0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            sr.upsample(bgr)
            a += time.perf_counter() - t0
            t0 = time.perf_counter()
            tool(img)
            b += time.perf_counter() - t0
        print(f"| {name} | {a / args.repeats:.3f} | {b / args.repeats:.3f} | {b / a:.2f} |")


if __name__ == "__main__":
    main()
