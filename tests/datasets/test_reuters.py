"""Reuters through Keras' file format (expected values from keras.datasets.reuters 3.15)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _dataset_files import npz_bytes, object_array, offline, register
from glassnet import datasets
from glassnet.datasets import reuters


@pytest.fixture
def folder(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    xs = [[1, 2], [3, 4, 5], [6], [2, 9, 1], [5, 5, 5, 5], [7]]
    register(monkeypatch, tmp_path, "reuters.npz",
             npz_bytes(x=object_array(xs), y=np.array([3, 4, 3, 1, 0, 45])))
    return tmp_path


@pytest.mark.parametrize("arguments, expected", [
    ({}, ([[1, 6, 7, 8], [1, 4, 5], [1, 5, 2, 4], [1, 9]], [4, 3, 1, 3],
          [[1, 8, 8, 8, 8], [1, 10]], [0, 45])),
    ({"test_split": 0.5, "num_words": 8}, ([[1, 6, 7, 2], [1, 4, 5], [1, 5, 2, 4]], [4, 3, 1],
                                           [[1, 2], [1, 2, 2, 2, 2], [1, 2]], [3, 0, 45])),
    ({"maxlen": 4, "seed": 0}, ([[1, 2], [1, 9]], [45, 3], [[1, 4, 5]], [3])),
])
def test_keras_arguments_give_keras_arrays(folder, arguments, expected):
    (x_train, y_train), (x_test, y_test) = reuters.load_data(**arguments, data_dir=folder)
    result = ([list(x) for x in x_train], y_train.tolist(), [list(x) for x in x_test],
              y_test.tolist())
    assert result == expected
    assert x_train.dtype == object and y_train.dtype == np.int64


def test_callable_module_label_names_and_word_index(folder, monkeypatch):
    (x_train, _), _ = datasets.reuters(data_dir=folder)
    assert len(x_train) == 4
    names = reuters.get_label_names()
    assert len(names) == 46 and names[3] == "earn" and names[-1] == "lead"
    register(monkeypatch, folder, "reuters_word_index.json", json.dumps({"the": 1}).encode())
    assert reuters.get_word_index(data_dir=folder) == {"the": 1}
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.5, data_dir=folder)
