"""DepthwiseConv2D / SeparableConv2D: PyTorch references (grouped conv2d, then a 1x1 conv)
on copied weights, forward and every gradient in float64; gradient checks; shapes; config."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.gradcheck import check_layer
from glassnet.layers import DepthwiseConv2D, SeparableConv2D
from glassnet.layers.base import inference_only

TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}

# (input shape, kernel_size, strides, padding, depth_multiplier, dilation,
#  ((top, bottom), (left, right)) TensorFlow's padding, output spatial size)
CASES = [
    ((2, 6, 7, 3), 3, 1, "valid", 1, 1, ((0, 0), (0, 0)), (4, 5)),
    ((2, 6, 7, 3), (2, 3), 2, "same", 2, 1, ((0, 0), (1, 1)), (3, 4)),
    ((2, 6, 7, 2), 2, 1, "same", 3, 1, ((0, 1), (0, 1)), (6, 7)),      # even kernel
    ((2, 7, 7, 2), 3, 1, "same", 1, 2, ((2, 2), (2, 2)), (7, 7)),      # dilated
    ((2, 7, 8, 1), 1, (2, 3), "valid", 2, 1, ((0, 0), (0, 0)), (4, 3)),  # 1x1, one channel
]


def _random(layer, shape, rng):
    layer.build((None,) + shape[1:])
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.get_weights()])


def _to_first(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def _to_last(t):
    return t.detach().numpy().transpose(0, 2, 3, 1)


def torch_depthwise(torch, x, kernel, pads, strides, dilation):
    """torch's grouped conv2d, one group per channel; kernel (kh, kw, C, M) -> (C·M, 1, kh, kw)
    (output channel c·M + m, the order Keras uses)."""
    kh, kw, channels, multiplier = kernel.shape
    weight = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
    tw = torch.tensor(np.ascontiguousarray(weight), requires_grad=True)
    (top, bottom), (left, right) = pads
    padded = torch.nn.functional.pad(x, (left, right, top, bottom))
    return torch.nn.functional.conv2d(padded, tw, stride=strides, dilation=dilation,
                                      groups=channels), tw


def _depthwise_kernel_grad(tw, kernel_shape):
    kh, kw, channels, multiplier = kernel_shape
    return tw.grad.numpy().reshape(channels, multiplier, kh, kw).transpose(2, 3, 0, 1)


@pytest.mark.parametrize("case", CASES)
def test_depthwise_matches_torch(case, torch, rng):
    shape, kernel, strides, padding, multiplier, dilation, pads, out = case
    layer = DepthwiseConv2D(kernel, strides=strides, padding=padding,
                            depth_multiplier=multiplier, dilation_rate=dilation, dtype="float64")
    _random(layer, shape, rng)
    x = rng.standard_normal(shape)
    y = layer(x)
    assert y.shape == (shape[0], *out, shape[-1] * multiplier)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)

    tx = torch.tensor(_to_first(x), requires_grad=True)
    kernel_value, bias = layer.get_weights()
    tb = torch.tensor(bias, requires_grad=True)
    z, tw = torch_depthwise(torch, tx, kernel_value, pads, layer.strides, layer.dilation_rate)
    ty = z + tb.reshape(-1, 1, 1)
    ty.backward(torch.tensor(_to_first(dy)))
    np.testing.assert_allclose(y, _to_last(ty), **TOLERANCE)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), **TOLERANCE)
    np.testing.assert_allclose(layer.W.grad, _depthwise_kernel_grad(tw, kernel_value.shape),
                               **TOLERANCE)
    np.testing.assert_allclose(layer.b.grad, tb.grad.numpy(), **TOLERANCE)


@pytest.mark.parametrize("case", CASES)
def test_separable_matches_torch(case, torch, rng):
    shape, kernel, strides, padding, multiplier, dilation, pads, out = case
    layer = SeparableConv2D(4, kernel, strides=strides, padding=padding,
                            depth_multiplier=multiplier, dilation_rate=dilation, dtype="float64")
    _random(layer, shape, rng)
    x = rng.standard_normal(shape)
    y = layer(x)
    assert y.shape == (shape[0], *out, 4)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)

    depthwise, pointwise, bias = layer.get_weights()
    tx = torch.tensor(_to_first(x), requires_grad=True)
    tp = torch.tensor(np.ascontiguousarray(pointwise.transpose(3, 2, 0, 1)), requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    d, tw = torch_depthwise(torch, tx, depthwise, pads, layer.strides, layer.dilation_rate)
    ty = torch.nn.functional.conv2d(d, tp, tb)
    ty.backward(torch.tensor(_to_first(dy)))
    np.testing.assert_allclose(y, _to_last(ty), **TOLERANCE)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), **TOLERANCE)
    np.testing.assert_allclose(layer.depthwise_kernel.grad,
                               _depthwise_kernel_grad(tw, depthwise.shape), **TOLERANCE)
    np.testing.assert_allclose(layer.pointwise_kernel.grad,
                               tp.grad.numpy().transpose(2, 3, 1, 0), **TOLERANCE)
    np.testing.assert_allclose(layer.b.grad, tb.grad.numpy(), **TOLERANCE)


@pytest.mark.parametrize("case", CASES[:4])
@pytest.mark.parametrize("cls", [DepthwiseConv2D, SeparableConv2D])
def test_gradients(cls, case, rng):
    shape, kernel, strides, padding, multiplier, dilation, _, _ = case
    args = (3, kernel) if cls is SeparableConv2D else (kernel,)
    layer = cls(*args, strides=strides, padding=padding, depth_multiplier=multiplier,
                dilation_rate=dilation, activation="tanh", bias_initializer="random_normal")
    report = check_layer(layer, rng.standard_normal(shape))
    assert report.passed, str(report)


def test_weights_shapes_and_names_as_keras():
    depthwise = DepthwiseConv2D(3, depth_multiplier=2)
    depthwise.build((None, 8, 8, 3))
    assert [(p.name.split("/")[-1], p.shape) for p in depthwise.parameters()] == [
        ("kernel", (3, 3, 3, 2)), ("bias", (6,))]
    separable = SeparableConv2D(5, 3, depth_multiplier=2, use_bias=False)
    separable.build((None, 8, 8, 3))
    assert [(p.name.split("/")[-1], p.shape) for p in separable.parameters()] == [
        ("depthwise_kernel", (3, 3, 3, 2)), ("pointwise_kernel", (1, 1, 6, 5))]


@pytest.mark.parametrize("cls", [DepthwiseConv2D, SeparableConv2D])
def test_input_gradient_false_frozen_and_inference_only(cls, rng):
    args = (2, 3) if cls is SeparableConv2D else (3,)
    layer = cls(*args, padding="same", dtype="float64")
    x = rng.standard_normal((2, 5, 5, 2))
    y = layer(x, training=True)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    grads = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    layer(x, training=True)
    assert layer.backward(dy, input_gradient=False) is None
    for param, grad in zip(layer.parameters(), grads):
        np.testing.assert_array_equal(param.grad, grad)
    layer.zero_grad()
    layer.trainable = False
    layer(x, training=True)
    np.testing.assert_array_equal(layer.backward(dy), dx)
    assert all(not p.grad.any() for p in layer.parameters())
    with inference_only():
        layer(x)
    with pytest.raises(RuntimeError, match="inference_only"):
        layer.backward(dy)


@pytest.mark.parametrize("make, message", [
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
    (lambda: DepthwiseConv2D(3, strides=2, dilation_rate=2), "dilation_rate"),
    (lambda: SeparableConv2D(0, 3), "filters"),
    (lambda: SeparableConv2D(2, 3, padding="causal"), "padding"),
])
def test_bad_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_wrong_channels_and_small_inputs_are_refused(rng):
    layer = DepthwiseConv2D(3)
    layer(rng.standard_normal((1, 5, 5, 2)))
    with pytest.raises(ValueError, match="input channels"):
        layer(rng.standard_normal((1, 5, 5, 3)))
    with pytest.raises(ValueError, match="smaller than the window"):
        SeparableConv2D(2, 3).build((None, 2, 5, 2))
