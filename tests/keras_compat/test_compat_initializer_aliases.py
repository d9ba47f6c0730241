"""Initializer aliases: keras.initializers' function-style names
(glorot_uniform, he_normal, zeros, ...) as classes, as Keras exports them."""

import pytest

import glassnet as keras

ALIASES = ["constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
           "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal",
           "random_uniform", "truncated_normal", "variance_scaling", "zeros", "identity"]


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


@pytest.mark.parametrize("alias", ALIASES)
def test_an_alias_names_the_same_class_as_in_keras(keras_ref, alias):
    ours = getattr(keras.initializers, alias)
    theirs = getattr(keras_ref.initializers, alias)
    assert ours.__name__ == theirs.__name__
    initializer = ours() if alias != "constant" else ours(0.5)
    values = initializer(shape=(4, 4))
    assert values.shape == (4, 4)
