"""Policies: what the agent does next (see :mod:`irpilot.policies.base`)."""

from .base import POLICIES, STOP, Policy, SearchPolicy, StepPolicy, ToolCall, make_policy
from .options import PolicyOptions, StepOptions

__all__ = ["POLICIES", "STOP", "Policy", "PolicyOptions", "SearchPolicy", "StepOptions", "StepPolicy", "ToolCall", "make_policy"]
