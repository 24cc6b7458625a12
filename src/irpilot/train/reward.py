"""The multi-dimensional reward used by search and reinforcement learning.

Components (:func:`reward_components`), all signed so that *higher is better*:

- ``d_<metric>`` for each metric: the improvement of the output over the *input* image
  (``psnr(out) - psnr(in)``; for lower-is-better metrics ``niqe(in) - niqe(out)``), so scales
  are comparable across images and doing nothing scores 0.  Full-reference metrics need the
  clean reference; no-reference metrics and statistics with a direction do not.
- ``calls``: minus the number of tool calls (a per-call cost teaches the policy to stop).
- ``seconds`` (when the caller measured it): minus the tools' execution time in seconds per
  megapixel of the reference (of the input without one), so that of two equally good tools the cheaper one is preferred.
- ``valid``: 0 for a well-formed trajectory, -1 for an invalid one (bad call, tool error).

Combination (:class:`RewardModel`, configured by :class:`RewardConfig`), for one GRPO group
of rollouts from the same image:

- ``static``: ``r_i = sum_k w_k s_k c_ik`` with a fixed weight ``w_k`` and a unit scale
  ``s_k`` per component (``s`` makes 1 unit roughly "1 dB worth": SSIM x20, NIQE x0.5...).
- ``gdpo`` (normalise, then sum; GDPO / MO-GRPO): ``z_ik = (c_ik - mean_k) / (std_k + eps)``
  within the group, ``r_i = sum_k w_k z_ik``, so each metric counts by rank-like spread, not
  by its units.
- ``adaptive``: ``gdpo`` whose weights move between groups (:meth:`RewardModel.update`).
  With ``norm="scale"`` it is ``static`` whose weights move instead: the same unit scales, so
  ``static`` against ``adaptive`` isolates the re-weighting from the normalisation (with
  ``norm="group"``, the default, the two differ in both).  ``static`` and ``gdpo`` have one
  normalisation each and reject a ``norm`` that contradicts it.

In every strategy the penalties are added un-normalised: ``- call_cost * n_calls``,
``- time_cost * seconds_per_megapixel`` and ``invalid_penalty * valid``.

Fidelity gate (``gate=True``): a no-reference gain counts only while fidelity holds, i.e.
while ``d_psnr >= -gate_tolerance["psnr"]`` and ``d_ssim >= -gate_tolerance["ssim"]`` (for
those present); otherwise the no-reference components of that rollout are clipped to
``min(value, 0)`` (losses still count, gains do not).

Adaptive rule (one update per group; designed for irpilot, the TIR-Agent paper does not
publish its rule).  Work in log-weights ``u_k = log w_k``:

1. *Lag* (every quality component).  ``lag="relative"`` (default): each component's scaled
   group-mean gain ``g_k = s_k * mean_group(c_k)`` is compared with its own running mean
   ``mu_k`` and standard deviation ``sd_k`` (exponential averages over groups, rate
   ``lag_beta``): ``u_k += eta_lag * (-tanh((g_k - mu_k) / sd_k))``.  A metric whose gain falls
   below its usual level (the policy is starting to trade it away) gains weight; one that
   rises above it loses a little.  The rule is free of the units of the metrics.
   ``lag="level"``: the lag is not accumulated.  A fast and a slow running mean of ``g_k``
   (rates ``lag_fast_beta``, ``lag_beta / 5``) give ``L_k = -tanh((fast_k - slow_k) / sd_k)``
   and ``u_k = log w0_k + A_k + eta_level * L_k``, where ``A_k`` accumulates only the
   agreement term (kept within the weight bounds).  Per-group noise cannot random-walk the
   weights, and a metric the policy keeps improving loses at most a factor ``exp(eta_level)``.
   ``lag="none"``: no lag term; ``u_k = log w0_k + A_k``, so only the agreement signal below
   moves the weights (a no-reference metric that stops agreeing with fidelity loses weight, and
   the renormalisation hands it to the others).
   ``lag="absolute"``: ``u_k += eta_lag * (-tanh(g_k))``: a negative gain gains weight, a
   comfortably positive one loses a little; with unit scales that are only roughly
   calibrated this drifts weight toward whichever metric has the smallest scaled gains
   (it moved GMSD to the upper bound in GRPO runs), hence the relative default.
2. *Agreement* (no-reference components, when full-reference ones exist): the Spearman
   correlation ``rho_k`` between component ``k`` and the full-reference consensus (mean rank
   of the full-reference components) within the group, smoothed
   ``a_k <- (1 - beta) a_k + beta rho_k``; then ``u_k += eta_agree * (a_k - rho_target)``.
   A no-reference metric that rises while fidelity falls (reward hacking) has ``a_k < 0`` and
   loses weight; one that keeps agreeing regains it.
3. ``w = exp(u)`` clipped to ``[w_min, w_max]`` and rescaled so the quality weights keep their
   initial sum (alternating a few times so both hold).

Every update appends to :attr:`RewardModel.history` the mean/std/min/max of every component
(raw and gated), the gate rate, the agreement and the weights, so hacking is visible (a
no-reference mean up while ``d_psnr`` goes down).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..quality.base import METRICS, MetricError, get_metric

__all__ = [
    "RewardConfig",
    "RewardModel",
    "reward_components",
    "reward",
    "group_advantages",
    "component_name",
    "DEFAULT_REWARD_METRICS",
    "DEFAULT_SCALES",
]

STRATEGIES = ("static", "gdpo", "adaptive")
LAG_RULES = ("relative", "level", "absolute", "none")
#: the normalisation a strategy always uses (``adaptive`` takes either; its default is "group")
_OWN_NORM = {"static": "scale", "gdpo": "group"}
#: Metrics whose improvements form the reward by default (with a reference).
DEFAULT_REWARD_METRICS: tuple[str, ...] = ("psnr", "ssim", "gmsd", "niqe")
#: Unit scales: multiplying an improvement by its scale gives roughly "1 dB of PSNR worth".
DEFAULT_SCALES: dict[str, float] = {
    "d_psnr": 1.0,
    "d_psnr_y": 1.0,
    "d_ssim": 20.0,
    "d_ms_ssim": 20.0,
    "d_gmsd": 20.0,
    "d_vif": 10.0,
    "d_fsim": 20.0,
    "d_haarpsi": 20.0,
    "d_lpips": 10.0,
    "d_lpips_vgg": 10.0,
    "d_niqe": 0.5,
    "d_niqe_basicsr": 0.5,
    "d_brisque": 0.05,
    "d_noise_sigma": 0.1,
    "d_sharpness": 100.0,
    "d_blockiness": 2.0,
    "d_haze_dcp": 5.0,
    "d_contrast": 20.0,
}
PENALTIES = ("calls", "seconds", "valid")


def component_name(metric: str) -> str:
    """Reward component name of a metric's improvement (``"psnr"`` -> ``"d_psnr"``)."""
    return f"d_{metric}"


