"""Training every learned part of irpilot (``irpilot train STAGE``), on training photos only
(never the benchmark test sets Kodak24, CBSD68, McMaster: :func:`irpilot.data.check_training_sets`).

* :mod:`irpilot.train.perception` (with :mod:`~irpilot.train.perception_data`) - the degradation
  perception CNN (``irpilot train perception``).
* :mod:`irpilot.train.niqe` - NIQE's pristine model (``irpilot train niqe``).
* :mod:`irpilot.train.experience` - the ``explore`` policy's pairwise order experience
  (``irpilot train experience``).
* :mod:`irpilot.train.probe` - tool measurements behind the learned policy's action list
  (``irpilot train probe``).
* The learned policy, in the order the stages run:
  :mod:`irpilot.train.data` (degraded training crops), :mod:`irpilot.train.expert` (prefix-shared
  tree search through the pool, ``irpilot train expert``), :mod:`irpilot.train.perturb` and
  :mod:`irpilot.train.sft` (supervised fine-tuning, ``irpilot train sft``),
  :mod:`irpilot.train.reward` and :mod:`irpilot.train.rl` (GRPO with the adaptive reward,
  ``irpilot train rl``), :mod:`irpilot.train.evaluate` (validation crops).
* A vision-language model as the agent (docs/vlm.md): :mod:`irpilot.train.vlm_export` (expert and
  policy trajectories as chat records, ``irpilot train export``), :mod:`irpilot.train.vlm_model`
  (loading, rendering, scoring; a tiny random Qwen2-VL for tests), :mod:`irpilot.train.vlm_sft`
  (``irpilot train vlm-sft``) and :mod:`irpilot.train.vlm_grpo` (``irpilot train vlm-grpo``).

The policy being trained (network, action space, checkpoint format, decision rules) is
inference code and lives in :mod:`irpilot.policies.learned`; this package builds on it.
Importing this package is cheap; torch loads with the submodules that need it.
"""

from __future__ import annotations

__all__: list[str] = []
