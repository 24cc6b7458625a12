"""Model-call pool benchmark.

1. GRPO situation: G=8 rollouts from one image, each a sequence of 3 tool calls sampled from a
   small tool set, run step by step through the pool (all rollouts submit step t together).  Rollouts
   that share a prefix share its results when the cache is on.  Measured with the cache (and
   coalescing) on and off on the same sampled sequences: tool executions and wall time.
2. Throughput: one fixed workload (distinct calls, cache off) on the local backend with 1 and 2
   workers (and on the process backend for comparison).
3. Overhead: milliseconds the pool adds per call (a trivial tool), executed and cache hit.

Math libraries are limited to one thread each so that parallelism comes from the pool only.

    python benchmarks/pool_bench.py [--groups 4] [--size 256] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from irpilot.pool import Pool  # noqa: E402

#: (tool id, probability): a peaked distribution, like a partly trained policy, and a uniform one.
GRPO_TOOLS = ("fast_nlm_color", "nlm", "wavelet_bayesshrink", "dark_channel_prior")
POLICIES = {
    "uniform": (0.25, 0.25, 0.25, 0.25),
    "peaked": (0.55, 0.25, 0.15, 0.05),
}
THROUGHPUT_TOOLS = ("fast_nlm_color", "nlm", "wavelet_bayesshrink", "bilateral")


def photo_crops(n: int, size: int, seed: int) -> list[np.ndarray]:
    """Random crops of scikit-image's bundled photos (no download), with light noise added."""
    import skimage.data

    from irpilot.io import from_uint8

    rng = np.random.default_rng(seed)
    photos = [from_uint8(getattr(skimage.data, name)()) for name in ("astronaut", "chelsea", "coffee")]
    crops = []
    for i in range(n):
        p = photos[i % len(photos)]
        y = int(rng.integers(0, p.shape[1] - size))
        x = int(rng.integers(0, p.shape[2] - size))
        c = p[:, y : y + size, x : x + size] + rng.normal(0, 0.05, (3, size, size)).astype(np.float32)
        crops.append(np.clip(c, 0, 1).astype(np.float32))
    return crops


def sample_sequences(rng: np.random.Generator, g: int, length: int, probs: tuple[float, ...]) -> list[list[str]]:
    return [[GRPO_TOOLS[int(rng.choice(len(GRPO_TOOLS), p=probs))] for _ in range(length)] for _ in range(g)]


def run_group(pool: Pool, image: np.ndarray, seqs: list[list[str]]) -> None:
    """Advance all rollouts of a group one step at a time (the way a batched agent loop does)."""
    states = [image] * len(seqs)
    for t in range(len(seqs[0])):
        results = pool.map([(seq[t], s) for seq, s in zip(seqs, states)])
        for r in results:
            if not r.ok:
                raise RuntimeError(r.error)
        states = [r.image for r in results]


def bench_grpo(groups: int, size: int, g: int, length: int, workers: int, seed: int) -> dict[str, object]:
    """Both variants run group by group, alternating which goes first, so that load from other
    processes hits them alike.  CPU seconds (all threads of this process) are the tools' work and
    are much less sensitive to other load than wall time."""
    images = photo_crops(groups, size, seed)
    out: dict[str, object] = {}
    for name, probs in POLICIES.items():
        rng = np.random.default_rng(seed)
        plan = [sample_sequences(rng, g, length, probs) for _ in images]
        pools = {
            "no_cache": Pool("local", workers, cache=False, coalesce=False),
            "cache": Pool("local", workers, cache=True, coalesce=True),
        }
        wall = dict.fromkeys(pools, 0.0)
        cpu = dict.fromkeys(pools, 0.0)
        try:
            for pool in pools.values():
                for tool in GRPO_TOOLS:  # load every tool once, outside the timing
                    pool.run(tool, images[0][:, :16, :16])
            for i, (img, seqs) in enumerate(zip(images, plan)):
                order = list(pools) if i % 2 == 0 else list(pools)[::-1]
                for label in order:
                    t0, c0 = time.perf_counter(), time.process_time()
                    run_group(pools[label], img, seqs)
                    wall[label] += time.perf_counter() - t0
                    cpu[label] += time.process_time() - c0
            row: dict[str, object] = {"calls": groups * g * length}
            for label, pool in pools.items():
                tools = pool.stats()["tools"]
                row[f"{label}_executions"] = sum(tools[t]["executions"] for t in GRPO_TOOLS) - len(GRPO_TOOLS)
                row[f"{label}_seconds"] = round(wall[label], 3)
                row[f"{label}_cpu_seconds"] = round(cpu[label], 3)
        finally:
            for pool in pools.values():
                pool.close()
        row["execution_ratio"] = round(row["no_cache_executions"] / row["cache_executions"], 2)
        row["wall_speedup"] = round(row["no_cache_seconds"] / row["cache_seconds"], 2)
        row["cpu_ratio"] = round(row["no_cache_cpu_seconds"] / row["cache_cpu_seconds"], 2)
        out[name] = row
    return out


