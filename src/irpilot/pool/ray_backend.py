"""The ``ray`` backend: one named async Ray actor per tool, shared by every job of a cluster.

Actors are named ``irpilot.tool.<tool_id>`` in a namespace (default ``irpilot``) and created
with ``get_if_exists=True``, so the first job that needs a tool starts its actor and every
other job (on any machine of the cluster) reuses it with the model already loaded.  Each actor
runs at most ``actor_concurrency`` batches at a time (a cluster-wide per-tool limit), restarts
after a crash (``max_restarts=-1``) and takes a fraction of a GPU for network tools when the
cluster has GPUs.  Ray is imported only when this backend is used.

Lifetime: a non-detached Ray actor dies with the handles of the job that created it, so when
the pool joins a Ray it did not start (an address, or ``ray.init`` done by the caller) its actors
are *detached*: they outlive the job and keep their models (and results cache) warm for the next
one; ``irpilot pool stop`` removes them.  A pool that started its own local Ray shuts it down on
``close()``.  Override with ``ray_options={"detached": ...}``.

Cluster set-up, as usual with Ray: ``ray start --head`` on one machine, ``ray start
--address=<head>:6379`` on the others, then ``Pool(backend="ray", address="auto")``.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..errors import ConfigError
from .cache import MemoryCache
from .execute import Outcome, execute_batch, import_modules, limit_threads
from .workers import WorkerDied, WorkerTimeout

__all__ = ["RayBackend", "ToolActor", "actor_name", "list_tool_actors"]

ACTOR_PREFIX = "irpilot.tool."
TIMED_OUT: Outcome = (-2, False, None, "timeout", "timeout", 0.0)


def actor_name(tool_id: str) -> str:
    return ACTOR_PREFIX + tool_id


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("the ray backend needs Ray: pip install 'irpilot[ray]' (or pip install ray)") from exc
    return ray


class ToolActor:
    """Holds one warm tool and runs batches for it (an async actor; work runs in threads)."""

    def __init__(
        self,
        tool_id: str,
        imports: Sequence[str] = (),
        threads: int | None = None,
        concurrency: int = 1,
        cache_mb: float = 256,
    ):
        limit_threads(threads)
        import_modules(imports)
        self.tool_id = tool_id
        self.threads = threads
        self.concurrency = max(1, int(concurrency))
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"irpilot-{tool_id}")
        self._sem: asyncio.Semaphore | None = None
        # results shared by every client of the cluster (each client also keeps its own cache)
        self._cache = MemoryCache(int(cache_mb * 2**20)) if cache_mb else None
        self.batches = 0
        self.calls = 0
        self.hits = 0
        self.seconds = 0.0

    def _setup(self) -> str | None:
        from ..tools import get_tool

        try:
            get_tool(self.tool_id).ensure_setup()
        except Exception:  # noqa: BLE001 - the call itself reports the error
            return None
        return self.tool_id

    async def setup(self) -> str | None:
        """Load the tool's model now (before the first call); ``None`` if it cannot load."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._setup)

    def _run(self, images: list[np.ndarray], args: dict[str, Any]) -> list[Outcome]:
        limit_threads(self.threads)
        return [o for o in execute_batch(self.tool_id, images, args) if o[0] >= 0]

    async def run_batch(
        self,
        images: list[np.ndarray],
        args: dict[str, Any],
        timeout: float | None = None,
        keys: Sequence[str] | None = None,
    ) -> list[Outcome]:
        """Run a batch once a slot is free; the clock of ``timeout`` starts when it runs, so time
        spent waiting behind other clients' batches does not count.  On a timeout the result is
        ``[TIMED_OUT]`` and the caller replaces this actor (a hung thread cannot be stopped).
        Calls whose ``keys`` are in the actor's cache come back with kind ``"cached"``."""
        hits: dict[int, np.ndarray] = {}
        if keys is not None and self._cache is not None:
            for i, k in enumerate(keys):
                img = self._cache.get(k)
                if img is not None:
                    hits[i] = img
        todo = [i for i in range(len(images)) if i not in hits]
        outs: list[Outcome] = [(i, True, img, None, "cached", 0.0) for i, img in hits.items()]
        self.hits += len(hits)
        if not todo:
            return outs
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        async with self._sem:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._setup)  # (re)loading is not timed
            fut = loop.run_in_executor(self._executor, self._run, [images[i] for i in todo], dict(args or {}))
            try:
                ran = await asyncio.wait_for(fut, timeout) if timeout else await fut
            except asyncio.TimeoutError:
                return [TIMED_OUT]
        for j, ok, img, err, kind, sec in ran:
            i = todo[j]
            outs.append((i, ok, img, err, kind, sec))
            if ok and keys is not None and self._cache is not None:
                self._cache.put(keys[i], img)
        self.batches += 1
        self.calls += len(ran)
        self.seconds += sum(o[5] for o in ran)
        return outs

    async def info(self) -> dict[str, Any]:
        return {
            "tool_id": self.tool_id,
            "pid": os.getpid(),
            "batches": self.batches,
            "calls": self.calls,
            "cache_hits": self.hits,
            "exec_seconds": round(self.seconds, 3),
            "concurrency": self.concurrency,
        }


