"""New arrays: zeros, ones, full, arange, eye, linspace, and the *_like versions.

Python-number arguments follow Keras: the default dtype is floatx (int32 for arange of
integers). None of these carry a gradient (a *_like reads only its argument's shape).
"""

from __future__ import annotations

import numpy as np

from glassnet import config
from glassnet.autodiff import op
from glassnet.ops.dtypes import as_array, result_type, standardize_dtype


def _dtype(dtype):
    return config.floatx() if dtype is None else standardize_dtype(dtype)


@op(differentiable=False)
def zeros(shape, dtype=None):
    """An array of zeros."""
    return np.zeros(shape, _dtype(dtype))


@op(differentiable=False)
def ones(shape, dtype=None):
    """An array of ones."""
    return np.ones(shape, _dtype(dtype))


@op(differentiable=False)
def full(shape, fill_value, dtype=None):
    """An array of `fill_value`."""
    return np.full(shape, fill_value, dtype=_dtype(dtype) if dtype is not None
                   else result_type(fill_value))


@op(differentiable=False)
def empty(shape, dtype=None):
    """An array of `shape` (zeros here: never uninitialised memory)."""
    return np.zeros(shape, _dtype(dtype))


@op(differentiable=False)
def zeros_like(x, dtype=None):
    """Zeros of x's shape (and dtype)."""
    x = as_array(x)
    return np.zeros(x.shape, x.dtype if dtype is None else standardize_dtype(dtype))


@op(differentiable=False)
def ones_like(x, dtype=None):
    """Ones of x's shape (and dtype)."""
    x = as_array(x)
    return np.ones(x.shape, x.dtype if dtype is None else standardize_dtype(dtype))


@op(differentiable=False)
def full_like(x, fill_value, dtype=None):
    """`fill_value` in x's shape (and dtype)."""
    x = as_array(x)
    return np.full(x.shape, fill_value, x.dtype if dtype is None else standardize_dtype(dtype))


@op(differentiable=False)
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop); int32 for integer arguments, else floatx."""
    values = [v for v in (start, stop, step) if v is not None]
    dtype = result_type(*values) if dtype is None else standardize_dtype(dtype)
    return np.arange(start, stop, 1 if step is None else step, dtype=dtype)


@op(differentiable=False)
def eye(N, M=None, k=0, dtype=None):  # noqa: N803 (Keras' names)
    """Ones on the k-th diagonal of an N x M matrix."""
    return np.eye(N, M, k, dtype=_dtype(dtype))


def identity(n, dtype=None):
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)


@op(differentiable=False)
def tri(N, M=None, k=0, dtype=None):  # noqa: N803 (Keras' names)
    """Ones at and below the k-th diagonal."""
    return np.tri(N, M, k, dtype=_dtype(dtype))


@op(differentiable=False)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from start to stop."""
    return np.linspace(start, stop, num, endpoint, retstep, _dtype(dtype), axis)


__all__ = ["arange", "empty", "eye", "full", "full_like", "identity", "linspace", "ones",
           "ones_like", "tri", "zeros", "zeros_like"]
