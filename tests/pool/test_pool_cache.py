"""Cache, batching, limits, options and lifecycle of the pool (local and process backends)."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

import numpy as np
import pytest
from conftest import POOL_IMPORTS

from irpilot.pool import (
    DiskCache,
    MemoryCache,
    Pool,
    ResultCache,
    add_pool_arguments,
    call_key,
    canonical_args,
    default_pool,
    pool_from_args,
)
from irpilot.toolcall import ToolCall

IMPORTS = POOL_IMPORTS

pytestmark = pytest.mark.usefixtures("pool_tools")



def _img(seed: int = 0, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).random((3, size, size), dtype=np.float32)


def test_canonical_args_and_key():
    assert canonical_args(None) == canonical_args({}) == "{}"
    assert canonical_args({"b": 1, "a": np.float32(0.5)}) == '{"a":0.5,"b":1}'
    with pytest.raises(TypeError, match="JSON"):
        canonical_args({"f": object()})
    k = call_key("h", "tool", "{}", "1")
    assert k == call_key("h", "tool", "{}", "1")
    assert len({k, call_key("h", "tool", "{}", "2"), call_key("h2", "tool", "{}", "1"),
                call_key("h", "tool2", "{}", "1"), call_key("h", "tool", '{"a":1}', "1")}) == 5


def test_memory_cache_lru_budget():
    a, b, c = (np.full((3, 8, 8), v, np.float32) for v in (0.1, 0.2, 0.3))  # 768 bytes each
    cache = MemoryCache(max_bytes=2 * a.nbytes)
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # "a" becomes most recent
    cache.put("c", c)  # evicts "b", the least recently used
    assert cache.get("b") is None and cache.get("a") is a and cache.get("c") is c
    assert cache.nbytes == 2 * a.nbytes and cache.evictions == 1
    cache.put("huge", np.zeros((3, 64, 64), np.float32))  # larger than the budget: not stored
    assert cache.get("huge") is None and len(cache) == 2


def test_disk_cache_atomic_and_corrupt_files(tmp_path):
    disk = DiskCache(tmp_path / "c")
    img = _img()
    disk.put("ab" + "0" * 30, img)
    np.testing.assert_array_equal(disk.get("ab" + "0" * 30), img)
    assert not list((tmp_path / "c").rglob("*.part"))
    bad = tmp_path / "c" / "cd" / ("cd" + "1" * 30 + ".npy")
    bad.parent.mkdir()
    bad.write_bytes(b"not an npy file")
    assert disk.get("cd" + "1" * 30) is None and not bad.exists()
    rc = ResultCache(max_bytes=1 << 20, directory=tmp_path / "c")
    out, where = rc.get("ab" + "0" * 30)
    assert where == "disk" and out.flags.writeable
    assert rc.get("ab" + "0" * 30)[1] == "memory"


@pytest.mark.parametrize("backend", ["local", "process"])
def test_disk_cache_survives_a_new_pool(tmp_path, backend):
    img = _img(4)
    with Pool(backend, 1, cache_dir=tmp_path, imports=IMPORTS) as pool:
        first = pool.run("pool_test_gain", img, {"gain": 0.75})
        assert first.ok and not first.cached
    with Pool(backend, 1, cache_dir=tmp_path, imports=IMPORTS) as pool:
        again = pool.run("pool_test_gain", img, {"gain": 0.75})
        assert again.ok and again.cached and again.key == first.key
        np.testing.assert_array_equal(again.image, first.image)
        st = pool.stats()["tools"]["pool_test_gain"]
        assert st["executions"] == 0 and st["disk_hits"] == 1


def test_cache_off_executes_every_call():
    with Pool("local", 1, cache=False, imports=IMPORTS) as pool:
        rs = [pool.run("pool_test_gain", _img()) for _ in range(3)]
        assert all(r.ok and not r.cached for r in rs)
        assert pool.stats()["tools"]["pool_test_gain"]["executions"] == 3


def test_cached_result_is_a_private_copy():
    with Pool("local", 1, imports=IMPORTS) as pool:
        a = pool.run("pool_test_gain", _img())
        a.image[:] = 0  # the caller may scribble on its result
        b = pool.run("pool_test_gain", _img())
        assert b.cached and b.image.max() > 0


@pytest.mark.parametrize("backend", ["local", "process"])
def test_micro_batching_with_native_run_batch(tmp_path, backend):
    log = tmp_path / "batches.txt"
    with Pool(backend, 1, max_batch=4, imports=IMPORTS) as pool:
        blocker = pool.call("pool_test_gain", _img(100), {"sleep": 0.5})  # occupies the only worker
        calls = [(ToolCall("pool_test_batch", {"log": str(log)}), _img(i)) for i in range(10)]
        calls.append((ToolCall("pool_test_batch", {"log": str(log), "gain": 0.1}), _img(50)))  # other args
        results = pool.map(calls)
        assert blocker.result().ok
        for i, r in enumerate(results[:10]):
            np.testing.assert_allclose(r.image, _img(i) * 0.5, rtol=1e-6)
        np.testing.assert_allclose(results[10].image, _img(50) * np.float32(0.1), rtol=1e-6)
        sizes = [int(x) for x in log.read_text().split()]
        assert sum(sizes) == 11 and max(sizes) == 4 and len(sizes) == 4  # 4 + 4 + 2 (gain 0.5) + 1 (gain 0.1)
        st = pool.stats()["tools"]["pool_test_batch"]
        assert st["executions"] == 11 and st["batches"] == 4


def test_batch_loop_for_tools_without_run_batch():
    # the process backend groups calls of a tool without run_batch into batches it loops over
    with Pool("process", 2, max_batch=8, imports=IMPORTS) as pool:
        results = pool.map([("pool_test_gain", _img(i), {"gain": 0.5}) for i in range(8)])
        assert all(r.ok for r in results)
        st = pool.stats()["tools"]["pool_test_gain"]
        assert st["executions"] == 8 and st["batches"] < 8


def test_per_tool_concurrency_limit():
    running = {"now": 0, "max": 0}
    lock = threading.Lock()

    from conftest import GainTool, _pool_card

    class Probe(GainTool):
        card = _pool_card("pool_test_probe", "test tool: records its concurrency")

        def _run(self, img, **args):
            with lock:
                running["now"] += 1
                running["max"] = max(running["max"], running["now"])
            time.sleep(0.05)
            with lock:
                running["now"] -= 1
            return img

    import dataclasses

    from irpilot.tools import TOOLS

    class NetProbe(Probe):
        card = dataclasses.replace(Probe.card, id="pool_test_netprobe", kind="network")

    with TOOLS.temporarily({"pool_test_probe": Probe, "pool_test_netprobe": NetProbe}):
        with Pool("local", 4, limits={"pool_test_probe": 1}) as pool:
            rs = pool.map([("pool_test_probe", _img(i)) for i in range(6)])
            assert all(r.ok for r in rs) and running["max"] == 1
        running["max"] = 0
        with Pool("local", 4) as pool:
            rs = pool.map([("pool_test_probe", _img(i)) for i in range(8)])
            assert all(r.ok for r in rs) and running["max"] > 1
        # network tools share one model instance per process: one batch at a time by default
        running["max"] = 0
        with Pool("local", 4) as pool:
            rs = pool.map([("pool_test_netprobe", _img(i)) for i in range(6)])
            assert all(r.ok for r in rs) and running["max"] == 1


def test_process_worker_killed_from_outside():
    with Pool("process", 1, imports=IMPORTS) as pool:
        pool.run("pool_test_gain", _img())  # start the worker
        pid = pool._handles[0].pid
        fut = pool.call("pool_test_sleep", _img(1), {"seconds": 30})
        time.sleep(1.0)
        os.kill(pid, signal.SIGKILL)
        res = fut.result(timeout=30)
        assert not res.ok and res.error == "worker crashed (exit code -9)"
        assert pool.run("pool_test_gain", _img(2)).ok  # replaced
        assert pool._handles[0].pid != pid


def test_close_resolves_queued_calls():
    pool = Pool("local", 1, imports=IMPORTS)
    running = pool.call("pool_test_gain", _img(), {"sleep": 0.5})
    queued = [pool.call("pool_test_gain", _img(i + 1)) for i in range(3)]
    time.sleep(0.1)
    pool.close()
    for f in queued:
        r = f.result(timeout=10)
        assert not r.ok and r.error == "pool closed"
    assert running.result(timeout=10) is not None
    after = pool.run("pool_test_gain", _img())
    assert not after.ok and after.error == "pool closed"


def test_stats_table_and_dict():
    with Pool("local", 2, imports=IMPORTS) as pool:
        pool.map([("pool_test_gain", _img(i % 2)) for i in range(4)])
        s = pool.stats()
        assert s["backend"] == "local" and s["workers"] == 2
        t = s["tools"]["pool_test_gain"]
        assert t["calls"] == 4 and t["executions"] == 2 and t["cache_hits"] + t["coalesced"] == 2
        assert s["total"]["calls"] == 4 and 0.49 < t["hit_rate"] < 0.51
        table = pool.stats_table()
        assert "pool_test_gain" in table and "TOTAL" in table and "cache:" in table


def test_pool_arguments_and_default_pool(tmp_path):
    parser = argparse.ArgumentParser()
    add_pool_arguments(parser)
    args = parser.parse_args(["--backend", "local", "--workers", "3", "--cache-dir", str(tmp_path),
                              "--cache-mb", "16", "--timeout", "2.5", "--retries", "1"])
    assert args.ray_address is None
    with pool_from_args(args) as pool:
        assert pool.backend == "local" and pool.workers == 3 and pool.timeout == 2.5 and pool.retries == 1
        assert pool.cache.memory.max_bytes == 16 << 20 and pool.cache.disk.directory == tmp_path
    with pool_from_args(parser.parse_args(["--cache-mb", "0"])) as pool:
        assert pool.cache is None
    with pytest.raises(SystemExit):
        parser.parse_args(["--backend", "gpu"])
    p1 = default_pool()
    assert p1 is default_pool() and p1.backend == "local"
    assert p1.run("pool_test_gain", _img()).ok


def test_bad_options():
    with pytest.raises(ValueError, match="backend"):
        Pool("threads")
    with pytest.raises(ValueError, match="workers"):
        Pool("local", 0)
