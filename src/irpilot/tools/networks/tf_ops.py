"""TensorFlow ops in torch, with TensorFlow's semantics, for :class:`~.tf_exec.GraphExecutor`.

Each op is a function ``(node, args) -> tensor`` of a :class:`~.tf_graph.GraphNode` and its
evaluated inputs.  Tensors are laid out as TensorFlow declares them (NHWC images); dtypes
follow the graph (int32 shape arithmetic stays int32: torch promotes some reductions to int64,
which is undone).  Where torch's definition differs from TensorFlow's, TensorFlow's is
implemented: floor division and modulo of floats, ``Range`` of floats (accumulated),
``StridedSlice`` with its five masks, SAME padding (the odd pixel after), and
``Conv2DBackpropInput`` (the gradient of a convolution with respect to its input, i.e. a
transposed convolution cropped or extended to the ``input_sizes`` the node asks for).

Convolutions receive their input as ``x.permute(0, 3, 1, 2)``: a channels-last view of the NHWC
tensor, which oneDNN convolves without copying; the output is permuted back (a view again).
Filters are given already as (out, in, kh, kw) channels-last tensors (:func:`conv_filter`).

Importing this module imports torch; it is imported only when a graph is run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import ToolUnavailableError
from .tf_graph import GraphNode, tf_same_padding

__all__ = ["OPS", "conv_filter", "conv2d", "conv2d_backprop_input", "torch_dtype", "inplace_result_shape", "run_inplace"]

# TensorFlow DataType, as the TF.js JSON names it or as the protobuf enum
_DTYPES: dict[Any, torch.dtype] = {
    "DT_FLOAT": torch.float32, 1: torch.float32,
    "DT_DOUBLE": torch.float64, 2: torch.float64,
    "DT_INT32": torch.int32, 3: torch.int32,
    "DT_INT64": torch.int64, 9: torch.int64,
    "DT_BOOL": torch.bool, 10: torch.bool,
    "DT_UINT8": torch.uint8, 4: torch.uint8,
}

Op = Callable[[GraphNode, list[Any]], "torch.Tensor"]


def torch_dtype(node: GraphNode, attr: str) -> torch.dtype:
    value = node.attrs.get(attr)
    if value not in _DTYPES:
        raise ToolUnavailableError(f"{node.name}: unsupported TensorFlow dtype {value!r} ({attr})")
    return _DTYPES[value]


def _ints(t: torch.Tensor) -> list[int]:
    return [int(v) for v in t.reshape(-1).tolist()]


def _same_dtype(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return out if out.dtype == like.dtype else out.to(like.dtype)


# -- element-wise ---------------------------------------------------------------------------
def _floor_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.is_floating_point():
        return torch.floor(a / b)  # TensorFlow: floor(x / y); torch's float floor-div differs at ties
    return torch.div(a, b, rounding_mode="floor")


def _floor_mod(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if not a.is_floating_point():
        return torch.remainder(a, b)  # the sign of the divisor, as TensorFlow's
    r = torch.fmod(a, b)  # TensorFlow: fmod, then + y where the signs differ
    return torch.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)


_BINARY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "Add": torch.add, "AddV2": torch.add, "Sub": torch.sub, "Mul": torch.mul,
    "RealDiv": torch.true_divide, "Maximum": torch.maximum, "Minimum": torch.minimum,
    "FloorDiv": _floor_div, "FloorMod": _floor_mod,
    "Greater": torch.gt, "GreaterEqual": torch.ge, "Less": torch.lt, "LessEqual": torch.le,
    "Equal": torch.eq, "NotEqual": torch.ne, "LogicalAnd": torch.logical_and, "LogicalOr": torch.logical_or,
    "SquaredDifference": lambda a, b: (a - b) * (a - b),
}
_UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "Identity": lambda x: x, "Abs": torch.abs, "Neg": torch.neg, "Sign": torch.sign, "Floor": torch.floor,
    "Exp": torch.exp, "Log": torch.log, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid, "Relu": torch.relu,
    "Sqrt": torch.sqrt, "Rsqrt": torch.rsqrt, "Reciprocal": torch.reciprocal, "Square": lambda x: x * x,
    "LogicalNot": torch.logical_not,
}


def _select(node: GraphNode, args: list[Any]) -> torch.Tensor:
    cond, t, e = args
    if node.op == "Select" and cond.dim() == 1 and t.dim() > 1:  # v1: a vector picks rows
        cond = cond.reshape(-1, *([1] * (t.dim() - 1)))
    return torch.where(cond, t, e)


# -- shapes ---------------------------------------------------------------------------------
def _shape(node: GraphNode, args: list[Any]) -> torch.Tensor:
    dtype = _DTYPES.get(node.attrs.get("out_type", "DT_INT32"), torch.int32)
    return torch.tensor(list(args[0].shape), dtype=dtype)


def _cast(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return args[0].to(torch_dtype(node, "DstT"))  # float -> int truncates towards zero, as TensorFlow


def _range(node: GraphNode, args: list[Any]) -> torch.Tensor:
    start, limit, delta = (a.reshape(()) for a in args)
    if not start.is_floating_point():
        return torch.arange(int(start), int(limit), int(delta), dtype=start.dtype)
    # TensorFlow: size = ceil(|(limit - start) / delta|), values accumulated in the dtype
    dt = {torch.float32: np.float32, torch.float64: np.float64}[start.dtype]
    s, lim, d = dt(start.item()), dt(limit.item()), dt(delta.item())
    n = max(int(np.ceil(abs((lim - s) / d))), 0)
    vals, v = np.empty(n, dt), s
    for i in range(n):
        vals[i] = v
        v = dt(v + d)
    return torch.from_numpy(vals)


def _reshape(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return args[0].reshape(_ints(args[1]))


def _transpose(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return args[0].permute(_ints(args[1]))


def _expand_dims(node: GraphNode, args: list[Any]) -> torch.Tensor:
    axis = _ints(args[1])[0]
    return args[0].unsqueeze(axis + args[0].dim() + 1 if axis < 0 else axis)


def _squeeze(node: GraphNode, args: list[Any]) -> torch.Tensor:
    dims = node.attrs.get("squeeze_dims") or []
    x = args[0]
    if not dims:
        return x.squeeze()
    for d in sorted((d % x.dim() for d in dims), reverse=True):
        if x.shape[d] != 1:
            raise ValueError(f"{node.name}: cannot squeeze axis {d} of shape {tuple(x.shape)}")
        x = x.squeeze(d)
    return x


def _broadcast_to(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return args[0].expand(_ints(args[1]))  # a view, as cheap as TensorFlow's lazy broadcasting


def _pack(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return torch.stack(args, dim=int(node.attrs.get("axis", 0)))


def _concat(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return torch.cat(args[:-1], dim=_ints(args[-1])[0])


def _sum(node: GraphNode, args: list[Any]) -> torch.Tensor:
    x, axes = args[0], _ints(args[1])
    if not axes:
        return x
    return _same_dtype(torch.sum(x, dim=axes, keepdim=bool(node.attrs.get("keep_dims", False))), x)


def _gather(node: GraphNode, args: list[Any]) -> torch.Tensor:
    params, indices = args[0], args[1].long()
    axis = _ints(args[2])[0] if len(args) > 2 else 0
    axis = axis + params.dim() if axis < 0 else axis
    b = int(node.attrs.get("batch_dims", 0))
    b = b + indices.dim() if b < 0 else b
    if b == 0:
        out = params.index_select(axis, indices.reshape(-1))
        return out.reshape(*params.shape[:axis], *indices.shape, *params.shape[axis + 1 :])
    # batch_dims > 0: params[b0.., i[b0.., j..], ...] per batch element
    lead, pre, post = params.shape[:b], params.shape[b:axis], params.shape[axis + 1 :]
    n = int(np.prod(lead))
    p = params.reshape(n, *params.shape[b:]).movedim(axis - b + 1, 1)
    idx = indices.reshape(n, -1)
    g = p[torch.arange(n, device=p.device)[:, None], idx]  # (n, k, *pre, *post)
    g = g.movedim(1, 1 + len(pre))
    return g.reshape(*lead, *pre, *indices.shape[b:], *post)


def _strided_slice(node: GraphNode, args: list[Any]) -> torch.Tensor:
    x = args[0]
    begin, end, strides = _ints(args[1]), _ints(args[2]), _ints(args[3])
    m = {k: int(node.attrs.get(k, 0)) for k in
         ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")}
    bit = lambda mask, i: (m[mask] >> i) & 1  # noqa: E731
    n = len(begin)
    # every spec entry except new axes and the ellipsis consumes one axis of x
    consumed = sum(1 for i in range(n) if not bit("new_axis_mask", i) and not bit("ellipsis_mask", i))
    key: list[Any] = []
    reverse: list[tuple[int, list[int]]] = []  # (axis of the result, indices) for negative strides
    axis, out_axis, seen_ellipsis = 0, 0, False
    for i in range(n):
        if bit("ellipsis_mask", i) and not seen_ellipsis:
            seen_ellipsis = True
            for _ in range(x.dim() - consumed):
                key.append(slice(None))
                axis, out_axis = axis + 1, out_axis + 1
            continue
        if bit("new_axis_mask", i):
            key.append(None)
            out_axis += 1
            continue
        size = x.shape[axis]
        if bit("shrink_axis_mask", i):
            j = begin[i] + size if begin[i] < 0 else begin[i]
            if not 0 <= j < size:
                raise IndexError(f"{node.name}: index {begin[i]} out of range for axis of size {size}")
            key.append(j)
            axis += 1
            continue
        sl = slice(None if bit("begin_mask", i) else begin[i], None if bit("end_mask", i) else end[i], strides[i])
        start, stop, step = sl.indices(size)
        if step > 0:
            key.append(slice(start, max(start, stop), step))
        else:
            key.append(slice(None))
            reverse.append((out_axis, list(range(start, stop, step))))
        axis, out_axis = axis + 1, out_axis + 1
    y = x[tuple(key)]
    for ax, idx in reverse:
        y = y.index_select(ax, torch.tensor(idx, dtype=torch.long, device=y.device))
    return y


def _einsum(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return torch.einsum(str(node.attrs["equation"]), *args)


# -- convolutions ---------------------------------------------------------------------------
def conv_filter(filt: torch.Tensor) -> torch.Tensor:
    """A TensorFlow (kh, kw, in, out) filter as torch's (out, in, kh, kw), channels-last."""
    return filt.permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)


