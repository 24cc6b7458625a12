"""The learned policy's inference: the policy (:mod:`.policy`), its action space
(:mod:`.actions`), the network and state encoder (:mod:`.network`), the checkpoint format
(:mod:`.checkpoint`) and the decision rules around the network (:mod:`.decisions`).

Training lives in :mod:`irpilot.train`, which builds on this package (never the reverse).
Importing it is cheap: torch is imported on first use.
"""

from __future__ import annotations

from .actions import DEFAULT_CANDIDATES, ActionSpace, default_action_space
from .checkpoint import build_net, load_policy, save_policy
from .decisions import AGENDA_SKIP, agenda, decision_mask, pending_tools, redirect_stop
from .network import EncodedState, StateEncoder, image_stats, stack_states
from .policy import (
    ASSETS_DIR,
    BENCHMARK_POLICIES_DIR,
    SHIPPED_VARIANTS,
    LearnedOptions,
    LearnedPolicy,
    default_weights,
    resolve_weights,
)

__all__ = [
    "AGENDA_SKIP",
    "ASSETS_DIR",
    "BENCHMARK_POLICIES_DIR",
    "DEFAULT_CANDIDATES",
    "SHIPPED_VARIANTS",
    "ActionSpace",
    "EncodedState",
    "LearnedOptions",
    "LearnedPolicy",
    "StateEncoder",
    "agenda",
    "build_net",
    "decision_mask",
    "default_action_space",
    "default_weights",
    "image_stats",
    "load_policy",
    "pending_tools",
    "redirect_stop",
    "resolve_weights",
    "save_policy",
    "stack_states",
]
