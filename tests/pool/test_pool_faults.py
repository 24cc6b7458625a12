"""Faults of process workers: one stopped with SIGSTOP before it loaded its tool is given up
within the call timeout (plus a few seconds), not after ``setup_timeout``."""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np
import pytest
from conftest import POOL_IMPORTS

from irpilot.pool import Pool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see a stopped process")


@pytest.fixture(autouse=True)
def _test_tools(pool_tools):
    """In this process too: the pool reads the tool's card here."""
    yield


def test_a_stopped_worker_times_out_and_the_retry_succeeds() -> None:
    img = np.full((3, 256, 256), 0.5, np.float32)  # larger than a pipe's buffer: sending it blocks
    pool = Pool("process", workers=1, timeout=2.0, retries=1, imports=POOL_IMPORTS, cache=False)
    stopped = pool._handles[0].pid
    os.kill(stopped, signal.SIGSTOP)
    try:
        fut = pool.call("pool_test_gain", img, {"gain": 0.5})
        try:
            res = fut.result(timeout=90)  # the limit that matters is the pool's: max(timeout, 5 s) of no progress
        except FutureTimeout:
            pytest.fail("the pool waited on a stopped worker")
        assert res.ok, res.error
        assert res.attempts == 2
        np.testing.assert_allclose(res.image, img * 0.5)
        stats = pool.stats()["tools"]["pool_test_gain"]
        assert stats["timeouts"] == 1 and stats["retries"] == 1
        assert pool._handles[0].pid != stopped
    finally:
        try:
            os.kill(stopped, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pool.close()


def test_a_stopped_worker_without_retries_is_a_timeout_error() -> None:
    pool = Pool("process", workers=1, timeout=1.0, imports=POOL_IMPORTS, cache=False)
    stopped = pool._handles[0].pid
    os.kill(stopped, signal.SIGSTOP)
    try:
        res = pool.call("pool_test_gain", np.zeros((3, 8, 8), np.float32)).result(timeout=90)
        assert not res.ok and "timeout" in res.error and "no progress" in res.error
    finally:
        try:
            os.kill(stopped, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pool.close()
