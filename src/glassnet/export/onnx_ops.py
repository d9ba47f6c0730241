"""The ONNX converter of `OpLayer`, an op of glassnet.ops on symbolic tensors.

Each supported op is one or two ONNX operators with the same meaning:

    add, subtract, multiply, divide, power, maximum, minimum    Add, Sub, Mul, Div, Pow, Max, Min
    negative, abs, exp, log, sqrt, tanh, sigmoid, relu, ...      Neg, Abs, Exp, Log, Sqrt, ...
    softmax, log_softmax                                         Softmax, LogSoftmax (axis)
    matmul, concatenate, reshape, transpose                      MatMul, Concat, Reshape, Transpose
    expand_dims, squeeze                                         Unsqueeze, Squeeze
    sum, mean, max, min                                          ReduceSum, ReduceMean, ...
    get_item with slices (x[:, 1:3], x[..., :2])                 Slice

Python numbers and constant arrays become initializers in the model's float type. An op
without a rule here is refused by name, as an unknown layer is.
"""

from __future__ import annotations

import numpy as np

from glassnet import layers
from glassnet.layers.op_layer import decode

_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div",
           "power": "Pow", "maximum": "Max", "minimum": "Min", "matmul": "MatMul"}
_UNARY = {"negative": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu", "softplus": "Softplus",
          "erf": "Erf", "sin": "Sin", "cos": "Cos", "reciprocal": "Reciprocal",
          "softsign": "Softsign"}
_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin"}


class _Named(str):
    """The ONNX name of one of the node's input tensors (not a constant)."""


def op_layer(graph, layer, x, mask):
    tensors = x if isinstance(x, list) else [x]
    names = [_Named(t.name) for t in tensors]
    ranks = {name: len(t.shape) for name, t in zip(names, tensors)}
    args = decode(layer.arguments, names)
    kwargs = {key: decode(value, names) for key, value in layer.keywords.items()}

    def value(item):
        if isinstance(item, _Named):
            return item
        if isinstance(item, (list, tuple)) or np.ndim(item):
            return graph.constant(np.asarray(item), "constant")
        return graph.scalar(float(item), "constant")

    op = layer.op
    if op in _BINARY:
        return graph.op(_BINARY[op], [value(args[0]), value(args[1])])
    if op in _UNARY:
        return graph.op(_UNARY[op], [value(args[0])])
    if op == "square":
        return graph.op("Mul", [args[0], args[0]])
    if op in ("softmax", "log_softmax"):
        axis = int(kwargs.get("axis", args[1] if len(args) > 1 else -1))
        return graph.op("Softmax" if op == "softmax" else "LogSoftmax", [args[0]], axis=axis)
    if op == "concatenate":
        axis = int(kwargs.get("axis", args[1] if len(args) > 1 else 0))
        return graph.op("Concat", [value(item) for item in args[0]], axis=axis)
    if op == "reshape":
        shape = list(kwargs.get("newshape", args[1] if len(args) > 1 else None))
        return graph.op("Reshape", [args[0], graph.ints(shape, "shape")])
    if op == "transpose":
        perm = kwargs.get("axes", args[1] if len(args) > 1 else None)
        perm = list(range(ranks[args[0]]))[::-1] if perm is None else perm
        return graph.transpose(args[0], perm)
    if op in ("expand_dims", "squeeze"):
        axis = kwargs.get("axis", args[1] if len(args) > 1 else None)
        if axis is None:
            raise NotImplementedError("ONNX export: ops.squeeze without an axis")
        axes = [axis] if isinstance(axis, int) else list(axis)
        return graph.op("Unsqueeze" if op == "expand_dims" else "Squeeze",
                        [args[0], graph.ints(axes, "axes")])
    if op in _REDUCE:
        axis = kwargs.get("axis", args[1] if len(args) > 1 else None)
        keepdims = bool(kwargs.get("keepdims", args[2] if len(args) > 2 else False))
        axes = range(ranks[args[0]]) if axis is None else \
            [axis] if isinstance(axis, int) else list(axis)
        return graph.reduce(_REDUCE[op], args[0], axes, keepdims)
    if op == "get_item":
        return _slice(graph, args[0], args[1] if len(args) > 1 else kwargs["key"],
                      ranks[args[0]])
    raise NotImplementedError(
        f"ONNX export: layer {layer.name!r} applies ops.{op}, which has no ONNX rule; "
        f"supported ops: {', '.join(sorted([*_BINARY, *_UNARY, *_REDUCE, *_OTHERS]))}")


_OTHERS = ("square", "softmax", "log_softmax", "concatenate", "reshape", "transpose",
           "expand_dims", "squeeze", "get_item")


def _slice(graph, x, key, rank: int):
    """x[key] for a key of slices (and one Ellipsis): ONNX Slice."""
    items = list(key) if isinstance(key, tuple) else [key]
    if not all(isinstance(i, slice) or i is Ellipsis for i in items):
        raise NotImplementedError("ONNX export: only slices (and ...) in x[...] are supported")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + [slice(None)] * (rank - len(items) + 1) + items[at + 1:]
    big = np.iinfo(np.int64).max
    starts, ends, axes, steps = [], [], [], []
    for axis, item in enumerate(items):
        if item == slice(None):
            continue
        step = 1 if item.step is None else item.step
        starts.append(item.start if item.start is not None else (0 if step > 0 else -1))
        ends.append(item.stop if item.stop is not None else (big if step > 0 else -big))
        axes.append(axis)
        steps.append(step)
    if not axes:
        return graph.op("Identity", [x])
    return graph.op("Slice", [x, graph.ints(starts, "starts"), graph.ints(ends, "ends"),
                              graph.ints(axes, "axes"), graph.ints(steps, "steps")])


CONVERTERS = {layers.OpLayer: op_layer}