def _direction(metric: str) -> float:
    hib = METRICS.get(metric).higher_is_better
    if hib is None:
        raise MetricError(f"metric {metric!r} has no better direction and cannot be a reward component")
    return 1.0 if hib else -1.0


def reward_components(
    input_img: np.ndarray,
    output_img: np.ndarray | None,
    ref: np.ndarray | None = None,
    *,
    n_calls: int = 0,
    valid: bool = True,
    metrics: Sequence[str] | None = None,
    input_scores: Mapping[str, float] | None = None,
    seconds: float | None = None,
) -> dict[str, float]:
    """Improvements of ``output_img`` over ``input_img`` plus penalty terms, higher = better.

    ``metrics`` defaults to :data:`DEFAULT_REWARD_METRICS` with a reference, and to the
    no-reference ones among them without; full-reference metrics are skipped when ``ref`` is
    None.  ``input_scores`` (``{metric: value}`` of the input, e.g. from :func:`score`) saves
    recomputing the input's metrics for every rollout of a group.  An invalid trajectory may
    pass ``output_img=None``: its improvements are 0 and ``valid`` is -1.

    >>> reward_components(inp, out, ref, n_calls=2)        # doctest: +SKIP
    {'d_psnr': 1.8, 'd_ssim': 0.06, 'd_gmsd': 0.03, 'd_niqe': 0.9, 'calls': -2.0, 'valid': 0.0}
    """
    names = list(metrics) if metrics is not None else list(DEFAULT_REWARD_METRICS)
    if ref is None:
        names = [m for m in names if not METRICS.get(m).needs_reference]
    out: dict[str, float] = {}
    for m in names:
        sign = _direction(m)
        if output_img is None:
            out[component_name(m)] = 0.0
            continue
        metric = get_metric(m)
        r = ref if metric.needs_reference else None
        before = input_scores[m] if input_scores is not None and m in input_scores else metric(input_img, r)
        after = metric(output_img, r)
        out[component_name(m)] = float(sign * (after - before))
    out["calls"] = -float(n_calls)
    if seconds is not None:
        size = ref if ref is not None else input_img  # x4 tools run at the reference's size
        megapixels = max(1e-6, size.shape[-2] * size.shape[-1] / 1e6)
        out["seconds"] = -float(seconds) / megapixels
    out["valid"] = 0.0 if valid else -1.0
    return out


