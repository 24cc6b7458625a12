"""The model-call pool: one front end (cache, coalescing, queues, retries, statistics) over
interchangeable backends (threads, processes, Ray actors).

>>> from irpilot.pool import Pool
>>> with Pool() as pool:                                   # doctest: +SKIP
...     res = pool.run("bilateral", img, {"sigma": 0.1})
...     futs = [pool.call("bilateral", img) for _ in range(8)]   # one execution, 7 cache hits
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import dataclasses
import logging
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from ..io import as_image
from ..io import image_hash as hash_image
from ..toolcall import ToolCall
from .cache import ResultCache
from .execute import has_native_batch, import_modules
from .result import CallResult, call_key, canonical_args
from .workers import ProcessWorker, ThreadWorker, WorkerDied, WorkerTimeout

__all__ = ["Pool", "BACKENDS", "default_pool"]

log = logging.getLogger(__name__)

BACKENDS = ("local", "process", "ray")
RETRYABLE = ("timeout", "crash", "error")
#: seconds a process worker may show no progress (no CPU used, not waiting for the disk) while
#: it loads a tool, when calls have a timeout
MIN_STALL = 5.0


@dataclasses.dataclass
class _Job:
    key: str
    tool_id: str
    image: np.ndarray
    args: dict[str, Any]
    args_json: str
    futures: list[Future[CallResult]]
    enqueued: float
    queue_seconds: float = 0.0
    attempts: int = 0
    done: bool = False
    solo: bool = False  # run alone: it was in a batch that failed as a whole


@dataclasses.dataclass
class _ToolStats:
    calls: int = 0
    cache_hits: int = 0
    disk_hits: int = 0
    remote_hits: int = 0  # served by a Ray actor's cache (filled by another client of the cluster)
    coalesced: int = 0
    executions: int = 0
    batches: int = 0
    errors: int = 0
    retries: int = 0
    timeouts: int = 0
    crashes: int = 0
    queue_seconds: float = 0.0
    exec_seconds: float = 0.0


def _fmt_seconds(s: float) -> str:
    return f"{s:g} s" if s != int(s) else f"{int(s)} s"


class Pool:
    """Run tool calls through a shared, cached pool of warm models.

    Args:
        backend: ``"local"`` (threads in this process, default), ``"process"`` (child processes,
            each with its own warm models; started with ``spawn``, so a script that creates one
            needs the usual ``if __name__ == "__main__":`` guard) or ``"ray"`` (one named Ray
            actor per tool, shared by every job of a Ray cluster).
        workers: number of concurrent batches (threads / processes / in-flight Ray requests);
            default: CPU count for local/process, 4 for Ray.
        address: Ray cluster address (``"auto"``, ``"ray://host:10001"``, ``"host:6379"``);
            ``None`` starts a local Ray unless this process is already connected.
        cache: keep results in a content-addressed cache (memory LRU, optional disk).
        coalesce: let an identical call wait for one already queued or running instead of
            executing again.
        cache_mb: memory budget of the cache in MiB.
        cache_dir: directory of a persistent disk cache (``None``: memory only).
        timeout: seconds one execution may take before it is abandoned (``None``: no limit).
        timeouts: per-tool overrides of ``timeout``, e.g. ``{"bm3d": 120}``.
        retries: extra attempts after a timeout, a crash or a tool error (not for unknown or
            unavailable tools).
        max_batch: largest micro-batch sent to a worker (calls of one tool with equal args).
        limits: per-tool limit of concurrent batches, e.g. ``{"swinir_x4": 1}``.  Default:
            ``workers``, except 1 for network tools on the local backend (all threads share one
            model instance, and wrappers such as ncnn are not all thread-safe; torch already uses
            several threads per call).
        imports: modules that register extra tools, imported here and in every worker.
        threads_per_worker: math-library threads per process/actor (default: cores / workers).
        setup_timeout: seconds a worker may take to start and load a tool's model; loading does
            not count against ``timeout``.
        namespace: Ray namespace of the tool actors.
        ray_options: extra Ray settings: ``num_cpus`` (for a local Ray), ``actor_num_cpus``,
            ``gpu_fraction`` (per network actor when the cluster has GPUs), ``detached``,
            ``actor_concurrency``, ``actor_cache_mb`` (a result cache in each actor, shared by
            every client; default 256, 0 disables it), ``init`` (extra ``ray.init`` keyword arguments).
    """

    def __init__(
        self,
        backend: str = "local",
        workers: int | None = None,
        *,
        address: str | None = None,
        cache: bool = True,
        coalesce: bool = True,
        cache_mb: float = 512,
        cache_dir: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        timeouts: Mapping[str, float] | None = None,
        retries: int = 0,
        max_batch: int = 8,
        limits: Mapping[str, int] | None = None,
        imports: Sequence[str] = (),
        threads_per_worker: int | None = None,
        setup_timeout: float | None = 600.0,
        namespace: str = "irpilot",
        ray_options: Mapping[str, Any] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown pool backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        cores = os.cpu_count() or 1
        if workers is None:
            workers = 4 if backend == "ray" else cores
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive seconds or None, got {timeout}")
        self.backend = backend
        self.workers = int(workers)
        self.timeout = timeout
        self.setup_timeout = setup_timeout
        self.tool_timeouts = {k: float(v) for k, v in (timeouts or {}).items()}
        self.retries = max(0, int(retries))
        self.coalesce = bool(coalesce)
        self.max_batch = max(1, int(max_batch))
        self.limits = dict(limits or {})
        self.imports = tuple(imports)
        self.threads_per_worker = threads_per_worker or max(1, cores // self.workers)
        self.cache = ResultCache(int(cache_mb * 2**20), cache_dir) if cache else None
        import_modules(self.imports)

        self._cv = threading.Condition()
        self._pending: dict[str, collections.deque[_Job]] = {}
        self._inflight_batches: collections.Counter[str] = collections.Counter()
        self._inflight: dict[str, _Job] = {}
        self._stats: dict[str, _ToolStats] = collections.defaultdict(_ToolStats)
        self._tool_info: dict[str, tuple[str, bool, str]] = {}
        self._closed = False
        self._started = time.monotonic()

        self._ray = None
        if backend == "ray":
            from .ray_backend import RayBackend

            self._ray = RayBackend(
                address=address,
                namespace=namespace,
                imports=self.imports,
                threads=threads_per_worker,
                options=dict(ray_options or {}),
            )
        self._handles = [self._make_worker(i) for i in range(self.workers)]
        self._managers = [
            threading.Thread(target=self._manage, args=(h,), name=f"irpilot-pool-manager-{i}", daemon=True)
            for i, h in enumerate(self._handles)
        ]
        for t in self._managers:
            t.start()

    # -- construction helpers -------------------------------------------------------
    def _make_worker(self, i: int) -> Any:
        if self.backend == "local":
            return ThreadWorker(name=f"irpilot-pool-{i}")
        if self.backend == "process":
            return ProcessWorker(self.imports, self.threads_per_worker)
        assert self._ray is not None
        return self._ray.worker(self.setup_timeout)

    def _info(self, tool_id: str) -> tuple[str, bool, str]:
        """(card version, has native batch, kind) of a tool; RegistryError for unknown tools."""
        info = self._tool_info.get(tool_id)
        if info is None:
            from ..tools import TOOLS

            cls = TOOLS.get(tool_id)
            info = (str(cls.card.version), has_native_batch(cls), str(cls.card.kind))
            self._tool_info[tool_id] = info
        return info

    def _version(self, tool_id: str) -> str:
        """The tool's card version, tagged when its outputs depend on the current arithmetic
        settings (bfloat16 networks), so that outputs of another arithmetic are cached apart."""
        version = self._info(tool_id)[0]
        from ..tools import TOOLS

        tag = TOOLS.get(tool_id).precision_tag()
        return f"{version}+{tag}" if tag else version

    # -- public API -----------------------------------------------------------------
    def key(self, tool_id: str, image: np.ndarray, args: Mapping[str, Any] | None = None) -> str:
        """The cache key of a call (input pixels, tool id, canonical args, tool card version)."""
        version = self._version(tool_id)
        return call_key(hash_image(as_image(image)), tool_id, canonical_args(args), version)

    def call(
        self, tool: str | ToolCall, image: Any, args: Mapping[str, Any] | None = None, *, image_hash: str | None = None
    ) -> Future[CallResult]:
        """Submit one call (a :class:`~irpilot.toolcall.ToolCall`, or a tool id and ``args``) on
        ``image``; the future always resolves to a :class:`CallResult` (never raises).
        ``image_hash``: the image's content hash when the caller already has it."""
        t0 = time.monotonic()
        if isinstance(tool, ToolCall):
            tool_id, args = tool.name, tool.arguments if args is None else args
        else:
            tool_id = tool
        fut: Future[CallResult] = Future()
        fut.set_running_or_notify_cancel()
        with self._cv:
            self._stats[tool_id].calls += 1
            closed = self._closed
        if closed:
            return self._fail_now(fut, tool_id, "pool closed")
        try:
            version = self._version(tool_id)
            img = as_image(image)
            args_json = canonical_args(args)
            key = call_key(image_hash or hash_image(img), tool_id, args_json, version)
        except Exception as exc:  # noqa: BLE001 - bad calls come back as error results
            return self._fail_now(fut, tool_id, f"{type(exc).__name__}: {exc}")
        if self.cache is not None:
            hit, where = self.cache.get(key)
            if hit is not None:
                with self._cv:
                    st = self._stats[tool_id]
                    st.cache_hits += 1
                    st.disk_hits += where == "disk"
                fut.set_result(CallResult(tool_id, True, hit, None, True, 0.0, 0.0, key))
                return fut
        with self._cv:
            job = self._inflight.get(key) if self.coalesce else None
            if job is not None:  # an identical call is running or queued: wait for it
                job.futures.append(fut)
                self._stats[tool_id].coalesced += 1
                return fut
            if self.cache is not None:  # it may have finished since we looked
                hit = self.cache.memory.get(key)
                if hit is not None:
                    self._stats[tool_id].cache_hits += 1
                    fut.set_result(CallResult(tool_id, True, hit.copy(), None, True, 0.0, 0.0, key))
                    return fut
            job = _Job(key, tool_id, img, dict(args or {}), args_json, [fut], t0)
            if self.coalesce:
                self._inflight[key] = job
            self._pending.setdefault(tool_id, collections.deque()).append(job)
            self._cv.notify_all()
        return fut

    async def acall(self, tool: str | ToolCall, image: Any, args: Mapping[str, Any] | None = None) -> CallResult:
        """``await pool.acall(...)`` from asyncio code (the work runs in the pool, not the loop)."""
        return await asyncio.wrap_future(self.call(tool, image, args))

    def run(
        self, tool: str | ToolCall, image: Any, args: Mapping[str, Any] | None = None, *, image_hash: str | None = None
    ) -> CallResult:
        """Synchronous convenience: submit and wait."""
        return self.call(tool, image, args, image_hash=image_hash).result()

    def map(self, calls: Iterable[Any]) -> list[CallResult]:
        """Submit many calls (``(call, image)`` pairs with a :class:`~irpilot.toolcall.ToolCall`,
        ``(tool_id, image[, args])`` tuples, or mappings with ``name``, ``image`` and
        ``arguments``) at once and return their results in order.  Calls of one tool are
        micro-batched."""
        futures = []
        for c in calls:
            call, image = _call_and_image(c)
            futures.append(self.call(call, image))
        return [f.result() for f in futures]

    def _fail_now(self, fut: Future[CallResult], tool_id: str, error: str) -> Future[CallResult]:
        with self._cv:
            self._stats[tool_id].errors += 1
        fut.set_result(CallResult(tool_id, False, None, error))
        return fut

    # -- dispatching ----------------------------------------------------------------
    def _limit(self, tool_id: str) -> int:
        if tool_id in self.limits:
            return max(1, int(self.limits[tool_id]))
        if self.backend == "local" and self._tool_info[tool_id][2] == "network":
            return 1  # one shared model instance per process: not every runtime is thread-safe
        return self.workers

    def _next_batch(self) -> tuple[str, list[_Job]] | None:
        with self._cv:
            while True:
                if self._closed:
                    return None
                best = None
                for tool_id, dq in self._pending.items():
                    if dq and self._inflight_batches[tool_id] < self._limit(tool_id):
                        if best is None or dq[0].enqueued < self._pending[best][0].enqueued:
                            best = tool_id
                if best is not None:
                    return best, self._take(best)
                self._cv.wait()

    def _take(self, tool_id: str) -> list[_Job]:
        dq = self._pending[tool_id]
        native = self._tool_info[tool_id][1]
        if native:
            size = self.max_batch
        elif self.backend == "local":
            size = 1  # nothing to amortise: spread the calls over the threads
        else:
            size = min(self.max_batch, max(1, math.ceil(len(dq) / self.workers)))
        first = dq.popleft()
        batch = [first]
        keep = collections.deque()
        while dq and len(batch) < size and not first.solo:
            job = dq.popleft()
            (batch if job.args_json == first.args_json and not job.solo else keep).append(job)
        keep.extend(dq)
        self._pending[tool_id] = keep
        self._inflight_batches[tool_id] += 1
        return batch

    def _manage(self, handle: Any) -> None:
        while True:
            item = self._next_batch()
            if item is None:
                return
            tool_id, jobs = item
            try:
                self._run_batch(handle, tool_id, jobs)
            except Exception as exc:  # noqa: BLE001 - never lose a batch
                log.exception("pool dispatcher error")
                for job in jobs:
                    if not job.done:
                        self._finish(job, (0, False, None, f"pool error: {exc}", "crash", 0.0))
            finally:
                with self._cv:
                    self._inflight_batches[tool_id] -= 1
                    self._cv.notify_all()

    def _run_batch(self, handle: Any, tool_id: str, jobs: list[_Job]) -> None:
        now = time.monotonic()
        for job in jobs:
            job.queue_seconds += now - job.enqueued
            job.attempts += 1
        with self._cv:
            st = self._stats[tool_id]
            st.executions += len(jobs)
            st.batches += 1
        remaining = dict(enumerate(jobs))
        per_item = handle.streams and not self._tool_info[tool_id][1]
        timeout = self.tool_timeouts.get(tool_id, self.timeout)
        loaded = not handle.streams  # streaming workers announce when the model is loaded
        try:
            if handle.streams:
                handle.send(tool_id, [j.image for j in jobs], jobs[0].args)
            else:  # a Ray actor enforces the time limit itself and shares a cache across clients
                keys = [j.key for j in jobs] if self.cache is not None else None
                handle.send(tool_id, [j.image for j in jobs], jobs[0].args, timeout, keys)
            while remaining:
                for outcome in self._recv(handle, timeout, loaded):
                    if outcome[0] < 0:
                        loaded = True
                        continue
                    job = remaining.pop(outcome[0], None)
                    if job is not None:
                        self._finish(job, outcome)
        except (WorkerTimeout, WorkerDied) as exc:
            if isinstance(exc, WorkerTimeout) and not loaded and str(exc):
                error, kind = f"timeout loading the tool: {exc}", "timeout"
            elif isinstance(exc, WorkerTimeout) and not loaded:
                error, kind = f"timeout after {_fmt_seconds(self.setup_timeout or 0)} loading the tool", "timeout"
            elif isinstance(exc, WorkerTimeout):
                error, kind = f"timeout after {_fmt_seconds(timeout or 0)}", "timeout"
            else:
                error, kind = str(exc) or "worker crashed", "crash"
            handle.restart()
            order = sorted(remaining)
            if per_item and loaded:
                blamed = order[:1]  # the call that was running; the others had not started
            elif len(order) > 1 and loaded and not self._closed:
                blamed = []  # unknown culprit in a batch: run each of its calls alone
                with self._cv:
                    st = self._stats[tool_id]
                    st.timeouts += kind == "timeout"
                    st.crashes += kind == "crash"
                for i in order:
                    remaining[i].solo = True
            else:
                blamed = order
            for i in blamed:
                self._finish(remaining[i], (i, False, None, error, kind, 0.0))
            with self._cv:  # calls not blamed go back to the front of the queue
                dq = self._pending.setdefault(tool_id, collections.deque())
                for i in reversed([i for i in order if i not in blamed]):
                    remaining[i].attempts -= 1
                    remaining[i].enqueued = time.monotonic()
                    dq.appendleft(remaining[i])
                self._cv.notify_all()

    def _recv(self, handle: Any, timeout: float | None, loaded: bool) -> list[Any]:
        """The next outcomes of ``handle``.  While a process worker loads a tool it gets
        ``setup_timeout``, but with a call ``timeout`` set it must also keep making progress:
        one that is stopped or hung is given up after ``max(timeout, MIN_STALL)`` seconds, not
        ``setup_timeout``."""
        if loaded:
            return handle.recv(timeout)
        if isinstance(handle, ProcessWorker) and timeout is not None:
            return handle.recv(self.setup_timeout, stall=max(timeout, MIN_STALL))
        return handle.recv(self.setup_timeout)

    def _finish(self, job: _Job, outcome: tuple[Any, ...]) -> None:
        _, ok, image, error, kind, seconds = outcome
        with self._cv:
            if job.done:
                return
            st = self._stats[job.tool_id]
            st.exec_seconds += seconds
            st.timeouts += kind == "timeout"
            st.crashes += kind == "crash"
            if kind == "cached":
                st.executions -= 1
                st.cache_hits += 1
                st.remote_hits += 1
            if not ok and kind in RETRYABLE and job.attempts <= self.retries and not self._closed:
                st.retries += 1
                job.enqueued = time.monotonic()
                self._pending.setdefault(job.tool_id, collections.deque()).append(job)
                self._cv.notify_all()
                return
        if ok and self.cache is not None:
            self.cache.put(job.key, image)
        with self._cv:
            if self._inflight.get(job.key) is job:
                self._inflight.pop(job.key)
            st.queue_seconds += job.queue_seconds
            st.errors += not ok
            job.done = True
            futures = list(job.futures)
        for n, fut in enumerate(futures):
            img = image if n == 0 or image is None else image.copy()
            fut.set_result(
                CallResult(
                    job.tool_id, bool(ok), img, error, n > 0 or kind == "cached", seconds, job.queue_seconds,
                    job.key, job.attempts,
                )
            )

    # -- statistics -----------------------------------------------------------------
    def clear_cache(self) -> None:
        """Forget the in-memory results (the disk cache, if any, is kept), e.g. so that a
        benchmark times each policy without the results of another."""
        if self.cache is not None:
            self.cache.memory.clear()

    def stats(self) -> dict[str, Any]:
        """Counters and times per tool (``stats()["tools"][tool_id]``) and in total
        (``stats()["total"]``), plus cache occupancy (``stats()["cache"]``).

        Per tool: ``calls`` (submitted), ``cache_hits`` (served from a cache: memory, disk
        (``disk_hits``) or a Ray actor's (``remote_hits``)), ``coalesced`` (waited for an identical
        call in flight), ``executions`` (runs of the tool, retries included), ``batches``,
        ``errors`` (error results returned), ``retries``, ``timeouts``, ``crashes``,
        ``queue_seconds`` / ``exec_seconds`` (sums) and their means per execution, ``hit_rate``."""
        with self._cv:
            tools = {t: dataclasses.asdict(s) for t, s in sorted(self._stats.items())}
            queued = sum(len(d) for d in self._pending.values())
        total = {k: sum(s[k] for s in tools.values()) for k in dataclasses.asdict(_ToolStats())}
        for d in [total, *tools.values()]:
            n = max(d["executions"], 1)
            d["mean_exec_seconds"] = d["exec_seconds"] / n
            d["mean_queue_seconds"] = d["queue_seconds"] / n
            d["hit_rate"] = (d["cache_hits"] + d["coalesced"]) / max(d["calls"], 1)
        out: dict[str, Any] = {
            "backend": self.backend,
            "workers": self.workers,
            "uptime_seconds": time.monotonic() - self._started,
            "queued": queued,
            "tools": tools,
            "total": total,
            "cache": self.cache.info() if self.cache is not None else None,
        }
        if self._ray is not None:
            out["ray"] = self._ray.info()
        return out

    def stats_table(self) -> str:
        """The statistics as an aligned text table (one row per tool, then the total)."""
        s = self.stats()
        cols = ("calls", "cache_hits", "coalesced", "executions", "errors", "retries", "timeouts", "crashes")
        head = f"{'tool':<24}" + "".join(f"{c:>11}" for c in cols) + f"{'exec s':>10}{'queue s':>10}"
        rows = [f"pool: backend={s['backend']} workers={s['workers']}", head, "-" * len(head)]
        for name, d in [*s["tools"].items(), ("TOTAL", s["total"])]:
            rows.append(
                f"{name:<24}"
                + "".join(f"{d[c]:>11}" for c in cols)
                + f"{d['exec_seconds']:>10.2f}{d['queue_seconds']:>10.2f}"
            )
        if s["cache"]:
            c = s["cache"]
            rows.append(
                f"cache: {c['memory_entries']} entries, {c['memory_mb']} / {c['memory_budget_mb']} MiB in memory, "
                f"{c['evictions']} evicted, disk: {c['disk_dir'] or 'off'}"
            )
        return "\n".join(rows)

    # -- lifecycle ------------------------------------------------------------------
    def close(self) -> None:
        """Stop the workers; queued calls resolve with the error ``"pool closed"``."""
        with self._cv:
            if self._closed:
                return
            self._closed = True
            pending = [job for dq in self._pending.values() for job in dq]
            self._pending.clear()
            self._cv.notify_all()
        for job in pending:
            self._finish(job, (0, False, None, "pool closed", "closed", 0.0))
        for h in self._handles:
            h.close()
        for t in self._managers:
            t.join(timeout=5.0)
        if self._ray is not None:
            self._ray.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Pool backend={self.backend} workers={self.workers} cache={'on' if self.cache else 'off'}>"


_DEFAULT: Pool | None = None
_DEFAULT_LOCK = threading.Lock()


def _call_and_image(obj: Any) -> tuple[ToolCall, Any]:
    """One entry of :meth:`Pool.map` as ``(call, image)``."""
    if isinstance(obj, Mapping):
        name = obj.get("name", obj.get("tool_id"))
        return ToolCall(str(name), dict(obj.get("arguments", obj.get("args")) or {})), obj["image"]
    if isinstance(obj, (tuple, list)) and len(obj) in (2, 3):
        call = ToolCall.coerce(obj[0]) if len(obj) == 2 else ToolCall(str(obj[0]), dict(obj[2] or {}))
        return call, obj[1]
    raise TypeError(f"a pool call is a (ToolCall, image) pair, a (tool_id, image[, args]) tuple or a mapping, got {type(obj)}")


def default_pool() -> Pool:
    """The process-wide pool (``local`` backend, memory cache), created on first use."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT.closed:
            _DEFAULT = Pool()
            atexit.register(_DEFAULT.close)
        return _DEFAULT
