"""split_dataset on arrays: Keras' sizes, rounding and shuffle order."""

from __future__ import annotations

import random

import numpy as np
import pytest

from glassnet.utils import split_dataset


def test_sizes_as_fractions_and_counts():
    data = np.arange(10)
    left, right = split_dataset(data, left_size=0.8)
    assert left.tolist() == list(range(8)) and right.tolist() == [8, 9]
    left, right = split_dataset(data, right_size=3)
    assert len(left) == 7 and right.tolist() == [7, 8, 9]
    left, right = split_dataset(data, left_size=2, right_size=3)  # the middle is left out
    assert left.tolist() == [0, 1] and right.tolist() == [7, 8, 9]
    left, right = split_dataset(np.arange(5), left_size=0.5)  # round(2.5) = 2, as Keras
    assert len(left) == 2 and len(right) == 3


def test_structures_are_kept():
    x, y = np.arange(20).reshape(10, 2), np.arange(10)
    (x_left, y_left), (x_right, y_right) = split_dataset((x, y), left_size=0.6)
    assert x_left.shape == (6, 2) and y_right.tolist() == [6, 7, 8, 9]
    np.testing.assert_array_equal(x_left[:, 0] // 2, y_left)
    left, right = split_dataset({"a": x, "b": y}, right_size=0.2)
    assert set(left) == {"a", "b"} and right["b"].tolist() == [8, 9]
    left, right = split_dataset([x, y], left_size=0.5)
    assert isinstance(left, list) and len(left) == 2
    left, right = split_dataset([[1, 2], [3, 4], [5, 6]], left_size=1)  # samples, not arrays
    assert left.tolist() == [[1, 2]]


def test_shuffle_draws_the_order_keras_draws():
    data = np.arange(30)
    left, right = split_dataset(data, left_size=0.7, shuffle=True, seed=42)
    order = list(range(30))
    random.seed(42)  # Keras: random.seed(seed); random.shuffle(dataset_as_list)
    random.shuffle(order)
    assert left.tolist() == order[:21] and right.tolist() == order[21:]
    again, _ = split_dataset(data, left_size=0.7, shuffle=True, seed=42)
    np.testing.assert_array_equal(again, left)


@pytest.mark.parametrize("arguments, message", [
    ({}, "give left_size, right_size or both"),
    ({"left_size": 1.0}, "left_size: a fraction must lie in"),
    ({"left_size": 10}, "left_size: a count must lie in 1..9"),
    ({"left_size": 0.6, "right_size": 0.6}, "more than 1"),
    ({"left_size": 6, "right_size": 6}, "more than the 10"),
    ({"left_size": 0.01}, "left part of 10 samples would be empty"),
    ({"left_size": "half"}, "expected a float, an int or None"),
])
def test_bad_sizes(arguments, message):
    with pytest.raises((ValueError, TypeError), match=message):
        split_dataset(np.arange(10), **arguments)
    with pytest.raises(ValueError, match="same number of samples"):
        split_dataset((np.arange(3), np.arange(4)), left_size=1)
