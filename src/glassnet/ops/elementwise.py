"""Elementwise unary ops: y = f(x) and dL/dx = f'(x) dL/dy, written through y where it can be.

Functions that only make sense on floats (exp, log, sqrt, the trigonometric ones) turn
integers and booleans into floatx first, as Keras does; abs, negative, square and clip
keep integer dtypes. Rounding ops (floor, ceil, round, sign) have a zero gradient almost
everywhere, so they are recorded as having none.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import activations
from glassnet.autodiff import op
from glassnet.ops.dtypes import as_array, as_float, promote


@op("x")
def negative(x):
    """-x."""
    return np.negative(as_array(x)), ()


@negative.vjp
def negative_vjp(dy):
    return -dy


@op("x")
def abs(x):  # noqa: A001 (Keras' name)
    """|x|; its gradient at 0 is 0 (sign(0))."""
    x = as_array(x)
    return np.abs(x), (x,)


@abs.vjp
def abs_vjp(dy, x):
    return dy * np.sign(x)


absolute = abs


@op("x")
def square(x):
    """x^2."""
    x = as_array(x)
    return np.square(x), (x,)


@square.vjp
def square_vjp(dy, x):
    return 2 * dy * x


@op("x")
def sqrt(x):
    """sqrt(x)."""
    y = np.sqrt(as_float(x))
    return y, (y,)


@sqrt.vjp
def sqrt_vjp(dy, y):
    return dy / (2 * y)


@op("x")
def rsqrt(x):
    """1 / sqrt(x)."""
    y = 1 / np.sqrt(as_float(x))
    return y, (y,)


@rsqrt.vjp
def rsqrt_vjp(dy, y):
    return -0.5 * dy * y * y * y


@op("x")
def reciprocal(x):
    """1 / x."""
    y = np.reciprocal(as_float(x))
    return y, (y,)


@reciprocal.vjp
def reciprocal_vjp(dy, y):
    return -dy * y * y


@op("x")
def exp(x):
    """e^x."""
    y = np.exp(as_float(x))
    return y, (y,)


@exp.vjp
def exp_vjp(dy, y):
    return dy * y


@op("x")
def exp2(x):
    """2^x."""
    y = np.exp2(as_float(x))
    return y, (y,)


@exp2.vjp
def exp2_vjp(dy, y):
    return dy * y * math.log(2)


@op("x")
def expm1(x):
    """e^x - 1, accurate near 0."""
    y = np.expm1(as_float(x))
    return y, (y,)


@expm1.vjp
def expm1_vjp(dy, y):
    return dy * (y + 1)


@op("x")
def log(x):
    """Natural logarithm."""
    x = as_float(x)
    return np.log(x), (x,)


@log.vjp
def log_vjp(dy, x):
    return dy / x


@op("x")
def log1p(x):
    """log(1 + x), accurate near 0."""
    x = as_float(x)
    return np.log1p(x), (x,)


@log1p.vjp
def log1p_vjp(dy, x):
    return dy / (1 + x)


@op("x")
def log2(x):
    """Base-2 logarithm."""
    x = as_float(x)
    return np.log2(x), (x,)


@log2.vjp
def log2_vjp(dy, x):
    return dy / (x * math.log(2))


@op("x")
def log10(x):
    """Base-10 logarithm."""
    x = as_float(x)
    return np.log10(x), (x,)


@log10.vjp
def log10_vjp(dy, x):
    return dy / (x * math.log(10))


@op("x")
def sin(x):
    """sin(x)."""
    x = as_float(x)
    return np.sin(x), (x,)


@sin.vjp
def sin_vjp(dy, x):
    return dy * np.cos(x)


@op("x")
def cos(x):
    """cos(x)."""
    x = as_float(x)
    return np.cos(x), (x,)


@cos.vjp
def cos_vjp(dy, x):
    return -dy * np.sin(x)


@op("x")
def tan(x):
    """tan(x)."""
    y = np.tan(as_float(x))
    return y, (y,)


@tan.vjp
def tan_vjp(dy, y):
    return dy * (1 + y * y)


@op("x")
def arctan(x):
    """arctan(x)."""
    x = as_float(x)
    return np.arctan(x), (x,)


@arctan.vjp
def arctan_vjp(dy, x):
    return dy / (1 + x * x)


@op("x")
def arcsin(x):
    """arcsin(x), x in [-1, 1]."""
    x = as_float(x)
    return np.arcsin(x), (x,)


@arcsin.vjp
def arcsin_vjp(dy, x):
    return dy / np.sqrt(1 - x * x)


@op("x")
def arccos(x):
    """arccos(x), x in [-1, 1]."""
    x = as_float(x)
    return np.arccos(x), (x,)


@arccos.vjp
def arccos_vjp(dy, x):
    return -dy / np.sqrt(1 - x * x)


@op("x")
def sinh(x):
    """sinh(x)."""
    x = as_float(x)
    return np.sinh(x), (x,)


@sinh.vjp
def sinh_vjp(dy, x):
    return dy * np.cosh(x)


@op("x")
def cosh(x):
    """cosh(x)."""
    x = as_float(x)
    return np.cosh(x), (x,)


@cosh.vjp
def cosh_vjp(dy, x):
    return dy * np.sinh(x)


@op("x")
def tanh(x):
    """tanh(x), in (-1, 1)."""
    y = np.tanh(as_float(x))
    return y, (y,)


@tanh.vjp
def tanh_vjp(dy, y):
    return dy * (1 - y * y)               # d tanh = 1 - tanh^2


@op("x")
def arctanh(x):
    """arctanh(x), x in (-1, 1)."""
    x = as_float(x)
    return np.arctanh(x), (x,)


@arctanh.vjp
def arctanh_vjp(dy, x):
    return dy / (1 - x * x)


@op("x")
def arcsinh(x):
    """arcsinh(x)."""
    x = as_float(x)
    return np.arcsinh(x), (x,)


@arcsinh.vjp
def arcsinh_vjp(dy, x):
    return dy / np.sqrt(x * x + 1)


@op("x")
def erf(x):
    """The error function, 2/sqrt(pi) * integral_0^x exp(-t^2) dt."""
    x = as_float(x)
    return activations.erf(x), (x,)


@erf.vjp
def erf_vjp(dy, x):
    return dy * (2 / math.sqrt(math.pi)) * np.exp(-x * x)


@op("x", "x_min", "x_max")
def clip(x, x_min, x_max):
    """x limited to [x_min, x_max]; the gradient passes where x is inside (bounds included)."""
    x, low, high = promote(x, x_min, x_max)
    return np.clip(x, low, high), (x, low, high)


@clip.vjp
def clip_vjp(dy, x, low, high):
    inside = (x >= low) & (x <= high)
    below, above = x < low, x > high
    return dy * inside, dy * below, dy * above


# ----- zero gradient almost everywhere: no record ------------------------------------------
def _rounding(name: str, function, doc: str):
    def rounding(x):
        return function(as_array(x))

    rounding.__name__ = rounding.__qualname__ = name
    rounding.__doc__ = doc + " (zero gradient almost everywhere: not differentiated)."
    return op(differentiable=False)(rounding)


floor = _rounding("floor", np.floor, "The largest integer <= x")
ceil = _rounding("ceil", np.ceil, "The smallest integer >= x")
trunc = _rounding("trunc", np.trunc, "x rounded toward zero")
sign = _rounding("sign", np.sign, "-1, 0 or 1 by the sign of x")


@op(differentiable=False)
def round(x, decimals=0):  # noqa: A001 (Keras' name)
    """x rounded half to even at `decimals` places (zero gradient: not differentiated)."""
    return np.round(as_array(x), decimals)


@op(differentiable=False)
def isnan(x):
    """Whether each element is NaN."""
    return np.isnan(as_array(x))


@op(differentiable=False)
def isinf(x):
    """Whether each element is +inf or -inf."""
    return np.isinf(as_array(x))


@op(differentiable=False)
def isfinite(x):
    """Whether each element is finite."""
    return np.isfinite(as_array(x))


@op("x")
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN and infinities replaced by finite numbers; the gradient passes where x is finite."""
    x = as_array(x)
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf), (np.isfinite(x),)


@nan_to_num.vjp
def nan_to_num_vjp(dy, finite):
    return dy * finite


__all__ = ["abs", "absolute", "arccos", "arcsin", "arcsinh", "arctan", "arctanh", "ceil",
           "clip", "cos", "cosh", "erf", "exp", "exp2", "expm1", "floor", "isfinite", "isinf",
           "isnan", "log", "log10", "log1p", "log2", "nan_to_num", "negative", "reciprocal",
           "round", "rsqrt", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh", "trunc"]
