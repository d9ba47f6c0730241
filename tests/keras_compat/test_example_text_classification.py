"""A text classifier over padded word ids, as in Keras' IMDB examples: Embedding with
mask_zero, a bidirectional LSTM and a sigmoid, on synthetic "reviews" whose label depends
on which of a few sentiment words they hold."""

import numpy as np
import pytest
from _keras_compat import assert_close, same_weights

import glassnet as keras

VOCABULARY = 100
POSITIVE, NEGATIVE = np.arange(2, 7), np.arange(7, 12)     # 0 pads, 1 is out-of-vocabulary


@pytest.fixture
def keras_ref(keras):
    """Keras 3 on torch (tests/conftest.py's fixture), beside `import glassnet as keras`."""
    return keras


def reviews(count, rng):
    """Word-id lists of 4 to 20 neutral words with 1-3 sentiment words; label 1 when the
    positive ones outnumber the negative ones."""
    texts, labels = [], []
    for _ in range(count):
        words = list(rng.integers(12, VOCABULARY, rng.integers(4, 21)))
        label = int(rng.integers(0, 2))
        strong, weak = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        sentiment = list(rng.choice(strong, 2)) + list(rng.choice(weak, rng.integers(0, 2)))
        for word in sentiment:
            words.insert(int(rng.integers(0, len(words) + 1)), int(word))
        texts.append(words)
        labels.append(label)
    return texts, np.array(labels)


def classifier(lib):
    inputs = lib.Input(shape=(None,), dtype="int32")
    x = lib.layers.Embedding(VOCABULARY, 16, mask_zero=True)(inputs)
    x = lib.layers.Bidirectional(lib.layers.LSTM(8))(x)
    outputs = lib.layers.Dense(1, activation="sigmoid")(x)
    return lib.Model(inputs, outputs)


def test_an_embedding_and_lstm_classifier_learns_padded_reviews(rng):
    texts, labels = reviews(600, rng)
    x = keras.utils.pad_sequences(texts, maxlen=24, padding="post")
    keras.utils.set_random_seed(0)
    model = classifier(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x[:500], labels[:500], batch_size=32, epochs=8,
                        validation_data=(x[500:], labels[500:]), verbose=0)
    assert history.history["val_accuracy"][-1] > 0.85            # chance is about 0.5
    # the mask hides the padding: more of it changes no prediction
    longer = keras.utils.pad_sequences(texts[500:520], maxlen=40, padding="post")
    assert_close(model.predict(longer, verbose=0), model.predict(x[500:520], verbose=0),
                 rtol=1e-5, atol=1e-6)


def test_the_masked_bidirectional_classifier_matches_keras(keras_ref, rng):
    texts, _ = reviews(8, rng)
    x = keras.utils.pad_sequences(texts, padding="post")
    ours, theirs = classifier(keras), classifier(keras_ref)
    same_weights(ours, theirs)
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
