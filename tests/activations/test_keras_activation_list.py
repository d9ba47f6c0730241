"""Every name in Keras 3's `keras.activations`: values vs Keras (torch backend), the derivative
vs float64 central differences, look-up by name in a layer, get/serialize/deserialize.

The cases are checked against Keras' own list, so an activation Keras adds cannot be missed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import glassnet
from glassnet import activations, registry
from glassnet.gradcheck import check_layer

# Keras name -> (arguments, points where the derivative jumps: x is kept away from them)
CASES = {
    "celu": ({"alpha": 0.7}, (0.0,)),
    "elu": ({}, (0.0,)),
    "exponential": ({}, ()),
    "gelu": ({}, ()),
    "glu": ({}, ()),
    "hard_shrink": ({"threshold": 0.4}, (-0.4, 0.4)),
    "hard_sigmoid": ({}, (-3.0, 3.0, -2.5, 2.5)),
    "hard_silu": ({}, (-3.0, 3.0)),
    "hard_swish": ({}, (-3.0, 3.0)),
    "hard_tanh": ({}, (-1.0, 1.0)),
    "leaky_relu": ({}, (0.0,)),
    "linear": ({}, ()),
    "log_sigmoid": ({}, ()),
    "log_softmax": ({}, ()),
    "mish": ({}, ()),
    "relu": ({}, (0.0,)),
    "relu6": ({}, (0.0, 6.0)),
    "selu": ({}, (0.0,)),
    "sigmoid": ({}, ()),
    "silu": ({}, ()),
    "soft_shrink": ({"threshold": 0.6}, (-0.6, 0.6)),
    "softmax": ({}, ()),
    "softplus": ({}, ()),
    "softsign": ({}, (0.0,)),
    "sparse_plus": ({}, (-1.0, 1.0)),
    "sparse_sigmoid": ({}, (-1.0, 1.0)),
    "sparsemax": ({}, ()),
    "squareplus": ({"b": 2.5}, ()),
    "swish": ({}, ()),
    "tanh": ({}, ()),
    "tanh_shrink": ({}, ()),
    "threshold": ({"threshold": 0.3, "default_value": -1.5}, (0.3,)),
}
NAMES = sorted(CASES)
# Keras' torch backend computes sparsemax's tau from the sum of the partial sums over the
# support instead of the partial sum at its end, so its rows need not sum to 1 (Keras 3.15.1,
# keras/src/backend/torch/nn.py); glassnet's is checked against the simplex projection below.
NOT_COMPARED_WITH_KERAS = {"sparsemax"}
NEW = ["celu", "glu", "hard_shrink", "hard_silu", "hard_swish", "hard_tanh", "mish",
       "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus",
       "tanh_shrink", "threshold"]


def make(name: str) -> activations.ActivationFunction:
    """The activation class registered as `name`, with the case's arguments."""
    kwargs, _ = CASES[name]
    return registry.lookup("activation", name)(**kwargs)


def away_from(x: np.ndarray, kinks, gap: float = 1e-3) -> np.ndarray:
    for kink in kinks:
        near = np.abs(x - kink) < gap
        x[near] = kink + np.where(x[near] < kink, -2 * gap, 2 * gap)
    return x


def test_the_cases_are_exactly_keras_activations(keras):
    from keras.src.activations import ALL_OBJECTS_DICT  # Keras' own list, aliases included

    assert set(CASES) == set(ALL_OBJECTS_DICT)
    for name in ALL_OBJECTS_DICT:
        assert callable(getattr(activations, name)), name


@pytest.mark.parametrize("name", NAMES)
def test_values_match_keras(name, keras, rng):
    if name in NOT_COMPARED_WITH_KERAS:
        return test_sparsemax_is_the_projection_onto_the_simplex(rng)
    kwargs, _ = CASES[name]
    x = (3.0 * rng.normal(size=(4, 6))).astype("float32")
    expected = np.asarray(keras.ops.convert_to_numpy(
        getattr(keras.activations, name)(x, **kwargs)))
    by_function = getattr(activations, name)(x, **kwargs)
    by_class = make(name)(x)
    for got in (by_function, by_class):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-6)
    return None


def _simplex_projection(v: np.ndarray) -> np.ndarray:
    """max(v - tau, 0) with tau found by bisection so that the entries sum to 1."""
    low, high = v.min() - 1.0, v.max()
    for _ in range(200):
        tau = 0.5 * (low + high)
        low, high = (tau, high) if np.maximum(v - tau, 0).sum() > 1.0 else (low, tau)
    return np.maximum(v - 0.5 * (low + high), 0)


def test_sparsemax_is_the_projection_onto_the_simplex(rng):
    x = rng.normal(scale=2.0, size=(5, 7))
    for axis in (0, 1, -1):
        y = activations.sparsemax(x, axis=axis)
        expected = np.apply_along_axis(_simplex_projection, axis, x)
        np.testing.assert_allclose(y, expected, atol=1e-12)
        np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 4)])
