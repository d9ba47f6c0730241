"""CIFAR-100: 60000 32x32 colour images in 100 classes, grouped in 20 superclasses.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.cifar100.load_data("coarse")
    >>> x_train.shape, y_train.shape, y_train.dtype
    ((50000, 32, 32, 3), (50000, 1), dtype('int64'))

Read from `cifar-100-binary.tar.gz` (SHA-256 checked; see `cifar` for the format and why not
Keras' pickled "python version"). Labels are int64, as Keras 3 returns them (its docstring
says uint8, but its arrays come from Python lists). The module is callable:
`cifar100(...)` is `load_data(...)`.
"""

from __future__ import annotations

import os

from glassnet import checks
from glassnet.datasets import cifar
from glassnet.datasets._callable import make_callable
from glassnet.datasets._files import fetch

_FOLDER = "cifar-100-binary/"
_TRAIN, _TEST = f"{_FOLDER}train.bin", f"{_FOLDER}test.bin"


def load_data(label_mode: str = "fine", *, data_dir: str | os.PathLike | None = None):
    """CIFAR-100 as `keras.datasets.cifar100.load_data(label_mode)` returns it.

    Args:
        label_mode: "fine" (100 classes) or "coarse" (20 superclasses).
        data_dir: a folder searched first for `cifar-100-binary.tar.gz` (glassnet's).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x uint8 (n, 32, 32, 3); y int64 (n, 1);
        n = 50000 and 10000.
    """
    checks.one_of("label_mode", label_mode, ("fine", "coarse"))
    column, classes = (1, 100) if label_mode == "fine" else (0, 20)
    path = fetch("cifar-100-binary.tar.gz", data_dir)
    members = cifar.read_members(path, (_TRAIN, _TEST), label_bytes=2)
    return tuple((cifar.images(members[name], 2),
                  cifar.labels(members[name], column, classes, str(path)).astype("int64"))
                 for name in (_TRAIN, _TEST))


__all__ = ["load_data"]

make_callable(__name__, load_data)
