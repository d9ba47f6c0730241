"""timeseries_dataset_from_array: Keras' docstring examples, served as a PyDataset."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.utils import PyDataset, timeseries_dataset_from_array


def test_keras_example_1_strides_and_sampling_rate():
    windows = timeseries_dataset_from_array(np.arange(99), None, sequence_length=10,
                                            sampling_rate=2, sequence_stride=3, batch_size=None)
    assert isinstance(windows, PyDataset)
    assert windows[0].tolist() == list(range(0, 20, 2))
    assert windows[1].tolist() == list(range(3, 23, 2))
    assert windows[-1].tolist() == list(range(78, 98, 2))  # the last 2 steps are dropped
    assert len(windows) == 27


def test_keras_example_2_next_step_targets():
    data = np.arange(100, dtype="float32")
    windows = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10,
                                            batch_size=32)
    x, y = windows[0]
    assert x.shape == (32, 10) and y.shape == (32,)
    np.testing.assert_array_equal(x[0], data[:10])
    assert y[0] == data[10] and y[5] == data[15]
    assert len(windows) == 3 and len(windows[2][0]) == 81 - 64


def test_keras_example_3_non_overlapping_windows():
    x_values, y_values = np.arange(100), np.arange(100) * 2
    inputs = timeseries_dataset_from_array(x_values, None, sequence_length=20,
                                           sequence_stride=20)
    targets = timeseries_dataset_from_array(y_values, None, sequence_length=20,
                                            sequence_stride=20)
    for x, y in zip(inputs, targets):
        np.testing.assert_array_equal(x[0], x_values[:20])
        np.testing.assert_array_equal(y[1], y_values[20:40])


def test_start_end_index_shuffle_and_fit(rng):
    data = rng.normal(size=(200, 3)).astype("float32")
    target = data[:, :1].sum(axis=1)
    windows = timeseries_dataset_from_array(data, target, sequence_length=5, batch_size=16,
                                            start_index=10, end_index=150)
    x, y = windows[0]
    np.testing.assert_array_equal(x[0], data[10:15])
    assert y[0] == target[10] and x.shape == (16, 5, 3)
    assert sum(len(batch[0]) for batch in windows) == 150 - 10 - 4
    shuffled = timeseries_dataset_from_array(data, target, sequence_length=5, shuffle=True,
                                             seed=3, batch_size=16)
    expected = np.arange(196)
    np.random.RandomState(3).shuffle(expected)
    np.testing.assert_array_equal(shuffled.start_positions, expected)
    model = gn.Sequential([gn.layers.Input((5, 3)), gn.layers.Flatten(), gn.layers.Dense(1)])
    model.compile("adam", "mse")
    assert len(model.fit(windows, epochs=2, verbose=0).history["loss"]) == 2


@pytest.mark.parametrize("arguments, message", [
    ({"sequence_stride": 0}, "sequence_stride"),
    ({"sampling_rate": 100}, "sampling_rate: must be lower than"),
    ({"start_index": 200}, "start_index"),
    ({"start_index": 50, "end_index": 40}, "end_index: must be higher"),
    ({"format": "torch"}, "format"),
])
def test_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        timeseries_dataset_from_array(np.arange(100), None, sequence_length=5, **arguments)
