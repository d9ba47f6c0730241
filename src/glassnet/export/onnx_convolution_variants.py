"""ONNX converters for the convolutions beyond Conv1D/Conv2D: Conv1DTranspose/Conv2D-
Transpose, DepthwiseConv2D and SeparableConv2D. Channels-first inside, as in
onnx_convolution.py (Transpose in, operator, Transpose out).

    ConvTranspose   kernel (*k, F, C) -> (C, F, *k); glassnet's crops become pads, and
                    the zero rows it appends (a negative crop) become output_padding
    Depthwise       Conv with group = C; kernel (*k, C, M) -> (C·M, 1, *k), so output
                    channel c·M + m is channel c through kernel m, as glassnet orders them
    Separable       the depthwise Conv (no bias), then a 1x1 Conv with the pointwise kernel
"""

from __future__ import annotations

from glassnet import layers
from glassnet.export.onnx_activations import apply
from glassnet.export.onnx_convolution import _channels_first, _channels_last, _padding


def conv_transpose(graph, layer, x, mask):
    rank = layer.rank
    kernel = layer.W.value.transpose(rank + 1, rank, *range(rank))   # (*k, F, C) -> (C, F, *k)
    inputs = [graph.transpose(x.name, _channels_first(rank)), graph.constant(kernel, "kernel")]
    if layer.b is not None:
        inputs.append(graph.constant(layer.b.value, "bias"))
    crops = layer.crops()
    z = graph.op("ConvTranspose", inputs, kernel_shape=list(layer.kernel_size),
                 strides=list(layer.strides), dilations=list(layer.dilation_rate),
                 pads=[before for before, _ in crops] + [max(0, after) for _, after in crops],
                 output_padding=[max(0, -after) for _, after in crops])
    return apply(graph, layer.activation, graph.transpose(z, _channels_last(rank)))


def _depthwise(graph, layer, x, kernel, bias):
    """Grouped Conv, one group per input channel; channels-first in and out."""
    rank = layer.rank
    channels, multiplier = kernel.shape[-2:]
    weight = kernel.transpose(rank, rank + 1, *range(rank)).reshape(
        channels * multiplier, 1, *layer.kernel_size)                 # (C·M, 1, *k)
    inputs = [graph.transpose(x.name, _channels_first(rank)), graph.constant(weight, "kernel")]
    if bias is not None:
        inputs.append(graph.constant(bias, "bias"))
    return graph.op("Conv", inputs, group=int(channels), kernel_shape=list(layer.kernel_size),
                    strides=list(layer.strides), dilations=list(layer.dilation_rate),
                    **_padding(layer.padding, x.shape[1:-1], layer.kernel_size, layer.strides,
                               layer.dilation_rate))


def depthwise_conv(graph, layer, x, mask):
    z = _depthwise(graph, layer, x, layer.W.value, None if layer.b is None else layer.b.value)
    return apply(graph, layer.activation, graph.transpose(z, _channels_last(layer.rank)))


def separable_conv(graph, layer, x, mask):
    rank = layer.rank
    d = _depthwise(graph, layer, x, layer.depthwise_kernel.value, None)
    pointwise = layer.pointwise_kernel.value                          # (1, 1, C·M, F)
    inputs = [d, graph.constant(pointwise.transpose(rank + 1, rank, *range(rank)),
                                "pointwise_kernel")]                  # (F, C·M, 1, 1)
    if layer.b is not None:
        inputs.append(graph.constant(layer.b.value, "bias"))
    z = graph.op("Conv", inputs, kernel_shape=[1] * rank)
    return apply(graph, layer.activation, graph.transpose(z, _channels_last(rank)))


CONVERTERS = {
    layers.Conv1DTranspose: conv_transpose,
    layers.Conv2DTranspose: conv_transpose,
    layers.DepthwiseConv2D: depthwise_conv,
    layers.SeparableConv2D: separable_conv,
}
