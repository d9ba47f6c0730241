"""Boston housing prices (StatLib, 1978): 506 districts, 13 features, the median value in k$.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.boston_housing.load_data()
    >>> x_train.shape, y_train.shape
    ((404, 13), (404,))

Keras' file `boston_housing.npz` (SHA-256 checked, numeric arrays, no pickle), split as
`keras.datasets.boston_housing.load_data` splits it. As Keras warns: one feature ("B")
encodes a racist assumption; prefer `california_housing` unless the point is that problem.
The module is callable: `boston_housing(...)` is `boston_housing.load_data(...)`.
"""

from __future__ import annotations

import os

from glassnet.datasets import housing
from glassnet.datasets._callable import make_callable
from glassnet.datasets._files import fetch


def load_data(path: str | os.PathLike = "boston_housing.npz", test_split: float = 0.2,
              seed: int = 113, *, data_dir: str | os.PathLike | None = None):
    """Keras' Boston housing split.

    Args:
        path: the file's name in the data folders, or an absolute path.
        test_split: the fraction of rows for the test set, in [0, 1).
        seed: seed of the shuffle before the split.
        data_dir: a folder searched first (glassnet's; keyword only).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x (n, 13), y (n,), as stored (float64).
    """
    test_split = housing.check_test_split(test_split)
    x, y = housing.read_table(fetch("boston_housing.npz", data_dir, path), columns=13)
    return housing.split(x, y, test_split, seed)


__all__ = ["load_data"]

make_callable(__name__, load_data)
