"""What every policy shares: which degradations an image has, in which order to undo them,
and the default tool of each task."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..vocab import DEGRADATION_TO_TASK

#: The agent's toolbox: per task, the tools that measurably help on that task's degradation,
#: best first (output PSNR in the toolbox benchmark, BENCHMARKS.md "Toolbox", confirmed on
#: training photos only in "Toolbox on training photos": denoising's first two tie); the first
#: available one is the task's default.  Tools left out (e.g. GAN super-resolution, which
#: trades fidelity for texture, or low-light networks trained on other data) stay registered
#: and callable, and a policy's ``tools`` option can put them back.
PREFERRED_TOOLS: dict[str, tuple[str, ...]] = {
    # sr_net_x4 (irpilot's compact network, trained on both families) second: 0.4 dB behind
    # dncnn3_sr_x4 on the protocol's x1/4, level with it on the realistic family, where it does
    # not lose the 1.7-1.8 dB dncnn3_sr_x4 loses on sharpened photos (BENCHMARKS.md, "sr_net_x4");
    # sr_ensemble_x4 (sr_net_x4 and SRMD averaged) ahead of both on held-out cases of both families,
    # the learned default's x4 tool since 2026-12-07; srmd_x4 the best on the protocol's x1/4 alone
    # (BENCHMARKS.md, "SRMD")
    "super_resolution": ("dncnn3_sr_x4", "sr_ensemble_x4", "sr_net_x4", "srmd_x4", "backprojection_x4", "lanczos_x4"),
    "denoise": ("dncnn_color_blind", "ffdnet_color", "bilateral", "nlm"),
    # shake_deblur_pnp (general kernels, blind) last: on the protocol's motion blur it loses
    # 1.2 dB where motion_deblur_hqs gains 13.3 (8 training crops), so it is not the default; on
    # camera shake the fitted tools decline or lose and it gains.  Every policy reaches it through
    # the motion tools' card fallback (the agent runs it when they return the image unchanged);
    # listed so that search and chat policies can also choose it (BENCHMARKS.md, "Camera shake:
    # blind deblurring, third version")
    "motion_deblur": ("motion_deblur_hqs", "motion_deblur_wiener", "shake_deblur_pnp"),
    "defocus_deblur": ("defocus_deblur_hqs", "defocus_deblur_wiener"),
    # dehaze_aod_net (AOD-Net trained on irpilot's haze models) replaces the pretrained aod_net: better on
    # both haze families and on clean crops (BENCHMARKS.md, "Compact networks with physical heads");
    # dehaze_net (irpilot's U-Net with the scattering-model head) third: ahead of the priors on the
    # realistic family's haze (+7.6 dB against +6.5), behind dark_channel_prior on the protocol's
    # (+7.6 against +8.2 on the toolbox's crops; BENCHMARKS.md, "dehaze_net"); dehaze_net_lite (its
    # recipe at a quarter of the width) within 0.3 dB of it at 3/4 of its time
    "dehaze": ("dark_channel_prior", "color_attenuation_prior", "dehaze_net", "dehaze_net_lite", "dehaze_aod_net"),
    # derain_cascade (rain100l, then irpilot's derain_net on what it leaves) first: ahead of both on
    # held-out crops of either family (BENCHMARKS.md, "Rain: PReNet, then derain_net"); rain100l
    # next: rain100h scores a little higher on the benchmark crops but shifts the colours of some
    # photos badly (its card says so); derain_net ahead of both PReNets on the realistic rain and
    # after an x4 step, about 2 dB behind rain100l on the protocol's rain alone (BENCHMARKS.md, "derain_net")
    "derain": ("derain_cascade", "prenet_rain100l", "derain_net", "prenet_rain100h", "derain_directional_opening"),
    "low_light": ("hsv_value_inverse", "gamma_auto", "sci_easy", "lime"),
    # jpeg_ycc_net (DnCNN-3 luma + irpilot's chroma network) second: +0.08 dB over dncnn3_dejpeg
    # on the protocol's colour JPEG, inside the spread of its crops (BENCHMARKS.md, "jpeg_ycc_net")
    "dejpeg": ("dncnn3_dejpeg", "jpeg_ycc_net", "jpeg_tv", "jpeg_reapply"),
    # desnow_net (irpilot's compact network) first: on 24 crops of held-out training photos
    # +6.0 / +7.8 dB on real_snow / snow where desnow_median gains +4.7 / +3.6, no crop worse,
    # and it changes a clean crop less (38.0 dB against 30.2; BENCHMARKS.md, "desnow_net")
    "desnow": ("desnow_net", "desnow_median", "desnow_morphology"),
}


def available_tools(task: str, toolbox: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """The agent's available tools for ``task`` (the measured toolbox above, in order; every
    available tool of the task when none of those is available).
    ``toolbox`` (a policy's ``tools`` option, task -> tool ids) restricts the choice."""
    from ..tools import tool_names_for_task

    if toolbox is not None:
        return list(toolbox.get(task, []))
    avail = tool_names_for_task(task)
    preferred = [t for t in PREFERRED_TOOLS.get(task, ()) if t in avail]
    return preferred or avail


def default_tool(task: str, toolbox: Mapping[str, Sequence[str]] | None = None) -> str | None:
    tools = available_tools(task, toolbox)
    return tools[0] if tools else None


#: Low resolution is a matter of size, as in AgenticIR (longest side below 300 px, also the
#: perceiver's ``lr_max_side``): an agent upscales x4 only an image smaller than this, whatever
#: perception's probability.  Its CNN term can read a hazy or smooth 320 px photo as an upscaled
#: one (2 of 300 validation crops, each then scored at the wrong size); a user who wants a larger
#: image upscaled names the task.
SR_MAX_SIDE = 300


def detected_degradations(obs_perception: Any, threshold: float = 0.5, image_shape: Sequence[int] | None = None) -> list[str]:
    """Degradations the perception model says are present; with ``image_shape`` (of the image
    perceived), low resolution only for an image whose longest side is below :data:`SR_MAX_SIDE`."""
    if obs_perception is None:
        return []
    big = image_shape is not None and max(image_shape[-2:]) >= SR_MAX_SIDE
    return [
        d for d, p in obs_perception.probs.items()
        if p >= threshold and d in DEGRADATION_TO_TASK and not (big and d == "low_resolution")
    ]


#: Degradations a task's step can reveal, read again on its output: brightening a dark photo
#: multiplies the noise it hid by the gain (a night photo's sensor noise reads 1-5 / 255 before
#: and 3-7 after; perception's noise 0.32 -> 0.59 and 0.39 -> 0.94 on two of SCI's real low-light
#: photos), which the input's perception could not see.  BENCHMARKS.md, "Noise revealed by
#: brightening".
REVEALS: dict[str, tuple[str, ...]] = {"low_light": ("noise",)}


def revealed_degradations(
    done_tasks: Sequence[str], perception: Any, threshold: float = 0.5, reveals: Mapping[str, Sequence[str]] | None = None,
    revealing: Sequence[str] | None = None,
) -> list[str]:
    """The degradations perception reads on the current image (probability >= ``threshold``)
    that a task in ``revealing`` (default ``done_tasks``) reveals (``reveals``, default
    :data:`REVEALS`) and that no task in ``done_tasks`` has treated."""
    if perception is None:
        return []
    table = REVEALS if reveals is None else reveals
    done = set(done_tasks)
    candidates = {d for task in (done if revealing is None else set(revealing)) for d in table.get(task, ())}
    return [d for d in sorted(candidates)
            if DEGRADATION_TO_TASK.get(d) not in done and perception.probs.get(d, 0.0) >= threshold]


def revealed_note(
    degradation: str, done_tasks: Sequence[str], perception: Any, reveals: Mapping[str, Sequence[str]] | None = None
) -> str:
    """Why a step for ``degradation`` was added to the restoration, for its trace: which done
    step revealed it and how sure perception is of it now."""
    table = REVEALS if reveals is None else reveals
    by = [t for t in dict.fromkeys(done_tasks) if degradation in table.get(t, ())]
    p = perception.probs.get(degradation, 0.0) if perception is not None else float("nan")
    return f"added: the {' and '.join(by)} step revealed {degradation} (perception reads it at {p:.2f} on its output)"


def default_policy_name() -> str:
    """The policy ``irpilot restore`` and the demo use when none is named: ``learned``.

    On the 144-image benchmark (BENCHMARKS.md, "The darkening check on the benchmark, and a
    third seed") it is ahead of ``fixed`` by 0.18 / 0.81 / 0.23 dB on groups A / B / C; ``fixed``
    is the choice for a run that must not depend on learned weights."""
    return "learned"
