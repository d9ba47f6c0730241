"""`normalize`: scale vectors to unit norm along an axis (Keras' `keras.utils.normalize`)."""

from __future__ import annotations

import numpy as np

from glassnet import checks


def normalize(x, axis: int = -1, order=2) -> np.ndarray:
    """x / ||x|| along `axis` (the `order`-norm, as `np.linalg.norm` takes it); zero vectors
    stay zero.

    Keras (3.15) divides along the last axis whenever `axis` is 0 (`axis or -1`) and gives
    a 1-d array back as (1, n); here `axis=0` normalizes the columns, as the argument says,
    and the result has the shape of `x`.

    Example:
        >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
        array([[0.6, 0.8],
               [0. , 0. ]])
    """
    x = np.asarray(x)
    if x.dtype.kind not in "iufb":
        raise TypeError(f"normalize: expected numbers, got dtype {x.dtype}")
    axis = checks.integer("axis", axis)
    norm = np.linalg.norm(x, order, axis, keepdims=True)  # x.shape, 1 along `axis`
    norm[norm == 0] = 1
    return x / norm


__all__ = ["normalize"]
