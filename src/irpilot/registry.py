"""One generic registry by name, used for tools, metrics, degradations and policies.

Built-ins register themselves on import of their module (listed lazily so that
``import irpilot`` stays cheap); third-party plugins register through an entry point
group, e.g. ``[project.entry-points."irpilot.tools"] mytool = "mypkg.tools:MyTool"``.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from typing import Generic, TypeVar

from .errors import RegistryError

__all__ = ["Registry", "check_name"]

T = TypeVar("T")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def check_name(name: str) -> str:
    """Names are snake_case identifiers, because a policy or an LLM emits them."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"registry names must be snake_case identifiers, got {name!r}")
    return name


class Registry(Generic[T]):
    """A mapping from snake_case names to objects (classes or factories).

    >>> r = Registry[type]("widgets")
    >>> @r.register("blue_widget")
    ... class Blue: ...
    >>> r.get("blue_widget") is Blue
    True
    """

    def __init__(
        self,
        kind: str,
        *,
        builtin_modules: tuple[str, ...] = (),
        entry_point_group: str | None = None,
    ) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._builtin_modules = builtin_modules
        self._entry_point_group = entry_point_group
        self._loaded = False
        self._load_errors: dict[str, str] = {}

    # -- registration -------------------------------------------------------------
    def register(self, name: str | None = None, *, replace: bool = False) -> Callable[[T], T]:
        """Decorator: ``@registry.register("name")``; without a name uses ``obj.name``, or the
        ``id`` of ``obj.card`` (tools)."""

        def decorator(obj: T) -> T:
            key = name or getattr(obj, "name", None) or getattr(getattr(obj, "card", None), "id", None)
            if not key:
                raise ValueError(f"cannot tell the registry name of {obj!r}: pass it explicitly")
            self.add(key, obj, replace=replace)
            return obj

        return decorator

    def add(self, name: str, obj: T, *, replace: bool = False) -> None:
        check_name(name)
        if name in self._items and not replace and self._items[name] is not obj:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj

    def remove(self, name: str) -> None:
        self._items.pop(name, None)

    @contextmanager
    def temporarily(self, entries: Mapping[str, T]) -> Iterator[None]:
        """Register ``entries`` for the duration of a ``with`` block (tests, experiments),
        then restore whatever those names meant before.

        >>> r = Registry[int]("numbers")
        >>> with r.temporarily({"one": 1}):
        ...     r.get("one")
        1
        >>> "one" in r._items
        False
        """
        before = {name: self._items[name] for name in entries if name in self._items}
        for name, obj in entries.items():
            self.add(name, obj, replace=True)
        try:
            yield
        finally:
            for name in entries:
                if name in before:
                    self._items[name] = before[name]
                else:
                    self._items.pop(name, None)

    # -- lookup -------------------------------------------------------------------
    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            for module in self._builtin_modules:
                importlib.import_module(module)
        except BaseException:
            self._loaded = False  # a broken built-in module must fail loudly every time
            raise
        if self._entry_point_group:
            for ep in metadata.entry_points(group=self._entry_point_group):
                try:
                    obj = ep.load()
                except Exception as exc:  # a broken plugin must not break irpilot
                    self._load_errors[ep.name] = f"{type(exc).__name__}: {exc}"
                    continue
                if ep.name not in self._items:
                    self.add(ep.name, obj)

    def get(self, name: str) -> T:
        self._ensure_loaded()
        try:
            return self._items[name]
        except KeyError:
            pass
        close = difflib.get_close_matches(str(name), list(self._items), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        if str(name) in self._load_errors:
            hint += f" (plugin failed to load: {self._load_errors[str(name)]})"
        raise RegistryError(
            f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(sorted(self._items)) or 'none'}."
        )

    def names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        self._ensure_loaded()
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} entries)"
