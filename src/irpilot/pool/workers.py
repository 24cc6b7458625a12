"""Worker handles used by the pool's dispatcher: a thread (``local``) or a process (``process``).

Every handle has the same small interface: ``send(tool_id, images, args)`` starts a batch,
``recv(timeout)`` returns the next outcomes (raising :class:`WorkerTimeout` when nothing arrives
within ``timeout`` seconds and :class:`WorkerDied` when the worker is gone), ``restart()``
replaces a hung or dead worker, ``close()`` stops it.  ``streams`` says whether outcomes arrive
one call at a time (so the dispatcher knows which call of a batch was running when it failed).
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .execute import Outcome, execute_batch, import_modules, limit_threads

__all__ = ["WorkerTimeout", "WorkerDied", "ThreadWorker", "ProcessWorker"]


class WorkerTimeout(Exception):
    """No outcome arrived in time; the worker is presumed hung."""


class WorkerDied(Exception):
    """The worker exited (crash, kill, out of memory) or the pool is closing."""


class ThreadWorker:
    """Runs batches in a daemon thread of this process; models are shared by all threads.

    A thread cannot be killed: after a timeout it is abandoned (it exits once its call returns)
    and a fresh thread takes its place."""

    streams = True

    def __init__(self, name: str = "irpilot-pool") -> None:
        self.name = name
        self._closed = False
        self._start()

    def _start(self) -> None:
        self._in: queue.Queue[Any] = queue.Queue()
        self._out: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, args=(self._in, self._out), name=self.name, daemon=True)
        self._thread.start()

    @staticmethod
    def _loop(inq: queue.Queue[Any], outq: queue.Queue[Any]) -> None:
        while True:
            item = inq.get()
            if item is None:
                return
            tool_id, images, args = item
            try:
                for outcome in execute_batch(tool_id, images, args):
                    outq.put(outcome)
            except BaseException as exc:  # noqa: BLE001 - surfaces as a dead worker
                outq.put(("died", f"{type(exc).__name__}: {exc}"))

    def send(self, tool_id: str, images: Sequence[np.ndarray], args: dict[str, Any]) -> None:
        if self._closed:
            raise WorkerDied("pool closed")
        self._in.put((tool_id, list(images), args))

    def recv(self, timeout: float | None) -> list[Outcome]:
        waited = 0.0
        while True:
            step = 0.1 if timeout is None else min(0.1, max(timeout - waited, 0.0))
            try:
                item = self._out.get(timeout=step)
            except queue.Empty:
                waited += step
                if self._closed:
                    raise WorkerDied("pool closed") from None
                if timeout is not None and waited >= timeout:
                    raise WorkerTimeout() from None
                continue
            if item[0] == "died":
                raise WorkerDied(f"worker crashed: {item[1]}")
            return [item]

    def restart(self) -> None:
        self._in.put(None)  # the abandoned thread exits after its current call
        if not self._closed:
            self._start()

    def close(self) -> None:
        self._closed = True
        self._in.put(None)


#: the process-wide settings a worker process takes over from the process that started it, so
#: that ``irpilot.configure(...)`` reaches the tools it runs (a spawned child would otherwise
#: read only the environment)
WORKER_SETTINGS = ("weights_dir", "fetch_dir", "data_dir", "device", "precision", "max_pixels")


def _settings_snapshot() -> dict[str, Any]:
    from ..config import settings

    return {k: v for k, v in settings.as_dict().items() if k in WORKER_SETTINGS and v is not None}


def _progress(pid: int | None) -> tuple[str, int] | None:
    """(scheduler state, CPU ticks used) of a process from ``/proc`` (Linux); None elsewhere or
    when it is gone.  A stopped process shows state ``T``; a working one uses CPU ticks."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
    try:
        return fields[0], int(fields[11]) + int(fields[12])  # state, utime + stime
    except (IndexError, ValueError):
        return None


def _process_main(conn: Any, imports: Sequence[str], threads: int | None, config: dict[str, Any] | None = None) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the pool, the workers must not
    # print tracebacks of their own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if config:
        from ..config import configure

        configure(**config)
    limit_threads(threads)
    import_modules(imports)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        tool_id, images, args = msg
        for outcome in execute_batch(tool_id, images, args):
            limit_threads(threads)
            conn.send(outcome)


