"""The activation functions as plain functions, Keras 3 names and signatures, and erf.

`relu(x)`, `softmax(x, axis=-1)`, ...: pure, nothing cached (the classes layers hold, with
their derivatives, are in `classes.py`). Sigmoid and softmax are `glassnet.numerics`' own.

On the tensors of a `call()` (or the functional API's symbolic tensors) each function is the
`glassnet.ops` op of the same name, so `keras.activations.relu(x)` in a layer's call() is
differentiated like `ops.relu(x)` (`_also_on_tensors`).

Numerics: outputs keep the input's float dtype (float32 in, float32 out: constants are Python
floats, which NumPy 2 does not let upcast an array). Nothing overflows for finite inputs:
exponentials only ever see non-positive arguments (exp(-|x|), x - max(x)), and where such an
exp underflows to 0 -- the correct rounded answer -- the underflow flag is silenced locally,
so the functions also run under `np.errstate(all="raise")`.
"""

from __future__ import annotations

import functools
import inspect
import math

from glassnet import autodiff, config, numerics
from glassnet.backend import namespace
from glassnet.numerics import underflow_is_zero


def _as_float(x):
    """x as an array of a float dtype (its own if it has one, else `config.floatx()`)."""
    xp = namespace(x)
    x = xp.asarray(x)
    if not xp.issubdtype(x.dtype, xp.floating):
        x = x.astype(config.floatx())
    return x


def _select(condition, a, b):
    """np.where(condition, a, b) written as a * c + b * (not c).

    Exact for finite a and b (times 1 or 0, plus 0), and about 10x faster than np.where,
    which branches per element and so mispredicts on the random signs of activations.
    """
    result = a * condition
    result += b * ~condition
    return result


def _also_on_tensors(op_name: str):
    """On a traced or symbolic tensor, run the op `op_name` with this function's arguments
    (and its defaults: gelu's approximate=False) instead of the NumPy code: it is then
    recorded and differentiated. Arrays take the NumPy path, as before."""

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def dispatch(x, *args, **kwargs):
            if isinstance(x, autodiff.Operators):
                bound = signature.bind(x, *args, **kwargs)
                bound.apply_defaults()
                arguments = dict(bound.arguments)
                return autodiff.REGISTRY[op_name](arguments.pop("x"), **arguments)
            return function(x, *args, **kwargs)

        return dispatch

    return decorate


# ----- the error function ----------------------------------------------------------------
# NumPy has no erf. These are W. J. Cody's rational Chebyshev approximations ("Rational
# Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631-638; Netlib
# specfun CALERF), relative error below 1e-15 in float64. Coefficients run highest degree first.
_ERF_NUM = (1.85777706184603153e-1, 3.16112374387056560e0, 1.13864154151050156e2,
            3.77485237685302021e2, 3.20937758913846947e3)
_ERF_DEN = (1.0, 2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
            2.84423683343917062e3)
_ERFC_MID_NUM = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e0,
                 6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
                 1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3)
_ERFC_MID_DEN = (1.0, 1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
                 1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
                 3.43936767414372164e3, 1.23033935480374942e3)
_ERFC_TAIL_NUM = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
                  1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)
_ERFC_TAIL_DEN = (1.0, 2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
                  6.05183413124413191e-2, 2.33520497626869185e-3)
_ONE_OVER_SQRT_PI = 0.56418958354775628695
_ERF_SMALL = 0.46875   # |x| up to here: erf by a rational in x^2; beyond: erfc by Cody's tails
_ERFC_ZERO = 30.0      # erfc(30) = 2.6e-393 is 0 in float64; clipping avoids overflow in y*y


def _horner(coefficients, z):
    """c0 z^n + c1 z^(n-1) + ... + cn (coefficients highest degree first)."""
    result = coefficients[0] * z + coefficients[1]
    for c in coefficients[2:]:
        result *= z
        result += c
    return result


def _erf_near_zero(x):
    """erf(x) for |x| <= 0.46875: x P(x^2) / Q(x^2)."""
    z = x * x
    return x * _horner(_ERF_NUM, z) / _horner(_ERF_DEN, z)


