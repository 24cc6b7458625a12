"""Evaluate a TensorFlow graph (TF.js graph-model or frozen GraphDef nodes) op by op in torch.

:class:`GraphExecutor` takes the nodes of a graph (:func:`~.tfjs_graph.read_tfjs_graph`,
:func:`~.tf_graph.read_graph_def`) and runs them with the TensorFlow semantics of
:mod:`.tf_ops`.  Graphs exported from JAX (jax2tf) compute much of their work from constants
and from the input's *shape* alone (layer-norm scalars, reshaped kernels, the interpolation
weights of ``jax.image.resize``); each node is therefore classed once as

* **constant**: evaluated once when the executor is built (transposed filters, ...);
* **shape**: depends on the input only through ``Shape``; evaluated once per input shape
  and kept for the last few shapes (tiles of a large photo all have one shape);
* **data**: evaluated on every call, in topological order, each intermediate tensor freed as
  soon as its last consumer has run (peak memory is what matters on 12 MP photos).

Convolution filters are converted once to channels-last torch weights.  Everything runs under
``torch.inference_mode``.  An op outside :data:`~.tf_ops.OPS` is reported when the executor is
built, with every unsupported op named.

Nothing here imports torch at module import time.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ToolUnavailableError
from .tf_graph import GraphNode, node_input, topological_order

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["GraphExecutor"]

_CONST, _SHAPE, _DATA = 0, 1, 2
_CONVS = {"Conv2D": 1, "Conv2DBackpropInput": 1}  # op -> index of its filter input


class GraphExecutor:
    """Runs ``outputs`` of a graph for values fed to its ``inputs`` (Placeholder names).

    >>> ex = GraphExecutor(graph.nodes, graph.inputs, graph.outputs)   # doctest: +SKIP
    >>> y = ex(torch.rand(1, 64, 64, 3))                                # doctest: +SKIP
    """

    def __init__(self, nodes: list[GraphNode], inputs: list[str], outputs: list[str], *,
                 device: str = "cpu", shape_cache: int = 4) -> None:
        import torch

        from .tf_ops import OPS, conv_filter

        self.device = torch.device(device)
        by_name = {n.name: n for n in nodes}
        self.input_names = [_name(i) for i in inputs]
        self.output_names = [_name(o) for o in outputs]
        for name in self.input_names:
            if name not in by_name or by_name[name].op != "Placeholder":
                raise ToolUnavailableError(f"graph input {name!r} is not a Placeholder")
        order = topological_order(by_name, self.output_names)
        unsupported = sorted({by_name[n].op for n in order} - set(OPS) - {"Const", "Placeholder"})
        if unsupported:
            raise ToolUnavailableError(f"graph uses TensorFlow ops irpilot does not implement: {unsupported}")
        self._args = {n: [i for i in map(node_input, by_name[n].inputs) if i is not None] for n in order}
        kind: dict[str, int] = {}
        for n in order:
            node = by_name[n]
            if node.op == "Placeholder":
                if n not in self.input_names:
                    raise ToolUnavailableError(f"graph needs a value for Placeholder {n!r}")
                kind[n] = _DATA
            elif node.op == "Const":
                kind[n] = _CONST
            elif node.op == "Shape" and by_name[self._args[n][0]].op == "Placeholder":
                kind[n] = _SHAPE
            else:
                kind[n] = max((kind[i] for i in self._args[n]), default=_CONST)
        self._ops = OPS
        self._nodes = {n: by_name[n] for n in order if kind[n] != _CONST}
        self._shape_order = [n for n in order if kind[n] == _SHAPE]
        self._data_order = [n for n in order if kind[n] == _DATA and by_name[n].op != "Placeholder"]

        # values a shape or data node reads, except filters turned into conv weights below
        conv_filters = {(n, self._args[n][_CONVS[by_name[n].op]]) for n in self._data_order if by_name[n].op in _CONVS}
        needed = {i for n in self._shape_order + self._data_order for i in self._args[n]
                  if kind[i] == _CONST and (n, i) not in conv_filters}
        needed |= {o for o in self.output_names if kind[o] == _CONST}
        with torch.inference_mode():
            consts = self._fold_constants(by_name, order, kind, needed | {f for _, f in conv_filters})
            self._conv_weights = {n: conv_filter(consts[f]) for n, f in conv_filters if kind[f] == _CONST}
        self._consts = {n: consts[n] for n in needed}
        # data-node inputs that are constants or shape values are not freed; count the rest
        self._uses: dict[str, int] = {}
        for n in self._data_order:
            for i in self._args[n]:
                if kind[i] == _DATA:
                    self._uses[i] = self._uses.get(i, 0) + 1
        for o in self.output_names:
            self._uses[o] = self._uses.get(o, 0) + 1  # outputs are never freed
        self._kind = kind
        self._plans: OrderedDict[tuple[tuple[int, ...], ...], dict[str, torch.Tensor]] = OrderedDict()
        self._shape_cache = max(1, shape_cache)

    def _fold_constants(self, by_name: dict[str, GraphNode], order: list[str], kind: dict[str, int],
                        keep: set[str]) -> dict[str, torch.Tensor]:
        """Values of the constant nodes in ``keep`` (and what they are computed from)."""
        import torch

        wanted: set[str] = set()
        stack = list(keep)
        while stack:
            n = stack.pop()
            if n not in wanted:
                wanted.add(n)
                stack += self._args.get(n, []) if by_name[n].op != "Const" else []
        values: dict[str, torch.Tensor] = {}
        for n in order:
            if kind[n] != _CONST or n not in wanted:
                continue
            node = by_name[n]
            if node.op == "Const":
                value = node.attrs.get("value")
                if not isinstance(value, np.ndarray):
                    raise ToolUnavailableError(f"constant {n!r} has no value")
                # (np.ascontiguousarray would turn a scalar into shape (1,))
                value = value if value.flags.c_contiguous else value.copy(order="C")
                values[n] = torch.from_numpy(value).to(self.device)
            else:
                values[n] = self._run_op(node, [values[i] for i in self._args[n]])
        return {n: v for n, v in values.items() if n in keep}

    def _run_op(self, node: GraphNode, args: list[Any]) -> torch.Tensor:
        try:
            return self._ops[node.op](node, args)
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            shapes = [tuple(a.shape) for a in args]
            raise RuntimeError(f"{node.op} {node.name!r} failed on inputs {shapes}: {exc}") from exc

    def _plan(self, feeds: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The shape-dependent values for inputs of these shapes (cached)."""
        key = tuple(tuple(f.shape) for f in feeds)
        plan = self._plans.get(key)
        if plan is not None:
            self._plans.move_to_end(key)
            return plan
        fed = dict(zip(self.input_names, feeds))
        values: dict[str, torch.Tensor] = {}
        for n in self._shape_order:
            node = self._nodes[n]
            args = [fed[i] if i in fed else values[i] if i in values else self._consts[i] for i in self._args[n]]
            values[n] = self._run_op(node, args)
        plan = {n: values[n] for n in self._shape_order
                if any(n in self._args[d] for d in self._consumers(n)) or n in self.output_names}
        self._plans[key] = plan
        while len(self._plans) > self._shape_cache:
            self._plans.popitem(last=False)
        return plan

    def _consumers(self, name: str) -> list[str]:
        if not hasattr(self, "_consumer_map"):
            cm: dict[str, list[str]] = {}
            for n in self._data_order:
                for i in self._args[n]:
                    cm.setdefault(i, []).append(n)
            self._consumer_map = cm
        return self._consumer_map.get(name, [])

    def __call__(self, *feeds: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """The graph's outputs for ``feeds`` (one tensor per input, in ``inputs`` order)."""
        import torch

        from .tf_ops import conv2d, conv2d_backprop_input, run_inplace

        if len(feeds) != len(self.input_names):
            raise ValueError(f"the graph takes {len(self.input_names)} inputs, got {len(feeds)}")
        with torch.inference_mode():
            feeds = tuple(f.to(self.device) for f in feeds)
            env: dict[str, torch.Tensor] = dict(self._consts)
            env.update(self._plan(list(feeds)))
            env.update(zip(self.input_names, feeds))
            left = dict(self._uses)
            kind, args_of, weights = self._kind, self._args, self._conv_weights
            # live data tensors per storage: a tensor may be overwritten only when no other
            # live value (a view: reshape, transpose, broadcast) shares its memory
            # (constants, shape values and the caller's inputs are never overwritten)
            live = {t.untyped_storage().data_ptr(): 1 for t in env.values()}
            for f in feeds:  # one more for the caller, who still holds them
                live[f.untyped_storage().data_ptr()] += 1
            fed = set(self.input_names)
            for n in self._data_order:
                node = self._nodes[n]
                names = args_of[n]
                if n in weights:
                    if node.op == "Conv2D":
                        out = conv2d(node, env[names[0]], weights[n])
                    else:
                        out = conv2d_backprop_input(node, env[names[0]], env[names[2]], weights[n])
                else:
                    args = [env[i] for i in names]
                    target = self._dying_input(node, names, args, left, live, fed)
                    out = self._run_op(node, args) if target is None else run_inplace(node.op, args, target)
                    del args
                env[n] = out
                key = out.untyped_storage().data_ptr()
                live[key] = live.get(key, 0) + 1
                for i in names:
                    if kind[i] == _DATA:
                        left[i] -= 1
                        if left[i] == 0:
                            key = env.pop(i).untyped_storage().data_ptr()
                            live[key] -= 1
            outs = tuple(env[o] for o in self.output_names)
        return outs[0] if len(outs) == 1 else outs


    @staticmethod
    def _dying_input(node: GraphNode, names: list[str], args: list[torch.Tensor], left: dict[str, int],
                     live: dict[int, int], fed: set[str]) -> torch.Tensor | None:
        """An input of an element-wise node that the result may overwrite: used by no later
        node, sharing its memory with no other live value, contiguous, of the result's shape."""
        from .tf_ops import inplace_result_shape

        shape = inplace_result_shape(node.op, args)
        if shape is None:
            return None
        for name, t in zip(names, args):
            if (name not in left or name in fed or left[name] != names.count(name) or tuple(t.shape) != shape
                    or not t.is_contiguous() or live.get(t.untyped_storage().data_ptr(), 0) != 1):
                continue
            return t
        return None


def _name(ref: str) -> str:
    name = node_input(ref)
    if name is None:
        raise ValueError(f"{ref!r} is a control dependency, not a tensor")
    return name
