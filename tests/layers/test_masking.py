"""Masking and Identity: Keras' mask and outputs, the gradient at masked steps, and the mask
reaching a recurrent layer through a Sequential (also through layers that pass it on)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers
from glassnet.gradcheck import check_layer


def padded_batch(rng, mask_value=0.0):
    """x (3, 5, 2) with masked steps: trailing ones, and one in the middle of sample 0."""
    x = rng.standard_normal((3, 5, 2))
    x[0, 2] = mask_value
    x[1, 3:] = mask_value
    x[2, 1, 0] = mask_value                  # one feature only: the step is kept
    return x


@pytest.mark.parametrize("mask_value", [0.0, -1.0])
def test_mask_and_output(mask_value, rng):
    x = padded_batch(rng, mask_value)
    layer = layers.Masking(mask_value)
    y = layer(x)
    expected_mask = np.ones((3, 5), dtype=bool)
    expected_mask[0, 2] = False
    expected_mask[1, 3:] = False
    np.testing.assert_array_equal(layer.compute_mask(x), expected_mask)
    np.testing.assert_array_equal(y, np.where(expected_mask[..., None], x, 0.0))


def test_backward_gives_no_gradient_to_masked_steps(rng):
    x = padded_batch(rng, -1.0)
    layer = layers.Masking(-1.0)
    layer(x)
    dy = rng.standard_normal(x.shape)
    dx = layer.backward(dy)
    keep = layer.compute_mask(x)[..., None]
    np.testing.assert_array_equal(dx, dy * keep)
    # away from the masked steps, backward is the derivative (a masked step's output jumps
    # from 0 to x when one feature moves off mask_value, so it has none)
    report = check_layer(layers.Masking(-1.0), rng.standard_normal((3, 5, 2)))
    assert report.passed, str(report)


def test_masking_then_lstm_skips_the_masked_steps(rng):
    """The LSTM's output for a padded sequence equals its output for the unpadded one."""
    x = padded_batch(rng)
    lstm = layers.LSTM(4)
    model = gn.Sequential([gn.Input(shape=(5, 2)), layers.Masking(), lstm])
    y = model.predict(x.astype("float32"), verbose=0)
    short = lstm(x[1:2, :3].astype("float32"))                # sample 1 has 3 steps
    np.testing.assert_allclose(y[1:2], short, rtol=1e-5, atol=1e-6)
    middle_gap = lstm(x[0:1, [0, 1, 3, 4]].astype("float32"))  # sample 0 skips step 2
    np.testing.assert_allclose(y[0:1], middle_gap, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    layers.Identity,
    lambda: layers.GaussianNoise(0.1),
    lambda: layers.GaussianDropout(0.2),
    lambda: layers.AlphaDropout(0.2),
    lambda: layers.SpatialDropout1D(0.2),
    lambda: layers.Rescaling(2.0),
], ids=["Identity", "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
        "Rescaling"])
def test_layers_that_pass_the_mask_on(make, rng):
    """Embedding(mask_zero) -> layer -> GRU: the GRU still skips the padding."""
    ids = np.array([[3, 1, 2, 0, 0], [4, 4, 0, 0, 0]], dtype="float32")
    layer = make()
    assert layer.supports_masking
    mask = ids != 0
    assert layer.compute_mask(ids, mask) is mask
    gn.utils.set_random_seed(0)
    model = gn.Sequential([gn.Input(shape=(5,)), layers.Embedding(5, 3, mask_zero=True),
                           layer, layers.GRU(2)])
    scale = 2.0 if isinstance(layer, layers.Rescaling) else 1.0
    embedded = scale * model.layers[0](ids[:1, :3])
    np.testing.assert_allclose(model.predict(ids, verbose=0)[:1], model.layers[2](embedded),
                               rtol=1e-5, atol=1e-6)


def test_identity(rng):
    x = rng.standard_normal((2, 3))
    layer = layers.Identity()
    assert layer(x) is x
    dy = rng.standard_normal((2, 3))
    assert layer.backward(dy) is dy


def test_config():
    assert layers.Masking(-1).get_config()["mask_value"] == -1.0
    with pytest.raises((TypeError, ValueError), match="mask_value"):
        layers.Masking("zero")