class ProcessWorker:
    """Runs batches in a child process (``spawn``) that keeps its tools loaded.  A hung worker
    is killed after a timeout; a dead one is replaced.  The child starts with this process's
    settings (:data:`WORKER_SETTINGS`) as they are when it starts."""

    streams = True

    def __init__(self, imports: Sequence[str] = (), threads: int | None = 1, start_method: str = "spawn") -> None:
        self.imports = tuple(imports)
        self.threads = threads
        self._ctx = multiprocessing.get_context(start_method)
        self._closed = False
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe(duplex=True)
        self._conn = parent
        self._proc = self._ctx.Process(
            target=_process_main, args=(child, self.imports, self.threads, _settings_snapshot()),
            name="irpilot-pool-worker", daemon=True,
        )
        self._proc.start()
        child.close()  # so that the child's death shows up as EOF here

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def send(self, tool_id: str, images: Sequence[np.ndarray], args: dict[str, Any]) -> None:
        if self._closed:
            raise WorkerDied("pool closed")
        # Sent from a thread: a batch larger than the pipe's buffer blocks until the child reads
        # it, and a stopped child never does; recv's time limits must still apply.
        conn, msg = self._conn, (tool_id, list(images), args)

        def _send() -> None:
            try:
                conn.send(msg)
            except Exception:  # noqa: BLE001 - the child is gone or the pipe was closed under the send:
                pass  # recv sees the end of the pipe, or the worker was already replaced

        self._sender = threading.Thread(target=_send, name="irpilot-worker-send", daemon=True)
        self._sender.start()

    def _death_message(self) -> str:
        if self._closed:
            return "pool closed"
        self._proc.join(timeout=1.0)
        code = self._proc.exitcode
        return f"worker crashed (exit code {code})" if code is not None else "worker crashed"

    def recv(self, timeout: float | None, stall: float | None = None) -> list[Outcome]:
        """The next outcome.  With ``stall`` (seconds), a worker that makes no progress for that
        long (stopped, e.g. by SIGSTOP, or asleep without using the CPU) counts as timed out
        before ``timeout``: used while it loads a tool, which may legitimately take long."""
        try:
            ready = self._poll(timeout, stall)
        except (OSError, EOFError) as exc:
            raise WorkerDied(self._death_message()) from exc
        if not ready:
            raise WorkerTimeout()
        try:
            return [self._conn.recv()]
        except (EOFError, OSError) as exc:
            raise WorkerDied(self._death_message()) from exc

    def _poll(self, timeout: float | None, stall: float | None) -> bool:
        if stall is None or _progress(self._proc.pid) is None:
            return bool(self._conn.poll(timeout))
        deadline = None if timeout is None else time.monotonic() + timeout
        last, idle_since = _progress(self._proc.pid), time.monotonic()
        while True:
            step = 0.25 if deadline is None else max(0.0, min(0.25, deadline - time.monotonic()))
            if self._conn.poll(step):
                return True
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            state = _progress(self._proc.pid)
            if state is None or state != last or state[0] in "RD":
                last, idle_since = state, now  # gone (EOF follows), working, or waiting for the disk
            elif now - idle_since >= stall:
                raise WorkerTimeout(f"worker made no progress for {stall:g} s (stopped or hung)")

    def restart(self) -> None:
        self._kill()
        if not self._closed:
            self.restarts += 1
            self._start()

    def _kill(self) -> None:
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(timeout=5.0)
        # A send still under way on this pipe fails once the child is dead (no reader is left).
        # Wait for it before closing: a closed descriptor's number is reused by the next pipe,
        # and the old send would go on writing into the new worker's pipe.
        sender = getattr(self, "_sender", None)
        if sender is not None and sender.is_alive():
            sender.join(timeout=5.0)
            if sender.is_alive():
                return  # leave the descriptor open rather than let it be reused under the send
        try:
            self._conn.close()
        except OSError:
            pass

    def close(self) -> None:
        self._closed = True
        sender = getattr(self, "_sender", None)
        if sender is None or not sender.is_alive():  # else the pipe is busy (or stuck): just stop the child
            try:
                self._conn.send(None)
            except (OSError, EOFError, BrokenPipeError):
                pass
            self._proc.join(timeout=0.5)
        self._kill()
