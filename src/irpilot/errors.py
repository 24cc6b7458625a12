"""Exceptions raised by irpilot.  Every message says what went wrong and what to do."""

from __future__ import annotations


class IrpilotError(Exception):
    """Base class of every error irpilot raises on purpose."""


class ImageReadError(IrpilotError):
    """A file could not be read as an image (missing, empty, truncated, not an image, too large)."""


class ImageWriteError(IrpilotError):
    """An image could not be written."""


class RegistryError(IrpilotError, KeyError):
    """A name is not in a registry (the message suggests close matches)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ToolUnavailableError(IrpilotError):
    """A tool cannot run here (weights or an optional package is missing)."""


class ToolError(IrpilotError):
    """A tool failed while running."""


class ConfigError(IrpilotError, ValueError):
    """A setting has an invalid value (also a ``ValueError``)."""
