"""California housing (1990 census): 20640 block groups, 8 features, median house value in $.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.california_housing.load_data()
    >>> x_train.shape
    (16512, 8)

Features: MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude.
Keras' file `california_housing.npz` (SHA-256 checked, numeric arrays, no pickle), split as
`keras.datasets.california_housing.load_data` splits it; `version="small"` keeps the first
600 rows. The module is callable: `california_housing(...)` is its `load_data(...)`.
"""

from __future__ import annotations

import os

from glassnet import checks
from glassnet.datasets import housing
from glassnet.datasets._callable import make_callable
from glassnet.datasets._files import fetch

FEATURES = ("MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup",
            "Latitude", "Longitude")
SMALL_ROWS = 600


def load_data(version: str = "large", path: str | os.PathLike = "california_housing.npz",
              test_split: float = 0.2, seed: int = 113, *,
              data_dir: str | os.PathLike | None = None):
    """Keras' California housing split.

    Args:
        version: "large" (all 20640 rows) or "small" (the first 600).
        path: the file's name in the data folders, or an absolute path.
        test_split: the fraction of rows for the test set, in [0, 1).
        seed: seed of the shuffle before the split.
        data_dir: a folder searched first (glassnet's; keyword only).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x (n, 8) with columns `FEATURES`, y (n,).
    """
    test_split = housing.check_test_split(test_split)
    checks.one_of("version", version, ("small", "large"))
    x, y = housing.read_table(fetch("california_housing.npz", data_dir, path),
                              columns=len(FEATURES))
    if version == "small":
        x, y = x[:SMALL_ROWS], y[:SMALL_ROWS]
    return housing.split(x, y, test_split, seed)


__all__ = ["FEATURES", "load_data"]

make_callable(__name__, load_data)
