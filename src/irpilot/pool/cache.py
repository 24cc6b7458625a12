"""Content-addressed result cache: an LRU in memory with a byte budget, optionally backed by a
directory on disk (one ``.npy`` file per result, written atomically, so it survives restarts and
can be shared by several jobs on one machine)."""

from __future__ import annotations

import io
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..io import atomic_write_bytes

__all__ = ["MemoryCache", "DiskCache", "ResultCache"]

log = logging.getLogger(__name__)


class MemoryCache:
    """Least-recently-used map from key to image, bounded by the total bytes of its images."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.evictions = 0

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            img = self._items.get(key)
            if img is not None:
                self._items.move_to_end(key)
            return img

    def put(self, key: str, img: np.ndarray) -> None:
        size = int(img.nbytes)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= int(old.nbytes)
            self._items[key] = img
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= int(evicted.nbytes)
                self.evictions += 1

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """One ``<dir>/<key[:2]>/<key>.npy`` file per result; atomic writes; unreadable files are dropped."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        p = self._path(key)
        try:
            arr = np.load(p, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError) as exc:
            log.warning("dropping unreadable cache file %s: %s", p, exc)
            p.unlink(missing_ok=True)
            return None
        return np.ascontiguousarray(arr, dtype=np.float32)

    def put(self, key: str, img: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(img, dtype=np.float32), allow_pickle=False)
        try:
            atomic_write_bytes(self._path(key), buf.getvalue())
        except OSError as exc:  # a full disk must not fail the call
            log.warning("could not write cache file for %s: %s", key, exc)

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.npy"))


class ResultCache:
    """Memory LRU in front of an optional disk cache.  ``get`` returns ``(image, where)`` with
    ``where`` in ``{"memory", "disk"}``, or ``(None, "")``; images come back as private copies."""

    def __init__(self, max_bytes: int = 512 << 20, directory: str | os.PathLike[str] | None = None) -> None:
        self.memory = MemoryCache(max_bytes)
        self.disk = DiskCache(directory) if directory else None

    def get(self, key: str) -> tuple[np.ndarray | None, str]:
        img = self.memory.get(key)
        if img is not None:
            return img.copy(), "memory"
        if self.disk is not None:
            img = self.disk.get(key)
            if img is not None:
                self.memory.put(key, img)
                return img.copy(), "disk"
        return None, ""

    def put(self, key: str, img: np.ndarray) -> None:
        stored = np.array(img, dtype=np.float32, copy=True)
        stored.setflags(write=False)
        self.memory.put(key, stored)
        if self.disk is not None:
            self.disk.put(key, stored)

    def info(self) -> dict[str, object]:
        return {
            "memory_entries": len(self.memory),
            "memory_mb": round(self.memory.nbytes / 2**20, 2),
            "memory_budget_mb": round(self.memory.max_bytes / 2**20, 2),
            "evictions": self.memory.evictions,
            "disk_dir": str(self.disk.directory) if self.disk else None,
        }