def _default_weights() -> dict[str, float]:
    return {"d_psnr": 1.0, "d_ssim": 1.0, "d_gmsd": 0.5, "d_niqe": 0.5}


@dataclasses.dataclass
class RewardConfig:
    """How components become one reward per rollout.  See the module docstring for formulas.

    ``weights`` maps component names to initial weights; components of a group without a
    weight get ``default_weight``.  ``fidelity`` lists the full-reference component names the
    gate and the agreement signal use as ground truth (default: every ``d_<metric>`` of a
    full-reference metric present).
    """

    strategy: str = "adaptive"
    #: how components are put on one footing before the weights apply: "group" (z-scores
    #: within the group) or "scale" (unit scales).  Only ``adaptive`` has a choice (default
    #: "group"); ``static`` is "scale" and ``gdpo`` is "group" by definition, and None means
    #: the strategy's own.  A contradicting value is an error, not silently ignored.
    norm: str | None = None
    weights: dict[str, float] = dataclasses.field(default_factory=_default_weights)
    default_weight: float = 0.5
    scales: dict[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_SCALES))
    gate: bool = True
    gate_tolerance: dict[str, float] = dataclasses.field(default_factory=lambda: {"psnr": 0.2, "ssim": 0.01})
    call_cost: float = 0.05
    #: per second of tool execution per megapixel of the input (0: time is free).  At 0.002,
    #: DnCNN-3 on a 320 px RGB crop (7 s on one core, 70 s/MP) costs 0.14
    time_cost: float = 0.0
    invalid_penalty: float = 2.0
    eps: float = 1e-6
    # adaptive rule
    #: slow rates: GRPO groups come from different photos and degradations, so one group's
    #: signals are mostly noise (at 0.3 / 1.0 the weights jumped by 2x between updates)
    eta_lag: float = 0.1
    #: "relative" (to each metric's own running level), "level", "absolute" or "none" (only the
    #: agreement signal moves the weights)
    lag: str = "relative"
    lag_beta: float = 0.1
    lag_fast_beta: float = 0.2  #: "level" only: rate of the fast running mean
    eta_level: float = 0.5  #: "level" only: the lag moves a log-weight by at most this much
    eta_agree: float = 0.3
    agree_beta: float = 0.5
    rho_target: float = 0.2
    # bounds keep any one metric from taking over the reward (at most 8:1 between weights)
    w_min: float = 0.25
    w_max: float = 2.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.norm not in (None, "group", "scale"):
            raise ValueError(f"norm must be 'group' or 'scale', got {self.norm!r}")
        own = _OWN_NORM.get(self.strategy)
        if self.norm is not None and own is not None and self.norm != own:
            other = "gdpo" if self.strategy == "static" else "static"
            raise ValueError(
                f"norm={self.norm!r} contradicts strategy {self.strategy!r}, which always uses norm={own!r} "
                f"(that is {other!r}; only 'adaptive' takes either)"
            )
        if self.lag not in LAG_RULES:
            raise ValueError(f"lag must be one of {', '.join(LAG_RULES)}, got {self.lag!r}")
        if not 0 < self.w_min <= self.w_max:
            raise ValueError(f"need 0 < w_min <= w_max, got {self.w_min}, {self.w_max}")
        for k, v in self.weights.items():
            if v < 0 or not math.isfinite(v):
                raise ValueError(f"weight of {k!r} must be finite and >= 0, got {v}")

    @property
    def normalisation(self) -> str:
        """The normalisation in effect: ``norm``, or the strategy's own when it is None."""
        return self.norm or _OWN_NORM.get(self.strategy, "group")

    def scale(self, comp: str) -> float:
        if comp in self.scales:
            return float(self.scales[comp])
        metric = comp[2:] if comp.startswith("d_") else comp
        if metric in METRICS:
            lo, hi = METRICS.get(metric).range
            return 5.0 / (hi - lo) if hi > lo else 1.0
        return 1.0