def bench_throughput(n: int, size: int, seed: int, backends: tuple[str, ...], reps: int) -> dict[str, object]:
    """The same distinct calls (cache off) with 1 and 2 workers, alternating, ``reps`` times;
    the best run of each is reported (the one least disturbed by other processes)."""
    images = photo_crops(n, size, seed + 1)
    calls = [(THROUGHPUT_TOOLS[i % len(THROUGHPUT_TOOLS)], img) for i, img in enumerate(images)]
    out: dict[str, object] = {"calls": len(calls), "tools": list(THROUGHPUT_TOOLS), "reps": reps}
    for backend in backends:
        pools = {w: Pool(backend, w, cache=False, coalesce=False, threads_per_worker=1) for w in (1, 2)}
        times: dict[int, list[float]] = {1: [], 2: []}
        cpu: dict[int, float] = {1: 0.0, 2: 0.0}
        try:
            for w, pool in pools.items():
                pool.map([(t, images[0][:, :16, :16]) for t in THROUGHPUT_TOOLS] * w)  # warm every worker
            for r in range(reps):
                for w in ((1, 2) if r % 2 == 0 else (2, 1)):
                    t0, c0 = time.perf_counter(), time.process_time()
                    results = pools[w].map(calls)
                    times[w].append(time.perf_counter() - t0)
                    cpu[w] += time.process_time() - c0
                    if not all(x.ok for x in results):
                        raise RuntimeError([x.error for x in results if not x.ok][:3])
        finally:
            for pool in pools.values():
                pool.close()
        for w in (1, 2):
            out[f"{backend}_{w}_seconds_best"] = round(min(times[w]), 3)
            out[f"{backend}_{w}_seconds_all"] = [round(t, 3) for t in times[w]]
            out[f"{backend}_{w}_calls_per_s"] = round(len(calls) / min(times[w]), 2)
            if backend == "local":  # cores this process actually got (2.0 = both cores busy with our work)
                out[f"local_{w}_cpu_per_wall"] = round(cpu[w] / sum(times[w]), 2)
        out[f"{backend}_2_vs_1"] = round(min(times[1]) / min(times[2]), 2)
    return out


def bench_overhead(n: int, seed: int) -> dict[str, object]:
    """Cost of the pool itself: a trivial tool (multiply by 0.5) on 64x64 images, per call
    (the test suite's ``pool_test_gain``, from ``tests/conftest.py``)."""
    tests_dir = str(Path(__file__).resolve().parents[1] / "tests")
    sys.path.insert(0, tests_dir)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (tests_dir, os.environ.get("PYTHONPATH", "")) if p)
    import conftest as testing

    testing.register_pool_tools()
    rng = np.random.default_rng(seed)
    images = [rng.random((3, 64, 64), dtype=np.float32) for _ in range(n)]
    out: dict[str, object] = {"calls": n, "image": "3x64x64"}
    try:
        for backend in ("local", "process"):
            with Pool(backend, 1, imports=testing.POOL_IMPORTS) as pool:
                pool.run("pool_test_gain", images[0][:, :8, :8])  # start the worker
                t0 = time.perf_counter()
                pool.map([("pool_test_gain", im) for im in images])
                miss = time.perf_counter() - t0
                t0 = time.perf_counter()
                pool.map([("pool_test_gain", im) for im in images])
                hit = time.perf_counter() - t0
            out[f"{backend}_ms_per_executed_call"] = round(1000 * miss / n, 3)
            out[f"{backend}_ms_per_cache_hit"] = round(1000 * hit / n, 3)
    finally:
        testing.unregister_pool_tools()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups", type=int, default=4, help="GRPO groups (one image each)")
    ap.add_argument("--group-size", type=int, default=8, help="rollouts per group (G)")
    ap.add_argument("--length", type=int, default=3, help="tool calls per rollout")
    ap.add_argument("--size", type=int, default=256, help="crop side in pixels")
    ap.add_argument("--workers", type=int, default=2, help="pool workers for the GRPO part")
    ap.add_argument("--throughput-calls", type=int, default=24)
    ap.add_argument("--backends", default="local,process", help="backends for the throughput part")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the throughput workload")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--parts", default="grpo,throughput,overhead", help="which parts to run")
    ap.add_argument("--overhead-calls", type=int, default=500)
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    load_before = os.getloadavg()[0]
    parts = set(args.parts.split(","))
    res: dict[str, object] = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "machine": f"{os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}",
    }
    if "grpo" in parts:
        res["grpo"] = bench_grpo(args.groups, args.size, args.group_size, args.length, args.workers, args.seed)
    if "throughput" in parts:
        backends = tuple(b for b in args.backends.split(",") if b)
        res["throughput"] = bench_throughput(args.throughput_calls, args.size, args.seed, backends, args.reps)
    if "overhead" in parts:
        res["overhead"] = bench_overhead(args.overhead_calls, args.seed)
    # other processes on the machine share its cores: parallel speed-ups shrink under load
    res["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(res, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
