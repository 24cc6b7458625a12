"""Imports the modules that define irpilot's built-in policies (each registers on import)."""

from __future__ import annotations

from . import explore, learned, oracle, simple, vlm  # noqa: F401
