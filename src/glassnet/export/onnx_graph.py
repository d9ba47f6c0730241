"""The ONNX graph under construction: names, constants and nodes, written with onnx.helper.

A converter (one per layer family, in the onnx_*.py files beside this one) adds the nodes of
one layer through this object and never touches `onnx` itself:

    W = graph.constant(layer.W.value, "kernel")          # an initializer, in the model's dtype
    z = graph.op("MatMul", [x.name, W])                   # a node; returns its output's name
    y = graph.op("Add", [z, graph.constant(layer.b.value, "bias")])

Every name is made unique under the layer's name ("dense/MatMul", "dense/MatMul_1"), so a
graph reads like the model in Netron. A loop body (the Scan of a recurrent layer) is a child
graph: its nodes are its own, its constants live in the main graph, where ONNX lets a body
read them by name.

Opset differences the converters need not know about (17 to the newest): ReduceMean and
ReduceMax take their axes as an input from opset 18 on, as an attribute before.
"""

from __future__ import annotations

import contextlib
from typing import Any, NamedTuple

import numpy as np

MIN_OPSET = 17
DEFAULT_OPSET = 18

ONNX_MISSING = ('model.export(format="onnx") needs the onnx package: '
                'pip install "glassnet[onnx]" (or pip install onnx)')


def require_onnx():
    """The `onnx` module, or an ImportError with the one-line install command."""
    try:
        import onnx
    except ImportError:
        raise ImportError(ONNX_MISSING) from None
    return onnx


class Tensor(NamedTuple):
    """A value of the graph: its name and its shape ((None, ...) where a size is dynamic)."""

    name: str
    shape: tuple