def _erfc_away_from_zero(y):
    """erfc(y) for y = |x| >= 0.46875: exp(-y^2) R(y), R rational in y (y <= 4) or in 1/y^2.

    Both rationals are evaluated on the whole array, each on y clipped to its own interval,
    and the right one is kept per element: boolean gathers and scatters on random masks cost
    more than the arithmetic they would save.
    """
    xp = namespace(y)
    mid = xp.clip(y, _ERF_SMALL, 4.0)
    r_mid = _horner(_ERFC_MID_NUM, mid) / _horner(_ERFC_MID_DEN, mid)
    tail = xp.clip(y, 4.0, _ERFC_ZERO)
    z = 1.0 / (tail * tail)
    r_tail = (_ONE_OVER_SQRT_PI - z * _horner(_ERFC_TAIL_NUM, z) / _horner(_ERFC_TAIL_DEN, z)
              ) / tail
    r = _select(y <= 4.0, r_mid, r_tail)
    # exp(-y^2) as exp(-s^2) exp(-(y - s)(y + s)), s = y rounded down to a multiple of 1/16:
    # y * y carries a rounding error that exp would multiply by y^2 (Cody's trick).
    y = xp.minimum(y, _ERFC_ZERO)
    s = xp.trunc(y * 16.0) / 16.0
    r *= xp.exp(-s * s)
    r *= xp.exp(-(y - s) * (y + s))
    return r


def _erf_parts(x):
    """(|x| <= 0.46875, erf there, erfc(|x|) elsewhere): the pieces erf and erfc blend."""
    xp = namespace(x)
    if x.dtype == xp.float16:               # the rationals' values pass 65504 (float16's max)
        near_zero, erf_near, erfc_far = _erf_parts(x.astype(xp.float32))
        return near_zero, erf_near.astype(x.dtype), erfc_far.astype(x.dtype)
    near_zero = xp.abs(x) <= _ERF_SMALL
    erf_near = _erf_near_zero(xp.clip(x, -_ERF_SMALL, _ERF_SMALL))
    return near_zero, erf_near, _erfc_away_from_zero(xp.abs(x))


@_also_on_tensors("erf")
@underflow_is_zero
def erf(x):
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise.

    Cody's rational approximations, relative error ~1e-15 in float64 (computed in x's dtype).
    """
    x = _as_float(x)
    near_zero, erf_near, erfc_far = _erf_parts(x)
    return _select(near_zero, erf_near, namespace(x).copysign(1.0 - erfc_far, x))


@underflow_is_zero
def erfc(x):
    """The complementary error function erfc(x) = 1 - erf(x), accurate in the tail (x >> 1)."""
    x = _as_float(x)
    near_zero, erf_near, erfc_far = _erf_parts(x)
    return _select(near_zero, 1.0 - erf_near, _select(x < 0, 2.0 - erfc_far, erfc_far))


# ----- the plain functions (Keras 3 signatures) ------------------------------------------
def linear(x):
    """The identity, f(x) = x."""
    return x if isinstance(x, autodiff.Operators) else _as_float(x)


@_also_on_tensors("sigmoid")
def sigmoid(x):
    """sigma(x) = 1 / (1 + exp(-x)), in (0, 1): `numerics.sigmoid`, which never overflows and
    keeps full relative precision in the left tail (sigma(-40) = 4.2e-18)."""
    return numerics.sigmoid(_as_float(x))


@_also_on_tensors("tanh")
def tanh(x):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x), in (-1, 1)."""
    x = _as_float(x)
    return namespace(x).tanh(x)


