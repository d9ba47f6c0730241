"""IMDB through Keras' file format: Keras' arguments give Keras' arrays (expected values
below were produced by keras.datasets.imdb.load_data 3.15 on the same small file)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _dataset_files import npz_bytes, object_array, offline, register
from glassnet import datasets
from glassnet.datasets import DatasetError, imdb

X_TRAIN = [[1, 2, 3], [4, 5], [6], [7, 8, 9, 10]]
X_TEST = [[2, 2], [11, 1, 3]]


@pytest.fixture
def folder(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    data = npz_bytes(x_train=object_array(X_TRAIN), y_train=np.array([0, 1, 0, 1]),
                     x_test=object_array(X_TEST), y_test=np.array([1, 0]))
    register(monkeypatch, tmp_path, "imdb.npz", data)
    return tmp_path


def lists(data):
    (x_train, y_train), (x_test, y_test) = data
    return ([list(x) for x in x_train], y_train.tolist(), [list(x) for x in x_test],
            y_test.tolist())


@pytest.mark.parametrize("arguments, expected", [
    ({}, ([[1, 10, 11, 12, 13], [1, 9], [1, 4, 5, 6], [1, 7, 8]], [1, 0, 0, 1],
          [[1, 2, 4, 6], [1, 5, 5]], [0, 1])),  # 14, the largest id, becomes oov (Keras' rule)
    ({"num_words": 8, "skip_top": 5}, ([[2, 2, 2, 2, 2], [2, 2], [2, 2, 5, 6], [2, 7, 2]],
                                       [1, 0, 0, 1], [[2, 2, 2, 6], [2, 5, 5]], [0, 1])),
    ({"maxlen": 4}, ([[1, 2], [1, 7, 8]], [0, 1], [[1, 5, 5]], [1])),
    ({"start_char": None, "oov_char": None, "index_from": 0, "num_words": 5},
     ([[], [], [1, 2, 3], [4]], [1, 0, 0, 1], [[1, 3], [2, 2]], [0, 1])),
    ({"seed": 1}, ([[1, 10, 11, 12, 13], [1, 9], [1, 4, 5, 6], [1, 7, 8]], [1, 0, 0, 1],
                   [[1, 5, 5], [1, 2, 4, 6]], [1, 0])),
])
def test_keras_arguments_give_keras_arrays(folder, arguments, expected):
    result = imdb.load_data(**arguments, data_dir=folder)
    assert lists(result) == expected
    (x_train, y_train), _ = result
    assert x_train.dtype == object and x_train.ndim == 1 and y_train.dtype == np.int64


def test_module_is_callable_and_loads_by_path(folder, tmp_path):
    assert lists(datasets.imdb(data_dir=folder)) == lists(imdb.load_data(data_dir=folder))
    moved = tmp_path / "elsewhere.npz"
    moved.write_bytes((folder / "imdb.npz").read_bytes())
    assert lists(imdb.load_data(path=moved)) == lists(imdb.load_data(data_dir=folder))


def test_bad_arguments_and_empty_results_are_errors(folder):
    with pytest.raises(ValueError, match="maxlen=2"):
        imdb.load_data(maxlen=2, data_dir=folder)
    with pytest.raises(ValueError, match="skip_top"):
        imdb.load_data(skip_top=-1, data_dir=folder)
    with pytest.warns(UserWarning, match="nb_words"):
        imdb.load_data(nb_words=10, data_dir=folder)


def test_a_file_of_the_wrong_shape_is_refused(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    data = npz_bytes(x_train=np.zeros((4, 3), "int64"), y_train=np.zeros(4, "int64"),
                     x_test=object_array(X_TEST), y_test=np.zeros(2, "int64"))
    register(monkeypatch, tmp_path, "imdb.npz", data)
    with pytest.raises(DatasetError, match="expected an object array of word-id lists"):
        imdb.load_data(data_dir=tmp_path)
    data = npz_bytes(x_train=object_array(X_TRAIN), y_train=np.zeros(3, "int64"),
                     x_test=object_array(X_TEST), y_test=np.zeros(2, "int64"))
    register(monkeypatch, tmp_path, "imdb.npz", data)
    with pytest.raises(DatasetError, match="one integer label per sequence"):
        imdb.load_data(data_dir=tmp_path)


def test_word_index(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    register(monkeypatch, tmp_path, "imdb_word_index.json",
             json.dumps({"the": 1, "and": 2}).encode())
    assert imdb.get_word_index(data_dir=tmp_path) == {"the": 1, "and": 2}
    register(monkeypatch, tmp_path, "imdb_word_index.json", b'{"the": "1"}')
    with pytest.raises(DatasetError, match="integer ranks"):
        imdb.get_word_index(data_dir=tmp_path)


def test_missing_file_says_where_to_get_it(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    with pytest.raises(DatasetError, match="tf-keras-datasets/imdb.npz"):
        imdb.load_data(data_dir=tmp_path)