class OnnxGraph:
    """Nodes and initializers of one ONNX graph (or a loop body, see `body`).

    Args:
        opset: the ONNX opset the nodes are written for (17 or later).
        float_dtype: the model's float dtype: every float constant is stored in it.
        converters: {layer class: converter function}, for `convert` (layers inside layers).
    """

    def __init__(self, opset: int, float_dtype, converters: dict, parent: OnnxGraph | None = None):
        self.onnx = require_onnx()
        self.opset = int(opset)
        self.float_dtype = np.dtype(float_dtype)
        self.converters = converters
        self.root = self if parent is None else parent.root
        self.nodes: list = []
        self.initializers: list = [] if parent is None else self.root.initializers
        self._names: set[str] = set() if parent is None else self.root._names
        self._scope: list[str] = [] if parent is None else list(parent._scope)

    # ----- names ------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A name no other value of the model has: `scope/hint`, else with _1, _2, ..."""
        base = "/".join(self._scope + [hint]) if self._scope else hint
        name, k = base, 0
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claim `name` exactly (a model input or output); ValueError if it is taken."""
        if name in self._names:
            raise ValueError(f"ONNX export: two values would be named {name!r}; give the model's "
                             f"inputs and output distinct names")
        self._names.add(name)
        return name

    @contextlib.contextmanager
    def scoped(self, name: str):
        """Names made inside start with `name/` (one layer's nodes)."""
        self._scope.append(name)
        try:
            yield
        finally:
            self._scope.pop()

    # ----- constants and nodes ------------------------------------------------------------
    def constant(self, value, hint: str = "const", dtype=None) -> str:
        """An initializer holding `value`: floats in the model's dtype, else as `dtype` or
        the array's own. Returns its name."""
        array = np.asarray(value)
        if dtype is not None:
            array = array.astype(dtype)
        elif array.dtype.kind == "f":
            array = array.astype(self.float_dtype)
        name = self.fresh(hint)
        self.root.initializers.append(self.onnx.numpy_helper.from_array(
            array.copy(order="C"), name))
        return name

    def ints(self, values, hint: str = "shape") -> str:
        """An int64 constant (shapes, axes, pads, sizes)."""
        return self.constant(np.asarray(values, dtype=np.int64), hint, dtype=np.int64)

    def scalar(self, value: float, hint: str = "scalar") -> str:
        """A float scalar in the model's dtype."""
        return self.constant(np.asarray(value, dtype=self.float_dtype), hint)

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, outputs: int = 1,
           **attributes: Any):
        """Add one node; return its output's name (a list of names for outputs > 1)."""
        names = [self.fresh(hint or op_type) for _ in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), names, name=self.fresh(f"{hint or op_type}_node"),
            **attributes))
        return names[0] if outputs == 1 else names

    # ----- helpers for the opset-dependent or wordy operators --------------------------------
    def reduce(self, op_type: str, x: str, axes, keepdims: bool = True) -> str:
        """ReduceMean / ReduceMax / ReduceSum over `axes`, for any opset from 17."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes, "axes")], keepdims=int(keepdims))
        return self.op(op_type, [x], axes=axes, keepdims=int(keepdims))

    def split(self, x: str, sizes, axis: int = -1) -> list[str]:
        """x split along `axis` into pieces of `sizes`."""
        return self.op("Split", [x, self.ints(sizes, "split")], outputs=len(sizes), axis=axis)

    def transpose(self, x: str, perm) -> str:
        return self.op("Transpose", [x], perm=[int(p) for p in perm])

    def dims(self, x: str, start: int, end: int | None = None) -> str:
        """Shape(x)[start:end] as a 1-D int64 tensor (dynamic sizes, such as the batch)."""
        attributes = {"start": start} if end is None else {"start": start, "end": end}
        return self.op("Shape", [x], hint="dims", **attributes)

    def zeros_like_rows(self, x: str, width: int) -> str:
        """Zeros of shape (N, width), N the first size of x: an RNN's initial state."""
        shape = self.op("Concat", [self.dims(x, 0, 1), self.ints([width], "width")], axis=0)
        zero = self.onnx.numpy_helper.from_array(np.zeros(1, dtype=self.float_dtype))
        return self.op("ConstantOfShape", [shape], hint="zeros", value=zero)

    def cast_float(self, x: str) -> str:
        """x as the model's float type."""
        return self.op("Cast", [x], to=self.onnx.helper.np_dtype_to_tensor_dtype(
            self.float_dtype))

    def tensor_type(self, dtype) -> int:
        return self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))

    # ----- layers inside layers and loop bodies -----------------------------------------------
    def convert(self, layer, x, mask=None):
        """(output Tensor, output mask or None) of `layer` on x (a Tensor or a list of them);
        the layer's nodes are named under its name."""
        converter = self.converters.get(type(layer))
        if converter is None:
            raise NotImplementedError(unsupported(layer, self.converters))
        shapes = [t.shape for t in x] if isinstance(x, list) else x.shape
        with self.scoped(layer.name):
            result = converter(self, layer, x, mask)
        if isinstance(result, tuple):               # the converter says what mask comes out
            name, out_mask = result
        else:                                       # the layer contract: passed on or ended
            name, out_mask = result, mask if layer.supports_masking else None
        if isinstance(out_mask, list):              # a merge: where every input's mask holds
            out_mask = self.all_of([m for m in out_mask if m is not None])
        return Tensor(name, tuple(layer.compute_output_shape(shapes))), out_mask

    def all_of(self, masks: list[str]) -> str | None:
        """The And of bool masks (None for none)."""
        if not masks:
            return None
        combined = masks[0]
        for other in masks[1:]:
            combined = self.op("And", [combined, other], hint="mask")
        return combined

    def body(self) -> OnnxGraph:
        """A child graph for a loop body: its own nodes, the main graph's constants and names."""
        return OnnxGraph(self.opset, self.float_dtype, self.converters, parent=self)

    def value_info(self, name: str, dtype, shape) -> Any:
        """A typed graph input/output; None sizes become symbolic ("batch" for axis 0), and
        a string is a symbolic size by that name."""
        dims = [("batch" if i == 0 else f"{name}_dim{i}") if d is None
                else d if isinstance(d, str) else int(d) for i, d in enumerate(shape)]
        return self.onnx.helper.make_tensor_value_info(name, self.tensor_type(dtype), dims)

    def graph_proto(self, name: str, inputs: list, outputs: list):
        """This graph's nodes as a GraphProto (the root also holds every initializer)."""
        initializers = self.initializers if self.root is self else []
        return self.onnx.helper.make_graph(self.nodes, name, inputs, outputs, initializers)


def unsupported(layer, converters: dict) -> str:
    """The error for a layer no converter handles, naming its class and those supported."""
    names = sorted({cls.__name__ for cls in converters})
    return (f"ONNX export: layer {layer.name!r} of class {type(layer).__name__} has no ONNX "
            f"converter; supported layers: {', '.join(names)}")
