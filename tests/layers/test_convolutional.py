"""Conv1D / Conv2D: gradient checks, PyTorch references on copied weights, shapes, config."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import registry
from glassnet.gradcheck import check_layer
from glassnet.layers import _windows
from glassnet.layers.convolutional import Conv1D, Conv2D

# (input shape, filters, kernel_size, strides, padding, dilation, activation)
CONV2D_CASES = [
    ((2, 7, 6, 3), 4, (3, 3), (1, 1), "valid", (1, 1), None),
    ((2, 8, 7, 2), 3, (4, 2), (1, 1), "same", (1, 1), "tanh"),      # even kernels, same
    ((2, 9, 8, 2), 3, 3, 2, "same", 1, "sigmoid"),                    # stride 2, odd/even sizes
    ((2, 9, 9, 2), 2, (3, 2), (1, 1), "SAME", (2, 3), None),          # dilation, case-insensitive
    ((2, 7, 7, 3), 5, (1, 1), (2, 3), "valid", (1, 1), "elu"),        # 1x1, skips pixels
    ((2, 10, 9, 1), 2, (2, 2), (3, 2), "same", (1, 1), None),         # one channel, stride 3
    ((2, 9, 8, 2), 3, 3, 1, "valid", 2, "tanh"),                      # dilated valid
]

# The same cases' paddings ((top, bottom), (left, right)), worked out by hand from
# TensorFlow's rule: total = max((ceil(n/s) - 1)·s + (k - 1)·d + 1 - n, 0), extra at the end.
CONV2D_PADS = [
    ((0, 0), (0, 0)),
    ((1, 2), (0, 1)),   # H 8, k 4: total 3;  W 7, k 2: total 1
    ((1, 1), (0, 1)),   # H 9, s 2: out 5, total 2;  W 8: out 4, total 1
    ((2, 2), (1, 2)),   # H k 3 d 2: total 4;  W k 2 d 3: total 3
    ((0, 0), (0, 0)),
    ((0, 1), (0, 1)),   # H 10, s 3: out 4, total 1;  W 9, s 2: out 5, total 1
    ((0, 0), (0, 0)),
]

# (input shape, filters, kernel_size, strides, padding, dilation, (pad_front, pad_back))
CONV1D_CASES = [
    ((2, 11, 3), 4, 3, 2, "valid", 1, (0, 0)),
    ((2, 8, 2), 3, 4, 1, "same", 1, (1, 2)),
    ((2, 9, 2), 2, 3, 1, "causal", 2, (4, 0)),
    ((2, 10, 1), 3, 2, 3, "same", 1, (0, 1)),     # out 4: total 3·3 + 2 - 10 = 1
]


def _conv2d(case):
    shape, filters, kernel, strides, padding, dilation, activation = case
    return Conv2D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                  activation=activation), shape


def _random_weights(layer, rng):
    layer.set_weights([rng.standard_normal(w.shape) for w in layer.get_weights()])


@pytest.mark.parametrize("case", CONV2D_CASES)
def test_conv2d_gradients(case, rng):
    layer, shape = _conv2d(case)
    layer.maybe_build((None,) + shape[1:])
    _random_weights(layer, rng)
    report = check_layer(layer, rng.standard_normal(shape))
    assert report.passed, str(report)


@pytest.mark.parametrize("case", CONV1D_CASES)
def test_conv1d_gradients(case, rng):
    shape, filters, kernel, strides, padding, dilation, _ = case
    layer = Conv1D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                   activation="tanh")
    report = check_layer(layer, rng.standard_normal(shape))
    assert report.passed, str(report)


def _torch_reference(torch, conv, x, kernel, bias, dy, pads, strides, dilation):
    """y and dL/d(x, W, b) from torch on NCHW copies; keras kernel (..., C, F) -> (F, C, ...)."""
    rank = x.ndim - 2
    to_channels_first = (0, rank + 1, *range(1, rank + 1))
    tx = torch.tensor(x.transpose(to_channels_first), requires_grad=True)
    tw = torch.tensor(kernel.transpose(rank + 1, rank, *range(rank)), requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    # F.pad lists the last axis first: (left, right, top, bottom); asymmetric pads go here
    flat_pads = [p for pair in reversed(pads) for p in pair]
    padded = torch.nn.functional.pad(tx, flat_pads)
    y = conv(padded, tw, tb, stride=strides, dilation=dilation)
    y.backward(torch.tensor(dy.transpose(to_channels_first)))
    to_channels_last = (0, *range(2, rank + 2), 1)
    dkernel = tw.grad.numpy().transpose(*range(2, rank + 2), 1, 0)
    return (y.detach().numpy().transpose(to_channels_last),
            tx.grad.numpy().transpose(to_channels_last), dkernel, tb.grad.numpy())


def _compare_with_torch(torch, layer, x, dy, pads):
    """Forward and all three gradients of `layer` (float64) against torch, rtol 1e-10."""
    conv = (torch.nn.functional.conv1d if layer.rank == 1 else torch.nn.functional.conv2d)
    kernel, bias = layer.get_weights()
    y = layer.forward(x)
    dx = layer.backward(dy)
    y_ref, dx_ref, dkernel_ref, dbias_ref = _torch_reference(
        torch, conv, x, kernel, bias, dy, pads, layer.strides, layer.dilation_rate)
    tolerance = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(y, y_ref, **tolerance)
    np.testing.assert_allclose(dx, dx_ref, **tolerance)
    np.testing.assert_allclose(layer.W.grad, dkernel_ref, **tolerance)
    np.testing.assert_allclose(layer.b.grad, dbias_ref, **tolerance)


@pytest.mark.parametrize("case, pads", list(zip(CONV2D_CASES, CONV2D_PADS)))
def test_conv2d_matches_torch(case, pads, torch, rng):
    shape, filters, kernel, strides, padding, dilation, _ = case
    layer = Conv2D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                   dtype="float64")
    x = rng.standard_normal(shape)
    layer.maybe_build((None,) + shape[1:])
    _random_weights(layer, rng)
    dy = rng.standard_normal(layer.compute_output_shape(shape))
    _compare_with_torch(torch, layer, x, dy, pads)


@pytest.mark.parametrize("case", CONV1D_CASES)
def test_conv1d_matches_torch(case, torch, rng):
    shape, filters, kernel, strides, padding, dilation, pads = case
    layer = Conv1D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                   dtype="float64")
    x = rng.standard_normal(shape)
    layer.maybe_build((None,) + shape[1:])
    _random_weights(layer, rng)
    dy = rng.standard_normal(layer.compute_output_shape(shape))
    _compare_with_torch(torch, layer, x, dy, (pads,))


def test_activation_applied_after_the_linear_part(rng):
    linear = Conv2D(3, 2, padding="same")
    relu = Conv2D(3, 2, padding="same", activation="relu")
    x = rng.standard_normal((2, 5, 4, 2)).astype("float32")
    linear.maybe_build((None, 5, 4, 2))
    relu.maybe_build((None, 5, 4, 2))
    relu.set_weights(linear.get_weights())
    np.testing.assert_array_equal(relu(x), np.maximum(linear(x), 0))
    # backward = backward_preactivation(activation.backward(dy)), the fused path's entry
    dy = rng.standard_normal((2, 5, 4, 3)).astype("float32")
    np.testing.assert_allclose(relu.backward(dy), linear.backward(dy * (linear(x) > 0)),
                               rtol=1e-6, atol=1e-6)


def test_float32_stays_float32(rng):
    layer = Conv2D(4, 3, strides=2, padding="same", activation="relu")
    x = rng.standard_normal((2, 9, 8, 3)).astype(np.float32)
    y = layer(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert layer.W.value.dtype == layer.W.grad.dtype == layer.b.grad.dtype == np.float32
    conv1d = Conv1D(2, 3)
    y1 = conv1d(x[:, 0])
    assert y1.dtype == conv1d.backward(y1).dtype == np.float32


def test_weights_in_keras_layout_and_order():
    layer = Conv2D(5, (3, 2))
    layer.maybe_build((None, 8, 8, 4))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 4, 5) and bias.shape == (5,)
    no_bias = Conv1D(5, 3, use_bias=False)
    no_bias.maybe_build((None, 10, 2))
    assert [w.shape for w in no_bias.get_weights()] == [(3, 2, 5)]
    assert layer.count_params() == 3 * 2 * 4 * 5 + 5


def test_gradients_accumulate_and_frozen_layer_leaves_them(rng):
    layer = Conv2D(2, 3, dtype="float64")
    x = rng.standard_normal((2, 6, 6, 1))
    dy = rng.standard_normal((2, 4, 4, 2))
    layer(x)
    layer.backward(dy)
    once = layer.W.grad.copy()
    layer.backward(dy)
    np.testing.assert_allclose(layer.W.grad, 2 * once)
    frozen = Conv2D(2, 3, trainable=False)
    frozen(x.astype("float32"))
    frozen.backward(dy.astype("float32"))
    assert not frozen.W.grad.any() and not frozen.b.grad.any()


@pytest.mark.parametrize("kernel, strides, dilation", [
    ((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 1)), ((3, 2), (1, 1), (2, 3)),
    ((3,), (2,), (1,)),
])
def test_single_channel_rows_match_the_window_view(kernel, strides, dilation, rng):
    # the one-channel im2col is built offset by offset (fast path); the general path reshapes
    # the window view: the same (N·out, k) rows
    x = rng.standard_normal((3, 9, 8, 1)[:len(kernel) + 1] + (1,))
    out = _windows.output_spatial(Conv2D(1, 1), x.shape[1:-1], kernel, strides, dilation,
                                  "valid")
    fast = _windows.window_rows(x, kernel, strides, dilation, out)
    general = _windows.windows(x, kernel, strides, dilation).reshape(-1, np.prod(kernel))
    np.testing.assert_array_equal(fast, general)


@pytest.mark.parametrize("channels", [1, 3])
def test_skipping_the_input_gradient_keeps_the_weight_gradients(channels, rng):
    layer = Conv2D(4, 3, activation="relu", dtype="float64")
    x = rng.standard_normal((2, 7, 6, channels))
    dy = rng.standard_normal((2, 5, 4, 4))
    layer(x, training=True)
    dx = layer.backward(dy)
    full = [w.grad.copy() for w in layer.weights]
    layer.zero_grad()
    assert Conv2D.skips_input_gradient and Conv1D.skips_input_gradient
    assert layer.backward(dy, input_gradient=False) is None
    for weight, expected in zip(layer.weights, full):
        np.testing.assert_array_equal(weight.grad, expected)
    assert dx.shape == x.shape


def test_inference_forward_keeps_no_rows_and_backward_still_works(rng):
    # training keeps the im2col rows for dW; inference keeps only the input and rebuilds them
    x = rng.standard_normal((2, 7, 6, 2))
    dy = rng.standard_normal((2, 5, 4, 3))
    layer = Conv2D(3, 3, dtype="float64")
    layer.maybe_build((None, 7, 6, 2))
    grads = []
    for training in (True, False):
        layer.zero_grad()
        y = layer.forward(x, training=training)
        assert (layer._cols is None) == (not training)
        grads.append((y, layer.backward(dy), layer.W.grad.copy(), layer.b.grad.copy()))
    for trained, inferred in zip(*grads):
        np.testing.assert_array_equal(trained, inferred)


@pytest.mark.parametrize("layer, input_shape, expected", [
    (Conv2D(8, 3), (None, 28, 28, 1), (None, 26, 26, 8)),
    (Conv2D(16, 3), (64, 13, 13, 8), (64, 11, 11, 16)),
    (Conv2D(4, 4, strides=2, padding="same"), (None, 7, 8, 3), (None, 4, 4, 4)),
    (Conv2D(4, 3, dilation_rate=2), (None, 9, 10, 3), (None, 5, 6, 4)),
    (Conv2D(4, 3, strides=(2, 3)), (None, 9, 10, 3), (None, 4, 3, 4)),
    (Conv2D(4, 3), (None, None, 10, 3), (None, None, 8, 4)),
    (Conv1D(6, 5, strides=2), (None, 20, 3), (None, 8, 6)),
    (Conv1D(6, 5, padding="causal", dilation_rate=3), (None, 20, 3), (None, 20, 6)),
])
def test_output_shapes(layer, input_shape, expected, rng):
    assert layer.compute_output_shape(input_shape) == expected
    if None not in input_shape[1:]:
        x = rng.standard_normal((2,) + input_shape[1:]).astype("float32")
        assert layer(x).shape == (2,) + expected[1:]


def test_config_round_trip():
    layer = Conv2D(6, (3, 2), strides=2, padding="same", activation="tanh", use_bias=False,
                   kernel_initializer="he_normal", kernel_regularizer="l2", name="my_conv")
    config = layer.get_config()
    assert config["kernel_size"] == (3, 2) and config["strides"] == (2, 2)
    assert config["padding"] == "same" and config["data_format"] == "channels_last"
    clone = registry.lookup("layer", "Conv2D").from_config(config)
    assert clone.get_config() == config
    conv1d = Conv1D(3, 5, padding="causal", dilation_rate=2)
    assert Conv1D.from_config(conv1d.get_config()).get_config() == conv1d.get_config()
    assert registry.lookup("layer", "Conv1D") is Conv1D


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": 0, "kernel_size": 3}, "filters"),
    ({"filters": 4, "kernel_size": 0}, "kernel_size"),
    ({"filters": 4, "kernel_size": (3, 3, 3)}, "kernel_size"),
    ({"filters": 4, "kernel_size": 3, "strides": 0}, "strides"),
    ({"filters": 4, "kernel_size": 3, "padding": "full"}, "padding"),
    ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "padding"),  # 1-D only
    ({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, "channels_last"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv2D(**kwargs)


def test_input_validation():
    layer = Conv2D(4, 3, name="conv_a")
    with pytest.raises(ValueError, match=r"conv_a.*rank 4.*\(None, 8, 3\)"):
        layer(np.zeros((2, 8, 3), dtype="float32"))           # refused when building
    layer(np.zeros((2, 8, 8, 3), dtype="float32"))
    with pytest.raises(ValueError, match=r"conv_a.*rank 4.*\(2, 8, 3\)"):
        layer.forward(np.zeros((2, 8, 3), dtype="float32"))   # and by a built layer
    with pytest.raises(ValueError, match=r"conv_a.*3 input channels.*\(2, 8, 8, 2\)"):
        layer(np.zeros((2, 8, 8, 2), dtype="float32"))
    with pytest.raises(ValueError, match="smaller than the window"):
        Conv2D(4, 5)(np.zeros((1, 4, 8, 3), dtype="float32"))
    with pytest.raises(ValueError, match="rank 3"):
        Conv1D(2, 3)(np.zeros((2, 8, 8, 3), dtype="float32"))


@pytest.mark.parametrize("activation", ["relu", "tanh", "softmax", None])
def test_inference_works_through_the_batch_in_slices_with_the_same_result(activation,
                                                                          monkeypatch, rng):
    """In inference a Conv makes its im2col rows a slice of the batch at a time (bounded
    memory), and in predict (inference_only) also applies bias and activation slice by
    slice; the output equals the training path's whole-batch product."""
    from glassnet.layers import convolutional
    from glassnet.layers.base import inference_only

    layer = Conv2D(5, 3, strides=2, padding="same", activation=activation, dtype="float64",
                   bias_initializer="random_normal")
    x = rng.standard_normal((7, 9, 8, 3))
    layer(x)                                         # builds
    whole = layer.forward(x, training=True)
    per_sample = 5 * 4 * 27 * 8                      # output positions x k·C x 8 bytes
    monkeypatch.setattr(convolutional, "INFERENCE_ROWS_BYTES", 2 * per_sample)  # 2 at a time
    with inference_only():
        np.testing.assert_allclose(layer.forward(x, training=False), whole, rtol=1e-12, atol=0)
    np.testing.assert_allclose(layer.forward(x, training=False), whole, rtol=1e-12, atol=0)
