"""ONNX converters for the layers that move entries without weights: Cropping1D/2D,
ZeroPadding1D, UpSampling1D, RepeatVector and Permute.

    Cropping1D/2D   y = x[:, top : H - bottom, left : W - right]      Slice
    ZeroPadding1D   zeros before and after the steps                  Pad
    UpSampling1D    (N, T, C) -> (N, T, size, C) -> (N, T·size, C)   Unsqueeze, Expand, Reshape
    RepeatVector    (N, F) -> (N, 1, F) -> (N, n, F)                  Unsqueeze, Expand
    Permute         y = x.transpose(0, *dims)                         Transpose
"""

from __future__ import annotations

from glassnet import layers

# Slice's "to the end": any number at least the axis' size
_END = 2**62


def cropping(graph, layer, x, mask):
    """Cropping1D ((before, after)) and Cropping2D (((top, bottom), (left, right)))."""
    pairs = (layer.cropping,) if isinstance(layer, layers.Cropping1D) else layer.cropping
    starts = [before for before, _ in pairs]
    ends = [-after if after else _END for _, after in pairs]
    axes = list(range(1, len(pairs) + 1))
    return graph.op("Slice", [x.name, graph.ints(starts, "starts"), graph.ints(ends, "ends"),
                              graph.ints(axes, "axes")])


def zero_padding_1d(graph, layer, x, mask):
    before, after = layer.padding
    return graph.op("Pad", [x.name, graph.ints([0, before, 0, 0, after, 0], "pads")],
                    mode="constant")


def up_sampling_1d(graph, layer, x, mask):
    """y[n, t, c] = x[n, t // size, c]: each step broadcast over `size` copies."""
    steps = graph.op("Unsqueeze", [x.name, graph.ints([2], "axis")])            # (N, T, 1, C)
    copies = graph.op("Expand", [steps, graph.ints([1, 1, layer.size, 1], "copies")])
    shape = graph.op("Concat", [graph.dims(x.name, 0, 1), graph.ints([-1], "minus_one"),
                                graph.dims(x.name, 2)], axis=0)                 # [N, -1, C]
    return graph.op("Reshape", [copies, shape])


def repeat_vector(graph, layer, x, mask):
    row = graph.op("Unsqueeze", [x.name, graph.ints([1], "axis")])              # (N, 1, F)
    return graph.op("Expand", [row, graph.ints([1, layer.n, 1], "copies")])     # (N, n, F)


def permute(graph, layer, x, mask):
    return graph.transpose(x.name, [0, *layer.dims])


CONVERTERS = {
    layers.Cropping1D: cropping,
    layers.Cropping2D: cropping,
    layers.ZeroPadding1D: zero_padding_1d,
    layers.UpSampling1D: up_sampling_1d,
    layers.RepeatVector: repeat_vector,
    layers.Permute: permute,
}
