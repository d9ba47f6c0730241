"""Which array library an array belongs to; and Keras' `keras.backend` functions.

Array code takes its namespace from its inputs (`xp = namespace(x)`) instead of hard-wiring
`numpy`, so that the same layer runs on CuPy arrays on a GPU. NumPy is the only library that
glassnet needs; CuPy is used only when the caller hands in CuPy arrays.
"""

from __future__ import annotations

import numpy as np

from glassnet.config import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    standardize_dtype,
)
from glassnet.naming import reset_names


def namespace(*arrays):
    """The array module (numpy, or cupy for CuPy arrays) of the first array-like argument."""
    for array in arrays:
        kind = type(array)
        if kind is not np.ndarray and kind.__module__.startswith("cupy"):
            import cupy  # only reachable when the caller already uses CuPy

            return cupy
    return np


def to_numpy(array) -> np.ndarray:
    """A NumPy array from a NumPy or CuPy array (for saving, plotting and printing)."""
    if type(array).__module__.startswith("cupy"):
        return array.get()
    return np.asarray(array)


# ----- keras.backend ------------------------------------------------------------------------
def clear_session(free_memory: bool = True) -> None:
    """As Keras: forget the global state between models; here, default layer names start
    again from "dense". Models already built keep working."""
    reset_names()


__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format", "namespace",
           "set_epsilon", "set_floatx", "standardize_dtype", "to_numpy"]
