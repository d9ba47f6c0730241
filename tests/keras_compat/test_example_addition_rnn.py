"""Sequence to sequence learning for performing addition, as in Keras' code examples: an
LSTM encoder, RepeatVector, an LSTM decoder and a softmax per output character."""

import numpy as np

import glassnet as keras
from glassnet import layers

DIGITS = 2
MAXLEN = DIGITS + 1 + DIGITS                    # "12+34"
CHARS = "0123456789+ "


class CharacterTable:
    """One-hot encoding of strings over CHARS, and back."""

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def encode(self, text, rows):
        x = np.zeros((rows, len(self.chars)), dtype="float32")
        for i, c in enumerate(text):
            x[i, self.index[c]] = 1.0
        return x

    def decode(self, x):
        return "".join(self.chars[i] for i in x.argmax(axis=-1))


def addition_data(count, rng, table):
    """(questions, answers): reversed "a+b" padded to MAXLEN, "a+b" padded to DIGITS + 1."""
    a = rng.integers(0, 10 ** DIGITS, count)
    b = rng.integers(0, 10 ** DIGITS, count)
    questions = [f"{p}+{q}".ljust(MAXLEN)[::-1] for p, q in zip(a, b)]
    answers = [str(p + q).ljust(DIGITS + 1) for p, q in zip(a, b)]
    x = np.stack([table.encode(q, MAXLEN) for q in questions])
    y = np.stack([table.encode(s, DIGITS + 1) for s in answers])
    return x, y


def test_an_lstm_encoder_decoder_learns_to_add(rng):
    table = CharacterTable(CHARS)
    x, y = addition_data(3000, rng, table)
    assert x.shape == (3000, MAXLEN, len(CHARS)) and y.shape == (3000, DIGITS + 1, len(CHARS))
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(MAXLEN, len(CHARS))),
        layers.LSTM(64),
        layers.RepeatVector(DIGITS + 1),
        layers.LSTM(64, return_sequences=True),
        layers.Dense(len(CHARS), activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(0.01),
                  metrics=["accuracy"])
    history = model.fit(x[:2500], y[:2500], batch_size=64, epochs=15, verbose=0,
                        validation_data=(x[2500:], y[2500:]))
    # per character; a constant guess of the most common character scores about 0.35
    assert history.history["val_accuracy"][-1] > 0.7
    guesses = [table.decode(row) for row in model.predict(x[2500:], verbose=0)]
    answers = [table.decode(row) for row in y[2500:]]
    assert all(len(g) == DIGITS + 1 for g in guesses)
    # whole sums right: far above the 1 in 199 of a guess
    assert np.mean([g == a for g, a in zip(guesses, answers)]) > 0.3
