"""Keras' functional merges (`add`, `concatenate`, `dot`, ...) and the Dot layer: values
against Keras 3.15 on its torch backend, float64 gradient checks, shapes, configs, errors."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers

FUNCTIONS = ["add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate"]


def check_list_layer(layer, xs, seed=0):
    """Largest relative error of backward's dx_i against central differences of Σ y · dy."""
    xs = [np.array(x, dtype=np.float64) for x in xs]
    dy = np.random.default_rng(seed).standard_normal(np.shape(layer(xs)))
    layer.forward(xs)
    dxs = layer.backward(dy.copy())
    errors = []
    for x, dx in zip(xs, dxs):
        assert dx.shape == x.shape
        numeric = gradcheck.numerical_gradient(lambda: float(np.sum(layer.forward(xs) * dy)),
                                               x, range(x.size), 1e-6)
        errors.append(gradcheck.relative_error(np.asarray(dx, dtype=np.float64), numeric))
    return max(errors)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functional_merges_match_keras_on_arrays_and_in_graphs(keras, name, rng):
    count = 2 if name == "subtract" else 3
    xs = [rng.standard_normal((4, 5)).astype("float32") for _ in range(count)]
    expected = keras.ops.convert_to_numpy(getattr(keras.layers, name)(xs))
    np.testing.assert_allclose(getattr(layers, name)(xs), expected, rtol=1e-6, atol=1e-6)
    inputs = [layers.Input(shape=(5,)) for _ in range(count)]
    out = getattr(layers, name)(inputs, name=f"my_{name}")
    model = gn.Model(inputs, out)
    assert model.layers[-1].name == f"my_{name}"
    np.testing.assert_allclose(model.predict(xs, verbose=0), expected, rtol=1e-6, atol=1e-6)


def test_concatenate_takes_its_axis(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    np.testing.assert_array_equal(layers.concatenate([a, b], axis=1),
                                  np.concatenate([a, b], axis=1))
    t = layers.concatenate([layers.Input(shape=(3, 4)), layers.Input(shape=(5, 4))], axis=-2)
    assert t.shape == (None, 8, 4)


CASES = [((4, 6), (4, 6), 1), ((4, 6), (4, 6), -1), ((2, 3, 5), (2, 4, 5), 2),
         ((2, 3, 5), (2, 3, 4), 1), ((2, 3, 5), (2, 5, 4), (2, 1)),
         ((2, 3, 4, 5), (2, 5, 6), (3, 1)), ((2, 3, 5), (2, 5), (2, 1))]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("shape1,shape2,axes", CASES)
def test_dot_matches_keras(keras, shape1, shape2, axes, normalize, rng):
    x = rng.standard_normal(shape1).astype("float32")
    y = rng.standard_normal(shape2).astype("float32")
    expected = keras.ops.convert_to_numpy(
        keras.layers.Dot(axes=axes, normalize=normalize)([x, y]))
    ours = layers.dot([x, y], axes=axes, normalize=normalize)
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)
    assert layers.Dot(axes, normalize).compute_output_shape(
        [(None,) + shape1[1:], (None,) + shape2[1:]]) == (None,) + expected.shape[1:]


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("shape1,shape2,axes", CASES)
def test_dot_gradients(shape1, shape2, axes, normalize, rng):
    xs = [rng.standard_normal(shape1), rng.standard_normal(shape2)]
    assert check_list_layer(layers.Dot(axes=axes, normalize=normalize), xs) < 1e-6


def test_dot_normalized_is_the_cosine_similarity_and_trains_in_a_model(rng):
    a, b = layers.Input(shape=(6,)), layers.Input(shape=(6,))
    sim = layers.dot([layers.Dense(4, name="ea")(a), layers.Dense(4, name="eb")(b)], axes=1,
                     normalize=True)
    model = gn.Model([a, b], sim)
    xa, xb = rng.standard_normal((32, 6)), rng.standard_normal((32, 6))
    ea, eb = model.get_layer("ea")(xa), model.get_layer("eb")(xb)
    cosine = (ea * eb).sum(1) / np.linalg.norm(ea, axis=1) / np.linalg.norm(eb, axis=1)
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0)[:, 0], cosine, atol=1e-6)
    target = np.sign(xa[:, :1] * xb[:, :1])
    model.compile(optimizer=gn.optimizers.Adam(0.05), loss="mse")
    history = model.fit([xa, xb], target, epochs=40, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_dot_config_round_trip_and_errors():
    layer = layers.Dot(axes=[1, 2], normalize=True, name="d")
    again = layers.Dot.from_config(layer.get_config())
    assert again.get_config() == layer.get_config() == {
        **layer.get_config(), "axes": [1, 2], "normalize": True}
    with pytest.raises(TypeError, match="axes"):
        layers.Dot(axes="1")
    with pytest.raises(ValueError, match="two elements"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        layers.dot([layers.Input(shape=(3,)), layers.Input(shape=(4,))], axes=1)
    with pytest.raises(ValueError, match="batch axis"):
        layers.Dot(axes=0)([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.dot([np.ones((2, 3))] * 3, axes=1)


def test_a_model_with_dot_goes_to_keras_and_back(keras, tmp_path, rng):
    a, b = layers.Input(shape=(3, 4)), layers.Input(shape=(5, 4))
    model = gn.Model([a, b], layers.dot([a, layers.Dense(4)(b)], axes=2, normalize=True))
    model.save(tmp_path / "dot.keras")
    theirs = keras.saving.load_model(tmp_path / "dot.keras")
    xs = [rng.standard_normal((2, 3, 4)).astype("float32"),
          rng.standard_normal((2, 5, 4)).astype("float32")]
    np.testing.assert_allclose(theirs.predict(xs, verbose=0), model.predict(xs, verbose=0),
                               atol=1e-6)
    theirs.save(tmp_path / "back.keras")
    np.testing.assert_array_equal(gn.load_model(tmp_path / "back.keras").predict(xs, verbose=0),
                                  model.predict(xs, verbose=0))
