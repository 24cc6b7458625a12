"""The HTML report of ``irpilot restore --report`` (rendered by :mod:`irpilot.report`)."""

from __future__ import annotations

from ..report import ReportItem, write_report

__all__ = ["ReportItem", "write_report"]
