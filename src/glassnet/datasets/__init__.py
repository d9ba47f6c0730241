"""Datasets: Keras' loaders, the seed posts' data, and loaders for your own tables.

    >>> from glassnet import datasets
    >>> (x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()  # as in Keras
    >>> (x_train, y_train), (x_test, y_test) = datasets.mnist()            # the same
    >>> x, y = datasets.tiny_table()                                       # (4, 3), (4, 1)

Keras' modules, each with Keras' `load_data` (same arguments, shapes and dtypes; every module
is also callable): `mnist`, `fashion_mnist`, `cifar10`, `cifar100`, `imdb` and `reuters` (with
`get_word_index`; `reuters.get_label_names`), `boston_housing`, `california_housing`.

Files are looked up in `data_dir`, `$GLASSNET_DATA`, then `~/.cache/glassnet` (layout:
semeion.data, mnist/*.gz, fashion-mnist/*.gz, and Keras' names: imdb.npz, reuters.npz,
*_word_index.json, boston_housing.npz, california_housing.npz, cifar-10-binary.tar.gz,
cifar-100-binary.tar.gz), downloaded there if missing, and always checked against their
checksum; nothing is ever unpickled (see `keras_npz` and `cifar`). Problems raise
`DatasetError`.
"""

from glassnet.datasets import (
    boston_housing,
    california_housing,
    cifar10,
    cifar100,
    fashion_mnist,
    imdb,
    mnist,
    reuters,
)
from glassnet.datasets._files import DatasetError, cache_dir
from glassnet.datasets.mnist import FASHION_MNIST_CLASSES, as_memmap, read_idx
from glassnet.datasets.semeion import semeion
from glassnet.datasets.synthetic import bmi, sqrt_mean, tiny_table
from glassnet.datasets.tabular import TableNames, load_csv, load_npz

__all__ = [
    "FASHION_MNIST_CLASSES",
    "DatasetError",
    "TableNames",
    "as_memmap",
    "bmi",
    "boston_housing",
    "california_housing",
    "cache_dir",
    "cifar10",
    "cifar100",
    "fashion_mnist",
    "imdb",
    "load_csv",
    "load_npz",
    "mnist",
    "read_idx",
    "reuters",
    "semeion",
    "sqrt_mean",
    "tiny_table",
]
