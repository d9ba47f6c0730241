"""Data preparation: splitting, one-hot labels and feature scaling (tabular.py), and the
names Keras 3 keeps under `keras.preprocessing`.

    >>> x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=0)
    >>> from glassnet.preprocessing.sequence import pad_sequences       # as in Keras
    >>> glassnet.preprocessing.timeseries_dataset_from_array(data, targets, 10)

    tabular.py    train_test_split, to_categorical, StandardScaler, MinMaxScaler
    sequence.py   `keras.preprocessing.sequence`: pad_sequences
"""

from __future__ import annotations

from glassnet.preprocessing.tabular import (
    MinMaxScaler,
    StandardScaler,
    to_categorical,
    train_test_split,
)

# Keras 3's `keras.preprocessing` names that live in glassnet.utils: imported on first use,
# as glassnet.utils itself imports to_categorical from here.
_FROM_UTILS = ("image_dataset_from_directory", "timeseries_dataset_from_array")


def __getattr__(name: str):
    """`preprocessing.sequence` and Keras' dataset builders, imported on first use."""
    import importlib

    if name == "sequence":
        return importlib.import_module("glassnet.preprocessing.sequence")
    if name in _FROM_UTILS:
        return getattr(importlib.import_module("glassnet.utils"), name)
    raise AttributeError(f"module 'glassnet.preprocessing' has no attribute {name!r}")


__all__ = ["MinMaxScaler", "StandardScaler", "image_dataset_from_directory",
           "timeseries_dataset_from_array", "to_categorical", "train_test_split"]
