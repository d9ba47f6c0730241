"""ONNX converters for the windowed layers: Conv1D/2D/3D, max and average pooling (1-D to
3-D), global pooling, ZeroPadding2D and UpSampling2D.

glassnet keeps images channels-last (N, H, W, C); ONNX's Conv and pooling operators read
channels-first (N, C, H, W). So a windowed layer is written as

    Transpose to (N, C, *spatial) -> Conv / MaxPool / AveragePool -> Transpose back

and ONNX Runtime's optimizer cancels the transposes between consecutive such layers. The
kernel is stored the ONNX way, (F, C, *k) from glassnet's (*k, C, F).

Padding, as glassnet (and TensorFlow) pad:
    "valid"   none
    "same"    out = ceil(in / stride), the odd pixel of padding after (bottom/right)
    "causal"  (k - 1)·d zeros before the steps, none after (Conv1D)
Average pooling leaves padded cells out of the mean (count_include_pad=0), as glassnet does;
max pooling never picks a padded cell.
"""

from __future__ import annotations

from glassnet import layers
from glassnet.export.onnx_activations import apply


def _channels_first(rank: int) -> list[int]:
    """The permutation (N, *spatial, C) -> (N, C, *spatial)."""
    return [0, rank + 1, *range(1, rank + 1)]


def _channels_last(rank: int) -> list[int]:
    """The permutation (N, C, *spatial) -> (N, *spatial, C)."""
    return [0, *range(2, rank + 2), 1]


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's split: out = ceil(size / stride), the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _padding(padding: str, spatial, kernel, strides, dilation) -> dict:
    """The Conv / pooling attributes for glassnet's padding mode.

    "same" is written as explicit pads where they are known: at stride 1 they do not depend
    on the size ((k - 1)·d in all), else when the size is. Otherwise (a stride over an open
    axis) auto_pad SAME_UPPER says the same; ONNX Runtime refuses it only with a dilation,
    which glassnet does not allow together with a stride.
    """
    rank = len(kernel)
    if padding == "valid":
        return {"pads": [0] * (2 * rank)}
    if padding == "causal":
        return {"pads": [(k - 1) * d for k, d in zip(kernel, dilation)] + [0] * rank}
    sizes = [1 if s == 1 else n for n, s in zip(spatial, strides)]   # at stride 1: any size
    if any(n is None for n in sizes):
        return {"auto_pad": "SAME_UPPER"}
    pairs = [_same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilation)]
    return {"pads": [before for before, _ in pairs] + [after for _, after in pairs]}


def conv(graph, layer, x, mask):
    """z = conv(x, W) + b on channels-first data, then the activation."""
    rank = layer.rank
    kernel = layer.W.value.transpose(rank + 1, rank, *range(rank))   # (*k, C, F) -> (F, C, *k)
    inputs = [graph.transpose(x.name, _channels_first(rank)), graph.constant(kernel, "kernel")]
    if layer.b is not None:
        inputs.append(graph.constant(layer.b.value, "bias"))
    z = graph.op("Conv", inputs, kernel_shape=list(layer.kernel_size),
                 strides=list(layer.strides), dilations=list(layer.dilation_rate),
                 **_padding(layer.padding, x.shape[1:-1], layer.kernel_size, layer.strides,
                              layer.dilation_rate))
    return apply(graph, layer.activation, graph.transpose(z, _channels_last(rank)))


def pooling(graph, layer, x, mask):
    """MaxPool / AveragePool over pool_size windows."""
    rank = layer.rank
    op_type = "MaxPool" if isinstance(layer, (layers.MaxPooling1D, layers.MaxPooling2D,
                                              layers.MaxPooling3D)) else "AveragePool"
    attributes = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides),
                  **_padding(layer.padding, x.shape[1:-1], layer.pool_size, layer.strides,
                            (1,) * rank)}
    if op_type == "AveragePool":
        attributes["count_include_pad"] = 0
    y = graph.op(op_type, [graph.transpose(x.name, _channels_first(rank))], **attributes)
    return graph.transpose(y, _channels_last(rank))


def global_pooling(graph, layer, x, mask):
    """Max or mean over every spatial axis (1 .. rank), on the channels-last data itself.
    GlobalAveragePooling1D with a padding mask: the mean over the unmasked steps only,
    Σ_t m x / max(Σ_t m, 1), as the layer computes it; the mask stops here."""
    if mask is not None and isinstance(layer, layers.GlobalAveragePooling1D):
        m = graph.op("Unsqueeze", [graph.cast_float(mask), graph.ints([2], "axes")])  # (N, T, 1)
        total = graph.reduce("ReduceSum", graph.op("Mul", [x.name, m]), [1],
                             keepdims=layer.keepdims)
        count = graph.op("Max", [graph.reduce("ReduceSum", m, [1], keepdims=layer.keepdims),
                                 graph.scalar(1.0)])
        return graph.op("Div", [total, count]), None
    op_type = "ReduceMax" if isinstance(layer, (layers.GlobalMaxPooling1D,
                                                layers.GlobalMaxPooling2D,
                                                layers.GlobalMaxPooling3D)) else "ReduceMean"
    return graph.reduce(op_type, x.name, range(1, layer.rank + 1), keepdims=layer.keepdims)


def zero_padding(graph, layer, x, mask):
    (top, bottom), (left, right) = layer.padding
    pads = graph.ints([0, top, left, 0, 0, bottom, right, 0], "pads")
    return graph.op("Pad", [x.name, pads], mode="constant")


def up_sampling(graph, layer, x, mask):
    """Nearest neighbour: y[n, i, j, c] = x[n, i // s_h, j // s_w, c]."""
    scales = graph.constant([1.0, *layer.size, 1.0], "scales", dtype="float32")
    return graph.op("Resize", [x.name, "", scales], mode="nearest",
                    coordinate_transformation_mode="asymmetric", nearest_mode="floor")


CONVERTERS = {
    layers.Conv1D: conv,
    layers.Conv2D: conv,
    layers.Conv3D: conv,
    layers.MaxPooling1D: pooling,
    layers.MaxPooling2D: pooling,
    layers.AveragePooling1D: pooling,
    layers.AveragePooling2D: pooling,
    layers.MaxPooling3D: pooling,
    layers.AveragePooling3D: pooling,
    layers.GlobalMaxPooling1D: global_pooling,
    layers.GlobalMaxPooling2D: global_pooling,
    layers.GlobalAveragePooling1D: global_pooling,
    layers.GlobalAveragePooling2D: global_pooling,
    layers.GlobalMaxPooling3D: global_pooling,
    layers.GlobalAveragePooling3D: global_pooling,
    layers.ZeroPadding2D: zero_padding,
    layers.UpSampling2D: up_sampling,
}
