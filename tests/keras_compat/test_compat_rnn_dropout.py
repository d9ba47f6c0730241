"""RNN dropout: dropout and recurrent_dropout on SimpleRNN / LSTM / GRU,
as Keras' text examples use them: active in training, off in inference."""

import numpy as np
import pytest
from _keras_compat import assert_close, same_weights

import glassnet as keras
from glassnet import layers


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


@pytest.mark.parametrize("name", ["SimpleRNN", "LSTM", "GRU"])
def test_inference_ignores_rnn_dropout_as_in_keras(keras_ref, rng, name):
    x = rng.normal(size=(3, 5, 4)).astype("float32")
    ours = keras.Sequential([keras.Input(shape=(5, 4)),
                             getattr(layers, name)(6, dropout=0.3, recurrent_dropout=0.3)])
    theirs = keras_ref.Sequential([keras_ref.Input(shape=(5, 4)),
                                   getattr(keras_ref.layers, name)(6, dropout=0.3,
                                                                   recurrent_dropout=0.3)])
    same_weights(ours, theirs)
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    training = ours.layers[0](x, training=True)
    assert not np.allclose(training, ours.predict(x, verbose=0))


def test_an_lstm_with_dropout_trains(rng):
    x = rng.normal(size=(64, 6, 3)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int64")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(6, 3)),
                              layers.LSTM(8, dropout=0.2, recurrent_dropout=0.2),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.75
