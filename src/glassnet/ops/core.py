"""Conversions and control flow: cast, convert_to_tensor, shape, stop_gradient, cond, loops.

Control flow runs eagerly, as Python: `cond` calls one branch, `while_loop` and `scan` loop.
The ops inside record as they run, so gradients flow through loops with no special VJP
(the tape simply holds each iteration's ops).
"""

from __future__ import annotations

import numpy as np

from glassnet.autodiff import Tensor, TensorOperators, Variable, current, op
from glassnet.ops.dtypes import as_array, standardize_dtype
from glassnet.ops.shaping import stack


@op("x")
def cast(x, dtype):
    """x converted to `dtype`; to an integer or boolean dtype, the gradient stops."""
    x = as_array(x)
    return x.astype(standardize_dtype(dtype), copy=False), ()


@cast.vjp
def cast_vjp(dy):
    return dy                              # the tape casts it back to x's dtype


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """x as a tensor: an array with Keras' dtype for Python values (floats -> floatx,
    ints -> int32); a tensor is returned as it is (cast to `dtype` if given), a variable
    as its value on the tape (so gradients reach it)."""
    if isinstance(x, TensorOperators):
        if isinstance(x, Variable) or (dtype is not None
                                       and standardize_dtype(dtype) != x.dtype.name):
            return cast(x, x.dtype if dtype is None else dtype)
        return x
    array = as_array(x, dtype)
    return Tensor(array) if current() is not None else array


def convert_to_numpy(x) -> np.ndarray:
    """A NumPy array of x's value (a copy; no gradient)."""
    return np.array(x.value if isinstance(x, TensorOperators) else x)


def stop_gradient(variable):
    """The same value, seen by backward as a constant."""
    if isinstance(variable, TensorOperators):
        return Tensor(variable.value)
    return variable


def is_tensor(x) -> bool:
    """Whether x is a tensor (a glassnet Tensor or a NumPy array)."""
    return isinstance(x, (Tensor, np.ndarray))


def shape(x) -> tuple[int, ...]:
    """x's shape, a tuple of ints."""
    return tuple(np.shape(x.value if isinstance(x, TensorOperators) else x))


def ndim(x) -> int:
    """x's number of axes."""
    return len(shape(x))


def size(x) -> int:
    """x's number of elements."""
    return int(np.prod(shape(x), dtype=np.int64))


def dtype(x) -> str:
    """x's dtype as a name ('float32')."""
    value = x.value if isinstance(x, TensorOperators) else np.asarray(x)
    return value.dtype.name


def cond(pred, true_fn, false_fn):
    """true_fn() if pred else false_fn()."""
    return true_fn() if bool(pred) else false_fn()


def switch(index, branches, *operands):
    """branches[index](*operands), index clipped into range."""
    chosen = int(np.clip(int(index), 0, len(branches) - 1))
    return branches[chosen](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Apply `body` to `loop_vars` while `cond(*loop_vars)` holds (at most
    maximum_iterations times); a single loop variable may be given bare."""
    single = not isinstance(loop_vars, (tuple, list))
    values = (loop_vars,) if single else tuple(loop_vars)
    count = 0
    while bool(cond(*values)) and (maximum_iterations is None or count < maximum_iterations):
        values = body(*values)
        values = (values,) if single or not isinstance(values, (tuple, list)) else tuple(values)
        count += 1
    return values[0] if single else type(loop_vars)(values)


def fori_loop(lower, upper, body_fun, init_val):
    """val = body_fun(i, val) for i in range(lower, upper); returns val."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """carry, y = f(carry, x) over the first axis of xs (or `length` times with x None);
    returns (the last carry, the ys stacked)."""
    steps = length if xs is None else shape(xs)[0]
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    carry, ys = init, []
    for i in order:
        carry, y = f(carry, None if xs is None else xs[i])
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or ys[0] is None:
        return carry, None
    return carry, stack(ys)


def map(f, xs):  # noqa: A001 (Keras' name)
    """f applied to each slice of xs along the first axis, stacked."""
    return stack([f(xs[i]) for i in range(shape(xs)[0])])


def vectorized_map(function, elements):
    """As `map` (computed slice by slice)."""
    return map(function, elements)


__all__ = ["cast", "cond", "convert_to_numpy", "convert_to_tensor", "dtype", "fori_loop",
           "is_tensor", "map", "ndim", "scan", "shape", "size", "stop_gradient", "switch",
           "vectorized_map", "while_loop"]
