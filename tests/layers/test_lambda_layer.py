"""Lambda: a function of glassnet.ops as a layer, against Keras' Lambda on torch."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers, ops


def model_with_lambda(lib):
    inputs = lib.Input(shape=(4,))
    hidden = lib.layers.Dense(3)(inputs)
    joined = lib.layers.Lambda(lambda ts: lib.ops.concatenate([lib.ops.tanh(ts[0]) * 2.0,
                                                              ts[1]], axis=-1))([hidden, inputs])
    return lib.Model(inputs, lib.layers.Dense(2)(joined))


def test_lambda_in_a_functional_model_matches_keras(keras, rng):
    ours, theirs = model_with_lambda(gn), model_with_lambda(keras)
    theirs.set_weights(ours.get_weights())
    x = rng.normal(size=(5, 4)).astype("float32")
    assert ours.output_shape == theirs.output_shape == (None, 2)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_backward_is_the_derivative_of_the_function(rng):
    layer = layers.Lambda(lambda x, power: ops.sin(x) * x ** power, arguments={"power": 2})
    assert gradcheck.check_layer(layer, rng.normal(size=(3, 4))).passed


def test_a_model_trains_through_a_lambda(rng):
    x = rng.normal(size=(64, 4)).astype("float32")
    y = np.tanh(x[:, :1] - x[:, 1:2])
    gn.utils.set_random_seed(0)
    model = gn.Sequential([gn.Input(shape=(4,)), layers.Dense(8),
                           layers.Lambda(lambda t: ops.tanh(t)), layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]


def test_the_mask_passes_through_or_is_computed():
    model = gn.Sequential([gn.Input(shape=(None,), dtype="int32"),
                           layers.Embedding(10, 4, mask_zero=True),
                           layers.Lambda(lambda t: t * 2.0), layers.LSTM(3)])
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    np.testing.assert_allclose(model(ids)[1], model(ids[1:, :1])[0], rtol=1e-6, atol=1e-7)
    masker = layers.Lambda(lambda t: t, mask=lambda inputs, mask: ops.not_equal(inputs, 0))
    np.testing.assert_array_equal(masker.compute_mask(ids), ids != 0)


def test_a_lambda_is_not_saved_and_bad_arguments_are_named(tmp_path):
    model = gn.Sequential([gn.Input(shape=(2,)), layers.Lambda(lambda t: t + 1.0)])
    with pytest.raises(TypeError, match="Lambda layer 'lambda.*cannot be saved"):
        model.save(tmp_path / "m.glassnet")
    with pytest.raises(TypeError, match="function must be callable"):
        layers.Lambda(3)
    with pytest.raises(TypeError, match="arguments must be a dict"):
        layers.Lambda(abs, arguments=[1])