def relu(x, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0):
    """Rectified linear unit, with Keras' optional leak, cap and threshold.

        f(x) = max_value                         for x >= max_value
             = x                                 for threshold < x < max_value
             = negative_slope * (x - threshold)  for x <= threshold

    The defaults give max(x, 0). (With threshold < 0 and a max_value, x in (threshold, 0)
    clips to 0, exactly as in Keras.)
    """
    if isinstance(x, autodiff.Operators):               # traced: the ops it is made of
        return _relu_on_tensors(x, negative_slope, max_value, threshold)
    x = _as_float(x)
    xp = namespace(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return xp.maximum(x, 0.0)
    y = x * (x > threshold)                 # x above the threshold, else 0
    y += 0.0                                # (-1 * False is -0.0; -0.0 + 0.0 is 0.0)
    if max_value is not None:
        y = xp.clip(y, 0.0, max_value)
    if negative_slope != 0.0:
        y -= negative_slope * xp.maximum(threshold - x, 0.0)
    return y


def _relu_on_tensors(x, negative_slope, max_value, threshold):
    ops = autodiff.REGISTRY
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops["relu"](x)
    y = ops["multiply"](x, ops["greater"](x, threshold))
    if max_value is not None:
        y = ops["clip"](y, 0.0, max_value)
    if negative_slope != 0.0:
        y = ops["subtract"](y, ops["multiply"](negative_slope,
                                               ops["relu"](ops["subtract"](threshold, x))))
    return y


@_also_on_tensors("leaky_relu")
def leaky_relu(x, negative_slope: float = 0.2):
    """f(x) = x for x > 0, negative_slope * x otherwise."""
    x = _as_float(x)
    xp = namespace(x)
    y = xp.maximum(x, 0.0)
    y += negative_slope * xp.minimum(x, 0.0)    # branch-free: no np.where on random signs
    return y


def _expm1_negative_part(x):
    """expm1(min(x, 0)): the ELU tail, with exp never seeing a positive argument."""
    xp = namespace(x)
    return xp.expm1(xp.minimum(x, 0.0))


@_also_on_tensors("elu")
@underflow_is_zero
def elu(x, alpha: float = 1.0):
    """Exponential linear unit: f(x) = x for x > 0, alpha * (exp(x) - 1) otherwise.

    Computed as max(x, 0) + alpha * expm1(min(x, 0)): each term is 0 on the other side.
    """
    x = _as_float(x)
    y = alpha * _expm1_negative_part(x)
    y += namespace(x).maximum(x, 0.0)
    return y


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU: f(x) = scale * elu(x, alpha), with Klambauer et al.'s self-normalising
    constants alpha = 1.6732632423543772, scale = 1.0507009873554805."""
    if isinstance(x, autodiff.Operators):
        return autodiff.REGISTRY["multiply"](elu(x, _SELU_ALPHA), _SELU_SCALE)
    y = elu(x, _SELU_ALPHA)
    y *= _SELU_SCALE
    return y


_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_ONE_OVER_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_CUBIC = 0.044715
# Beyond |x| = 30 the tanh approximation is saturated (sigmoid(2u) is exactly 0 or 1, in
# float64 already from |x| = 20), so clipping x there before cubing changes nothing and keeps
# x^3 finite for any finite x.
_GELU_TANH_CLIP = 30.0


def _normal_cdf(x):
    """Phi(x) = 0.5 erfc(-x / sqrt(2)): accurate in the left tail, where 1 + erf(.) is not."""
    return 0.5 * erfc(-_SQRT_HALF * x)


def _gelu_tanh_gate(x):
    """0.5 (1 + tanh(u)) = sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3).

    The sigmoid form keeps relative precision for x << 0, where 1 + tanh(u) cancels.
    """
    xc = namespace(x).clip(x, -_GELU_TANH_CLIP, _GELU_TANH_CLIP)
    return sigmoid((2.0 * _SQRT_2_OVER_PI) * (xc + _GELU_CUBIC * xc * xc * xc))


@_also_on_tensors("gelu")
@underflow_is_zero
def gelu(x, approximate: bool = False):
    """Gaussian error linear unit: f(x) = x Phi(x), Phi the standard normal CDF.

    approximate=False: Phi(x) = 0.5 (1 + erf(x / sqrt(2))), exact (computed via erfc).
    approximate=True: Phi(x) ~ 0.5 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated as
    sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (the same function, without cancellation).
    """
    x = _as_float(x)
    return x * (_gelu_tanh_gate(x) if approximate else _normal_cdf(x))


@_also_on_tensors("softplus")
@underflow_is_zero
def softplus(x):
    """f(x) = log(1 + exp(x)), written as max(x, 0) + log1p(exp(-|x|)) so exp never overflows."""
    x = _as_float(x)
    xp = namespace(x)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


@_also_on_tensors("softmax")
def softmax(x, axis: int = -1):
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m) along `axis`, m = max_j x_j
    (`numerics.softmax`: subtracting the max makes every exponent <= 0)."""
    return numerics.softmax(_as_float(x), axis)


@_also_on_tensors("silu")
@underflow_is_zero
def silu(x):
    """Sigmoid linear unit (swish): f(x) = x * sigmoid(x)."""
    x = _as_float(x)
    return x * sigmoid(x)


swish = silu
