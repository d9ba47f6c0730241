"""Conv3D and the 3-D poolings: PyTorch references (conv3d, max_pool3d, avg_pool3d, on
channels-first copies) for the output and every gradient in float64, gradient checks."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.gradcheck import check_layer
from glassnet.layers import (
    AveragePooling3D,
    Conv3D,
    GlobalAveragePooling3D,
    GlobalMaxPooling3D,
    MaxPooling3D,
)

TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}
TO_FIRST, TO_LAST = (0, 4, 1, 2, 3), (0, 2, 3, 4, 1)


def _first(torch, a, grad=True):
    return torch.tensor(np.ascontiguousarray(a.transpose(TO_FIRST)), requires_grad=grad)


def _last(t):
    return t.detach().numpy().transpose(TO_LAST)


# (input shape, filters, kernel, strides, padding, dilation, TF pads per axis (front, back))
CONV_CASES = [
    ((2, 4, 5, 4, 2), 3, 2, 1, "valid", 1, ((0, 0),) * 3),
    ((2, 5, 4, 6, 2), 3, (3, 2, 3), 2, "same", 1, ((1, 1), (0, 0), (0, 1))),
    ((2, 5, 5, 5, 1), 2, 3, 1, "same", 2, ((2, 2),) * 3),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv3d_matches_torch(case, torch, rng):
    shape, filters, kernel, strides, padding, dilation, pads = case
    layer = Conv3D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                   dtype="float64", bias_initializer="random_normal")
    x = rng.standard_normal(shape)
    y = layer(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    W, b = layer.get_weights()
    tx = _first(torch, x)
    tw = torch.tensor(np.ascontiguousarray(W.transpose(4, 3, 0, 1, 2)), requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    padded = torch.nn.functional.pad(tx, [p for pair in reversed(pads) for p in pair])
    ty = torch.nn.functional.conv3d(padded, tw, tb, stride=layer.strides,
                                    dilation=layer.dilation_rate)
    ty.backward(_first(torch, dy, grad=False))
    np.testing.assert_allclose(y, _last(ty), **TOLERANCE)
    np.testing.assert_allclose(dx, _last(tx.grad), **TOLERANCE)
    np.testing.assert_allclose(layer.W.grad, tw.grad.numpy().transpose(2, 3, 4, 1, 0),
                               **TOLERANCE)
    np.testing.assert_allclose(layer.b.grad, tb.grad.numpy(), **TOLERANCE)
    assert check_layer(Conv3D(filters, kernel, strides=strides, padding=padding,
                              dilation_rate=dilation, activation="tanh"), x).passed


@pytest.mark.parametrize("cls, pool, strides, padding, torch_padding", [
    (MaxPooling3D, 2, None, "valid", 0),
    (MaxPooling3D, 3, 2, "valid", 0),
    (AveragePooling3D, 2, None, "valid", 0),
    (AveragePooling3D, 3, 1, "same", 1),          # symmetric 'same' pads: torch can too
])
def test_pooling3d_matches_torch(cls, pool, strides, padding, torch_padding, torch, rng):
    layer = cls(pool, strides=strides, padding=padding)
    x = rng.standard_normal((2, 5, 4, 6, 3))
    y = layer(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    tx = _first(torch, x)
    stride = pool if strides is None else strides
    if cls is MaxPooling3D:
        ty = torch.nn.functional.max_pool3d(tx, pool, stride, torch_padding)
    else:
        ty = torch.nn.functional.avg_pool3d(tx, pool, stride, torch_padding,
                                            count_include_pad=False)
    ty.backward(_first(torch, dy, grad=False))
    np.testing.assert_allclose(y, _last(ty), **TOLERANCE)
    np.testing.assert_allclose(dx, _last(tx.grad), **TOLERANCE)
    assert check_layer(cls(pool, strides=strides, padding=padding), x).passed


@pytest.mark.parametrize("cls, reduce", [(GlobalAveragePooling3D, "mean"),
                                         (GlobalMaxPooling3D, "amax")])
def test_global_pooling3d_matches_torch(cls, reduce, torch, rng):
    x = rng.standard_normal((2, 3, 4, 2, 5))
    layer = cls(keepdims=True)
    y = layer(x)
    assert y.shape == (2, 1, 1, 1, 5)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(tx, reduce)(dim=(1, 2, 3), keepdim=True)
    ty.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, ty.detach().numpy(), **TOLERANCE)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **TOLERANCE)
    assert cls()(x).shape == (2, 5)


def test_defaults_as_keras():
    assert MaxPooling3D().pool_size == (2, 2, 2) and MaxPooling3D().strides == (2, 2, 2)
    layer = Conv3D(2, 3)
    assert (layer.strides, layer.dilation_rate) == ((1, 1, 1), (1, 1, 1))
    with pytest.raises(ValueError, match="rank 5"):
        layer.build((None, 4, 4, 2))
