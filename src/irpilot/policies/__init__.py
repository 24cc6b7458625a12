"""Policies: what the agent does next (see :mod:`irpilot.policies.base`)."""

from .base import POLICIES, STOP, Action, Policy, SearchPolicy, StepPolicy

__all__ = ["POLICIES", "STOP", "Action", "Policy", "SearchPolicy", "StepPolicy"]
