"""Gathering and selecting: take, take_along_axis, where, scatter, slices; sort and top_k.

A gather's VJP scatters dy back with `np.add.at`, which adds where an index repeats (two
reads of one element give it both gradients); a plain `dx[index] = dy` would keep one.
"""

from __future__ import annotations

import builtins

import numpy as np

from glassnet.autodiff import op
from glassnet.ops.dtypes import as_array, promote
from glassnet.ops.elementwise import negative
from glassnet.ops.reductions import argsort
from glassnet.ops.shaping import get_item


@op("x")
def take(x, indices, axis=None):
    """Elements of x at `indices` along `axis` (of the flattened x for None)."""
    x = as_array(x)
    indices = np.asarray(indices)
    return np.take(x, indices, axis=axis), (x.shape, x.dtype, indices, axis)


@take.vjp
def take_vjp(dy, shape, dtype, indices, axis):
    if axis is None:
        dx = np.zeros(int(np.prod(shape)), dtype)
        np.add.at(dx, indices.reshape(-1), dy.reshape(-1))
        return dx.reshape(shape)
    axis = axis % len(shape)
    dx = np.zeros(shape, dtype)
    np.add.at(dx, (builtins.slice(None),) * axis + (indices,), dy)
    return dx


@op("x")
def take_along_axis(x, indices, axis=None):
    """x[..., indices[...], ...] along `axis` (np.take_along_axis; the flattened x for None)."""
    x = as_array(x)
    indices = np.asarray(indices)
    if axis is None:
        return np.take_along_axis(x.reshape(-1), indices.reshape(-1), 0), \
            (x.shape, x.dtype, indices, axis)
    return np.take_along_axis(x, indices, axis), (x.shape, x.dtype, indices, axis)


@take_along_axis.vjp
def take_along_axis_vjp(dy, shape, dtype, indices, axis):
    if axis is None:
        dx = np.zeros(int(np.prod(shape)), dtype)
        np.add.at(dx, indices.reshape(-1), dy.reshape(-1))
        return dx.reshape(shape)
    axis = axis % len(shape)
    # one index array per axis: positions of dy everywhere, `indices` along `axis`
    grid = list(np.indices(dy.shape, sparse=True))
    grid[axis] = np.broadcast_to(indices, dy.shape)
    dx = np.zeros(shape, dtype)
    np.add.at(dx, tuple(grid), dy)
    return dx


@op("x1", "x2", name="where")
def _select(condition, x1, x2):
    x1, x2 = promote(x1, x2)
    condition = np.asarray(condition, dtype=bool)
    return np.where(condition, x1, x2), (condition,)


@_select.vjp
def _select_vjp(dy, condition):
    return np.where(condition, dy, 0), np.where(condition, 0, dy)


@op(differentiable=False)
def nonzero(x):
    """The indices of the non-zero elements, one array per axis."""
    return tuple(i.astype("int32") for i in np.nonzero(as_array(x)))


def where(condition, x1=None, x2=None):
    """x1 where `condition` holds, else x2 (broadcast together); with only a condition,
    the indices where it holds (as `nonzero`)."""
    if x1 is None and x2 is None:
        return nonzero(condition)
    if x1 is None or x2 is None:
        raise ValueError("where: give both x1 and x2, or neither")
    return _select(condition, x1, x2)


@op("values")
def scatter(indices, values, shape):
    """zeros(shape) with `values` added at `indices` (rows of coordinates, (K, ndim))."""
    values = as_array(values)
    indices = np.asarray(indices)
    out = np.zeros(shape, values.dtype)
    np.add.at(out, tuple(indices.T), values)
    return out, (indices,)


@scatter.vjp
def scatter_vjp(dy, indices):
    return dy[tuple(indices.T)]


@op("inputs", "updates")
def scatter_update(inputs, indices, updates, reduction=None):
    """inputs with the entries at `indices` (K, ndim) replaced by `updates` (K, ...)."""
    if reduction is not None:
        raise NotImplementedError("scatter_update: only reduction=None is supported")
    inputs, updates = promote(inputs, updates)
    index = tuple(np.asarray(indices).T)
    out = inputs.copy()
    out[index] = updates
    return out, (index,)


@scatter_update.vjp
def scatter_update_vjp(dy, index):
    dx = dy.copy()
    dx[index] = 0                           # overwritten entries do not reach the output
    return dx, dy[index]


def slice(inputs, start_indices, shape):  # noqa: A001 (Keras' name)
    """The block of `inputs` of `shape` starting at `start_indices`."""
    key = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return get_item(inputs, key)


def sort(x, axis=-1):
    """x sorted along `axis` (the gradient follows each value to its place)."""
    return take_along_axis(x, argsort(x, axis=axis), axis=axis)


def top_k(x, k, sorted=True):  # noqa: A002 (Keras' name)
    """(values, indices) of the k largest entries along the last axis, largest first."""
    indices = get_item(argsort(negative(x), axis=-1), (Ellipsis, builtins.slice(0, k)))
    return take_along_axis(x, indices, axis=-1), indices


__all__ = ["nonzero", "scatter", "scatter_update", "slice", "sort", "take",
           "take_along_axis", "top_k", "where"]
