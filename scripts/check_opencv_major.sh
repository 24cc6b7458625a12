#!/usr/bin/env bash
# Run the super-resolution tools' tests under another OpenCV than the locked one.
#   scripts/check_opencv_major.sh [VERSION]     (default 4.13.0.92; the lock has 5.x)
# The other OpenCV is installed into a throw-away folder put first on PYTHONPATH, so the
# project's .venv (set up by ./dev setup) is left as it is.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
version="${1:-4.13.0.92}"
py="$here/.venv/bin/python"
[ -x "$py" ] || { echo "run ./dev setup first" >&2; exit 2; }
overlay="$(mktemp -d)"
trap 'rm -rf "$overlay"' EXIT
"$py" -m pip install --quiet --disable-pip-version-check --no-deps --target "$overlay" \
    "opencv-contrib-python-headless==$version"
tests=(tests/tools/test_tf_graph.py
       "tests/tools/test_networks.py::test_opencv_sr_beats_bicubic_on_luma"
       "tests/tools/test_contract.py" -k "fsrcnn or espcn or lapsrn or tf_graph or conv or unsupported or packed")
for label in locked other; do
    if [ "$label" = other ]; then export PYTHONPATH="$overlay${PYTHONPATH:+:$PYTHONPATH}"; fi
    "$py" -c 'import cv2; print("OpenCV", cv2.__version__, "has dnn_superres:", hasattr(cv2, "dnn_superres"))'
    HF_HUB_OFFLINE=1 "$py" -m pytest -q -p no:cacheprovider "${tests[@]}"
done
