"""`Input(shape, dtype="int32")`: integer and bool ids reach the model as integers (Keras'
InputLayer dtype), through fit, evaluate, predict and saving; float inputs are unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers


class Recorder(layers.Layer):
    """The identity, remembering the dtype of what it was given."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def forward(self, x, training=False):
        self.seen.append(np.asarray(x).dtype)
        return x

    def backward(self, dy, input_gradient=True):
        return dy


def ids_and_labels(rng, n=64, length=10, vocabulary=50):
    ids = rng.integers(1, vocabulary, (n, length))
    return ids, (ids[:, 0] > vocabulary // 2).astype("float32")


def test_sequential_with_an_int32_input_trains_on_integer_ids(rng):
    ids, y = ids_and_labels(rng)
    recorder = Recorder()
    model = gn.Sequential([layers.Input((10,), dtype="int32"), recorder,
                           layers.Embedding(50, 8), layers.Flatten(),
                           layers.Dense(1, activation="sigmoid")])
    assert model.input_dtype == "int32"
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, y, epochs=40, batch_size=16, verbose=0)
    assert set(recorder.seen) == {np.dtype("int32")}  # int64 ids cast to the Input's dtype
    assert history.history["accuracy"][-1] > 0.9  # the first id decides the label
    assert model.predict(ids[:3], verbose=0).dtype == np.float32
    assert model.evaluate(ids, y, verbose=0, return_dict=True)["accuracy"] > 0.9


def test_the_input_dtype_survives_saving(rng, tmp_path):
    ids, y = ids_and_labels(rng)
    model = gn.Sequential([layers.Input((10,), dtype="int32"), layers.Embedding(50, 4),
                           layers.Flatten(), layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(ids, y, epochs=1, verbose=0)
    assert model.get_config()["layers"][0]["class_name"] == "InputLayer"
    model.save(tmp_path / "ids.glassnet")
    loaded = gn.saving.load_model(tmp_path / "ids.glassnet")
    assert loaded.input_dtype == "int32"
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))


def test_functional_inputs_take_each_their_own_dtype(rng):
    ids, y = ids_and_labels(rng)
    words = layers.Input((10,), dtype="int64", name="words")
    flags = layers.Input((3,), dtype="bool", name="flags")
    scores = layers.Input((2,), name="scores")
    recorders = [Recorder() for _ in range(3)]
    merged = layers.Concatenate()([
        layers.Flatten()(layers.Embedding(50, 2)(recorders[0](words))),
        layers.Dense(2)(recorders[1](flags)), recorders[2](scores)])
    model = gn.Model([words, flags, scores], layers.Dense(1)(merged))
    assert words.dtype == "int64" and model.input_dtype == "int64"
    model.compile("adam", "mse")
    flags_data = rng.integers(0, 2, (64, 3)).astype(bool)
    model.fit([ids, flags_data, rng.normal(size=(64, 2))], y, epochs=1, verbose=0)
    assert [r.seen[0] for r in recorders] == [np.dtype("int64"), np.dtype(bool),
                                             np.dtype("float32")]


def test_float_inputs_are_still_cast_to_the_model_dtype(rng):
    recorder = Recorder()
    model = gn.Sequential([layers.Input((3,), dtype="float64"), recorder, layers.Dense(1)])
    assert model.input_dtype == "float32"
    model.compile("sgd", "mse")
    model.fit(rng.integers(0, 5, (8, 3)), np.zeros(8), epochs=1, verbose=0)
    assert recorder.seen == [np.dtype("float32")]


def test_bad_ids_and_dtypes_are_errors(rng):
    model = gn.Sequential([layers.Input((2,), dtype="int8"), layers.Embedding(50, 2),
                           layers.Flatten(), layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="takes int8; got values that are not whole"):
        model.fit(np.array([[1.5, 2.0]]), np.zeros(1), verbose=0)
    with pytest.raises(ValueError, match=r"takes int8 \[-128, 127\]; got values in \[1, 300\]"):
        model.predict(np.array([[1, 300]]), verbose=0)
    with pytest.raises(TypeError, match="float, integer or bool dtype"):
        layers.Input((2,), dtype="complex64")
    assert layers.Input((2,), dtype="uint8").dtype == "uint8"
