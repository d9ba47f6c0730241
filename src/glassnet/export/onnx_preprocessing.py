"""ONNX converters for Masking, Rescaling and CategoryEncoding (data preparation inside the
model), and for Identity and the noise layers (the identity in inference).

    Masking           keep = any(x != mask_value, last axis);  y = x · keep
                      the (N, T) mask goes on to the next layer that takes one
    Rescaling         y = x · scale + offset
    CategoryEncoding  one_hot = (ids[..., None] == 0 .. T - 1); multi_hot / count: its max
                      or sum over the ids of a sample
    Identity, GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D/2D: y = x, and
                      a padding mask passes through

The converters of layers that pass a mask on return (y, mask) (see onnx_core.py).
"""

from __future__ import annotations

import numpy as np

from glassnet import layers


def passes_mask(graph, layer, x, mask):
    """y = x; the incoming mask, if any, goes on."""
    return x.name, mask


def masking(graph, layer, x, mask):
    """y = x where some feature differs from mask_value, 0 at masked steps; (y, mask)."""
    last = len(x.shape) - 1
    differs = graph.op("Not", [graph.op("Equal", [x.name, graph.scalar(layer.mask_value,
                                                                       "mask_value")])])
    differs = graph.cast_float(differs)
    keep = graph.reduce("ReduceMax", differs, [last], keepdims=True)         # (N, T, 1)
    y = graph.op("Mul", [x.name, keep])
    steps = graph.reduce("ReduceMax", differs, [last], keepdims=False)       # (N, T)
    return y, graph.op("Cast", [steps], hint="mask", to=graph.tensor_type(np.bool_))


def rescaling(graph, layer, x, mask):
    scaled = graph.op("Mul", [x.name, graph.constant(np.asarray(layer.scale), "scale")])
    return graph.op("Add", [scaled, graph.constant(np.asarray(layer.offset), "offset")]), mask


def category_encoding(graph, layer, x, mask):
    """(N, K) ids -> (N, T) one-hot, multi-hot or counts (rank-1 ids: see the layer)."""
    ids = graph.op("Cast", [x.name], hint="ids", to=graph.tensor_type(np.int64))
    rank = len(x.shape)
    if layer.output_mode == "one_hot" and rank > 1 and x.shape[-1] == 1:
        ids = graph.op("Squeeze", [ids, graph.ints([rank - 1], "axis")])
        rank -= 1
    tokens = graph.constant(np.arange(layer.num_tokens, dtype=np.int64), "tokens",
                            dtype=np.int64)
    one_hot = graph.cast_float(graph.op("Equal", [graph.op(
        "Unsqueeze", [ids, graph.ints([rank], "axis")]), tokens]))           # (..., T)
    if layer.output_mode == "one_hot":
        return one_hot
    reduce = "ReduceMax" if layer.output_mode == "multi_hot" else "ReduceSum"
    return graph.reduce(reduce, one_hot, [rank - 1], keepdims=False)


CONVERTERS = {
    layers.Masking: masking,
    layers.Identity: passes_mask,
    layers.GaussianNoise: passes_mask,
    layers.GaussianDropout: passes_mask,
    layers.AlphaDropout: passes_mask,
    layers.SpatialDropout1D: passes_mask,
    layers.SpatialDropout2D: passes_mask,
    layers.Rescaling: rescaling,
    layers.CategoryEncoding: category_encoding,
}
