#!/usr/bin/env bash
# Install irpilot and everything it uses into the virtualenv given as $1, at the exact
# versions of requirements.lock (made by `./dev lock` from pyproject.toml's ranges).
#
# torch: the lock pins the PyPI build of torch, which on Linux x86_64 is the CUDA build
# (about 5.5 GB installed; it runs on the CPU as fast as the CPU build).  With internet
# access, IRPILOT_TORCH_INDEX=https://download.pytorch.org/whl/cpu takes the CPU-only build of
# the same version from PyTorch's own index instead (about 0.9 GB) and skips the CUDA
# libraries.
set -euo pipefail
venv="${1:-.venv}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check)
"${pip[@]}" --quiet "pip==26.3"
lock="$here/requirements.lock"
if [ -n "${IRPILOT_TORCH_INDEX:-}" ]; then
    pins=$(grep -E '^(torch|torchvision)==' "$lock" | sed 's/ *;.*//')
    # shellcheck disable=SC2086
    "${pip[@]}" --index-url "$IRPILOT_TORCH_INDEX" $pins
    filtered="$(mktemp)"
    trap 'rm -f "$filtered"' EXIT
    grep -v -E '^(nvidia-|triton==|cuda-)' "$lock" > "$filtered"
    lock="$filtered"
fi
"${pip[@]}" -r "$lock"
"${pip[@]}" --no-deps -e "$here"
# These wheels carry pretrained networks but declare opencv-python, which would be
# installed over opencv-contrib-python-headless and remove cv2.ximgproc: no deps.
"${pip[@]}" --no-deps -r "$here/requirements-nodeps.lock"
