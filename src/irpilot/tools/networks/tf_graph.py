"""Run a small frozen TensorFlow graph (``.pb``) in torch, without TensorFlow or OpenCV's dnn.

A frozen ``GraphDef`` is a protocol buffer: a list of nodes, each with a name, an op, its
inputs by name and attributes, the weights being ``Const`` nodes holding tensors.  This
module reads that wire format directly (it is data only: nothing in the file is executed)
and evaluates the graph with torch for the handful of ops small feed-forward image networks
use (convolutions, element-wise arithmetic, activations, depth-to-space).  An op outside that
set is a clear :class:`~irpilot.errors.ToolUnavailableError` naming it.

It exists because OpenCV 5.1 reads every model through its ONNX importer and no longer
opens the TensorFlow graphs of its own ``dnn_superres`` model zoo; running the graphs here
gives the same results on OpenCV 4 and 5 (``tests/tools/test_tf_graph.py`` checks them
against outputs of OpenCV 4.13's ``dnn_superres``).

Nothing here imports torch at module import time.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ToolUnavailableError

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["GraphNode", "read_graph_def", "topological_order", "tf_same_padding", "TFGraphModule"]

# TensorFlow DataType enum values of the tensors these graphs hold
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64}


@dataclass
class GraphNode:
    """One ``NodeDef``: ``attrs`` holds decoded scalars, strings, int lists and tensors."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of one protobuf message."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i : i + length], i + length
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > n:
            raise ValueError("truncated protobuf message")
        yield number, wire, value


def _packed(wire: int, value: Any, fmt: str) -> list[Any]:
    """Values of a repeated scalar field, packed (wire type 2) or not."""
    if wire == 2:
        if fmt == "varint":
            out, i = [], 0
            while i < len(value):
                v, i = _varint(value, i)
                out.append(v)
            return out
        size = struct.calcsize(fmt)
        return list(struct.unpack(f"<{len(value) // size}{fmt}", value))
    if fmt == "varint":
        return [value]
    return list(struct.unpack(f"<{fmt}", value))


