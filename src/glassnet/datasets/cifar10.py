"""CIFAR-10: 60000 32x32 colour images in 10 classes, 50000 for training and 10000 for test.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.cifar10.load_data()
    >>> x_train.shape, x_train.dtype, y_train.shape, y_train.dtype
    ((50000, 32, 32, 3), dtype('uint8'), (50000, 1), dtype('uint8'))

Read from `cifar-10-binary.tar.gz` (SHA-256 checked; see `cifar` for the format and why not
Keras' pickled "python version"). The module is callable: `cifar10()` is `load_data()`.
"""

from __future__ import annotations

import os

import numpy as np

from glassnet.datasets import cifar
from glassnet.datasets._callable import make_callable
from glassnet.datasets._files import fetch

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
_FOLDER = "cifar-10-batches-bin/"
_TRAIN = tuple(f"{_FOLDER}data_batch_{i}.bin" for i in range(1, 6))
_TEST = f"{_FOLDER}test_batch.bin"


def load_data(*, data_dir: str | os.PathLike | None = None):
    """CIFAR-10 as `keras.datasets.cifar10.load_data()` returns it.

    Args:
        data_dir: a folder searched first for `cifar-10-binary.tar.gz` (glassnet's).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x uint8 (n, 32, 32, 3), pixels 0..255;
        y uint8 (n, 1), labels 0..9 (names: `CLASSES`); n = 50000 and 10000.
    """
    path = fetch("cifar-10-binary.tar.gz", data_dir)
    members = cifar.read_members(path, _TRAIN + (_TEST,), label_bytes=1)
    train = np.concatenate([members[name] for name in _TRAIN])
    test = members[_TEST]
    return ((cifar.images(train, 1), cifar.labels(train, 0, 10, str(path))),
            (cifar.images(test, 1), cifar.labels(test, 0, 10, str(path))))


__all__ = ["CLASSES", "load_data"]

make_callable(__name__, load_data)
