"""Elementwise binary ops: arithmetic (with VJPs), comparisons and logic (no gradient).

Inputs broadcast as in NumPy and promote by Keras' rules (`dtypes.promote`). A VJP returns
gradients of the output's shape; the tape sums them back to each input's shape.
"""

from __future__ import annotations

import numpy as np

from glassnet.autodiff import op
from glassnet.ops.dtypes import as_float, promote


@op("x1", "x2")
def add(x1, x2):
    """x1 + x2."""
    x1, x2 = promote(x1, x2)
    return np.add(x1, x2), ()


@add.vjp
def add_vjp(dy):
    return dy, dy


@op("x1", "x2")
def subtract(x1, x2):
    """x1 - x2."""
    x1, x2 = promote(x1, x2)
    return np.subtract(x1, x2), ()


@subtract.vjp
def subtract_vjp(dy):
    return dy, -dy


@op("x1", "x2")
def multiply(x1, x2):
    """x1 * x2."""
    x1, x2 = promote(x1, x2)
    return np.multiply(x1, x2), (x1, x2)


@multiply.vjp
def multiply_vjp(dy, x1, x2):
    return dy * x2, dy * x1


@op("x1", "x2")
def divide(x1, x2):
    """x1 / x2, always a float (integers divide to floatx, as Keras)."""
    x1, x2 = promote(x1, x2, floating=True)
    y = np.divide(x1, x2)
    return y, (x2, y)


@divide.vjp
def divide_vjp(dy, x2, y):
    dx1 = dy / x2
    return dx1, -dx1 * y                   # d(x1/x2)/dx2 = -x1/x2^2 = -y/x2


true_divide = divide


@op("x1", "x2")
def divide_no_nan(x1, x2):
    """x1 / x2, and 0 where x2 == 0 (no NaN, no inf)."""
    x1, x2 = promote(x1, x2, floating=True)
    safe = np.where(x2 == 0, 1, x2)
    y = np.where(x2 == 0, 0, x1 / safe)
    return y, (x2, safe, y)


@divide_no_nan.vjp
def divide_no_nan_vjp(dy, x2, safe, y):
    dx1 = np.where(x2 == 0, 0, dy / safe)
    return dx1, -dx1 * y


@op("x1", "x2")
def power(x1, x2):
    """x1 ** x2."""
    x1, x2 = promote(x1, x2)
    y = np.power(x1, x2)
    return y, (x1, x2, y)


@power.vjp
def power_vjp(dy, x1, x2, y, needs):
    dx1 = dy * x2 * np.power(x1, x2 - 1) if needs[0] else None
    dx2 = None
    if needs[1]:                           # d(x1^x2)/dx2 = x1^x2 log x1, taken as 0 at x1 = 0
        positive = x1 > 0
        dx2 = dy * y * np.log(np.where(positive, x1, 1)) * positive
    return dx1, dx2


@op("x1", "x2")
def maximum(x1, x2):
    """The larger of x1 and x2; a tie sends half the gradient to each (as PyTorch)."""
    x1, x2 = promote(x1, x2)
    return np.maximum(x1, x2), (x1, x2)


@maximum.vjp
def maximum_vjp(dy, x1, x2):
    share = (x1 > x2) + 0.5 * (x1 == x2)
    return dy * share, dy * (1 - share)


@op("x1", "x2")
def minimum(x1, x2):
    """The smaller of x1 and x2; a tie sends half the gradient to each."""
    x1, x2 = promote(x1, x2)
    return np.minimum(x1, x2), (x1, x2)


@minimum.vjp
def minimum_vjp(dy, x1, x2):
    share = (x1 < x2) + 0.5 * (x1 == x2)
    return dy * share, dy * (1 - share)


@op("x1", "x2")
def mod(x1, x2):
    """x1 mod x2, with the sign of x2 (Python's %)."""
    x1, x2 = promote(x1, x2)
    return np.mod(x1, x2), (x1, x2)


@mod.vjp
def mod_vjp(dy, x1, x2):
    return dy, -dy * np.floor_divide(x1, x2)   # x1 - x2 floor(x1 / x2)


@op("x1", "x2")
def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)), without overflow."""
    x1, x2 = promote(as_float(x1), as_float(x2))
    y = np.logaddexp(x1, x2)
    return y, (x1, x2, y)


@logaddexp.vjp
def logaddexp_vjp(dy, x1, x2, y):
    return dy * np.exp(x1 - y), dy * np.exp(x2 - y)


@op("x1", "x2")
def arctan2(x1, x2):
    """The angle of the point (x2, x1), in (-pi, pi]."""
    x1, x2 = promote(as_float(x1), as_float(x2))
    return np.arctan2(x1, x2), (x1, x2)


@arctan2.vjp
def arctan2_vjp(dy, x1, x2):
    r2 = x1 * x1 + x2 * x2
    return dy * x2 / r2, -dy * x1 / r2


@op("x1", "x2")
def hypot(x1, x2):
    """sqrt(x1^2 + x2^2), without overflow."""
    x1, x2 = promote(as_float(x1), as_float(x2))
    y = np.hypot(x1, x2)
    return y, (x1, x2, y)


@hypot.vjp
def hypot_vjp(dy, x1, x2, y):
    return dy * x1 / y, dy * x2 / y


# ----- no gradient: integer results, comparisons, logic -------------------------------------
@op(differentiable=False)
def floor_divide(x1, x2):
    """floor(x1 / x2) (Python's //); its gradient is zero almost everywhere."""
    return np.floor_divide(*promote(x1, x2))


def _compare(name: str, function):
    def comparison(x1, x2):
        return function(*promote(x1, x2))

    comparison.__name__ = comparison.__qualname__ = name
    comparison.__doc__ = f"Elementwise {name}, a boolean array (no gradient)."
    return op(differentiable=False)(comparison)


equal = _compare("equal", np.equal)
not_equal = _compare("not_equal", np.not_equal)
less = _compare("less", np.less)
less_equal = _compare("less_equal", np.less_equal)
greater = _compare("greater", np.greater)
greater_equal = _compare("greater_equal", np.greater_equal)


def _logic(name: str, function):
    def logic(x1, x2):
        return function(np.asarray(x1, dtype=bool), np.asarray(x2, dtype=bool))

    logic.__name__ = logic.__qualname__ = name
    logic.__doc__ = f"Elementwise {name} of the truth values (no gradient)."
    return op(differentiable=False)(logic)


logical_and = _logic("logical_and", np.logical_and)
logical_or = _logic("logical_or", np.logical_or)
logical_xor = _logic("logical_xor", np.logical_xor)


@op(differentiable=False)
def logical_not(x):
    """not x, elementwise."""
    return np.logical_not(np.asarray(x, dtype=bool))


@op(differentiable=False)
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|x1 - x2| <= atol + rtol |x2|, elementwise."""
    return np.isclose(*promote(x1, x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    """Whether every element is close (`isclose`)."""
    return bool(np.all(np.asarray(isclose(x1, x2, rtol, atol, equal_nan))))


__all__ = ["add", "allclose", "arctan2", "divide", "divide_no_nan", "equal", "floor_divide",
           "greater", "greater_equal", "hypot", "isclose", "less", "less_equal", "logaddexp",
           "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum",
           "mod", "multiply", "not_equal", "power", "subtract", "true_divide"]
