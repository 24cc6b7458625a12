"""MAXIM's cost: seconds per image in torch against TensorFlow, and peak memory on a 12 MP photo.

Speed (``--sides``): for each model, the graph run by irpilot's torch executor on random
images of each side (one warm-up run per side first: shape planning and allocator warm-up,
as every tile after the first of a photo gets), then by TensorFlow on the same sides in a
subprocess (``benchmarks/maxim_reference.py --time``, in the throw-away environment given by
``--tf-python``, which has tensorflow-cpu; skipped without it).  Both use ``--threads`` threads.
Wall and CPU seconds (the process's user + system time) are recorded: on a shared machine the
CPU time is the steadier measure of the work done.

    OMP_NUM_THREADS=1 python benchmarks/maxim_speed.py --threads 1 --models dehazing-indoor deblurring \
        --sides 256 512 --tf-python /tmp/tfenv/bin/python

Memory (``--memory TOOL``): the tool on a 12-megapixel photo (a Kodak24 photo resized to
``--mem-size``), tiled as its card says, in this process; the peak resident memory (VmHWM) is
printed after every tile.  ``--max-tiles N`` stops after N tiles: tiles all have one shape, so
the peak is reached with the first ones; the whole photo takes hours on 2 cores.

    OMP_NUM_THREADS=1 python benchmarks/maxim_speed.py --threads 1 --memory maxim_deblur --max-tiles 3

Weights: ``irpilot weights fetch @upscalerjs/maxim-NAME`` (the fetch dir).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from _common import peak_rss_mb  # noqa: E402

from irpilot.tools import TOOLS, get_tool  # noqa: E402
from irpilot.tools.networks.maxim import MAXIM_PACKAGES  # noqa: E402


class _Stop(Exception):
    pass


def _model_dir(model: str) -> Path:
    tool = next(cls for _, cls in TOOLS.items() if getattr(cls, "package_model", None) == model)
    return tool.card.weights[0].resolve().parent


def torch_speed(model: str, sides: list[int], repeats: int) -> dict[str, Any]:
    import torch

    from irpilot.tools.networks.tf_exec import GraphExecutor
    from irpilot.tools.networks.tfjs_graph import read_tfjs_graph

    t0 = time.perf_counter()
    graph = read_tfjs_graph(_model_dir(model))
    ex = GraphExecutor(graph.nodes, graph.inputs, graph.outputs)
    out: dict[str, Any] = {"load_s": round(time.perf_counter() - t0, 2), "parameters": graph.parameter_count(),
                           "nodes": len(graph.nodes), "seconds": {}}
    del graph
    rng = np.random.default_rng(0)
    for side in sides:
        x = torch.from_numpy(rng.random((1, side, side, 3), dtype=np.float32))
        ex(x)  # warm-up: plans this shape
        times, cpu = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            ex(x)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out["seconds"][str(side)] = round(min(times), 3)
        out.setdefault("cpu_seconds", {})[str(side)] = round(min(cpu), 3)
        print(f"  torch {model} {side}: {min(times):.2f} s wall, {min(cpu):.2f} s CPU", flush=True)
    return out


def tf_speed(model: str, sides: list[int], repeats: int, python: str, threads: int) -> dict[str, Any]:
    cmd = [python, str(REPO / "benchmarks" / "maxim_reference.py"), "--model", str(_model_dir(model)),
           "--time", *map(str, sides), "--repeats", str(repeats), "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    for side, s in res["seconds"].items():
        print(f"  tensorflow {model} {side}: {s:.2f} s wall, {res['cpu_seconds'][side]:.2f} s CPU", flush=True)
    return res


def memory(name: str, w: int, h: int, max_tiles: int) -> dict[str, Any]:
    import cv2

    from irpilot.config import settings
    from irpilot.io import read_image

    base = read_image(sorted((Path(settings.data_dir) / "Kodak24").glob("*.png"))[0])
    img = cv2.resize(base.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_CUBIC).transpose(2, 0, 1)
    img = np.ascontiguousarray(np.clip(img, 0, 1), dtype=np.float32)
    tool = get_tool(name)
    tool.ensure_setup()
    rss_loaded = peak_rss_mb(os.getpid())
    run = tool._run_padded
    per_tile: list[dict[str, float]] = []
    t0 = time.perf_counter()

    def counted(x: np.ndarray, **kw: Any) -> np.ndarray:
        if max_tiles and len(per_tile) >= max_tiles:
            raise _Stop
        t = time.perf_counter()
        y = run(x, **kw)
        per_tile.append({"seconds": round(time.perf_counter() - t, 1), "peak_rss_mb": peak_rss_mb(os.getpid()) or 0.0})
        print(f"  tile {len(per_tile)} {x.shape[1]}x{x.shape[2]}: {per_tile[-1]}", flush=True)
        return y

    tool._run_padded = counted  # type: ignore[method-assign]
    complete = True
    try:
        tool(img)
    except Exception as exc:  # the tool wraps the stop signal in a ToolError
        if not isinstance(exc, _Stop) and not isinstance(exc.__cause__, _Stop):
            raise
        complete = False
    from irpilot.tools.tiling import tile_starts

    card = tool.card
    n_tiles = len(tile_starts(h, card.tile_size, card.tile_overlap)) * len(tile_starts(w, card.tile_size, card.tile_overlap))
    return {"tool": name, "input": f"{w}x{h}", "tile": card.tile_size, "overlap": card.tile_overlap,
            "tiles_total": n_tiles, "tiles_run": len(per_tile), "complete": complete,
            "rss_after_loading_mb": rss_loaded, "peak_rss_mb": peak_rss_mb(os.getpid()),
            "seconds": round(time.perf_counter() - t0, 1), "per_tile": per_tile}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", default=["dehazing-indoor", "deblurring"], choices=sorted(MAXIM_PACKAGES))
    ap.add_argument("--sides", type=int, nargs="*", default=[256, 512])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tf-python", help="python of an environment with tensorflow-cpu")
    ap.add_argument("--memory", metavar="TOOL", help="measure peak memory of this tool on a 12 MP photo instead")
    ap.add_argument("--mem-size", default="4000x3000")
    ap.add_argument("--max-tiles", type=int, default=0, help="stop after this many tiles (0: the whole photo)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "maxim_speed.json")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    res: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    run_info = {
        "command": "python benchmarks/maxim_speed.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), torch {torch.__version__}, "
                   f"{args.threads} thread(s)",
        "load_average_start": " / ".join(f"{v:.1f}" for v in os.getloadavg()),
    }
    if args.memory:
        w, h = (int(v) for v in args.mem_size.lower().split("x"))
        result = memory(args.memory, w, h, args.max_tiles)
        res.setdefault("memory", {})[args.memory] = {**run_info, **result}
    else:
        for model in args.models:
            entry: dict[str, Any] = {**run_info, "torch": torch_speed(model, args.sides, args.repeats)}
            if args.tf_python:
                entry["tensorflow"] = tf_speed(model, args.sides, args.repeats, args.tf_python, args.threads)
                tf_s = entry["tensorflow"].get("seconds", {})
                entry["torch_over_tensorflow"] = {s: round(t / tf_s[s], 2) for s, t in entry["torch"]["seconds"].items()
                                                  if tf_s.get(s)}
                tf_c = entry["tensorflow"].get("cpu_seconds", {})
                entry["torch_over_tensorflow_cpu"] = {s: round(t / tf_c[s], 2)
                                                      for s, t in entry["torch"]["cpu_seconds"].items() if tf_c.get(s)}
            entry["load_average_end"] = " / ".join(f"{v:.1f}" for v in os.getloadavg())
            res.setdefault("speed", {})[model] = entry
            args.out.write_text(json.dumps(res, indent=1) + "\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res.get("memory", {}).get(args.memory, {}) if args.memory else res["speed"], indent=1)[:3000])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
