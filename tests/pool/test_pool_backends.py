"""The same behaviour checks against every pool backend (local threads, processes, Ray)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import POOL_IMPORTS

from irpilot.pool import CallResult, Pool

IMPORTS = POOL_IMPORTS

pytestmark = pytest.mark.usefixtures("pool_tools")

BACKENDS = ["local", "process", pytest.param("ray", marks=pytest.mark.ray)]


@pytest.fixture(scope="module")
def ray_session():
    """One small local Ray for the module's Ray tests (started on first use)."""
    state: dict[str, object] = {}

    def start() -> None:
        if "ray" not in state:
            ray = pytest.importorskip("ray")
            if not ray.is_initialized():
                ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="irpilot_test")
            state["ray"] = ray

    yield start
    if "ray" in state:
        state["ray"].shutdown()


@pytest.fixture(params=BACKENDS)
def make_pool(request, ray_session):
    pools: list[Pool] = []

    def make(**kw) -> Pool:
        if request.param == "ray":
            ray_session()
            kw.setdefault("namespace", "irpilot_test")
        kw.setdefault("workers", 2)
        pool = Pool(request.param, imports=IMPORTS, **kw)
        pools.append(pool)
        return pool

    make.backend = request.param
    yield make
    for p in pools:
        p.close()


def _img(seed: int = 0, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).random((3, size, size), dtype=np.float32)


def test_results_cache_and_order(make_pool):
    pool = make_pool()
    img = _img()
    first = pool.run("pool_test_gain", img, {"gain": 0.5})
    assert isinstance(first, CallResult) and first.ok and not first.cached and first.error is None
    assert first.image.dtype == np.float32 and first.image.shape == (3, 16, 16)
    np.testing.assert_allclose(first.image, img * 0.5, rtol=1e-6)
    again = pool.run("pool_test_gain", img.copy(), {"gain": 0.5})
    assert again.ok and again.cached and again.key == first.key
    np.testing.assert_array_equal(again.image, first.image)
    # a different argument or image is a different call
    other = pool.run("pool_test_gain", img, {"gain": 0.25})
    assert other.ok and not other.cached and other.key != first.key
    results = pool.map([("pool_test_gain", _img(i), {"gain": 0.1 * i}) for i in range(6)])
    for i, r in enumerate(results):
        assert r.ok, r.error
        np.testing.assert_allclose(r.image, _img(i) * np.float32(0.1 * i), rtol=1e-5, atol=1e-7)
    st = pool.stats()["tools"]["pool_test_gain"]
    assert st["calls"] == 9 and st["cache_hits"] == 1 and st["executions"] == 8


def test_identical_concurrent_calls_execute_once(make_pool):
    pool = make_pool()
    img = _img(3)
    futures = [pool.call("pool_test_gain", img, {"gain": 0.5, "sleep": 0.3}) for _ in range(6)]
    results = [f.result(timeout=30) for f in futures]
    assert all(r.ok for r in results)
    assert sum(not r.cached for r in results) == 1
    st = pool.stats()["tools"]["pool_test_gain"]
    assert st["executions"] == 1 and st["coalesced"] + st["cache_hits"] == 5
    # every caller owns its array
    results[1].image[:] = 0
    assert results[2].image.max() > 0


def test_errors_are_results(make_pool):
    pool = make_pool()
    bad = pool.run("no_such_tool", _img())
    assert not bad.ok and bad.image is None and "RegistryError" in bad.error
    shape = pool.run("pool_test_gain", np.zeros((5, 4, 4), np.float32))
    assert not shape.ok and "channels" in shape.error
    flaky = pool.run("pool_test_flaky", _img(), {"state": "/nonexistent-dir/x", "fail_times": 1})
    assert not flaky.ok and flaky.error.startswith("ToolError") and flaky.attempts == 1
    with pytest.raises(Exception, match="ToolError"):
        flaky.unwrap()
    assert pool.stats()["total"]["errors"] == 3


def test_retries(make_pool, tmp_path):
    state = tmp_path / "count"
    pool = make_pool(retries=2)
    res = pool.run("pool_test_flaky", _img(), {"state": str(state), "fail_times": 2})
    assert res.ok and res.attempts == 3, res
    assert pool.stats()["tools"]["pool_test_flaky"]["retries"] == 2
    state.unlink()
    pool_no = make_pool(retries=1)
    res = pool_no.run("pool_test_flaky", _img(1), {"state": str(state), "fail_times": 2})
    assert not res.ok and "flaky failure 2 of 2" in res.error and res.attempts == 2