def _is_full_reference(comp: str) -> bool:
    metric = comp[2:] if comp.startswith("d_") else None
    return bool(metric) and metric in METRICS and METRICS.get(metric).needs_reference


def _rank(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    ra, rb = _rank(a), _rank(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / math.sqrt((ra * ra).sum() * (rb * rb).sum()))


def group_advantages(rewards: Sequence[float], eps: float = 1e-6) -> list[float]:
    """GRPO advantages: ``(r - mean) / (std + eps)`` within a group (all 0 when all equal)."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.size == 0:
        return []
    sd = r.std()
    return [0.0] * len(r) if sd < eps else list((r - r.mean()) / (sd + eps))


class RewardModel:
    """Combines reward components per GRPO group; ``adaptive`` also learns its weights.

    >>> model = RewardModel(RewardConfig(strategy="adaptive"))          # doctest: +SKIP
    >>> comps = [reward_components(inp, out, ref, n_calls=n) for out, n in rollouts]  # doctest: +SKIP
    >>> rewards = model.combine(comps); model.update(comps)              # doctest: +SKIP
    """

    def __init__(self, config: RewardConfig | None = None) -> None:
        self.config = config or RewardConfig()
        self.weights: dict[str, float] = dict(self.config.weights)
        self.agreement: dict[str, float] = {}
        self.gain_stats: dict[str, tuple[float, float]] = {}  #: running (mean, variance) of scaled gains
        self.fast_gain: dict[str, float] = {}  #: "level": fast running mean of scaled gains
        self.agree_u: dict[str, float] = {}  #: "level": accumulated agreement term (log-weight)
        self.step = 0
        self.history: list[dict[str, Any]] = []

    # -- helpers -------------------------------------------------------------------------
    def _quality_keys(self, group: Sequence[Mapping[str, float]]) -> list[str]:
        keys: list[str] = []
        for comps in group:
            for k in comps:
                if k not in PENALTIES and k not in keys:
                    keys.append(k)
        return keys

    def weight(self, comp: str) -> float:
        return float(self.weights.get(comp, self.config.default_weight))

    def gated(self, comps: Mapping[str, float]) -> tuple[dict[str, float], bool]:
        """The components after the fidelity gate, and whether the gate closed."""
        out = dict(comps)
        if not self.config.gate:
            return out, False
        closed = any(
            f"d_{m}" in comps and comps[f"d_{m}"] < -tol for m, tol in self.config.gate_tolerance.items()
        )
        if closed:
            for k, v in comps.items():
                if k not in PENALTIES and not _is_full_reference(k):
                    out[k] = min(v, 0.0)
        return out, closed

    def _matrix(self, group: Sequence[Mapping[str, float]], keys: list[str]) -> np.ndarray:
        return np.array([[float(c.get(k, 0.0)) for k in keys] for c in group], dtype=np.float64).reshape(len(group), len(keys))

    # -- combining -------------------------------------------------------------------------
    def combine(self, components: Sequence[Mapping[str, float]]) -> list[float]:
        """One scalar reward per rollout of a group (the order of ``components``)."""
        if not components:
            return []
        cfg = self.config
        keys = self._quality_keys(components)
        gated = [self.gated(c)[0] for c in components]
        x = self._matrix(gated, keys)
        w = np.array([self.weight(k) for k in keys])
        if cfg.normalisation == "scale":  # static, or adaptive on unit scales
            s = np.array([cfg.scale(k) for k in keys])
            quality = x @ (w * s) if keys else np.zeros(len(components))
        else:
            sd = x.std(axis=0)
            z = np.where(sd > cfg.eps, (x - x.mean(axis=0)) / (sd + cfg.eps), 0.0)
            quality = z @ w if keys else np.zeros(len(components))
        penalty = np.array(
            [
                cfg.call_cost * c.get("calls", 0.0) + cfg.time_cost * c.get("seconds", 0.0) + cfg.invalid_penalty * c.get("valid", 0.0)
                for c in components
            ]
        )
        return [float(v) for v in quality + penalty]

    # -- adapting ----------------------------------------------------------------------------
    def update(self, group_components: Sequence[Mapping[str, float]]) -> dict[str, float]:
        """Record one group's components; for ``adaptive`` move the weights.  Returns the weights."""
        cfg = self.config
        keys = self._quality_keys(group_components)
        if not keys:
            return dict(self.weights)
        raw = self._matrix(group_components, keys)
        gated_list, closed = zip(*(self.gated(c) for c in group_components))
        gated = self._matrix(gated_list, keys)
        fidelity = [k for k in keys if _is_full_reference(k)]
        rho: dict[str, float | None] = {}
        if fidelity and len(group_components) >= 3:
            fid_idx = [keys.index(k) for k in fidelity]
            consensus = np.mean([_rank(raw[:, i]) for i in fid_idx], axis=0)
            for i, k in enumerate(keys):
                if k not in fidelity:
                    rho[k] = _spearman(raw[:, i], consensus)
        if cfg.strategy == "adaptive":
            for k in keys:
                self.weights.setdefault(k, cfg.default_weight)
            level = cfg.lag in ("level", "none")  # "none": the level rule without its lag term
            u = {k: math.log(max(self.weights[k], 1e-12)) for k in keys}
            means = gated.mean(axis=0)
            for i, k in enumerate(keys):
                gain = cfg.scale(k) * float(means[i])
                agree = 0.0
                r = rho.get(k)
                if r is not None:
                    a = (1 - cfg.agree_beta) * self.agreement.get(k, cfg.rho_target) + cfg.agree_beta * r
                    self.agreement[k] = a
                    agree = cfg.eta_agree * (a - cfg.rho_target)
                if level:
                    u0 = math.log(max(cfg.weights.get(k, cfg.default_weight), 1e-12))
                    room = (math.log(cfg.w_min) - u0, math.log(cfg.w_max) - u0)
                    self.agree_u[k] = min(max(self.agree_u.get(k, 0.0) + agree, room[0]), room[1])
                    lag = cfg.eta_level * self._level(k, gain) if cfg.lag == "level" else 0.0
                    u[k] = u0 + self.agree_u[k] + lag
                else:
                    u[k] += cfg.eta_lag * self._lag(k, gain) + agree
            self._set_weights({k: math.exp(v) for k, v in u.items()}, keys)
        self.step += 1
        entry: dict[str, Any] = {
            "step": self.step,
            "strategy": cfg.strategy,
            "group_size": len(group_components),
            "gate_rate": float(np.mean(closed)),
            "components": {
                k: {
                    "mean": float(raw[:, i].mean()),
                    "std": float(raw[:, i].std()),
                    "min": float(raw[:, i].min()),
                    "max": float(raw[:, i].max()),
                    "gated_mean": float(gated[:, i].mean()),
                }
                for i, k in enumerate(keys)
            },
            "penalties": {p: float(np.mean([c.get(p, 0.0) for c in group_components])) for p in PENALTIES},
            "agreement": {k: v for k, v in rho.items() if v is not None},
            "agreement_ema": dict(self.agreement),
            "weights": {k: self.weight(k) for k in keys},
        }
        self.history.append(entry)
        return dict(self.weights)

    def _lag(self, comp: str, gain: float) -> float:
        """The lag signal of one component for a scaled group-mean ``gain`` (see module doc)."""
        cfg = self.config
        if cfg.lag == "absolute":
            return -math.tanh(gain)
        mu, var = self.gain_stats.get(comp, (gain, 1.0))  # first sight: no lag, 1 unit of spread
        signal = -math.tanh((gain - mu) / math.sqrt(var + cfg.eps))
        d = gain - mu
        self.gain_stats[comp] = (mu + cfg.lag_beta * d, (1 - cfg.lag_beta) * (var + cfg.lag_beta * d * d))
        return signal

    def _level(self, comp: str, gain: float) -> float:
        """``lag="level"``: -tanh of the fast running mean's distance from the slow one, in
        running standard deviations (0 at first sight)."""
        cfg = self.config
        slow_beta = cfg.lag_beta / 5
        mu, var = self.gain_stats.get(comp, (gain, 1.0))
        fast = self.fast_gain.get(comp, gain)
        fast += cfg.lag_fast_beta * (gain - fast)
        d = gain - mu
        mu, var = mu + slow_beta * d, (1 - slow_beta) * (var + slow_beta * d * d)
        self.gain_stats[comp], self.fast_gain[comp] = (mu, var), fast
        return -math.tanh((fast - mu) / math.sqrt(var + cfg.eps))

    def _set_weights(self, proposed: dict[str, float], keys: list[str]) -> None:
        cfg = self.config
        total = sum(self.config.weights.get(k, cfg.default_weight) for k in keys)
        w = np.array([proposed[k] for k in keys])
        for _ in range(20):
            w = np.clip(w, cfg.w_min, cfg.w_max)
            w = w * (total / w.sum())
            if w.min() >= cfg.w_min - 1e-9 and w.max() <= cfg.w_max + 1e-9:
                break
        w = np.clip(w, cfg.w_min, cfg.w_max)
        for k, v in zip(keys, w):
            self.weights[k] = float(v)

    # -- persistence ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (JSON-serialisable)."""
        return {
            "config": dataclasses.asdict(self.config),
            "weights": dict(self.weights),
            "agreement": dict(self.agreement),
            "gain_stats": {k: list(v) for k, v in self.gain_stats.items()},
            "fast_gain": dict(self.fast_gain),
            "agree_u": dict(self.agree_u),
            "step": self.step,
            "history": copy.deepcopy(self.history),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.config = RewardConfig(**state["config"])
        self.weights = {k: float(v) for k, v in state["weights"].items()}
        self.agreement = {k: float(v) for k, v in state.get("agreement", {}).items()}
        self.gain_stats = {k: (float(v[0]), float(v[1])) for k, v in state.get("gain_stats", {}).items()}
        self.fast_gain = {k: float(v) for k, v in state.get("fast_gain", {}).items()}
        self.agree_u = {k: float(v) for k, v in state.get("agree_u", {}).items()}
        self.step = int(state.get("step", 0))
        self.history = copy.deepcopy(list(state.get("history", [])))


_STATIC = RewardConfig(strategy="static")


def reward(
    input_img: np.ndarray,
    output_img: np.ndarray | None,
    ref: np.ndarray | None = None,
    *,
    n_calls: int = 0,
    valid: bool = True,
    metrics: Sequence[str] | None = None,
    config: RewardConfig | None = None,
    input_scores: Mapping[str, float] | None = None,
) -> float:
    """Scalar reward of one trajectory: the static combination of gated components.

    Doing nothing scores 0; each tool call costs ``config.call_cost``.  ``config`` defaults
    to ``RewardConfig(strategy="static")`` (its strategy is forced to static: a single
    trajectory has no group to normalise in).
    """
    cfg = config or _STATIC
    if cfg.strategy != "static":
        cfg = dataclasses.replace(cfg, strategy="static", norm=None)  # norm: static's own
    comps = reward_components(
        input_img, output_img, ref, n_calls=n_calls, valid=valid, metrics=metrics, input_scores=input_scores
    )
    return RewardModel(cfg).combine([comps])[0]
