"""Imports the modules that define irpilot's built-in tools (each registers on import)."""

from __future__ import annotations

from . import classical, external, networks, user  # noqa: F401
