"""Training irpilot's learned tool-calling policy: expert search, perturbed SFT, then GRPO.

The pieces, in the order they run (``irpilot train expert|sft|rl``):

* :mod:`irpilot.train.actions` - the closed action list (fast tools per task + ``stop``).
* :mod:`irpilot.train.data` - degraded training crops from the training photos (never the
  benchmark test sets Kodak24, CBSD68, McMaster).
* :mod:`irpilot.train.expert` - prefix-shared tree search over (order, tool) sequences through
  the pool, scored against the clean reference; writes a JSONL dataset in tool-call format.
* :mod:`irpilot.train.perturb` - exploration-driven perturbation of the SFT targets.
* :mod:`irpilot.train.model` - the policy network and its state features.
* :mod:`irpilot.train.sft` - supervised fine-tuning on (state -> expert action) pairs.
* :mod:`irpilot.train.rl` - GRPO with group-normalised advantages and the adaptive reward.

Importing this package is cheap; torch loads with the submodules that need it.
"""

from __future__ import annotations

__all__: list[str] = []
