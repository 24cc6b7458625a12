"""Process-wide settings: weights directory, device, pixel limit, cache directory.

Settings come from (in increasing priority) defaults, environment variables
(``IRPILOT_WEIGHTS_DIR``, ``IRPILOT_DEVICE``, ``IRPILOT_MAX_PIXELS``, ``IRPILOT_CACHE_DIR``,
``IRPILOT_DATA_DIR``) and explicit :func:`configure` calls (the CLI maps its options there).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .errors import ConfigError

__all__ = ["Settings", "settings", "configure", "repo_root"]


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


@dataclasses.dataclass
class Settings:
    """Resolved settings.  Mutate through :func:`configure`."""

    weights_dir: Path = dataclasses.field(default_factory=_default_weights_dir)
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
        if key in ("weights_dir", "data_dir", "cache_dir"):
            value = Path(str(value)).expanduser()
        if key == "max_pixels" and (not isinstance(value, int) or value <= 0):
            raise ConfigError(f"max_pixels must be a positive integer, got {value!r}")
        setattr(settings, key, value)
    return settings
