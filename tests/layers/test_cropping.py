"""Cropping1D, Cropping2D and ZeroPadding1D: PyTorch references (F.pad, whose negative pads
crop), forward and gradient; argument forms as Keras; sizes; errors."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.gradcheck import check_layer
from glassnet.layers import Cropping1D, Cropping2D, ZeroPadding1D

TOLERANCE = {"rtol": 1e-12, "atol": 1e-14}


def torch_pad(torch, x, pads, dy):
    """y = F.pad(x, pads) on channels-first copies (pads: last axis first), and dL/dx."""
    rank = x.ndim - 2
    to_first, to_last = (0, rank + 1, *range(1, rank + 1)), (0, *range(2, rank + 2), 1)
    tx = torch.tensor(np.ascontiguousarray(x.transpose(to_first)), requires_grad=True)
    ty = torch.nn.functional.pad(tx, pads)
    ty.backward(torch.tensor(np.ascontiguousarray(dy.transpose(to_first))))
    return ty.detach().numpy().transpose(to_last), tx.grad.numpy().transpose(to_last)


def _compare(torch, layer, x, pads, rng):
    y = layer(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    y_ref, dx_ref = torch_pad(torch, x, pads, dy)
    np.testing.assert_allclose(y, y_ref, **TOLERANCE)
    np.testing.assert_allclose(dx, dx_ref, **TOLERANCE)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + y.shape[1:]


@pytest.mark.parametrize("cropping, pair", [(1, (1, 1)), ((0, 2), (0, 2)), ((3, 0), (3, 0))])
def test_cropping1d_matches_torch(cropping, pair, torch, rng):
    layer = Cropping1D(cropping)
    assert layer.cropping == pair
    x = rng.standard_normal((2, 6, 3))
    _compare(torch, layer, x, [-pair[0], -pair[1]], rng)
    assert check_layer(Cropping1D(cropping), x).passed


@pytest.mark.parametrize("cropping, pairs", [
    (1, ((1, 1), (1, 1))),
    ((2, 1), ((2, 2), (1, 1))),
    (((0, 2), (1, 0)), ((0, 2), (1, 0))),
    (((1, 2), 1), ((1, 2), (1, 1))),              # Keras takes an int for either axis
])
def test_cropping2d_matches_torch(cropping, pairs, torch, rng):
    layer = Cropping2D(cropping)
    assert layer.cropping == pairs
    x = rng.standard_normal((2, 6, 5, 3))
    (top, bottom), (left, right) = pairs
    _compare(torch, layer, x, [-left, -right, -top, -bottom], rng)
    assert check_layer(Cropping2D(cropping), x).passed


@pytest.mark.parametrize("padding, pair", [(1, (1, 1)), ((0, 3), (0, 3)), ((2, 1), (2, 1))])
def test_zero_padding1d_matches_torch(padding, pair, torch, rng):
    layer = ZeroPadding1D(padding)
    assert layer.padding == pair
    x = rng.standard_normal((2, 4, 3))
    _compare(torch, layer, x, list(pair), rng)
    assert check_layer(ZeroPadding1D(padding), x).passed


def test_defaults_as_keras():
    assert Cropping1D().cropping == (1, 1)
    assert Cropping2D().cropping == ((0, 0), (0, 0))
    assert ZeroPadding1D().padding == (1, 1)
    assert Cropping2D().get_config()["data_format"] == "channels_last"


def test_open_axes_stay_open():
    assert Cropping1D(2).compute_output_shape((None, None, 3)) == (None, None, 3)
    assert Cropping2D(1).compute_output_shape((None, None, 6, 3)) == (None, None, 4, 3)
    assert ZeroPadding1D(2).compute_output_shape((None, None, 3)) == (None, None, 3)


@pytest.mark.parametrize("make, message", [
    (lambda: Cropping1D(-1), "non-negative"),
    (lambda: Cropping1D((1, 2, 3)), "pair"),
    (lambda: Cropping2D((1, 2, 3)), "cropping"),
    (lambda: Cropping2D(((1, -1), 0)), "non-negative"),
    (lambda: ZeroPadding1D(1.5), "padding"),
    (lambda: ZeroPadding1D(data_format="channels_first"), "channels_last"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_cropping_everything_is_refused(rng):
    with pytest.raises(ValueError, match="leaves nothing"):
        Cropping1D((2, 2))(rng.standard_normal((1, 4, 2)))
    with pytest.raises(ValueError, match="leaves nothing"):
        Cropping2D(((0, 0), (3, 0))).build((None, 5, 3, 1))
    with pytest.raises(ValueError, match="rank"):
        Cropping2D(1)(rng.standard_normal((1, 4, 2)))


def test_float32_stays_float32(rng):
    for layer in (Cropping1D(1), ZeroPadding1D(1)):
        y = layer(rng.standard_normal((2, 4, 3)).astype(np.float32))
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32
