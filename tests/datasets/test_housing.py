"""Boston and California housing from Keras' .npz format, split as Keras splits them."""

from __future__ import annotations

import numpy as np
import pytest

from _dataset_files import npz_bytes, offline, register
from glassnet import datasets
from glassnet.datasets import DatasetError, boston_housing, california_housing


@pytest.fixture
def folder(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    register(monkeypatch, tmp_path, "boston_housing.npz",
             npz_bytes(x=np.arange(130.0).reshape(10, 13), y=np.arange(10.0)))
    rows = np.arange(700 * 8, dtype="float32").reshape(700, 8)
    register(monkeypatch, tmp_path, "california_housing.npz",
             npz_bytes(x=rows, y=np.arange(700, dtype="float32")))
    return tmp_path


# keras.datasets.boston_housing.load_data 3.15 on the same file: y of the rows kept.
@pytest.mark.parametrize("arguments, train, test", [
    ({}, [9, 3, 6, 1, 0, 7, 4, 8], [2, 5]),
    ({"test_split": 0.3, "seed": 2}, [4, 1, 5, 0, 7, 2, 3], [6, 9, 8]),
])
def test_boston_split_matches_keras(folder, arguments, train, test):
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(**arguments,
                                                                    data_dir=folder)
    assert y_train.tolist() == train and y_test.tolist() == test
    assert x_train.shape == (len(train), 13) and x_train.dtype == np.float64
    np.testing.assert_array_equal(x_test[:, 0], np.array(test) * 13)  # rows stay whole


def test_california_versions_and_split(folder):
    (x_train, y_train), (x_test, y_test) = california_housing.load_data(data_dir=folder)
    assert x_train.shape == (560, 8) and x_test.shape == (140, 8)
    assert x_train.dtype == np.float32 and y_train.shape == (560,)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(700))
    (x_small, y_small), (x_small_test, _) = datasets.california_housing("small",
                                                                        data_dir=folder)
    assert len(x_small) == 480 and len(x_small_test) == 120 and y_small.max() < 600
    again = california_housing.load_data(data_dir=folder)
    np.testing.assert_array_equal(again[0][1], y_train)  # seed 113 every time


def test_arguments_are_checked_as_keras_does(folder):
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=1.0, data_dir=folder)
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium", data_dir=folder)


def test_a_table_of_the_wrong_shape_is_refused(monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path)
    register(monkeypatch, tmp_path, "boston_housing.npz",
             npz_bytes(x=np.zeros((10, 8)), y=np.zeros(10)))
    with pytest.raises(DatasetError, match=r"expected \(n, 13\) and \(n,\)"):
        boston_housing.load_data(data_dir=tmp_path)
