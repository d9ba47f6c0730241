"""Norms (Keras' `ops.norm`, also in `ops.linalg`), through the ops they are made of."""

from __future__ import annotations

import numpy as np

from glassnet.ops.elementwise import abs, sqrt, square
from glassnet.ops.reductions import max, sum


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 (Keras' name)
    """The vector norm over `axis` (ord None/2: Euclidean, 1, inf) or, for ord 'fro' or a
    pair of axes, the Frobenius norm. Gradients flow through the ops it is made of."""
    if ord in (None, 2, "fro", "euclidean"):
        if ord == 2 and isinstance(axis, (tuple, list)) and len(axis) == 2:
            raise NotImplementedError("norm: the spectral norm (ord=2 over a matrix)")
        return sqrt(sum(square(x), axis=axis, keepdims=keepdims))
    if ord == 1:
        return sum(abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return max(abs(x), axis=axis, keepdims=keepdims)
    raise NotImplementedError(f"norm: ord={ord!r} (supported: None, 1, 2, inf, 'fro')")


__all__ = ["norm"]
