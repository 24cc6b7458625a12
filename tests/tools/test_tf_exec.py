"""The TensorFlow-semantics graph executor (``tools/networks/tf_exec.py``, ``tf_ops.py``) and the
TF.js graph-model reader (``tfjs_graph.py``), on tiny graphs built here: no weights needed.

Each op is checked against an independent definition (numpy, torch autograd for the gradient a
``Conv2DBackpropInput`` is, TensorFlow's documented padding rules).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from irpilot.errors import ToolUnavailableError  # noqa: E402
from irpilot.tools.networks.tf_exec import GraphExecutor  # noqa: E402
from irpilot.tools.networks.tf_graph import GraphNode  # noqa: E402
from irpilot.tools.networks.tfjs_graph import read_tfjs_graph  # noqa: E402


def _const(name: str, value: Any, dtype: Any = np.float32) -> GraphNode:
    return GraphNode(name, "Const", [], {"value": np.asarray(value, dtype=dtype), "dtype": "DT_FLOAT"})


def _run(nodes: list[GraphNode], x: np.ndarray, out: str = "out") -> np.ndarray:
    graph = [GraphNode("x", "Placeholder", [], {}), *nodes]
    y = GraphExecutor(graph, ["x:0"], [f"{out}:0"])(torch.from_numpy(np.ascontiguousarray(x)))
    assert isinstance(y, torch.Tensor)
    return y.numpy()


def _shape_int32(x: str = "x") -> GraphNode:
    return GraphNode("shape", "Shape", [x], {"out_type": "DT_INT32"})


def test_strided_slice_masks_follow_tensorflow() -> None:
    x = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6)
    cases = [  # (begin, end, strides, masks, numpy equivalent)
        ([0, 1, -1], [0, 4, 0], [1, 1, -2], dict(begin_mask=1, end_mask=5), x[:, 1:4, ::-2]),
        ([1, 0], [2, 0], [1, 1], dict(shrink_axis_mask=1, end_mask=2), x[1, :]),
        ([0, 2], [0, 3], [1, 1], dict(ellipsis_mask=1, shrink_axis_mask=2), x[..., 2]),
        ([0, 0, 1], [0, 0, 3], [1, 1, 1], dict(new_axis_mask=2, begin_mask=1, end_mask=1), x[:, None, 1:3]),
        ([-3, 10], [-1, 100], [1, 1], {}, x[-3:-1, 10:100]),
    ]
    for begin, end, strides, masks, expected in cases:
        nodes = [
            _const("b", begin, np.int32), _const("e", end, np.int32), _const("s", strides, np.int32),
            GraphNode("out", "StridedSlice", ["x", "b", "e", "s"], dict(masks)),
        ]
        got = _run(nodes, x)
        np.testing.assert_array_equal(got, expected, err_msg=str((begin, end, strides, masks)))


def test_floor_div_and_mod_of_ints_and_floats() -> None:
    a = np.array([-7, -6, -1, 0, 1, 6, 7], dtype=np.float32)
    b = np.array([2, -4, 3, 5, -3, 4, -2], dtype=np.float32)
    for dtype in (np.float32, np.int32):
        nodes = [_const("b", b, dtype), GraphNode("out", "FloorDiv", ["x", "b"], {}),
                 GraphNode("m", "FloorMod", ["x", "b"], {})]
        np.testing.assert_array_equal(_run(nodes, a.astype(dtype)), np.floor_divide(a, b).astype(dtype))
        np.testing.assert_array_equal(_run(nodes, a.astype(dtype), "m"), np.mod(a, b).astype(dtype))
        assert _run(nodes, a.astype(dtype)).dtype == dtype


def test_shape_arithmetic_is_evaluated_once_per_shape() -> None:
    # y = reshape(x, [n, h * w, c]) with the new shape computed from Shape(x)
    nodes = [
        _shape_int32(),
        *[_const(f"i{k}", [k], np.int32) for k in range(5)],
        _const("one", [1], np.int32),
        GraphNode("n", "StridedSlice", ["shape", "i0", "i1", "one"], {"shrink_axis_mask": 1}),
        GraphNode("h", "StridedSlice", ["shape", "i1", "i2", "one"], {"shrink_axis_mask": 1}),
        GraphNode("w", "StridedSlice", ["shape", "i2", "i3", "one"], {"shrink_axis_mask": 1}),
        GraphNode("c", "StridedSlice", ["shape", "i3", "i4", "one"], {"shrink_axis_mask": 1}),
        GraphNode("hw", "Mul", ["h", "w"], {}),
        GraphNode("newshape", "Pack", ["n", "hw", "c"], {"axis": 0}),
        GraphNode("out", "Reshape", ["x", "newshape"], {}),
    ]
    graph = [GraphNode("x", "Placeholder", [], {}), *nodes]
    ex = GraphExecutor(graph, ["x"], ["out"])
    for shape in [(1, 4, 6, 3), (2, 3, 5, 3), (1, 4, 6, 3)]:
        x = torch.rand(*shape)
        y = ex(x)
        assert isinstance(y, torch.Tensor)
        assert tuple(y.shape) == (shape[0], shape[1] * shape[2], shape[3])
        torch.testing.assert_close(y, x.reshape(y.shape))
    assert len(ex._plans) == 2  # two distinct shapes planned


def _tf_conv_reference(x: np.ndarray, filt: np.ndarray, stride: int, padding: str) -> np.ndarray:
    """NHWC convolution by loops, TensorFlow's padding rule (SAME: the odd pixel after)."""
    n, h, w, c = x.shape
    kh, kw, _, o = filt.shape
    if padding == "SAME":
        oh, ow = -(-h // stride), -(-w // stride)
        ph, pw = max((oh - 1) * stride + kh - h, 0), max((ow - 1) * stride + kw - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.zeros((n, oh, ow, o), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            out[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, filt)
    return out


@pytest.mark.parametrize("stride,kernel,padding", [(1, 3, "SAME"), (2, 4, "SAME"), (2, 3, "SAME"), (2, 2, "VALID"),
                                                     (1, 1, "VALID")])
def test_conv2d_matches_tensorflow_padding(stride: int, kernel: int, padding: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 9, 8, 3)).astype(np.float32)
    filt = rng.standard_normal((kernel, kernel, 3, 4)).astype(np.float32)
    nodes = [_const("f", filt), GraphNode("out", "Conv2D", ["x", "f"], {
        "padding": padding, "strides": [1, stride, stride, 1], "dilations": [1, 1, 1, 1], "data_format": "NHWC"})]
    np.testing.assert_allclose(_run(nodes, x), _tf_conv_reference(x, filt, stride, padding), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride,kernel,padding,size", [(2, 2, "VALID", (8, 6)), (2, 3, "VALID", (9, 8)),
                                                          (2, 3, "VALID", (10, 8)), (2, 4, "SAME", (8, 7)),
                                                          (1, 3, "SAME", (5, 6))])
def test_conv2d_backprop_input_is_the_input_gradient(stride: int, kernel: int, padding: str,
                                                     size: tuple[int, int]) -> None:
    """Conv2DBackpropInput(input_sizes, filter, dy) = d(sum(conv(x) * dy)) / dx, by autograd."""
    rng = np.random.default_rng(1)
    h, w = size
    filt = rng.standard_normal((kernel, kernel, 3, 5)).astype(np.float32)
    conv = [_const("f", filt), GraphNode("conv", "Conv2D", ["xin", "f"], {
        "padding": padding, "strides": [1, stride, stride, 1], "dilations": [1, 1, 1, 1]})]
    xin = torch.from_numpy(rng.standard_normal((1, h, w, 3)).astype(np.float32)).requires_grad_(True)
    # the forward convolution through the executor's own Conv2D (checked above), differentiated by torch
    from irpilot.tools.networks.tf_ops import conv2d, conv_filter

    y = conv2d(conv[1], xin, conv_filter(torch.from_numpy(filt)))
    dy = torch.from_numpy(rng.standard_normal(tuple(y.shape)).astype(np.float32))
    (y * dy).sum().backward()
    nodes = [_const("f", filt), _const("sizes", [1, h, w, 3], np.int32),
             GraphNode("out", "Conv2DBackpropInput", ["sizes", "f", "x"], {
                 "padding": padding, "strides": [1, stride, stride, 1], "dilations": [1, 1, 1, 1]})]
    got = _run(nodes, dy.numpy())
    assert got.shape == (1, h, w, 3)
    assert xin.grad is not None
    np.testing.assert_allclose(got, xin.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_gather_range_select_einsum_and_broadcasting() -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    idx = np.array([[2, 0], [1, 1]], np.int32)
    nodes = [_const("idx", idx, np.int32), _const("ax", 1, np.int32),
             GraphNode("out", "GatherV2", ["x", "idx", "ax"], {"batch_dims": 0})]
    np.testing.assert_array_equal(_run(nodes, x), np.take(x, idx, axis=1))
    # batch_dims=1: per batch row b, x[b, idx[b]]
    nodes[-1] = GraphNode("out", "GatherV2", ["x", "idx", "ax"], {"batch_dims": 1})
    np.testing.assert_array_equal(_run(nodes, x), np.stack([x[b][idx[b]] for b in range(2)]))
    nodes = [_const("s", 0.5), _const("l", 2.0), _const("d", 0.3),
             GraphNode("out", "Range", ["s", "l", "d"], {"Tidx": "DT_FLOAT"})]
    np.testing.assert_allclose(_run(nodes, x), np.arange(0.5, 2.0, 0.3, dtype=np.float32), rtol=1e-6)
    w = np.arange(8, dtype=np.float32).reshape(4, 2)
    nodes = [_const("w", w), GraphNode("out", "Einsum", ["x", "w"], {"equation": "abg,gf->abf"})]
    np.testing.assert_allclose(_run(nodes, x), x @ w)
    nodes = [_const("zero", 10.0), GraphNode("c", "Greater", ["x", "zero"], {}),
             _const("shape", [3, 2, 3, 4], np.int32), GraphNode("big", "BroadcastTo", ["x", "shape"], {}),
             GraphNode("out", "SelectV2", ["c", "big", "zero"], {})]
    np.testing.assert_array_equal(_run(nodes, x), np.broadcast_to(np.where(x > 10, x, 10.0), (3, 2, 3, 4)))


def test_unsupported_ops_are_named() -> None:
    graph = [GraphNode("x", "Placeholder", [], {}), GraphNode("out", "FancyOp", ["x"], {})]
    with pytest.raises(ToolUnavailableError, match="FancyOp"):
        GraphExecutor(graph, ["x"], ["out"])


def test_tfjs_reader_puts_shard_values_into_constants(tmp_path: Path) -> None:
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    k = np.array([3], np.int32)
    data = w.tobytes() + k.tobytes()
    (tmp_path / "group1-shard1of2.bin").write_bytes(data[:10])
    (tmp_path / "group1-shard2of2.bin").write_bytes(data[10:])
    spec = {
        "format": "graph-model",
        "signature": {"inputs": {"x": {"name": "x:0"}}, "outputs": {"y": {"name": "y:0"}}},
        "modelTopology": {"node": [
            {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
            {"name": "w", "op": "Const", "attr": {"value": {"tensor": {"dtype": "DT_FLOAT"}}}},
            {"name": "k", "op": "Const", "attr": {"value": {"tensor": {"dtype": "DT_INT32"}}}},
            {"name": "e", "op": "Einsum", "input": ["x", "w"], "attr": {"equation": {"s": "YWIsYmMtPmFj"}}},
            {"name": "y", "op": "Mul", "input": ["e", "kf", "^w"]},
            {"name": "kf", "op": "Cast", "input": ["k"], "attr": {"DstT": {"type": "DT_FLOAT"}}},
        ]},
        "weightsManifest": [{"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"], "weights": [
            {"name": "w", "shape": [2, 3], "dtype": "float32"}, {"name": "k", "shape": [1], "dtype": "int32"}]}],
    }
    (tmp_path / "model.json").write_text(json.dumps(spec))
    graph = read_tfjs_graph(tmp_path)
    assert graph.inputs == ["x:0"] and graph.outputs == ["y:0"]
    assert graph.parameter_count() == 6
    x = np.ones((4, 2), np.float32)
    y = GraphExecutor(graph.nodes, graph.inputs, graph.outputs)(torch.from_numpy(x))
    assert isinstance(y, torch.Tensor)
    np.testing.assert_array_equal(y.numpy(), (x @ w) * 3)
    (tmp_path / "group1-shard2of2.bin").write_bytes(data[10:-1])
    with pytest.raises(ToolUnavailableError, match="shards"):
        read_tfjs_graph(tmp_path)


def test_inplace_results_never_overwrite_inputs_or_shared_memory() -> None:
    """Element-wise results reuse a dying input's memory, but never the caller's input (nor a
    view of it), a constant, or a tensor another live value still shares."""
    nodes = [
        GraphNode("x", "Placeholder", [], {}),
        _const("two", 2.0), _const("shape", [2, 6], np.int32), _const("c", np.ones((2, 6))),
        GraphNode("v", "Reshape", ["x", "shape"], {}),  # a view of the input
        GraphNode("a", "Mul", ["v", "two"], {}),  # must not write into x
        GraphNode("b", "Tanh", ["a"], {}),  # may write into a
        GraphNode("t", "Transpose", ["b", "perm"], {}), _const("perm", [1, 0], np.int32),
        GraphNode("u", "Transpose", ["t", "perm"], {}),  # a view of b, alive with b below
        GraphNode("d", "AddV2", ["b", "c"], {}),  # b is shared with u: must not be overwritten
        GraphNode("out", "Mul", ["d", "u"], {}),
        GraphNode("out2", "Neg", ["c"], {}),
    ]
    ex = GraphExecutor(nodes, ["x"], ["out", "out2"])
    x = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 10
    x0 = x.clone()
    out, out2 = ex(x)
    b = np.tanh(x0.numpy().reshape(2, 6) * 2)
    np.testing.assert_allclose(out.numpy(), (b + 1) * b, rtol=1e-6)
    np.testing.assert_array_equal(out2.numpy(), -np.ones((2, 6)))
    torch.testing.assert_close(x, x0)  # the caller's tensor is untouched
    out_again, _ = ex(x)
    torch.testing.assert_close(out_again, out)  # constants untouched too
