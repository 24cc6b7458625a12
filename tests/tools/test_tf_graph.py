"""The frozen-TensorFlow-graph reader and its torch evaluator (``tools/networks/tf_graph.py``).

Two kinds of check:

* a tiny ``GraphDef`` is encoded here by hand and its ops are compared with numpy, so the
  semantics (TensorFlow SAME padding with an even kernel, NHWC DepthToSpace channel order,
  per-channel constants) are tested without any weights;
* with the weights folder, the three ``dnn_superres`` tools reproduce the outputs OpenCV 4.13's
  ``cv2.dnn_superres`` gave on a 32 px crop of scikit-image's astronaut (the files in
  ``tests/tools/data/``; made by ``benchmarks/opencv_sr_reference.py``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from irpilot.errors import ToolUnavailableError
from irpilot.tools.networks.tf_graph import TFGraphModule, read_graph_def

DATA = Path(__file__).parent / "data"


# --- a minimal protobuf encoder, enough for GraphDef ------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _tensor_attr(arr: np.ndarray) -> bytes:
    shape = b"".join(_field(2, _field(1, d)) for d in arr.shape)
    tensor = _field(1, 1) + _field(2, shape) + _field(4, arr.astype("<f4").tobytes())
    return _field(8, tensor)


def _node(name: str, op: str, inputs: list[str], attrs: dict[str, bytes]) -> bytes:
    body = _field(1, name.encode()) + _field(2, op.encode())
    body += b"".join(_field(3, i.encode()) for i in inputs)
    body += b"".join(_field(5, _field(1, k.encode()) + _field(2, v)) for k, v in attrs.items())
    return _field(1, body)


def _graph(tmp_path: Path, nodes: list[bytes]) -> Path:
    path = tmp_path / "g.pb"
    path.write_bytes(b"".join(nodes))
    return path


def _run(path: Path, output: str, x: np.ndarray) -> np.ndarray:
    import torch

    module = TFGraphModule(read_graph_def(path), output)
    with torch.inference_mode():
        return module(torch.from_numpy(x)).numpy()


def _conv_same_reference(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """TensorFlow SAME convolution of (H, W) x with (kh, kw) w: extra padding after."""
    kh, kw = w.shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(x, ((top, kh - 1 - top), (left, kw - 1 - left)))
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i, j] = np.sum(padded[i : i + kh, j : j + kw] * w)
    return out


def test_conv_even_kernel_bias_prelu_like_and_depth_to_space(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 4, 1, 4)).astype(np.float32)  # (kh, kw, in, out): 4 = 2x2 block
    b = rng.normal(size=(4,)).astype(np.float32)
    alpha = np.float32(0.25)
    graph = _graph(
        tmp_path,
        [
            _node("x", "Placeholder", [], {}),
            _node("w", "Const", [], {"value": _tensor_attr(w)}),
            _node("b", "Const", [], {"value": _tensor_attr(b)}),
            _node("a", "Const", [], {"value": _tensor_attr(np.array(alpha))}),
            _node("conv", "Conv2D", ["x", "w"], {"padding": _field(2, b"SAME"), "data_format": _field(2, b"NHWC")}),
            _node("add", "Add", ["conv", "b"], {}),
            # PReLU as the dnn_superres graphs spell it: relu(x) + a * (x - |x|) / 2
            _node("abs", "Abs", ["add"], {}),
            _node("sub", "Sub", ["add", "abs"], {}),
            _node("mul", "Mul", ["sub", "a"], {}),
            _node("relu", "Relu", ["add"], {}),
            _node("pre", "Add", ["relu", "mul"], {}),
            _node("d2s", "DepthToSpace", ["pre"], {"block_size": _field(3, 2)}),
        ],
    )
    x = rng.normal(size=(1, 1, 5, 6)).astype(np.float32)
    out = _run(graph, "d2s", x)
    assert out.shape == (1, 1, 10, 12)
    for k in range(4):
        z = _conv_same_reference(x[0, 0], w[:, :, 0, k]) + b[k]
        z = np.maximum(z, 0) + alpha * (z - np.abs(z))
        i, j = divmod(k, 2)  # TensorFlow: channel (i * block + j) goes to offset (i, j)
        np.testing.assert_allclose(out[0, 0, i::2, j::2], z, rtol=1e-5, atol=1e-5)


def test_unsupported_op_and_broken_files_are_clear_errors(tmp_path: Path) -> None:
    graph = _graph(tmp_path, [_node("x", "Placeholder", [], {}), _node("y", "Softplus", ["x"], {})])
    with pytest.raises(ToolUnavailableError, match="Softplus"):
        _run(graph, "y", np.zeros((1, 1, 2, 2), np.float32))
    cut = tmp_path / "cut.pb"
    cut.write_bytes(graph.read_bytes()[:-3])
    with pytest.raises(ToolUnavailableError, match="cannot read TensorFlow graph"):
        read_graph_def(cut)
    with pytest.raises(ToolUnavailableError, match="no node"):
        TFGraphModule(read_graph_def(graph), "missing")


@pytest.mark.weights
@pytest.mark.parametrize("name", ["fsrcnn", "espcn", "lapsrn"])
def test_dnn_superres_tools_reproduce_opencv_4(name: str) -> None:
    from irpilot.config import settings
    from irpilot.io import from_uint8, read_image, to_uint8
    from irpilot.tools import TOOLS, get_tool

    if not settings.weights_dir.is_dir():
        pytest.skip(f"weights directory {settings.weights_dir} absent")
    reason = TOOLS.get(f"{name}_x4").unavailable_reason()
    if reason:
        pytest.skip(reason)
    lr = read_image(DATA / "sr_input_32.png")
    reference = to_uint8(read_image(DATA / f"sr_{name}_x4_ref.png")).astype(int)
    out = to_uint8(get_tool(f"{name}_x4", device="cpu")(from_uint8(to_uint8(lr)))).astype(int)
    assert out.shape == reference.shape == (128, 128, 3)
    diff = np.abs(out - reference)
    assert (diff <= 1).mean() >= 0.99, f"{(diff <= 1).mean():.4f} of pixels within 1/255"
    assert diff.max() <= 3


def test_packed_and_scalar_tensor_values(tmp_path: Path) -> None:
    """A Const given by repeated ``float_val`` (one value filling the shape) reads right."""
    tensor = _field(1, 1) + _field(2, _field(2, _field(1, 3))) + _field(5, struct.pack("<f", 2.5))
    graph = _graph(
        tmp_path,
        [
            _node("x", "Placeholder", [], {}),
            _node("c", "Const", [], {"value": _field(8, tensor)}),
            _node("m", "Mul", ["x", "c"], {}),
        ],
    )
    out = _run(graph, "m", np.ones((1, 3, 2, 2), np.float32))
    np.testing.assert_allclose(out, 2.5)
