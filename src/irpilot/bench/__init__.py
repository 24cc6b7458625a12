"""The benchmark: groups A/B/C and out-of-domain sets, quality and cost side by side.

>>> from irpilot.bench import BenchConfig, run_bench      # doctest: +SKIP
>>> run_bench(BenchConfig(sets=["kodak24"], groups=["C"], policies=["fixed"], limit=2, out="runs/b"))  # doctest: +SKIP
"""

from .runner import GROUP_PRESETS, BenchConfig, resolve_set, run_bench, summarise

__all__ = ["BenchConfig", "GROUP_PRESETS", "resolve_set", "run_bench", "summarise"]
