"""Ops on the functional API's symbolic tensors: `x + residual`, `ops.concatenate([a, b])`,
`0.5 * h`, `h[:, 0]` each become one node of the graph, as in Keras 3.

    inputs = Input(shape=(16,))
    h = Dense(16, activation="relu")(inputs)
    y = Dense(1)(ops.tanh(h + inputs))          # two OpLayer nodes: add, tanh
    model = Model(inputs, y)

An `OpLayer` is a call()-style layer whose call is the op itself, applied to the node's
input tensors with the other arguments as recorded; its backward is the tape's, so the
op's VJP serves here too. Its config names the op and its arguments (numbers, strings,
slices, small constant arrays), so such a model saves and loads like any other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import autodiff
from glassnet.layers.base import Layer
from glassnet.layers.core import SymbolicTensor
from glassnet.naming import unique_name
from glassnet.registry import register


@register("layer")
class OpLayer(Layer):
    """One op of glassnet.ops on symbolic tensors, as a node of a functional model.

    Args:
        op: the op's name in `autodiff.REGISTRY` ("add", "concatenate", "get_item", ...).
        arguments: its positional arguments, encoded (`encode`): {"__tensor__": k} stands
            for the node's k-th input tensor.
        keywords: its keyword arguments, encoded the same way.
    """

    @classmethod
    def contract_sample(cls, rng):
        """softmax over the last axis of x (3, 4): a node with a keyword argument."""
        return ({"op": "softmax", "arguments": [{"__tensor__": 0}], "keywords": {"axis": -1}},
                rng.standard_normal((3, 4)))

    def __init__(self, op: str, arguments: list, keywords: dict | None = None,
                 name: str | None = None, **kwargs):
        if op not in autodiff.REGISTRY:
            raise ValueError(f"OpLayer: unknown op {op!r}")
        super().__init__(name=name or unique_name(op), **kwargs)
        self.op = op
        self.arguments = list(arguments)
        self.keywords = dict(keywords or {})
        self.tensor_count = _count_tensors([self.arguments, self.keywords])

    def call(self, inputs):
        tensors = list(inputs) if self.tensor_count > 1 else [inputs]
        args = decode(self.arguments, tensors)
        kwargs = {key: decode(value, tensors) for key, value in self.keywords.items()}
        return autodiff.REGISTRY[self.op](*args, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "op": self.op, "arguments": self.arguments,
                "keywords": self.keywords}


def symbolic_op(op, args: tuple, kwargs: dict) -> SymbolicTensor:
    """`op(*args, **kwargs)` with symbolic tensors among the arguments: a new graph node."""
    tensors: list[SymbolicTensor] = []
    arguments = [encode(a, tensors, op.name) for a in args]
    keywords = {key: encode(value, tensors, op.name) for key, value in kwargs.items()}
    layer = OpLayer(op.name, arguments, keywords)
    return SymbolicTensor.call(layer, tensors if len(tensors) > 1 else tensors[0])


autodiff.install_symbolic_handler(symbolic_op)


# ----- arguments as JSON ----------------------------------------------------------------------
def encode(value, tensors: list, op: str = "op"):
    """`value` as JSON; symbolic tensors become {"__tensor__": k} and are appended to
    `tensors`."""
    if isinstance(value, SymbolicTensor):
        tensors.append(value)
        return {"__tensor__": len(tensors) - 1}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, list):
        return [encode(v, tensors, op) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, tensors, op) for v in value]}
    if isinstance(value, slice):
        return {"__slice__": [encode(v, tensors, op) for v in (value.start, value.stop,
                                                               value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.name}
    if isinstance(value, (np.dtype, type)):
        return np.dtype(value).name
    raise TypeError(f"ops.{op} on symbolic tensors: cannot record the argument "
                    f"{type(value).__name__} in a functional model (use numbers, strings, "
                    f"slices, lists or arrays)")


def decode(value, tensors: list):
    """The inverse of `encode`, with the node's input arrays in place of the tensors."""
    if isinstance(value, list):
        return [decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return tensors[value["__tensor__"]]
    if "__tuple__" in value:
        return tuple(decode(v, tensors) for v in value["__tuple__"])
    if "__slice__" in value:
        return slice(*(decode(v, tensors) for v in value["__slice__"]))
    if "__ellipsis__" in value:
        return Ellipsis
    if "__array__" in value:
        return np.asarray(value["__array__"], dtype=value["dtype"])
    raise ValueError(f"OpLayer: cannot read the argument {value!r}")


def _count_tensors(value) -> int:
    if isinstance(value, dict):
        if "__tensor__" in value:
            return 1
        return sum(_count_tensors(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_tensors(v) for v in value)
    return 0
