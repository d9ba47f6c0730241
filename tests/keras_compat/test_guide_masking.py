"""The features of Keras' guide "Understanding masking & padding", in Keras-style code on
glassnet; padding, masks and masked recurrent outputs are compared with Keras on torch."""

import numpy as np
import pytest
from _keras_compat import assert_close, same_weights

import glassnet as keras
from glassnet import layers, ops

RAW_INPUTS = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


@pytest.mark.parametrize("kwargs", [
    {}, {"padding": "post"}, {"maxlen": 4}, {"maxlen": 4, "truncating": "post"},
    {"maxlen": 8, "padding": "post", "value": -1}, {"dtype": "float32", "value": 0.5},
])
def test_pad_sequences_matches_keras(keras_ref, kwargs):
    ours = keras.utils.pad_sequences(RAW_INPUTS, **kwargs)
    theirs = keras_ref.utils.pad_sequences(RAW_INPUTS, **kwargs)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_embedding_with_mask_zero_makes_keras_mask(keras_ref):
    padded = keras.utils.pad_sequences(RAW_INPUTS, padding="post")
    embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    assert embedding(padded).shape == (3, 6, 16)
    reference = keras_ref.layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    np.testing.assert_array_equal(embedding.compute_mask(padded),
                                  reference.compute_mask(padded).numpy())


def test_masking_layer_masks_all_zero_steps_like_keras(keras_ref, rng):
    unmasked = rng.normal(size=(3, 6, 4)).astype("float32")
    unmasked[0, 3:] = 0.0
    unmasked[1, 5:] = 0.0
    unmasked[2, 2, 0] = 0.0                          # one zero is not a masked step
    ours, theirs = layers.Masking(), keras_ref.layers.Masking()
    np.testing.assert_array_equal(ours.compute_mask(unmasked),
                                  theirs.compute_mask(unmasked).numpy())
    assert_close(ours(unmasked), theirs(unmasked).detach().numpy())


def masked_lstm(lib, functional):
    if functional:
        inputs = lib.Input(shape=(None,), dtype="int32")
        x = lib.layers.Embedding(input_dim=50, output_dim=8, mask_zero=True)(inputs)
        return lib.Model(inputs, lib.layers.LSTM(6)(x))
    return lib.Sequential([lib.layers.Embedding(input_dim=50, output_dim=8, mask_zero=True),
                           lib.layers.LSTM(6)])


@pytest.mark.parametrize("functional", [False, True])
def test_the_mask_reaches_the_lstm_as_in_keras(keras_ref, functional):
    padded = keras.utils.pad_sequences([[5, 7, 9], [3, 1, 4, 1, 5, 9], [2, 6]],
                                       padding="post")
    ours, theirs = masked_lstm(keras, functional), masked_lstm(keras_ref, functional)
    ours(padded), theirs(padded)
    same_weights(ours, theirs)
    result = ours(padded)
    assert_close(result, theirs(padded).detach().numpy())
    # padding is skipped: the short sequence alone gives the same last state
    assert_close(result[2], ours(np.array([[2, 6]]))[0])


def test_a_mask_passed_by_hand_in_a_custom_layer():
    class MyLayer(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = layers.Embedding(input_dim=50, output_dim=8, mask_zero=True)
            self.lstm = layers.LSTM(6)

        def call(self, inputs):
            x = self.embedding(inputs)
            mask = self.embedding.compute_mask(inputs)
            return self.lstm(x, mask=mask)

    layer = MyLayer()
    padded = keras.utils.pad_sequences([[5, 7, 9], [2, 6]], padding="post")
    out = layer(padded)
    assert out.shape == (2, 6)
    assert_close(out[1], layer(np.array([[2, 6]]))[0])


def test_supports_masking_passes_the_mask_on():
    class MyActivation(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return ops.relu(inputs)

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=50, output_dim=8, mask_zero=True)(inputs)
    x = MyActivation()(x)
    model = keras.Model(inputs, layers.LSTM(6)(x))
    padded = keras.utils.pad_sequences([[5, 7, 9], [2, 6]], padding="post")
    assert_close(model(padded)[1], model(np.array([[2, 6]]))[0])


def test_a_layer_that_splits_the_mask_with_its_output():
    class TemporalSplit(layers.Layer):
        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            if mask is None:
                return None
            return ops.split(mask, 2, axis=1)

    embedding = layers.Embedding(input_dim=50, output_dim=4, mask_zero=True)
    padded = keras.utils.pad_sequences([[5, 7, 9], [2, 6, 1, 1]], maxlen=6, padding="post")
    split = TemporalSplit()
    first, second = split(embedding(padded))
    assert first.shape == second.shape == (2, 3, 4)
    first_mask, second_mask = split.compute_mask(embedding(padded),
                                                 embedding.compute_mask(padded))
    np.testing.assert_array_equal(first_mask, [[True] * 3, [True] * 3])
    np.testing.assert_array_equal(second_mask, [[False] * 3, [True, False, False]])


class CustomEmbedding(layers.Layer):
    def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.mask_zero = mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer="random_normal", dtype="float32")

    def call(self, inputs):
        return ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)


def test_a_custom_layer_makes_a_mask_that_the_next_layers_use():
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = CustomEmbedding(10, 8, mask_zero=True)(inputs)
    model = keras.Model(inputs, layers.GRU(5)(x))
    ids = np.array([[3, 4, 5, 0, 0], [1, 2, 0, 0, 0]])
    layer = CustomEmbedding(10, 32, mask_zero=True)
    assert layer(ids).shape == (2, 5, 32)
    np.testing.assert_array_equal(layer.compute_mask(ids), ids != 0)
    assert_close(model(ids)[1], model(ids[1:, :2])[0])


class TemporalSoftmax(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        assert mask is not None
        broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
        inputs_exp = ops.exp(inputs) * broadcast_float_mask
        inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=1, keepdims=True)
        return inputs_exp / inputs_sum


def test_a_layer_receives_the_mask_in_call():
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
    x = layers.Dense(1)(x)
    model = keras.Model(inputs, TemporalSoftmax()(x))
    ids = np.array([[3, 4, 5, 0, 0], [1, 2, 7, 8, 9]])
    weights = model(ids)[..., 0]                     # (2, 5): a softmax over the real steps
    np.testing.assert_allclose(weights.sum(axis=1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(weights[0, 3:], [0.0, 0.0])
    assert (weights[0, :3] > 0).all() and (weights[1] > 0).all()
