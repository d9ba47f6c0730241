"""ZeroPadding2D and UpSampling2D: gradient checks, PyTorch references, shapes, config."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import registry
from glassnet.gradcheck import check_layer
from glassnet.layers.reshaping import UpSampling2D, ZeroPadding2D

TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}


@pytest.mark.parametrize("padding, pairs", [
    (2, ((2, 2), (2, 2))),
    ((1, 3), ((1, 1), (3, 3))),
    (((0, 2), (1, 0)), ((0, 2), (1, 0))),
])
def test_zero_padding_forms_and_torch_reference(padding, pairs, torch, rng):
    layer = ZeroPadding2D(padding)
    assert layer.padding == pairs
    x = rng.standard_normal((2, 3, 4, 2))
    y = layer(x)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    (top, bottom), (left, right) = pairs
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    ty = torch.nn.functional.pad(tx, (left, right, top, bottom))
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), **TOLERANCE)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), **TOLERANCE)
    assert check_layer(ZeroPadding2D(padding), x).passed


@pytest.mark.parametrize("size", [2, (2, 3), (1, 2)])
def test_upsampling_matches_torch_nearest(size, torch, rng):
    layer = UpSampling2D(size)
    x = rng.standard_normal((2, 3, 4, 2))
    y = layer(x)
    sh, sw = (size, size) if isinstance(size, int) else size
    assert y.shape == (2, 3 * sh, 4 * sw, 2)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    ty = torch.nn.functional.interpolate(tx, scale_factor=(sh, sw), mode="nearest")
    ty.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), **TOLERANCE)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), **TOLERANCE)
    report = check_layer(UpSampling2D(size), x)
    assert report.passed, str(report)


@pytest.mark.parametrize("layer", [ZeroPadding2D(((1, 0), (2, 1))), UpSampling2D((2, 3))])
def test_float32_stays_float32(layer, rng):
    y = layer(rng.standard_normal((2, 3, 4, 2)).astype(np.float32))
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


def test_output_shapes():
    assert ZeroPadding2D().compute_output_shape((None, 28, 28, 1)) == (None, 30, 30, 1)
    assert ZeroPadding2D(((1, 2), (0, 3))).compute_output_shape((4, 5, None, 2)) == (4, 8,
                                                                                     None, 2)
    assert UpSampling2D().compute_output_shape((None, 7, 7, 16)) == (None, 14, 14, 16)
    assert UpSampling2D((1, 3)).compute_output_shape((None, None, 5, 2)) == (None, None, 15, 2)


def test_config_round_trip():
    for layer in (ZeroPadding2D(((1, 2), (3, 4))), UpSampling2D((2, 3))):
        config = layer.get_config()
        clone = registry.lookup("layer", type(layer).__name__).from_config(config)
        assert clone.get_config() == config


def test_invalid_arguments_and_inputs():
    with pytest.raises(ValueError, match="not supported"):
        UpSampling2D(interpolation="bilinear")
    with pytest.raises(ValueError, match="size"):
        UpSampling2D(0)
    for bad in (-1, (1, 2, 3), ((1, 2), (3,)), "same"):
        with pytest.raises(ValueError, match="padding"):
            ZeroPadding2D(bad)
    with pytest.raises(ValueError, match="channels_last"):
        ZeroPadding2D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"'pad_a'.*rank 4.*\(None, 3, 4\)"):
        ZeroPadding2D(name="pad_a")(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="rank 4"):
        UpSampling2D()(np.zeros((2, 3, 4, 5, 6)))
