"""irpilot: agentic image restoration.

Data flow: ``degrade`` (make degraded photos) -> ``tools`` (restore one step) ->
``quality`` (score) -> ``perceive`` (what is wrong) -> ``policies`` + ``agent``
(what to do next) -> ``pool`` (run tool calls) -> ``train`` -> ``bench`` -> ``cli`` / ``app``.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
