"""One tool call, the value that policies emit, the pool runs and traces record.

Its wire shape is the tool-call format used to train tool-calling models,
``{"name": tool_id, "arguments": {...}}``; a :class:`ToolCall` reads like that mapping
(``call["name"]``, ``call.get("arguments")``) and compares equal to it, so traces loaded from
JSON and calls made in memory are interchangeable.

>>> call = ToolCall("dncnn_color_blind")
>>> call == {"name": "dncnn_color_blind", "arguments": {}}, call["name"], STOP_CALL.is_stop
(True, 'dncnn_color_blind', True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from .vocab import STOP

__all__ = ["ToolCall", "STOP_CALL"]

_KEYS = ("name", "arguments")


@dataclasses.dataclass(frozen=True, eq=False)
class ToolCall(Mapping[str, Any]):
    """A call of tool ``name`` with ``arguments`` (JSON-safe values), or ``stop``."""

    name: str
    arguments: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def is_stop(self) -> bool:
        return self.name == STOP

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape ``{"name": ..., "arguments": {...}}`` (a fresh dict)."""
        return {"name": self.name, "arguments": dict(self.arguments)}

    @classmethod
    def coerce(cls, obj: ToolCall | Mapping[str, Any] | str) -> ToolCall:
        """A :class:`ToolCall` from itself, its JSON shape, or a bare tool id."""
        if isinstance(obj, ToolCall):
            return obj
        if isinstance(obj, str):
            return cls(obj)
        if isinstance(obj, Mapping) and "name" in obj:
            return cls(str(obj["name"]), dict(obj.get("arguments") or {}))
        raise TypeError(f"a tool call is a ToolCall, a tool id or {{'name': ..., 'arguments': {{...}}}}; got {obj!r}")

    # -- read like the JSON mapping -------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        if key == "name":
            return self.name
        if key == "arguments":
            return self.arguments
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"ToolCall({self.name}{'(' + args + ')' if args else ''})"


#: The call that ends a restoration.
STOP_CALL = ToolCall(STOP)