def test_derivative_matches_central_differences(name, shape, rng):
    _, kinks = CASES[name]
    x = away_from(rng.normal(scale=2.5, size=shape), kinks)
    report = check_layer(make(name), x)
    assert report.passed, str(report)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_glu_and_sparsemax_gradients_along_any_axis(axis, rng):
    x = rng.normal(size=(4, 6, 2))
    for activation in (activations.GLU(axis=axis), activations.Sparsemax(axis=axis)):
        report = check_layer(activation, x)
        assert report.passed, str(report)


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_no_overflow_or_warnings_at_extremes(name, dtype):
    big = 1e30 if dtype == "float32" else 1e300
    x = np.array([[-big, -1e4, -30.0, -1.0, 0.0, 1.0, 30.0, 1e4, big, 2.0]], dtype=dtype)
    activation = make(name)
    with np.errstate(all="raise"):
        y = activation.forward(x)
        dx = activation.backward(np.full(y.shape, 0.5, dtype=dtype))
    for array in (y, dx):
        assert array.dtype == np.dtype(dtype)
        assert np.all(np.isfinite(array)), (name, array)


def test_squareplus_and_tanh_shrink_keep_relative_precision():
    x = np.array([-1e8, -1e4, -50.0])
    r = np.sqrt(x * x + 4.0)
    np.testing.assert_allclose(activations.squareplus(x), 2.0 / (r - x), rtol=1e-14)
    assert activations.squareplus(np.array([-1e8]))[0] > 0          # not 0 by cancellation
    small = np.array([1e-8, -1e-3, 0.05, 0.099])
    exact = [float(s) - math.tanh(float(s)) if abs(s) > 0.01 else
             s ** 3 / 3 - 2 * s ** 5 / 15 + 17 * s ** 7 / 315 for s in small]
    np.testing.assert_allclose(activations.tanh_shrink(small), exact, rtol=1e-11)


def test_tanh_shrink_matches_torch_in_float64(torch, rng):
    x = rng.normal(size=50)
    reference = torch.nn.functional.tanhshrink(torch.tensor(x)).numpy()
    np.testing.assert_allclose(activations.tanh_shrink(x), reference, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "threshold"])
def test_usable_by_name_in_a_dense_layer(name, rng):
    layer = glassnet.layers.Dense(4, activation=name)
    x = rng.normal(size=(3, 5)).astype("float32")
    y = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(y, getattr(activations, name)(x @ kernel + bias),
                               rtol=1e-6, atol=1e-6)
    assert glassnet.layers.Dense.from_config(layer.get_config()).get_config() == \
        layer.get_config()


def test_threshold_needs_its_arguments_as_in_keras():
    with pytest.raises(TypeError):
        activations.get("threshold")
    layer = glassnet.layers.Dense(2, activation=activations.Threshold(0.1, -1.0))
    restored = glassnet.layers.Dense.from_config(layer.get_config())
    assert restored.activation.get_config() == {"threshold": 0.1, "default_value": -1.0}


def test_a_model_trains_with_the_new_activations(rng):
    x = rng.normal(size=(32, 6)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    model = glassnet.Sequential([glassnet.Input((6,)), glassnet.layers.Dense(8, activation="mish"),
                                 glassnet.layers.Dense(6, activation="squareplus"),
                                 glassnet.layers.Dense(6, activation="hard_silu"),
                                 glassnet.layers.Dense(6, activation="sparse_plus"),
                                 glassnet.layers.Dense(1, activation="tanh_shrink")])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=3, verbose=0)
    assert model.predict(x, verbose=0).shape == (32, 1)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize("name", NAMES)
def test_serialize_and_deserialize_like_keras(name, keras):
    kwargs, _ = CASES[name]
    activation = make(name)
    config = activations.serialize(activation)
    restored = activations.deserialize(config)
    assert type(restored) is type(activation)
    assert restored.get_config() == activation.get_config()
    assert activations.get(config).get_config() == activation.get_config()
    if not kwargs:          # a built-in with its defaults is saved by its name, as in Keras
        keras_name = keras.activations.serialize(keras.activations.get(name))
        assert activations.serialize(activations.get(name)) == keras_name


def test_glu_rejects_an_odd_axis_length():
    with pytest.raises(ValueError, match="even"):
        activations.glu(np.ones((2, 5)))


def test_shrink_thresholds_must_be_non_negative():
    with pytest.raises(ValueError, match="threshold"):
        activations.HardShrink(-0.1)


@pytest.mark.parametrize("name", [n for n in NEW if n != "sparsemax"])
def test_on_the_tapes_tensors_values_and_gradients_match_the_class(name, rng):
    from glassnet import autodiff

    kwargs, kinks = CASES[name]
    x = away_from(rng.normal(scale=2.5, size=(3, 4)), kinks)
    dy = rng.normal(size=(3, 2) if name == "glu" else (3, 4))
    with autodiff.trace() as tape:
        leaf = tape.watch(x)
        y = getattr(activations, name)(leaf, **kwargs)
    tape.backward([(y, dy)])
    activation = make(name)
    np.testing.assert_allclose(y.value, activation.forward(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(leaf.grad, activation.backward(dy), rtol=1e-10, atol=1e-14)


def test_sparsemax_on_a_tensor_points_to_the_activation_layer():
    from glassnet import autodiff

    with autodiff.trace() as tape, pytest.raises(TypeError, match="Activation"):
        activations.sparsemax(tape.watch(np.ones((2, 3))))


def test_new_activations_in_a_functional_model(rng):
    inputs = glassnet.Input((6,))
    outputs = activations.mish(glassnet.layers.Dense(6)(inputs))
    outputs = activations.glu(outputs)                       # (None, 3)
    model = glassnet.Model(inputs, outputs)
    x = rng.normal(size=(4, 6)).astype("float32")
    kernel, bias = model.layers[1].get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               activations.glu(activations.mish(x @ kernel + bias)), rtol=1e-5)
