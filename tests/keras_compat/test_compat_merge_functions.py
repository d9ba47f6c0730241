"""Merge functions: keras.layers.add, concatenate, average, maximum,
minimum, multiply, subtract, dot as functions, as the Functional guide writes a ResNet."""

import numpy as np
import pytest
from _keras_compat import assert_close

import glassnet as keras
from glassnet import layers


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


@pytest.mark.parametrize("name, kwargs", [
    ("add", {}), ("subtract", {}), ("multiply", {}), ("average", {}), ("maximum", {}),
    ("minimum", {}), ("concatenate", {"axis": -1}), ("concatenate", {"axis": 1}),
])
def test_merge_functions_on_arrays_match_keras(keras_ref, rng, name, kwargs):
    a, b = rng.normal(size=(2, 3, 4)).astype("float32")
    a, b = a[None].repeat(2, 0), b[None].repeat(2, 0)
    ours = getattr(layers, name)([a, b], **kwargs)
    theirs = getattr(keras_ref.layers, name)([a, b], **kwargs)
    assert_close(ours, theirs.detach().numpy())


def test_a_toy_resnet_written_with_add(rng):
    inputs = keras.Input(shape=(8, 8, 3))
    x = layers.Conv2D(4, 3, activation="relu", padding="same")(inputs)
    y = layers.Conv2D(4, 3, activation="relu", padding="same")(x)
    merged = layers.add([x, y])
    model = keras.Model(inputs, layers.Dense(2)(layers.GlobalAveragePooling2D()(merged)))
    assert model(rng.normal(size=(2, 8, 8, 3)).astype("float32")).shape == (2, 2)
    assert isinstance(model.layers[-3], layers.Add)


def test_concatenate_joins_symbolic_branches():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(5,))
    joined = layers.concatenate([a, b])
    assert joined.shape == (None, 8)
    model = keras.Model([a, b], joined)
    assert_close(model([np.ones((1, 3)), np.zeros((1, 5))]), [[1, 1, 1, 0, 0, 0, 0, 0]])
