"""Read a TensorFlow.js ``graph-model`` (``model.json`` + ``group*-shard*.bin``) as graph nodes.

The TF.js converter writes a frozen ``GraphDef`` as JSON (``modelTopology.node``: name, op,
inputs, attributes in protobuf's JSON mapping) and moves every ``Const`` node's value out of
it into binary shards: ``weightsManifest`` lists the shard files (concatenated in order) and
the weights (name, shape, dtype) in the order their bytes follow each other.  This module puts
the two back together as :class:`~.tf_graph.GraphNode` objects, the ``Const`` values in
``attrs["value"]`` as numpy arrays.  It is data only: nothing in the files is executed.
:class:`~.tf_exec.GraphExecutor` evaluates the result.

Nothing here imports torch.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ToolUnavailableError
from .tf_graph import GraphNode

__all__ = ["TFJSGraph", "read_tfjs_graph", "decode_attr"]

_MANIFEST_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "uint8": np.uint8}


class TFJSGraph:
    """The nodes of a TF.js graph model with their constants, and its input and output names."""

    def __init__(self, nodes: list[GraphNode], inputs: list[str], outputs: list[str], meta: dict[str, Any]) -> None:
        self.nodes = nodes
        self.inputs = inputs
        self.outputs = outputs
        self.meta = meta

    def parameter_count(self) -> int:
        """Float constants with at least one axis (layer weights and biases; the scalars jax2tf
        leaves as constants are not parameters)."""
        total = 0
        for node in self.nodes:
            value = node.attrs.get("value") if node.op == "Const" else None
            if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.ndim > 0:
                total += int(value.size)
        return total


def decode_attr(value: dict[str, Any]) -> Any:
    """One ``AttrValue`` in protobuf's JSON mapping as a Python value: ``s`` (base64) as str,
    ``i`` (a decimal string) as int, ``f``, ``b``, ``type`` (e.g. ``"DT_FLOAT"``), ``shape`` as a
    list of sizes (-1 unknown), ``list`` as a list of its values, ``tensor`` as numpy when it
    carries its values (the converter leaves them out of ``Const`` nodes)."""
    if "s" in value:
        return base64.b64decode(value["s"]).decode("utf-8", "replace")
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return str(value["type"])
    if "shape" in value:
        return [int(d.get("size", 0)) for d in value["shape"].get("dim", [])]
    if "list" in value:
        lst = value["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        if "s" in lst:
            return [base64.b64decode(v).decode("utf-8", "replace") for v in lst["s"]]
        if "type" in lst:
            return [str(v) for v in lst["type"]]
        return []
    if "tensor" in value:
        return _json_tensor(value["tensor"])
    return None


def _json_tensor(t: dict[str, Any]) -> np.ndarray | None:
    """A ``TensorProto`` in JSON, or ``None`` when its values are elsewhere (the shards)."""
    shape = [int(d.get("size", 0)) for d in t.get("tensorShape", {}).get("dim", [])]
    for key, dtype in (("floatVal", np.float32), ("intVal", np.int32), ("boolVal", np.bool_)):
        if key in t:
            vals = np.asarray(t[key], dtype=dtype)
            count = int(np.prod(shape)) if shape else 1
            return (np.full(count, vals[0], dtype) if vals.size == 1 else vals).reshape(shape)
    return None


def _read_weights(model_dir: Path, manifest: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        try:
            data = b"".join((model_dir / p).read_bytes() for p in group["paths"])
        except OSError as exc:
            raise ToolUnavailableError(f"cannot read the weight shards of {model_dir}: {exc}") from exc
        offset = 0
        for w in group["weights"]:
            if "quantization" in w:
                raise ToolUnavailableError(f"{w['name']}: quantized TF.js weights are not supported")
            if w["dtype"] not in _MANIFEST_DTYPES:
                raise ToolUnavailableError(f"{w['name']}: TF.js weight dtype {w['dtype']!r} is not supported")
            dtype = np.dtype(_MANIFEST_DTYPES[w["dtype"]])
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            if offset + count * dtype.itemsize > len(data):
                raise ToolUnavailableError(f"{model_dir}: the weight shards end inside {w['name']!r}")
            arr = np.frombuffer(data, dtype=dtype.newbyteorder("<"), count=count, offset=offset)
            weights[w["name"]] = arr.astype(dtype, copy=True).reshape(shape)
            offset += count * dtype.itemsize
        if offset != len(data):
            raise ToolUnavailableError(
                f"{model_dir}: the shards hold {len(data)} bytes, the manifest describes {offset}")
    return weights


def read_tfjs_graph(model_dir: str | Path) -> TFJSGraph:
    """The graph in ``model_dir/model.json`` with every ``Const`` value read from its shards."""
    model_dir = Path(model_dir)
    try:
        spec = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToolUnavailableError(f"cannot read the TF.js model {model_dir / 'model.json'}: {exc}") from exc
    if spec.get("format") != "graph-model" or "modelTopology" not in spec:
        raise ToolUnavailableError(f"{model_dir / 'model.json'} is not a TF.js graph-model")
    weights = _read_weights(model_dir, spec.get("weightsManifest", []))
    nodes: list[GraphNode] = []
    missing: list[str] = []
    for raw in spec["modelTopology"].get("node", []):
        attrs = {k: decode_attr(v) for k, v in raw.get("attr", {}).items()}
        node = GraphNode(name=raw["name"], op=raw["op"], inputs=list(raw.get("input", [])), attrs=attrs)
        if node.op == "Const":
            if node.name in weights:
                node.attrs["value"] = weights[node.name]
            elif not isinstance(attrs.get("value"), np.ndarray):
                missing.append(node.name)
        nodes.append(node)
    if missing:
        raise ToolUnavailableError(f"{len(missing)} constants of {model_dir} have no value, e.g. {missing[0]!r}")
    signature = spec.get("signature", {})
    inputs = [v["name"] for v in signature.get("inputs", {}).values()]
    outputs = [v["name"] for v in signature.get("outputs", {}).values()]
    if not inputs:
        inputs = [n.name for n in nodes if n.op == "Placeholder"]
    meta = {k: spec[k] for k in ("format", "generatedBy", "convertedBy") if k in spec}
    return TFJSGraph(nodes, inputs, outputs, meta)