def _pair(values: Any, default: int = 1) -> tuple[int, int]:
    v = list(values or [default] * 4)
    return int(v[1]), int(v[2])


def _padding(node: GraphNode, size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a NHWC convolution whose input is ``size``."""
    if node.attrs.get("data_format", "NHWC") != "NHWC":
        raise ToolUnavailableError(f"{node.name}: only NHWC convolutions are supported")
    padding = node.attrs.get("padding", "VALID")
    if padding == "SAME":
        top, bottom = tf_same_padding(size[0], kernel[0], stride[0], dilation[0])
        left, right = tf_same_padding(size[1], kernel[1], stride[1], dilation[1])
        return top, bottom, left, right
    if padding == "EXPLICIT":
        p = [int(v) for v in node.attrs.get("explicit_paddings") or [0] * 8]
        return p[2], p[3], p[4], p[5]
    if padding == "VALID":
        return 0, 0, 0, 0
    raise ToolUnavailableError(f"{node.name}: unsupported padding {padding!r}")


def conv2d(node: GraphNode, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``Conv2D`` of an NHWC ``x`` with a :func:`conv_filter` weight; NHWC result."""
    stride, dilation = _pair(node.attrs.get("strides")), _pair(node.attrs.get("dilations"))
    kernel = (weight.shape[2], weight.shape[3])
    top, bottom, left, right = _padding(node, (x.shape[1], x.shape[2]), kernel, stride, dilation)
    groups = x.shape[3] // weight.shape[1]
    if top == bottom and left == right:
        y = F.conv2d(x.permute(0, 3, 1, 2), weight, None, stride, (top, left), dilation, groups)
    else:
        x = F.pad(x, (0, 0, left, right, top, bottom))
        y = F.conv2d(x.permute(0, 3, 1, 2), weight, None, stride, 0, dilation, groups)
    return y.permute(0, 2, 3, 1)


def conv2d_backprop_input(node: GraphNode, sizes: torch.Tensor, dy: torch.Tensor,
                          weight: torch.Tensor) -> torch.Tensor:
    """``Conv2DBackpropInput``: the input gradient of the convolution that maps an input of
    ``sizes`` (NHWC) to ``dy``, given the forward filter as a :func:`conv_filter` weight."""
    _, h, w, _ = _ints(sizes)
    stride, dilation = _pair(node.attrs.get("strides")), _pair(node.attrs.get("dilations"))
    kernel = (weight.shape[2], weight.shape[3])
    top, _, left, _ = _padding(node, (h, w), kernel, stride, dilation)
    full = F.conv_transpose2d(dy.permute(0, 3, 1, 2), weight, None, stride, 0, 0, 1, dilation)
    y = full[:, :, top : top + h, left : left + w]
    if y.shape[2] < h or y.shape[3] < w:  # input pixels no window reached: zero gradient
        y = F.pad(y, (0, w - y.shape[3], 0, h - y.shape[2]))
    return y.permute(0, 2, 3, 1)


def _conv_op(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return conv2d(node, args[0], conv_filter(args[1]))


def _conv_backprop_op(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return conv2d_backprop_input(node, args[0], args[2], conv_filter(args[1]))


def _bias_add(node: GraphNode, args: list[Any]) -> torch.Tensor:
    return args[0] + args[1]  # NHWC: the bias broadcasts over the last axis


#: element-wise ops that can write their result into a dying input (``out=``): allocating a
#: fresh 64 MB tensor per op costs more than the arithmetic (page faults of new mappings)
INPLACE_BINARY: dict[str, Callable[..., torch.Tensor]] = {
    "Add": torch.add, "AddV2": torch.add, "Sub": torch.sub, "Mul": torch.mul, "RealDiv": torch.div,
    "Maximum": torch.maximum, "Minimum": torch.minimum,
}
INPLACE_UNARY: dict[str, Callable[..., torch.Tensor]] = {
    "Abs": torch.abs, "Neg": torch.neg, "Exp": torch.exp, "Tanh": torch.tanh, "Sigmoid": torch.sigmoid,
    "Sqrt": torch.sqrt, "Rsqrt": torch.rsqrt, "Reciprocal": torch.reciprocal, "Floor": torch.floor,
    "Square": lambda x, out: torch.mul(x, x, out=out),
}


def inplace_result_shape(op: str, args: list[torch.Tensor]) -> tuple[int, ...] | None:
    """The result shape of an element-wise ``op`` that can write into an input, else ``None``."""
    if op in INPLACE_UNARY and len(args) == 1 and args[0].is_floating_point():
        return tuple(args[0].shape)
    if op in INPLACE_BINARY and len(args) == 2 and args[0].dtype == args[1].dtype and args[0].is_floating_point():
        return tuple(torch.broadcast_shapes(args[0].shape, args[1].shape))
    return None


def run_inplace(op: str, args: list[torch.Tensor], out: torch.Tensor) -> torch.Tensor:
    """``op`` on ``args`` written into ``out``, one of the args (same shape and dtype as the result)."""
    if op in INPLACE_UNARY:
        return INPLACE_UNARY[op](args[0], out=out)
    return INPLACE_BINARY[op](args[0], args[1], out=out)


OPS: dict[str, Op] = {
    **{op: (lambda f: lambda node, args: f(args[0], args[1]))(f) for op, f in _BINARY.items()},
    **{op: (lambda f: lambda node, args: f(args[0]))(f) for op, f in _UNARY.items()},
    "Select": _select, "SelectV2": _select, "Shape": _shape, "Cast": _cast, "Range": _range,
    "Reshape": _reshape, "Transpose": _transpose, "ExpandDims": _expand_dims, "Squeeze": _squeeze,
    "BroadcastTo": _broadcast_to, "Pack": _pack, "ConcatV2": _concat, "Sum": _sum, "GatherV2": _gather,
    "StridedSlice": _strided_slice, "Einsum": _einsum, "Conv2D": _conv_op,
    "Conv2DBackpropInput": _conv_backprop_op, "BiasAdd": _bias_add,
}
