"""Seconds per 512 x 512 image of every available tool, the speed ``irpilot tools`` shows.

Each tool restores a 512 px centre crop of a training photo carrying its own task's
degradation (protocol recipe; x4 tools a 128 px input, i.e. a 512 px output), once to load
and warm up, then ``--repeats`` timed calls; the median is kept.  Run it on an otherwise idle
machine: the numbers are absolute seconds, not ratios.  ``--write`` stores them in
``src/irpilot/assets/tool_speeds.json`` with the date, machine and settings, where they take
the place of the cards' hand-written ``cpu_seconds_512``.

    python benchmarks/tool_speed.py --threads 2 --repeats 3 --write
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from memory_format import crops  # noqa: E402

OUT = REPO / "src" / "irpilot" / "assets" / "tool_speeds.json"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def time_tool(name: str, clean: np.ndarray, repeats: int) -> float | str:
    from irpilot.degrade import degrade
    from irpilot.tools import TOOLS, get_tool
    from irpilot.vocab import TASK_TO_DEGRADATION

    degradation = TASK_TO_DEGRADATION.get(TOOLS.get(name).card.task)
    lq = degrade(clean, [degradation], seed=0)[0] if degradation else clean  # x4 tools: 128 px
    tool = get_tool(name)
    try:
        tool(lq)  # loads the weights
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            tool(lq)
            times.append(time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - one broken tool must not stop the table
        return f"{type(exc).__name__}: {exc}"
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch / OpenMP threads")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tools", nargs="*", help="only these tools (default: every available one)")
    ap.add_argument("--write", action="store_true", help=f"store the result in {OUT.relative_to(REPO)}")
    args = ap.parse_args(argv)

    import torch

    from irpilot.config import settings
    from irpilot.tools import TOOLS

    torch.set_num_threads(args.threads)
    clean = crops(512, 1)[0]
    names = args.tools or [n for n, cls in TOOLS.items() if cls.available() and not n.startswith("user_")]
    seconds: dict[str, float] = {}
    print("| tool | task | seconds per 512 x 512 |")
    print("| --- | --- | --- |")
    for name in names:
        s = time_tool(name, clean, args.repeats)
        if isinstance(s, float):
            seconds[name] = round(s, 4)
            print(f"| {name} | {TOOLS.get(name).card.task} | {s:.3f} |", flush=True)
        else:
            print(f"| {name} | {TOOLS.get(name).card.task} | failed: {s} |", flush=True)
    if args.write:
        old = json.loads(OUT.read_text()).get("seconds_512", {}) if OUT.exists() and args.tools else {}
        record = {
            "command": "python benchmarks/tool_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": _dt.date.today().isoformat(),
            "machine": f"{cpu_model()}, {args.threads} thread(s), torch {torch.__version__}",
            "precision": settings.precision,
            "seconds_512": {**old, **seconds},
        }
        OUT.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
