"""Datasets: the seed posts' data, MNIST-style benchmarks, and loaders for your own tables.

    >>> from glassnet import datasets
    >>> x, y = datasets.tiny_table()                            # (4, 3), (4, 1)
    >>> (x_train, y_train), (x_test, y_test) = datasets.mnist()  # as keras.datasets.mnist

Real datasets are looked up in `data_dir`, `$GLASSNET_DATA`, then `~/.cache/glassnet`
(layout: semeion.data, mnist/*.gz, fashion-mnist/*.gz), downloaded there if missing, and
always checked against their SHA-256; problems raise `DatasetError`.
"""

from glassnet.datasets._files import DatasetError, cache_dir
from glassnet.datasets.mnist import (
    FASHION_MNIST_CLASSES,
    as_memmap,
    fashion_mnist,
    mnist,
    read_idx,
)
from glassnet.datasets.semeion import semeion
from glassnet.datasets.synthetic import bmi, sqrt_mean, tiny_table
from glassnet.datasets.tabular import TableNames, load_csv, load_npz

__all__ = [
    "FASHION_MNIST_CLASSES",
    "DatasetError",
    "TableNames",
    "as_memmap",
    "bmi",
    "cache_dir",
    "fashion_mnist",
    "load_csv",
    "load_npz",
    "mnist",
    "read_idx",
    "semeion",
    "sqrt_mean",
    "tiny_table",
]
