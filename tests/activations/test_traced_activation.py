"""Any function of glassnet.ops as an activation: the derivative comes from the tape."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import activations, layers, ops
from glassnet.gradcheck import check_layer


def scaled_swish(t):
    return t * ops.sigmoid(1.5 * t)


@pytest.mark.parametrize("function", [ops.relu6, ops.hard_sigmoid, ops.softsign,
                                      ops.log_softmax, scaled_swish])
def test_backward_is_the_derivative(function, rng):
    layer = layers.Dense(3, activation=function)
    assert check_layer(layer, rng.normal(size=(6, 4)) * 3).passed
    assert check_layer(layers.Activation(function), rng.normal(size=(6, 4)) * 3).passed


def test_a_function_of_ops_matches_the_built_in_activation(rng):
    x = rng.normal(size=(5, 3))
    traced, built_in = activations.get(lambda t: ops.tanh(t)), activations.get("tanh")
    np.testing.assert_allclose(traced.forward(x), built_in.forward(x), rtol=1e-15)
    dy = rng.normal(size=(5, 3))
    np.testing.assert_allclose(traced.backward(dy), built_in.backward(dy), rtol=1e-12)
    np.testing.assert_allclose(traced(x), np.tanh(x), rtol=1e-15)


def test_dense_with_an_op_activation_matches_keras(keras, rng):
    x = rng.normal(size=(4, 5)).astype("float32") * 4
    ours = gn.Sequential([gn.Input(shape=(5,)), layers.Dense(3, activation=ops.relu6)])
    theirs = keras.Sequential([keras.Input(shape=(5,)),
                               keras.layers.Dense(3, activation=keras.ops.relu6)])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)


def test_numpy_functions_and_saving_are_refused_with_the_reason(tmp_path):
    layer = layers.Dense(2, activation=np.tanh)
    with pytest.raises(TypeError, match="ops.tanh"):
        layer(np.ones((1, 3)))
    model = gn.Sequential([gn.Input(shape=(3,)), layers.Dense(2, activation=scaled_swish)])
    with pytest.raises(TypeError, match="'scaled_swish'.*cannot be saved"):
        model.save(tmp_path / "m.glassnet")


@pytest.mark.parametrize("name", sorted(activations.traced.OP_ACTIVATIONS))
def test_keras_activation_names_match_keras_and_are_saved(name, keras, rng, tmp_path):
    x = (rng.normal(size=(4, 5)) * 4).astype("float32")
    ours = gn.Sequential([gn.Input(shape=(5,)), layers.Dense(3, activation=name)])
    theirs = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(3, activation=name)])
    theirs.set_weights(ours.get_weights())
    expected = ours.predict(x, verbose=0)
    np.testing.assert_allclose(expected, theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert activations.serialize(activations.get(name)) == name
    ours.save(tmp_path / "m.glassnet")
    np.testing.assert_array_equal(gn.load_model(tmp_path / "m.glassnet").predict(x, verbose=0),
                                  expected)
    assert check_layer(layers.Dense(3, activation=name), rng.normal(size=(4, 5))).passed


def test_the_functions_of_those_names_are_the_ops_and_save_by_name():
    x = np.array([-5.0, -1.0, 0.5, 7.0])
    np.testing.assert_allclose(activations.relu6(x), [0.0, 0.0, 0.5, 6.0])
    np.testing.assert_allclose(activations.hard_sigmoid(x), np.clip(x / 6 + 0.5, 0, 1))
    assert activations.serialize(activations.get(activations.softsign)) == "softsign"
    with pytest.raises(AttributeError, match="no_such_activation"):
        activations.no_such_activation  # noqa: B018
