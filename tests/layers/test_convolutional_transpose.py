"""Conv1DTranspose / Conv2DTranspose: Keras' output sizes, PyTorch references on copied
weights (forward and every gradient, float64), gradient checks, arguments and training."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.gradcheck import check_layer
from glassnet.layers import Conv1DTranspose, Conv2DTranspose
from glassnet.layers.base import inference_only

TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}

# (input shape, filters, kernel_size, strides, padding, output_padding, dilation, output shape)
# Output sizes from Keras' rule (keras/src/backend/common/backend_utils.py), with E the
# dilated kernel (k - 1)·d + 1: valid (n - 1)·s + max(E, s), or + E + p with output_padding p;
# same n·s, or (n - 1)·s + E mod 2 + p.
CASES = [
    ((2, 4, 5, 3), 2, 3, 1, "valid", None, 1, (2, 6, 7, 2)),
    ((2, 4, 5, 3), 2, 3, 2, "valid", None, 1, (2, 9, 11, 2)),
    ((2, 4, 5, 3), 2, 3, 2, "same", None, 1, (2, 8, 10, 2)),
    ((2, 4, 5, 3), 2, (2, 3), (3, 2), "same", None, 1, (2, 12, 10, 2)),  # even kernel
    ((2, 4, 5, 3), 2, 1, 3, "valid", None, 1, (2, 12, 15, 2)),       # stride > kernel: zeros
    ((2, 4, 5, 2), 3, 3, 2, "valid", 1, 1, (2, 10, 12, 3)),
    ((2, 4, 5, 2), 3, 4, 3, "same", (2, 1), 1, (2, 11, 13, 3)),
    ((2, 4, 5, 2), 3, 3, 1, "same", None, 2, (2, 4, 5, 3)),          # dilated
    ((2, 4, 5, 2), 1, (2, 3), 1, "valid", None, (2, 1), (2, 6, 7, 1)),  # one filter
    ((2, 3, 3, 1), 2, 2, 2, "same", 0, 1, (2, 4, 4, 2)),             # output_padding 0
]

CASES_1D = [
    ((2, 5, 3), 4, 3, 2, "valid", None, 1, (2, 11, 4)),
    ((2, 5, 3), 4, 4, 2, "same", None, 1, (2, 10, 4)),
    ((2, 5, 3), 2, 3, 3, "same", 2, 1, (2, 15, 2)),
    ((2, 5, 3), 2, 1, 2, "same", None, 1, (2, 10, 2)),               # crop < 0: a zero row
    ((2, 5, 3), 2, 3, 1, "valid", None, 3, (2, 11, 2)),
]


def keras_jax_pads(kernel, stride, dilation, padding, output_padding):
    """Keras' conversion of its arguments to the padding of the equivalent convolution over
    the stride-dilated input (`_convert_conv_transpose_padding_args_from_keras_to_jax`)."""
    extent = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(extent, stride) - extent if output_padding is None else output_padding
        return extent - 1, extent - 1 + extra
    if output_padding is None:
        total = stride + extent - 2
    else:
        total = extent + extent % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, extent - 1)
    return left, total - left


def torch_reference(torch, layer, x, dy):
    """y and dL/d(x, W, b) from torch: its conv_transpose without padding gives every
    contribution; F.pad with Keras' pads (negative: a crop) then cuts it to Keras' output."""
    rank = layer.rank
    kernel, bias = layer.get_weights()
    to_first, to_last = (0, rank + 1, *range(1, rank + 1)), (0, *range(2, rank + 2), 1)
    tx = torch.tensor(np.ascontiguousarray(x.transpose(to_first)), requires_grad=True)
    tw = torch.tensor(np.ascontiguousarray(kernel.transpose(rank + 1, rank, *range(rank))),
                      requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    conv = torch.nn.functional.conv_transpose1d if rank == 1 else \
        torch.nn.functional.conv_transpose2d
    full = conv(tx, tw, stride=layer.strides, dilation=layer.dilation_rate)
    paddings = layer.output_padding or (None,) * rank
    pads = []
    for k, s, d, p in reversed(list(zip(layer.kernel_size, layer.strides, layer.dilation_rate,
                                        paddings))):        # F.pad: the last axis first
        extent = (k - 1) * d + 1
        left, right = keras_jax_pads(k, s, d, layer.padding, p)
        pads += [left - (extent - 1), right - (extent - 1)]  # a pad of E - 1 keeps `full`
    y = torch.nn.functional.pad(full, pads) + tb.reshape(-1, *(1,) * rank)
    y.backward(torch.tensor(dy.transpose(to_first)))
    return (y.detach().numpy().transpose(to_last), tx.grad.numpy().transpose(to_last),
            tw.grad.numpy().transpose(*range(2, rank + 2), 1, 0), tb.grad.numpy())


def _layer(case, rank, **kwargs):
    shape, filters, kernel, strides, padding, output_padding, dilation, _ = case
    cls = Conv2DTranspose if rank == 2 else Conv1DTranspose
    return cls(filters, kernel, strides=strides, padding=padding,
               output_padding=output_padding, dilation_rate=dilation, **kwargs)


@pytest.mark.parametrize("case, rank", [(c, 2) for c in CASES] + [(c, 1) for c in CASES_1D])
def test_matches_torch_and_keras_sizes(case, rank, torch, rng):
    shape, expected = case[0], case[-1]
    layer = _layer(case, rank, dtype="float64", bias_initializer="random_normal")
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + expected[1:]
    x = rng.standard_normal(shape)
    y = layer(x)
    assert y.shape == expected
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    y_ref, dx_ref, dkernel_ref, dbias_ref = torch_reference(torch, layer, x, dy)
    np.testing.assert_allclose(y, y_ref, **TOLERANCE)
    np.testing.assert_allclose(dx, dx_ref, **TOLERANCE)
    np.testing.assert_allclose(layer.W.grad, dkernel_ref, **TOLERANCE)
    np.testing.assert_allclose(layer.b.grad, dbias_ref, **TOLERANCE)


@pytest.mark.parametrize("case, rank", [(c, 2) for c in CASES[:7]] + [(c, 1) for c in CASES_1D])
def test_gradients(case, rank, rng):
    layer = _layer(case, rank, activation="tanh", bias_initializer="random_normal")
    report = check_layer(layer, rng.standard_normal(case[0]))
    assert report.passed, str(report)


def test_kernel_layout_and_weights_as_keras():
    layer = Conv2DTranspose(5, (2, 3))
    layer.build((None, 4, 4, 3))
    assert [p.name.split("/")[-1] for p in layer.parameters()] == ["kernel", "bias"]
    assert [p.shape for p in layer.parameters()] == [(2, 3, 5, 3), (5,)]   # (kh, kw, F, C)


def test_input_gradient_false_and_inference_only(rng):
    x = rng.standard_normal((2, 4, 5, 3))
    dy = rng.standard_normal((2, 8, 10, 2))
    layer = Conv2DTranspose(2, 3, strides=2, padding="same", dtype="float64")
    layer(x, training=True)
    dx = layer.backward(dy)
    grad = layer.W.grad.copy()
    layer.zero_grad()
    layer(x, training=True)
    assert layer.backward(dy, input_gradient=False) is None
    np.testing.assert_array_equal(layer.W.grad, grad)
    with inference_only():
        y = layer(x)
    np.testing.assert_array_equal(y, layer(x))
    with inference_only():
        layer(x)
    with pytest.raises(RuntimeError, match="inference_only"):
        layer.backward(dy)
    assert dx.shape == x.shape


@pytest.mark.parametrize("kwargs, message", [
    ({"output_padding": 2, "strides": 2}, "output_padding"),
    ({"output_padding": -1}, "output_padding"),
    ({"strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ({"padding": "causal"}, "padding"),
    ({"filters": 0}, "filters"),
])
def test_bad_arguments(kwargs, message):
    arguments = {"filters": 2, "kernel_size": 3, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        Conv2DTranspose(**arguments)


def test_empty_output_is_refused():
    # same, no stride, even kernel, output_padding 0: (n - 1)·1 + 0 + 0 = 0 for n = 1
    layer = Conv1DTranspose(2, 2, padding="same", output_padding=0)
    with pytest.raises(ValueError, match="empty output"):
        layer.build((None, 1, 3))


def test_float32_stays_float32(rng):
    layer = Conv1DTranspose(3, 3, strides=2)
    y = layer(rng.standard_normal((2, 5, 2)).astype(np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_an_autoencoder_learns_to_reconstruct(rng):
    """Conv2D down, Conv2DTranspose up with a sigmoid (the fused cross-entropy path)."""
    gn.utils.set_random_seed(0)
    images = (rng.random((64, 8, 8, 1)) < 0.3).astype("float32")
    model = gn.Sequential([
        gn.Input(shape=(8, 8, 1)),
        gn.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        gn.layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
        gn.layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid"),
    ])
    model.compile(optimizer=gn.optimizers.Adam(0.01), loss="binary_crossentropy")
    history = model.fit(images, images, epochs=30, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0]
