"""Make the reference outputs the dnn_superres tools are tested against.

Runs OpenCV's own ``cv2.dnn_superres`` (which reads the frozen TensorFlow graphs only up to
OpenCV 5.0) on ``tests/tools/data/sr_input_32.png`` and writes ``sr_{fsrcnn,espcn,lapsrn}_x4_ref.png``
beside it.  Run it in a throw-away environment with OpenCV 4:

    python -m venv /tmp/cv4 && /tmp/cv4/bin/pip install opencv-contrib-python-headless==4.13.0.92
    /tmp/cv4/bin/python benchmarks/opencv_sr_reference.py --weights-dir ../shared/weights

The input crop is scikit-image's astronaut [20:148, 160:288] reduced to 32 px with
``cv2.resize(..., INTER_CUBIC)`` (``--make-input`` rebuilds it; needs scikit-image).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

DATA = Path(__file__).resolve().parents[1] / "tests" / "tools" / "data"
MODELS = {"fsrcnn": "fsrcnn/FSRCNN_x4.pb", "espcn": "espcn/ESPCN_x4.pb", "lapsrn": "lapsrn/LapSRN_x4.pb"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights-dir", type=Path, required=True)
    ap.add_argument("--make-input", action="store_true", help="rebuild the 32 px input crop first")
    args = ap.parse_args()
    src = DATA / "sr_input_32.png"
    if args.make_input:
        import skimage.data

        crop = skimage.data.astronaut()[20:148, 160:288]
        cv2.imwrite(str(src), cv2.resize(crop, (32, 32), interpolation=cv2.INTER_CUBIC)[:, :, ::-1])
    lr = cv2.imread(str(src))
    print(f"OpenCV {cv2.__version__}")
    for name, rel in MODELS.items():
        sr = cv2.dnn_superres.DnnSuperResImpl_create()
        sr.readModel(str(args.weights_dir / rel))
        sr.setModel(name, 4)
        out = sr.upsample(lr)
        cv2.imwrite(str(DATA / f"sr_{name}_x4_ref.png"), out)
        print(f"{name}: {out.shape[1]}x{out.shape[0]} -> {DATA / f'sr_{name}_x4_ref.png'}")


if __name__ == "__main__":
    main()
