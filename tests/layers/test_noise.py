"""The noise layers: the identity in inference; in training the noise Keras defines (checked
on its statistics: the draws are random, so no reference gives the same numbers), seeded
repeatability, gradients, argument checks and configs."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import layers
from glassnet.gradcheck import check_layer
from glassnet.layers.noise import SELU_ALPHA, SELU_SCALE

NOISE = {
    "SpatialDropout1D": (lambda: layers.SpatialDropout1D(0.4, seed=1), (4, 6, 3)),
    "SpatialDropout2D": (lambda: layers.SpatialDropout2D(0.4, seed=1), (4, 3, 5, 3)),
    "GaussianNoise": (lambda: layers.GaussianNoise(0.5, seed=1), (4, 6)),
    "GaussianDropout": (lambda: layers.GaussianDropout(0.3, seed=1), (4, 6)),
    "AlphaDropout": (lambda: layers.AlphaDropout(0.3, seed=1), (4, 6)),
}


@pytest.mark.parametrize("name", sorted(NOISE))
def test_identity_in_inference_and_seeded_in_training(name, rng):
    make, shape = NOISE[name]
    x = rng.standard_normal(shape)
    layer = make()
    assert layer(x) is x
    dy = rng.standard_normal(shape)
    assert layer.backward(dy) is dy
    first, second = make()(x, training=True), make()(x, training=True)
    np.testing.assert_array_equal(first, second)          # same seed, same noise
    assert not np.array_equal(first, x)
    later = make()
    later(x, training=True)
    assert not np.array_equal(first, later(x, training=True))   # a new draw each call


@pytest.mark.parametrize("name", sorted(NOISE))
def test_gradients_in_training(name, rng):
    make, shape = NOISE[name]
    report = check_layer(make(), rng.standard_normal(shape), training=True)
    assert report.passed, str(report)


@pytest.mark.parametrize("cls, shape, shared_axes", [
    (layers.SpatialDropout1D, (200, 7, 5), (1,)),
    (layers.SpatialDropout2D, (200, 3, 4, 5), (1, 2)),
])
def test_spatial_dropout_drops_whole_channels(cls, shape, shared_axes):
    rate = 0.25
    y = cls(rate, seed=0)(np.ones(shape), training=True)
    # each (sample, channel) is either dropped everywhere or kept everywhere, scaled
    per_channel = y.min(axis=shared_axes)
    np.testing.assert_array_equal(per_channel, y.max(axis=shared_axes))
    assert set(np.unique(per_channel)) == {0.0, 1 / (1 - rate)}
    assert abs((per_channel == 0).mean() - rate) < 0.05
    with pytest.raises(ValueError, match="rank"):
        cls(rate)(np.ones((2, 3)), training=True)


def test_gaussian_noise_and_dropout_statistics():
    x = np.full((400, 500), 2.0)
    noisy = layers.GaussianNoise(0.3, seed=0)(x, training=True) - x
    assert abs(noisy.mean()) < 0.005 and abs(noisy.std() - 0.3) < 0.005
    rate = 0.2
    factor = layers.GaussianDropout(rate, seed=0)(x, training=True) / x
    assert abs(factor.mean() - 1) < 0.005
    assert abs(factor.std() - np.sqrt(rate / (1 - rate))) < 0.005


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    """The point of alpha dropout (Klambauer et al. 2017): standardized inputs stay so."""
    x = np.random.default_rng(0).standard_normal((500, 400))
    rate = 0.3
    y = layers.AlphaDropout(rate, seed=0)(x, training=True)
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.02
    # a dropped unit is a·α' + b, with α' = -λα the SELU saturation value
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    dropped = np.isclose(y, a * alpha_p - a * alpha_p * rate)
    assert abs(dropped.mean() - rate) < 0.01


def test_alpha_dropout_noise_shape_shares_the_mask(rng):
    x = rng.standard_normal((6, 5, 4))
    layer = layers.AlphaDropout(0.5, noise_shape=(None, 1, 4), seed=3)
    y = layer(x, training=True)
    kept = layer.backward(np.ones_like(x)) > 0                 # dL/dx = a·m
    assert (kept == kept[:, :1]).all()
    assert layer.get_config()["noise_shape"] == [None, 1, 4]
    assert check_layer(layers.AlphaDropout(0.5, noise_shape=(None, 1, 4), seed=3), x,
                       training=True).passed
    assert y.shape == x.shape


@pytest.mark.parametrize("make, message", [
    (lambda: layers.GaussianNoise(1.5), "stddev"),
    (lambda: layers.GaussianNoise(-0.1), "stddev"),
    (lambda: layers.GaussianDropout(1.0), "rate"),
    (lambda: layers.AlphaDropout(-0.2), "rate"),
    (lambda: layers.AlphaDropout(0.2, noise_shape=(None, 0)), "noise_shape"),
    (lambda: layers.SpatialDropout1D(1.0), "rate"),
    (lambda: layers.SpatialDropout2D(0.1, data_format="channels_first"), "channels_last"),
])
def test_bad_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_zero_rate_is_the_identity_in_training(rng):
    x = rng.standard_normal((3, 4))
    for layer in (layers.GaussianNoise(0.0), layers.GaussianDropout(0.0),
                  layers.AlphaDropout(0.0)):
        assert layer(x, training=True) is x


def test_configs_as_keras():
    config = layers.SpatialDropout2D(0.2, seed=4, name="drop").get_config()
    assert config == {"name": "drop", "trainable": True, "dtype": "float32", "rate": 0.2,
                      "seed": 4, "data_format": "channels_last"}
    config = layers.SpatialDropout1D(0.2, seed=4).get_config()
    assert {k: config[k] for k in ("rate", "seed")} == {"rate": 0.2, "seed": 4}
    assert "noise_shape" not in config
    assert layers.GaussianNoise(0.1, seed=2).get_config()["stddev"] == 0.1
    assert layers.GaussianDropout(0.1).get_config()["rate"] == 0.1
