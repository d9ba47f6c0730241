"""ONNX converters for BatchNormalization (inference: the moving statistics) and
LayerNormalization, written step by step as glassnet computes them:

    BatchNormalization   x̂ = (x - moving_mean) · inv_std,  inv_std = 1 / sqrt(moving_var + ε)
    LayerNormalization   μ = mean_A(x),  c = x - μ,  x̂ = c · 1 / sqrt(mean_A(c²) + ε)
    both                 y = γ · x̂ + β

(BatchNormalization's inv_std is a constant, computed here in the model's dtype exactly as
glassnet computes it.) γ and β broadcast against x: shaped (1, ..., C, ..., 1). A
BatchNormalization right after a Conv/Dense without activation does not come here while
fusion is on: onnx.py writes it folded into that layer (`glassnet.models.fusion.folded`).
"""

from __future__ import annotations

import numpy as np

from glassnet import layers


def _broadcast_shape(rank: int, axes, sizes) -> tuple:
    shape = [1] * rank
    for axis, size in zip(axes, sizes):
        shape[axis] = size
    return tuple(shape)


def _affine(graph, layer, x_hat: str, shape: tuple) -> str:
    """γ · x̂ + β, either of them absent when the layer has no scale / no center."""
    y = x_hat
    if layer.gamma is not None:
        y = graph.op("Mul", [y, graph.constant(layer.gamma.value.reshape(shape), "gamma")])
    if layer.beta is not None:
        y = graph.op("Add", [y, graph.constant(layer.beta.value.reshape(shape), "beta")])
    return y


def batch_normalization(graph, layer, x, mask):
    rank = len(x.shape)
    axis = layer.axis % rank
    shape = _broadcast_shape(rank, [axis], [layer.moving_mean.shape[0]])
    mean = layer.moving_mean.value.reshape(shape).astype(graph.float_dtype)
    var = layer.moving_variance.value.reshape(shape).astype(graph.float_dtype)
    inv_std = 1.0 / np.sqrt(var + layer.epsilon)          # as glassnet: in the model's dtype
    centered = graph.op("Sub", [x.name, graph.constant(mean, "moving_mean")])
    x_hat = graph.op("Mul", [centered, graph.constant(inv_std, "inv_std")])
    return _affine(graph, layer, x_hat, shape)


def layer_normalization(graph, layer, x, mask):
    rank = len(x.shape)
    given = layer.axis if isinstance(layer.axis, list) else [layer.axis]
    axes = sorted(axis % rank for axis in given)
    shape = _broadcast_shape(rank, axes, [x.shape[axis] for axis in axes])
    mean = graph.reduce("ReduceMean", x.name, axes)
    centered = graph.op("Sub", [x.name, mean])
    var = graph.reduce("ReduceMean", graph.op("Mul", [centered, centered]), axes)
    std = graph.op("Sqrt", [graph.op("Add", [var, graph.scalar(layer.epsilon, "epsilon")])])
    inv_std = graph.op("Reciprocal", [std])
    return _affine(graph, layer, graph.op("Mul", [centered, inv_std]), shape)


CONVERTERS = {
    layers.BatchNormalization: batch_normalization,
    layers.LayerNormalization: layer_normalization,
}