_REMOTE_CLASS: Any = None


def _remote_class() -> Any:
    global _REMOTE_CLASS
    if _REMOTE_CLASS is None:
        _REMOTE_CLASS = _ray().remote(ToolActor)
    return _REMOTE_CLASS


class RayBackend:
    """Connects to (or starts) Ray and hands out actor handles by tool id."""

    def __init__(
        self,
        address: str | None = None,
        namespace: str = "irpilot",
        imports: Sequence[str] = (),
        threads: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        ray = _ray()
        self.ray = ray
        self.namespace = namespace
        self.imports = tuple(imports)
        self.threads = threads or 1
        self.options = dict(options or {})
        self.owns_ray = False
        if not ray.is_initialized():
            init_kw: dict[str, Any] = dict(self.options.get("init", {}))
            init_kw.setdefault("namespace", namespace)
            init_kw.setdefault("log_to_driver", False)
            if address:
                ray.init(address=address, **init_kw)
            else:
                init_kw.setdefault("include_dashboard", False)
                # "local": always a new single-machine Ray, never a cluster found by accident
                ray.init(address="local", num_cpus=self.options.get("num_cpus", os.cpu_count() or 1), **init_kw)
            self.owns_ray = True
        self.has_gpu = float(ray.cluster_resources().get("GPU", 0)) > 0
        self._actors: dict[str, Any] = {}
        self._ready: set[str] = set()
        self._lock = threading.Lock()

    def actor(self, tool_id: str, *, refresh: bool = False) -> Any:
        """The named actor of ``tool_id``, created on first use anywhere in the cluster."""
        with self._lock:
            handle = None if refresh else self._actors.get(tool_id)
            if handle is None:
                from ..tools import TOOLS

                kind = TOOLS.get(tool_id).card.kind
                opts: dict[str, Any] = dict(
                    name=actor_name(tool_id),
                    namespace=self.namespace,
                    get_if_exists=True,
                    max_restarts=-1,
                    max_task_retries=0,
                    max_concurrency=64,
                )
                if self.options.get("detached", not self.owns_ray):
                    opts["lifetime"] = "detached"
                if "actor_num_cpus" in self.options:
                    opts["num_cpus"] = self.options["actor_num_cpus"]
                if self.has_gpu and kind == "network":
                    opts["num_gpus"] = float(self.options.get("gpu_fraction", 0.25))
                concurrency = int(self.options.get("actor_concurrency", 1))
                cache_mb = float(self.options.get("actor_cache_mb", 256))
                handle = _remote_class().options(**opts).remote(
                    tool_id, self.imports, self.threads, concurrency, cache_mb
                )
                self._actors[tool_id] = handle
            return handle

    def worker(self, setup_timeout: float | None = 600.0) -> RayWorker:
        return RayWorker(self, setup_timeout)

    def warmup(self, tool_ids: Sequence[str], timeout: float | None = None) -> list[str]:
        """Create the actors of ``tool_ids`` and load their models."""
        refs = [self.actor(t).setup.remote() for t in tool_ids]
        return list(self.ray.get(refs, timeout=timeout))

    def info(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "actors": sorted(self._actors), "gpu": self.has_gpu}

    def close(self) -> None:
        self._actors.clear()
        if self.owns_ray and self.ray.is_initialized():
            self.ray.shutdown()


class RayWorker:
    """One in-flight request slot of the pool's dispatcher, sending batches to tool actors."""

    streams = False  # a batch's outcomes come back together

    def __init__(self, backend: RayBackend, setup_timeout: float | None = 600.0) -> None:
        self.backend = backend
        self.setup_timeout = setup_timeout
        self._ref: Any = None
        self._images: list[np.ndarray] = []
        self._args: dict[str, Any] = {}
        self._keys: list[str] | None = None
        self._limit: float | None = None
        self._tool: str | None = None
        self._n = 0
        self._closed = False

    def send(
        self,
        tool_id: str,
        images: Sequence[np.ndarray],
        args: dict[str, Any],
        timeout: float | None = None,
        keys: Sequence[str] | None = None,
    ) -> None:
        if self._closed:
            raise WorkerDied("pool closed")
        self._tool, self._n = tool_id, len(images)
        self._images, self._args, self._keys = list(images), args, list(keys) if keys else None
        # calls of a batch run one after the other unless the tool has a native run_batch
        self._limit = None if timeout is None else timeout * max(1, self._n)
        try:
            if tool_id not in self.backend._ready:  # load the model outside the call timeout
                if self.backend.ray.get(self.backend.actor(tool_id).setup.remote(), timeout=self.setup_timeout):
                    self.backend._ready.add(tool_id)
            self._ref = self.backend.actor(tool_id).run_batch.remote(self._images, args, self._limit, self._keys)
        except Exception as exc:  # noqa: BLE001 - e.g. the actor cannot be created
            raise WorkerDied(f"worker crashed: {type(exc).__name__}: {exc}") from exc

    def recv(self, timeout: float | None) -> list[Outcome]:
        ray = self.backend.ray
        # the actor enforces the limit once the batch runs; this outer deadline only catches an
        # actor that stopped answering (queueing behind other clients' batches is allowed for)
        wait = None if self._limit is None else 10 * self._limit + (self.setup_timeout or 0)
        for _ in range(3):
            ready, _ = ray.wait([self._ref], timeout=wait)
            if not ready:
                self._kill()
                raise WorkerTimeout()
            try:
                outs = list(ray.get(self._ref))
            except ray.exceptions.ActorUnavailableError as exc:
                # the actor is restarting (after another call crashed it): our batch never ran
                # there, or ran and its result was lost; tools are pure, so send it again
                if self._closed or not self._await_actor():
                    raise WorkerDied(f"worker crashed: {type(exc).__name__}") from exc
                self._ref = self.backend.actor(self._tool).run_batch.remote(self._images, self._args, self._limit, self._keys)
                continue
            except ray.exceptions.RayError as exc:
                if self._closed:
                    raise WorkerDied("pool closed") from exc
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise WorkerDied(f"worker crashed: {type(exc).__name__}: {first[:200]}") from exc
            if outs and outs[0][0] == TIMED_OUT[0]:
                self._kill()
                raise WorkerTimeout()
            # arrays from Ray's object store are read-only views: give callers their own
            return [(i, ok, None if img is None else np.array(img), err, kind, sec) for i, ok, img, err, kind, sec in outs]
        raise WorkerDied("worker crashed: the actor kept restarting")

    def _await_actor(self) -> bool:
        """Wait until the restarting actor answers again (up to ``setup_timeout``)."""
        ray = self.backend.ray
        deadline = time.monotonic() + (self.setup_timeout or 600.0)
        while time.monotonic() < deadline:
            try:
                ray.get(self.backend.actor(self._tool).info.remote(), timeout=10)
                return True
            except ray.exceptions.GetTimeoutError:
                continue
            except ray.exceptions.RayError:
                time.sleep(0.2)
        return False

    def _kill(self) -> None:
        """Kill the hung actor; Ray restarts it (``max_restarts=-1``) with a fresh process."""
        if self._tool is None:
            return
        try:
            self.backend.ray.kill(self.backend.actor(self._tool), no_restart=False)
        except Exception:  # noqa: BLE001 - already gone
            pass

    def restart(self) -> None:
        self._ref = None
        self._images = []

    def close(self) -> None:
        self._closed = True


def list_tool_actors(namespace: str = "irpilot") -> list[dict[str, Any]]:
    """The irpilot tool actors alive in the connected Ray cluster, with their counters."""
    ray = _ray()
    from ray.util import list_named_actors

    out = []
    for entry in list_named_actors(all_namespaces=True):
        name, ns = entry["name"], entry["namespace"]
        if ns != namespace or not name.startswith(ACTOR_PREFIX):
            continue
        try:
            out.append(ray.get(ray.get_actor(name, namespace=ns).info.remote(), timeout=10))
        except Exception as exc:  # noqa: BLE001
            out.append({"tool_id": name[len(ACTOR_PREFIX):], "error": f"{type(exc).__name__}: {exc}"})
    return out
