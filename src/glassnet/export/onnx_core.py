"""ONNX converters for the layers without windows or time: Dense, Flatten, Reshape, Dropout,
the activation layers, Embedding, Normalization, the merge layers (Dot as one Einsum) and
TimeDistributed.

Each converter is `convert(graph, layer, x, mask) -> y` in inference mode: x is a Tensor
(name, shape) or, for a merge layer, a list of them; y is the output's name, or
(name, mask name) for a layer that makes a padding mask for the next one (Embedding).

    Dense           y = f(x @ W + b)                        MatMul, Add, activation
    Dropout         y = x                                   (nothing: inference)
    Embedding       y = E[ids]                              Cast to int64, Gather
    Normalization   y = (x - mean) / std                    std = 1 where the variance is 0
    TimeDistributed y[:, t] = layer(x[:, t])                time folded into the batch
"""

from __future__ import annotations

import numpy as np

from glassnet import layers
from glassnet.export.onnx_activations import apply
from glassnet.export.onnx_graph import Tensor


def identity(graph, layer, x, mask):
    """InputLayer and Dropout (inference: y = x)."""
    return x.name


def dense(graph, layer, x, mask):
    z = graph.op("MatMul", [x.name, graph.constant(layer.W.value, "kernel")])
    if layer.b is not None:
        z = graph.op("Add", [z, graph.constant(layer.b.value, "bias")])
    return apply(graph, layer.activation, z)


def activation_layer(graph, layer, x, mask):
    """Activation, ReLU, LeakyReLU, ELU and Softmax: the function each layer holds."""
    return apply(graph, layer.activation, x.name)


def flatten(graph, layer, x, mask):
    return graph.op("Flatten", [x.name], axis=1)                   # (N, d1·d2·...)


def reshape(graph, layer, x, mask):
    # 0 copies the batch size from the input; one -1 may stand for the rest
    return graph.op("Reshape", [x.name, graph.ints([0, *layer.target_shape], "target_shape")])


def embedding(graph, layer, x, mask):
    ids = graph.op("Cast", [x.name], hint="ids", to=graph.tensor_type(np.int64))
    y = graph.op("Gather", [graph.constant(layer.embeddings.value, "embeddings"), ids], axis=0)
    if not layer.mask_zero:
        return y
    zero = graph.constant(np.zeros((), dtype=np.int64), "zero", dtype=np.int64)
    return y, graph.op("Not", [graph.op("Equal", [ids, zero])], hint="mask")   # ids != 0


def normalization(graph, layer, x, mask):
    """(x - mean) / std, or x · std + mean with `invert`; std is 1 where the variance is 0."""
    std = np.sqrt(layer.variance.value)
    std = np.where(std > 0, std, 1).astype(graph.float_dtype)
    mean, scale = graph.constant(layer.mean.value, "mean"), graph.constant(std, "std")
    if layer.invert:
        return graph.op("Add", [graph.op("Mul", [x.name, scale]), mean])
    return graph.op("Div", [graph.op("Sub", [x.name, mean]), scale])


# ----- merge layers: a list of inputs ---------------------------------------------------------
def _chain(graph, op_type, names):
    """op(op(x1, x2), x3) ...: the left-to-right order glassnet adds or multiplies in."""
    y = names[0]
    for name in names[1:]:
        y = graph.op(op_type, [y, name])
    return y


def add(graph, layer, x, mask):
    return _chain(graph, "Add", [t.name for t in x])


def subtract(graph, layer, x, mask):
    return graph.op("Sub", [x[0].name, x[1].name])


def multiply(graph, layer, x, mask):
    return _chain(graph, "Mul", [t.name for t in x])


def average(graph, layer, x, mask):
    total = _chain(graph, "Add", [t.name for t in x])
    return graph.op("Div", [total, graph.scalar(len(x), "count")])


def maximum(graph, layer, x, mask):
    return graph.op("Max", [t.name for t in x])


def minimum(graph, layer, x, mask):
    return graph.op("Min", [t.name for t in x])


def concatenate(graph, layer, x, mask):
    rank = len(x[0].shape)
    return graph.op("Concat", [t.name for t in x], axis=layer.axis % rank)


def dot(graph, layer, x, mask):
    """Per-sample dot product along one axis of each input, as one Einsum; with normalize,
    each input is first scaled by min(1/‖x‖, 1e7) along its axis (as the layer)."""
    ranks = [len(t.shape) for t in x]
    a1, a2 = layer.contracted_axes(*ranks)
    names = [t.name for t in x]
    if layer.normalize:
        for i, axis in enumerate((a1, a2)):
            square = graph.reduce("ReduceSum", graph.op("Mul", [names[i], names[i]]), [axis])
            scale = graph.op("Min", [graph.op("Reciprocal", [graph.op("Sqrt", [square])]),
                                     graph.scalar(1e7, "max_inverse_norm")])
            names[i] = graph.op("Mul", [names[i], scale], hint="unit")
    letters = iter("bcdefghijklmnopqrstuvwxy")
    first = ["a"] + [next(letters) for _ in range(ranks[0] - 1)]
    second = ["a"] + [next(letters) for _ in range(ranks[1] - 1)]
    first[a1] = second[a2] = "z"                       # the contracted axis
    out = [c for c in first if c != "z"] + [c for c in second[1:] if c != "z"]
    y = graph.op("Einsum", names, equation=f"{''.join(first)},{''.join(second)}->"
                                           f"{''.join(out)}")
    if len(out) == 1:                                  # (N,) -> (N, 1), as Keras
        y = graph.op("Reshape", [y, graph.ints([-1, 1], "column")])
    return y


# ----- TimeDistributed: the inner layer on (N·T, ...) --------------------------------------
def time_distributed(graph, layer, x, mask):
    """(N, T, *in) -> (N·T, *in) -> inner layer -> (N·T, *out) -> (N, T, *out)."""
    folded_shape = graph.op("Concat", [graph.ints([-1], "minus_one"), graph.dims(x.name, 2)],
                            axis=0)
    folded = graph.op("Reshape", [x.name, folded_shape], hint="folded")
    inner, _ = graph.convert(layer.layer, Tensor(folded, (None,) + tuple(x.shape[2:])))
    unfolded_shape = graph.op("Concat", [graph.dims(x.name, 0, 2), graph.dims(inner.name, 1)],
                              axis=0)
    return graph.op("Reshape", [inner.name, unfolded_shape], hint="unfolded")


CONVERTERS = {
    layers.InputLayer: identity,
    layers.Dropout: identity,
    layers.Dense: dense,
    layers.Activation: activation_layer,
    layers.ReLU: activation_layer,
    layers.LeakyReLU: activation_layer,
    layers.ELU: activation_layer,
    layers.Softmax: activation_layer,
    layers.Flatten: flatten,
    layers.Reshape: reshape,
    layers.Embedding: embedding,
    layers.Normalization: normalization,
    layers.Add: add,
    layers.Subtract: subtract,
    layers.Multiply: multiply,
    layers.Average: average,
    layers.Maximum: maximum,
    layers.Minimum: minimum,
    layers.Concatenate: concatenate,
    layers.Dot: dot,
    layers.TimeDistributed: time_distributed,
}