def test_timeout_on_hanging_tool(make_pool):
    pool = make_pool(timeout=30.0, timeouts={"pool_test_sleep": 1.0})  # a per-tool limit
    hung = pool.call("pool_test_sleep", _img(), {"seconds": 20})
    fine = [pool.call("pool_test_gain", _img(i)) for i in range(4)]
    res = hung.result(timeout=60)
    assert not res.ok and res.error == "timeout after 1 s"
    assert all(f.result(timeout=60).ok for f in fine)
    # the pool keeps working after the hung worker was replaced
    assert pool.run("pool_test_gain", _img(9)).ok
    assert pool.stats()["tools"]["pool_test_sleep"]["timeouts"] == 1


def test_worker_killed_mid_batch(make_pool):
    if make_pool.backend == "local":
        pytest.skip("os._exit in a thread would end the test process; the local backend has no workers to lose")
    pool = make_pool(workers=1, max_batch=8)  # no retries
    imgs = [_img(i) for i in range(6)]
    calls = [("pool_test_crash", im, {"crash": False}) for im in imgs]
    calls.insert(3, ("pool_test_crash", _img(99), {"crash": True}))
    results = pool.map(calls)
    assert len(results) == 7
    assert not results[3].ok and "crashed" in results[3].error
    # every other call has its result: calls that had not started (process) or whose batch failed
    # as a whole (Ray) run again, alone, without using up a retry
    assert all(r.ok for i, r in enumerate(results) if i != 3), [r.error for r in results]
    ok = pool.run("pool_test_crash", _img(50))
    assert ok.ok, ok.error
    np.testing.assert_allclose(ok.image, 1 - _img(50), atol=1e-6)
    assert pool.stats()["tools"]["pool_test_crash"]["crashes"] >= 1


def test_acall(make_pool):
    pool = make_pool()

    async def main() -> list[CallResult]:
        return await asyncio.gather(*(pool.acall("pool_test_gain", _img(i), {"gain": 2.0}) for i in range(3)))

    results = asyncio.run(main())
    assert [r.ok for r in results] == [True] * 3
    np.testing.assert_allclose(results[1].image, np.clip(_img(1) * 2, 0, 1), rtol=1e-6)


@pytest.mark.parametrize("tool_id", ["bilateral"])
def test_real_classical_tool_matches_direct_call(make_pool, tool_id):
    from irpilot.tools import TOOLS, get_tool

    if tool_id not in TOOLS or not TOOLS.get(tool_id).available():
        pytest.skip(f"{tool_id} is not available here")
    img = _img(7, size=32)
    pool = make_pool()
    res = pool.run(tool_id, img)
    assert res.ok, res.error
    np.testing.assert_allclose(res.image, get_tool(tool_id)(img), atol=1e-6)


@pytest.mark.ray
def test_cli_serve_status_stop_on_ray(ray_session, capsys):
    from irpilot.cli import main

    ray_session()
    common = ["--ray-address", "auto", "--namespace", "irpilot_cli_test", "--imports", POOL_IMPORTS[0]]
    assert main(["pool", "serve", "--tools", "pool_test_gain", *common]) == 0
    assert "pool_test_gain: ready" in capsys.readouterr().out
    # a job finds the warm, named actor
    with Pool("ray", 1, namespace="irpilot_cli_test", imports=IMPORTS) as pool:
        assert pool.run("pool_test_gain", _img(11)).ok
    assert main(["pool", "status", *common]) == 0
    out = capsys.readouterr().out
    assert "tool_id=pool_test_gain" in out and "calls=1" in out
    assert main(["pool", "stop", *common[:-2]]) == 0
    assert "stopped 1 tool actor(s)" in capsys.readouterr().out


@pytest.mark.ray
def test_ray_actor_cache_is_shared_by_clients(ray_session):
    ray_session()
    img = _img(21)
    with Pool("ray", 1, namespace="irpilot_test", imports=IMPORTS) as first:
        a = first.run("pool_test_gain", img, {"gain": 0.125})
        assert a.ok and not a.cached and a.image.flags.writeable
    with Pool("ray", 1, namespace="irpilot_test", imports=IMPORTS) as second:  # another job, empty local cache
        b = second.run("pool_test_gain", img, {"gain": 0.125})
        assert b.ok and b.cached and b.image.flags.writeable
        np.testing.assert_array_equal(a.image, b.image)
        st = second.stats()["tools"]["pool_test_gain"]
        assert st["remote_hits"] == 1 and st["executions"] == 0


@pytest.mark.parametrize("backend", ["local", "process"])
def test_workers_take_over_the_settings_of_the_process_that_starts_them(backend):
    """``irpilot.configure`` before the pool starts reaches the tools, in this process and in
    spawned worker processes (which would otherwise read only the environment)."""
    from irpilot.config import configure, settings

    before = settings.precision
    configure(precision="bfloat16")
    try:
        with Pool(backend, imports=IMPORTS, workers=1, cache=False) as pool:
            res = pool.run("pool_test_settings", _img())
    finally:
        configure(precision=before)
    assert res.ok, res.error
    assert float(res.image.min()) == 1.0
