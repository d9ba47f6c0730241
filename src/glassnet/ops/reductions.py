"""Reductions over axes: sum, mean, max, min, prod, var, logsumexp, cumsum; arg- and sorts.

Every reduction's VJP first puts the reduced axes back (`_restore`: dy of shape (N,) from
x (N, C) summed over axis 1 becomes (N, 1)), then spreads dy over what was reduced:

    sum:   dL/dx = dy                      (each x_i counted once)
    mean:  dL/dx = dy / n                  (n values averaged)
    max:   dL/dx = dy [x == max] / ties    (to the arg-max; shared among ties)
"""

from __future__ import annotations

import numpy as np

from glassnet.autodiff import op
from glassnet.ops.arithmetic import divide, multiply
from glassnet.ops.dtypes import as_array, as_float, float_result
from glassnet.ops.elementwise import sqrt
from glassnet.ops.shaping import reshape


def _axes(axis, ndim: int) -> tuple[int, ...]:
    """`axis` (None, an int or a sequence) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(sorted(int(a) % ndim if ndim else int(a) for a in axes))


def _restore(dy, shape: tuple, axis, keepdims: bool):
    """dy with the reduced axes back as size 1, ready to broadcast against x's shape."""
    if keepdims:
        return dy
    return np.reshape(dy, [1 if i in _axes(axis, len(shape)) else n
                           for i, n in enumerate(shape)])


def _count(shape: tuple, axis) -> int:
    return int(np.prod([shape[a] for a in _axes(axis, len(shape))], dtype=np.int64))


def _axis_arg(axis):
    return tuple(axis) if isinstance(axis, list) else axis


@op("x")
def sum(x, axis=None, keepdims=False):  # noqa: A001 (Keras' name)
    """Σ over `axis` (all axes for None). Booleans and small integers sum to int32."""
    x = as_array(x)
    if x.dtype.kind == "b" or x.dtype in (np.int8, np.int16, np.uint8, np.uint16):
        x = x.astype("int32")
    return np.sum(x, axis=_axis_arg(axis), keepdims=keepdims), (x.shape, axis, keepdims)


@sum.vjp
def sum_vjp(dy, shape, axis, keepdims):
    return np.broadcast_to(_restore(dy, shape, axis, keepdims), shape)


@op("x")
def mean(x, axis=None, keepdims=False):
    """The average over `axis`; integers average to floatx."""
    x = as_array(x)
    y = np.mean(x, axis=_axis_arg(axis), keepdims=keepdims, dtype=float_result(x))
    return y, (x.shape, axis, keepdims)


@mean.vjp
def mean_vjp(dy, shape, axis, keepdims):
    dy = _restore(dy, shape, axis, keepdims) / _count(shape, axis)
    return np.broadcast_to(dy, shape)


def _extreme(function, name: str, doc: str):
    def extreme(x, axis=None, keepdims=False, initial=None):
        x = as_array(x)
        kwargs = {} if initial is None else {"initial": initial}
        y = function(x, axis=_axis_arg(axis), keepdims=keepdims, **kwargs)
        return y, (x, y, axis, keepdims)

    extreme.__name__ = extreme.__qualname__ = name
    extreme.__doc__ = doc
    return op("x")(extreme)


max = _extreme(np.max, "max", "The largest value over `axis`; the gradient goes to the "  # noqa: A001
               "largest elements, shared equally among ties (as PyTorch's amax).")
min = _extreme(np.min, "min", "The smallest value over `axis`; the gradient goes to the "  # noqa: A001
               "smallest elements, shared equally among ties.")


def _extreme_vjp(dy, x, y, axis, keepdims):
    y = _restore(y, x.shape, axis, keepdims)
    hits = x == y
    ties = np.sum(hits, axis=_axes(axis, x.ndim), keepdims=True)
    return _restore(dy, x.shape, axis, keepdims) * hits / np.maximum(ties, 1)


max.vjp(_extreme_vjp)
min.vjp(_extreme_vjp)
amax, amin = max, min


@op("x")
def prod(x, axis=None, keepdims=False, dtype=None):
    """The product over `axis`."""
    x = as_array(x)
    y = np.prod(x, axis=_axis_arg(axis), keepdims=keepdims, dtype=dtype)
    return y, (x, axis, keepdims)


@prod.vjp
def prod_vjp(dy, x, axis, keepdims):
    # d(prod)/dx_i = product of the others: exclusive products from the left and the right
    # (exact with zeros, where y / x_i is not). Reduced axes are moved last and flattened.
    axes = _axes(axis, x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, kept + list(axes))
    flat = moved.reshape(moved.shape[:len(kept)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), flat.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], -1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    dx = np.transpose(others, np.argsort(kept + list(axes)))
    return _restore(dy, x.shape, axis, keepdims) * dx


