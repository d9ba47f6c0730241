"""Fashion-MNIST (Zalando): 28x28 grey images of clothes in 10 classes, shaped as MNIST.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.fashion_mnist.load_data()
    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.fashion_mnist()   # the same

The original gzipped IDX files, read by `mnist.read_idx` (see `glassnet.datasets.mnist`).
The module is callable: `fashion_mnist(...)` is the function `mnist.fashion_mnist`.
"""

from __future__ import annotations

import os

from glassnet.datasets._callable import make_callable
from glassnet.datasets.mnist import FASHION_MNIST_CLASSES, fashion_mnist

CLASSES = FASHION_MNIST_CLASSES


def load_data(*, data_dir: str | os.PathLike | None = None,
              mmap_dir: str | os.PathLike | None = None):
    """Fashion-MNIST as `keras.datasets.fashion_mnist.load_data()` returns it.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x uint8 (n, 28, 28), y uint8 (n,) labels
        0..9 (names: `CLASSES`); n = 60000 and 10000.
    """
    return fashion_mnist(data_dir, mmap_dir)


__all__ = ["CLASSES", "fashion_mnist", "load_data"]

make_callable(__name__, fashion_mnist)
