"""What the two housing tables share: Keras' .npz file of x and y, shuffled and split.

`keras.datasets.boston_housing` and `california_housing` both read arrays `x` (n, d) and `y`
(n,) from a Keras .npz (numeric arrays only, read without pickle), shuffle them with
`np.random.RandomState(seed)` and cut at `int(n * (1 - test_split))`. `split` does exactly
that, so the same seed gives Keras' rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from glassnet import checks
from glassnet.datasets._files import DatasetError
from glassnet.datasets.keras_npz import read_arrays


def read_table(path: Path, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """x (n, columns) and y (n,) from the .npz at `path`, shapes checked."""
    arrays = read_arrays(path, ("x", "y"), kinds="iuf")
    x, y = arrays["x"], arrays["y"]
    if x.ndim != 2 or x.shape[1] != columns or y.shape != (len(x),):
        raise DatasetError(f"{path}: x of shape {x.shape} and y of shape {y.shape}; "
                           f"expected (n, {columns}) and (n,)")
    return x, y


def check_test_split(test_split: float) -> float:
    """Keras' rule: 0 <= test_split < 1."""
    return checks.in_range("test_split", test_split, 0.0, 1.0)


def split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int | None):
    """`(x_train, y_train), (x_test, y_test)`: a seeded shuffle, then the last part for test
    (seed None: a fresh random order, as in Keras)."""
    indices = np.arange(len(x))
    seed = checks.optional(checks.integer, "seed", seed, minimum=0)
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])


__all__ = ["check_test_split", "read_table", "split"]