@op("x")
def var(x, axis=None, keepdims=False):
    """The variance over `axis`, Σ (x - mean)^2 / n (population: ddof 0, as Keras)."""
    x = as_float(x)
    mu = np.mean(x, axis=_axis_arg(axis), keepdims=True)
    centred = x - mu
    y = np.mean(centred * centred, axis=_axis_arg(axis), keepdims=keepdims)
    return y, (centred, axis, keepdims)


@var.vjp
def var_vjp(dy, centred, axis, keepdims):
    n = _count(centred.shape, axis)
    return _restore(dy, centred.shape, axis, keepdims) * (2 / n) * centred


@op("x")
def logsumexp(x, axis=None, keepdims=False):
    """log Σ exp(x) over `axis`, computed stably (shifted by the max)."""
    x = as_float(x)
    top = np.max(x, axis=_axis_arg(axis), keepdims=True)
    top = np.where(np.isfinite(top), top, 0)
    y = np.log(np.sum(np.exp(x - top), axis=_axis_arg(axis), keepdims=True)) + top
    out = y if keepdims else np.squeeze(y, axis=_axes(axis, x.ndim))
    return out, (x, y, axis, keepdims)


@logsumexp.vjp
def logsumexp_vjp(dy, x, y, axis, keepdims):
    return _restore(dy, x.shape, axis, keepdims) * np.exp(x - y)   # softmax(x)


@op("x")
def cumsum(x, axis=None, dtype=None):
    """Running sums along `axis` (of the flattened x for None)."""
    x = as_array(x)
    return np.cumsum(x, axis=axis, dtype=dtype), (x.shape, axis)


@cumsum.vjp
def cumsum_vjp(dy, shape, axis):
    if axis is None:
        return np.flip(np.cumsum(np.flip(dy.reshape(-1)))).reshape(shape)
    return np.flip(np.cumsum(np.flip(dy, axis), axis), axis)   # Σ over the later positions


# ----- composites ---------------------------------------------------------------------------
def std(x, axis=None, keepdims=False):
    """The standard deviation, sqrt(var)."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def average(x, axis=None, weights=None):
    """The mean, or Σ w x / Σ w with `weights` (of x's shape, or 1-D along `axis`)."""
    if weights is None:
        return mean(x, axis=axis)
    if axis is not None and np.ndim(weights) == 1 and np.ndim(x) > 1:
        shape = [1] * np.ndim(x)
        shape[int(axis)] = -1
        weights = reshape(weights, shape)
    total = sum(multiply(weights, np.ones(np.shape(x), dtype=np.result_type(weights))),
                axis=axis)
    return divide(sum(multiply(x, weights), axis=axis), total)


# ----- no gradient ---------------------------------------------------------------------------
@op(differentiable=False)
def argmax(x, axis=None, keepdims=False):
    """The index of the largest value along `axis` (of the flattened x for None)."""
    return np.argmax(as_array(x), axis=axis, keepdims=keepdims).astype("int32")


@op(differentiable=False)
def argmin(x, axis=None, keepdims=False):
    """The index of the smallest value along `axis`."""
    return np.argmin(as_array(x), axis=axis, keepdims=keepdims).astype("int32")


@op(differentiable=False)
def argsort(x, axis=-1):
    """The indices that sort x along `axis` (stable)."""
    return np.argsort(as_array(x), axis=axis, kind="stable").astype("int32")


@op(differentiable=False)
def all(x, axis=None, keepdims=False):  # noqa: A001 (Keras' name)
    """Whether every element along `axis` is true."""
    return np.all(as_array(x), axis=_axis_arg(axis), keepdims=keepdims)


@op(differentiable=False)
def any(x, axis=None, keepdims=False):  # noqa: A001 (Keras' name)
    """Whether some element along `axis` is true."""
    return np.any(as_array(x), axis=_axis_arg(axis), keepdims=keepdims)


@op(differentiable=False)
def count_nonzero(x, axis=None):
    """How many elements along `axis` are not zero."""
    return np.asarray(np.count_nonzero(as_array(x), axis=_axis_arg(axis)), dtype="int32")


__all__ = ["all", "amax", "amin", "any", "argmax", "argmin", "argsort", "average",
           "count_nonzero", "cumsum", "logsumexp", "max", "mean", "min", "prod", "std", "sum",
           "var"]