def _tensor(buf: bytes) -> np.ndarray:
    """A ``TensorProto`` as a numpy array."""
    dtype_code, shape, content = 1, [], None
    values: list[Any] = []
    for number, wire, value in _fields(buf):
        if number == 1:
            dtype_code = value
        elif number == 2:  # TensorShapeProto: dim = 2, Dim.size = 1
            shape = [dict((n, v) for n, _, v in _fields(dim)).get(1, 0) for n2, _, dim in _fields(value) if n2 == 2]
        elif number == 4:
            content = value
        elif number == 5:
            values += _packed(wire, value, "f")
        elif number == 6:
            values += _packed(wire, value, "d")
        elif number in (7, 10):
            values += _packed(wire, value, "varint")
    if dtype_code not in _DTYPES:
        raise ValueError(f"unsupported tensor dtype code {dtype_code}")
    dtype = _DTYPES[dtype_code]
    count = int(np.prod(shape)) if shape else 1
    if content is not None:
        arr = np.frombuffer(content, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    elif len(values) == count:
        arr = np.asarray(values, dtype=dtype)
    elif len(values) == 1:  # one value repeated over the whole shape
        arr = np.full(count, values[0], dtype=dtype)
    else:
        arr = np.zeros(count, dtype=dtype)
    return arr.reshape(shape)


def _attr(buf: bytes) -> Any:
    """An ``AttrValue``: list (1), s (2), i (3), f (4), b (5), type (6), tensor (8)."""
    for number, _wire, value in _fields(buf):
        if number == 1:
            ints: list[int] = []
            for n, w, v in _fields(value):
                if n == 3:
                    ints += _packed(w, v, "varint")
            return ints
        if number == 2:
            return value.decode("utf-8", "replace")
        if number in (3, 5, 6):
            return value
        if number == 4:
            return struct.unpack("<f", value)[0]
        if number == 8:
            return _tensor(value)
    return None


def read_graph_def(path: str | Path) -> list[GraphNode]:
    """The nodes of a frozen TensorFlow ``GraphDef`` file, in file order."""
    try:
        data = Path(path).read_bytes()
        nodes = []
        for number, _, value in _fields(data):
            if number != 1:  # GraphDef.node
                continue
            node = GraphNode(name="", op="")
            for n, _, v in _fields(value):
                if n == 1:
                    node.name = v.decode()
                elif n == 2:
                    node.op = v.decode()
                elif n == 3:
                    node.inputs.append(v.decode())
                elif n == 5:  # map<string, AttrValue> entry: key = 1, value = 2
                    entry = dict((k, x) for k, _, x in _fields(v))
                    node.attrs[entry.get(1, b"").decode()] = _attr(entry.get(2, b""))
            nodes.append(node)
    except (OSError, ValueError, UnicodeDecodeError, struct.error) as exc:
        raise ToolUnavailableError(f"cannot read TensorFlow graph {path}: {exc}") from exc
    if not nodes:
        raise ToolUnavailableError(f"{path} holds no TensorFlow graph nodes")
    return nodes


def tf_same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (the extra pixel goes after)."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def node_input(ref: str) -> str | None:
    """The node name of an input reference (``name``, ``name:1``); ``None`` for a control
    dependency (``^name``), which carries no value."""
    if ref.startswith("^"):
        return None
    return ref.rsplit(":", 1)[0] if ":" in ref else ref


def topological_order(nodes: dict[str, GraphNode], outputs: list[str]) -> list[str]:
    """Names of the nodes ``outputs`` depend on, each after its inputs (control dependencies
    are ignored: every op here is a pure function of its inputs)."""
    order: list[str] = []
    seen: set[str] = set()
    stack: list[tuple[str, bool]] = [(o, False) for o in reversed(outputs)]
    while stack:
        name, done = stack.pop()
        if done:
            order.append(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        if name not in nodes:
            raise ToolUnavailableError(f"graph input {name!r} is not a node")
        stack.append((name, True))
        stack += [(i, False) for i in map(node_input, nodes[name].inputs) if i is not None]
    return order


@functools.lru_cache(maxsize=1)
def _make_module() -> type:
    import torch
    import torch.nn.functional as F

    class _TFGraphModule(torch.nn.Module):
        """Evaluates the graph's ``output`` node for an NCHW input fed to its one Placeholder.

        Tensors are kept NCHW; NHWC-declared ops are translated (Conv2D filters to OIHW,
        DepthToSpace with TensorFlow's channel order).  The graph's final NHWC -> NCHW
        ``Transpose`` is recognised and skipped, since torch's tensors are NCHW already.
        """

        def __init__(self, nodes: list[GraphNode], output: str) -> None:
            super().__init__()
            self.nodes = {n.name: n for n in nodes}
            placeholders = [n.name for n in nodes if n.op == "Placeholder"]
            if len(placeholders) != 1:
                raise ToolUnavailableError(f"expected one graph input, found {placeholders}")
            self.input_name = placeholders[0]
            if output not in self.nodes:
                raise ToolUnavailableError(f"graph has no node {output!r}")
            self.output = output
            self.order = topological_order(self.nodes, [output])
            self._const_names: dict[str, str] = {}
            for name in self.order:
                node = self.nodes[name]
                if node.op != "Const":
                    continue
                value = np.asarray(node.attrs["value"])
                key = f"c{len(self._const_names)}"
                self._const_names[name] = key
                self.register_buffer(key, torch.from_numpy(np.ascontiguousarray(value)), persistent=False)
            self._conv_weights: dict[str, str] = {}
            for name in self.order:
                node = self.nodes[name]
                if node.op == "Conv2D":
                    if node.attrs.get("data_format", "NHWC") != "NHWC":
                        raise ToolUnavailableError(f"{name}: only NHWC convolutions are supported")
                    filt = self._const(node.inputs[1])  # (kh, kw, in, out) -> (out, in, kh, kw)
                    key = f"w{len(self._conv_weights)}"
                    self._conv_weights[name] = key
                    self.register_buffer(key, filt.permute(3, 2, 0, 1).contiguous(), persistent=False)

        def _const(self, name: str) -> torch.Tensor:
            return getattr(self, self._const_names[name])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            values: dict[str, torch.Tensor] = {}
            for name in self.order:
                node = self.nodes[name]
                args = [values.get(i.split(":")[0]) for i in node.inputs]
                values[name] = self._evaluate(node, x, args)
            return values[self.output]

        def _evaluate(self, node: GraphNode, x: torch.Tensor, args: list[Any]) -> torch.Tensor:
            op = node.op
            if op == "Placeholder":
                return x
            if op == "Const":
                return self._const(node.name)
            if op == "Identity":
                return args[0]
            if op == "Conv2D":
                return self._conv(node, args[0])
            if op in ("Add", "AddV2"):
                return _nchw(args[0]) + _nchw(args[1])
            if op == "BiasAdd":
                return args[0] + args[1].reshape(1, -1, 1, 1)
            if op == "Sub":
                return _nchw(args[0]) - _nchw(args[1])
            if op == "Mul":
                return _nchw(args[0]) * _nchw(args[1])
            if op == "Abs":
                return args[0].abs()
            if op == "Relu":
                return F.relu(args[0])
            if op == "Tanh":
                return torch.tanh(args[0])
            if op == "Sigmoid":
                return torch.sigmoid(args[0])
            if op == "DepthToSpace":
                return _depth_to_space(args[0], int(node.attrs["block_size"]))
            if op == "Transpose":
                perm = [int(v) for v in np.asarray(node.attrs.get("perm", self._const(node.inputs[1]).numpy()))]
                if perm == [0, 3, 1, 2]:  # NHWC -> NCHW: ours are NCHW already
                    return args[0]
                raise ToolUnavailableError(f"{node.name}: unsupported transpose {perm}")
            raise ToolUnavailableError(f"{node.name}: TensorFlow op {op} is not supported")

        def _conv(self, node: GraphNode, x: torch.Tensor) -> torch.Tensor:
            weight = getattr(self, self._conv_weights[node.name])
            strides = node.attrs.get("strides") or [1, 1, 1, 1]
            dilations = node.attrs.get("dilations") or [1, 1, 1, 1]
            sh, sw = int(strides[1]), int(strides[2])
            dh, dw = int(dilations[1]), int(dilations[2])
            if node.attrs.get("padding", "SAME") == "SAME":
                top, bottom = tf_same_padding(x.shape[2], weight.shape[2], sh, dh)
                left, right = tf_same_padding(x.shape[3], weight.shape[3], sw, dw)
                if top == bottom and left == right:
                    return F.conv2d(x, weight, stride=(sh, sw), padding=(top, left), dilation=(dh, dw))
                x = F.pad(x, (left, right, top, bottom))
            return F.conv2d(x, weight, stride=(sh, sw), dilation=(dh, dw))

    def _nchw(t: torch.Tensor) -> torch.Tensor:
        """A per-channel constant of an NHWC graph, shaped to broadcast over NCHW."""
        return t.reshape(1, -1, 1, 1) if t.dim() == 1 else t

    def _depth_to_space(x: torch.Tensor, block: int) -> torch.Tensor:
        """TensorFlow's NHWC DepthToSpace on an NCHW tensor: channel (i * block + j) * C + c
        of input pixel (h, w) goes to output pixel (h * block + i, w * block + j), channel c."""
        n, ch, h, w = x.shape
        c = ch // (block * block)
        x = x.reshape(n, block, block, c, h, w).permute(0, 3, 4, 1, 5, 2)
        return x.reshape(n, c, h * block, w * block)

    return _TFGraphModule


def TFGraphModule(nodes: list[GraphNode], output: str) -> torch.nn.Module:  # noqa: N802 (a factory)
    """A torch module that evaluates node ``output`` of the graph ``nodes``."""
    return _make_module()(nodes, output)
