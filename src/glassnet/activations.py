"""Activation functions: y = f(x) elementwise (softmax: along an axis), and their derivatives.

Each activation comes twice, with Keras 3 names and signatures:

- a plain function, `relu(x)`, `softmax(x, axis=-1)`, ... -- pure, nothing cached;
- a class, `ReLU()`, `Softmax(axis=-1)`, ... that a layer holds. Its `forward(x)` keeps what
  `backward(dy)` needs (usually just a reference to the output y), and `backward` returns
  dL/dx = f'(x) * dL/dy. Where the derivative can be written through the output it is
  (sigmoid: y(1 - y), tanh: 1 - y^2, relu: [y > 0]), so nothing else is stored.

    >>> import numpy as np
    >>> from glassnet import activations
    >>> act = activations.get("sigmoid")       # always a new object: each layer owns its cache
    >>> y = act.forward(np.array([-1.0, 0.0, 2.0]))
    >>> act.backward(np.ones(3))               # y * (1 - y)
    array([0.19661193, 0.25      , 0.10499359])

Numerics: outputs keep the input's float dtype (float32 in, float32 out: constants are Python
floats, which NumPy 2 does not let upcast an array). Nothing overflows for finite inputs:
exponentials only ever see non-positive arguments (exp(-|x|), x - max(x)), and where such an
exp underflows to 0 -- the correct rounded answer -- the underflow flag is silenced locally,
so the functions also run under `np.errstate(all="raise")`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from glassnet import config, registry
from glassnet.backend import namespace
from glassnet.training.buffers import step_buffer


def _as_float(x):
    """x as an array of a float dtype (its own if it has one, else `config.floatx()`)."""
    xp = namespace(x)
    x = xp.asarray(x)
    if not xp.issubdtype(x.dtype, xp.floating):
        x = x.astype(config.floatx())
    return x


def _underflow_is_zero(function):
    """Run `function` with NumPy's underflow flag silenced (overflow and invalid still count).

    exp(-800) -> 0, or a probability of 1e-320 times a gradient, are the correctly rounded
    answers, not errors; without this, `np.errstate(all="raise")` would stop on them.
    """

    @functools.wraps(function)
    def quiet(*args, **kwargs):
        with np.errstate(under="ignore"):
            return function(*args, **kwargs)

    return quiet


def _select(condition, a, b):
    """np.where(condition, a, b) written as a * c + b * (not c).

    Exact for finite a and b (times 1 or 0, plus 0), and about 10x faster than np.where,
    which branches per element and so mispredicts on the random signs of activations.
    """
    result = a * condition
    result += b * ~condition
    return result


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


@_underflow_is_zero
def erf(x):
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise.

    Cody's rational approximations, relative error ~1e-15 in float64 (computed in x's dtype).
    """
    x = _as_float(x)
    near_zero, erf_near, erfc_far = _erf_parts(x)
    return _select(near_zero, erf_near, namespace(x).copysign(1.0 - erfc_far, x))


@_underflow_is_zero
def erfc(x):
    """The complementary error function erfc(x) = 1 - erf(x), accurate in the tail (x >> 1)."""
    x = _as_float(x)
    near_zero, erf_near, erfc_far = _erf_parts(x)
    return _select(near_zero, 1.0 - erf_near, _select(x < 0, 2.0 - erfc_far, erfc_far))


# ----- the plain functions (Keras 3 signatures) ------------------------------------------
def linear(x):
    """The identity, f(x) = x."""
    return _as_float(x)


@_underflow_is_zero
def sigmoid(x):
    """sigma(x) = 1 / (1 + exp(-x)), in (0, 1).

    Written as exp(min(x, 0)) / (1 + exp(-|x|)) -- 1 / (1 + e^-x) for x >= 0 and
    e^x / (1 + e^x) for x < 0 -- so exp never sees a positive argument (no overflow) and the
    left tail keeps full relative precision (sigma(-40) = 4.2e-18, not 1 - 1 = 0).
    Measured on 256x512 arrays: 0.16 ms float32, 0.28 ms float64; 0.5 (1 + tanh(x / 2)) is
    2-4x faster but loses all relative precision below x = -20 (float64) or -9 (float32), and
    np.where by sign is 3x slower (branchy on random signs).
    """
    x = _as_float(x)
    xp = namespace(x)
    denominator = xp.exp(-xp.abs(x))
    denominator += 1.0                  # 1 + exp(-|x|), in [1, 2]
    y = xp.exp(xp.minimum(x, 0.0))      # exp(min(x, 0)), in (0, 1]
    y /= denominator
    return y


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


@_underflow_is_zero
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


@_underflow_is_zero
def gelu(x, approximate: bool = False):
    """Gaussian error linear unit: f(x) = x Phi(x), Phi the standard normal CDF.

    approximate=False: Phi(x) = 0.5 (1 + erf(x / sqrt(2))), exact (computed via erfc).
    approximate=True: Phi(x) ~ 0.5 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated as
    sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) (the same function, without cancellation).
    """
    x = _as_float(x)
    return x * (_gelu_tanh_gate(x) if approximate else _normal_cdf(x))


@_underflow_is_zero
def softplus(x):
    """f(x) = log(1 + exp(x)), written as max(x, 0) + log1p(exp(-|x|)) so exp never overflows."""
    x = _as_float(x)
    xp = namespace(x)
    return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))


@_underflow_is_zero
def softmax(x, axis: int = -1):
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m) along `axis`, m = max_j x_j.

    Subtracting the max leaves the result unchanged and makes every exponent <= 0.
    """
    x = _as_float(x)
    xp = namespace(x)
    y = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    y /= xp.sum(y, axis=axis, keepdims=True)
    return y


@_underflow_is_zero
def silu(x):
    """Sigmoid linear unit (swish): f(x) = x * sigmoid(x)."""
    x = _as_float(x)
    return x * sigmoid(x)


swish = silu


# ----- the classes layers hold -----------------------------------------------------------
class ActivationFunction:
    """Base class: an activation with its derivative.

    Subclasses set `name` (the Keras name) and implement `__call__` (pure), `forward` (which
    caches what `backward` needs on self) and `backward`. Constructor arguments go in
    `get_config` so that `from_config` (and `get`, which copies) can rebuild the object.

    Example, a custom activation f(x) = x^2:

        class Square(ActivationFunction):
            name = "square"

            def __call__(self, x):
                return x * x

            def forward(self, x, training=False):
                self._x = x
                return x * x

            def backward(self, dy):
                return 2 * self._x * dy
    """

    name: str = "activation"

    def __call__(self, x):
        raise NotImplementedError(f"{type(self).__name__}.__call__")

    def forward(self, x, training: bool = False):
        """y = f(x), keeping on self what `backward` needs."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, dy):
        """dL/dy -> dL/dx for the last `forward`; same shape as x."""
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def forget(self) -> None:
        """Drop the arrays `forward` kept for `backward` (after an inference-only forward)."""
        for name, value in list(vars(self).items()):
            if hasattr(value, "shape") and hasattr(value, "dtype"):
                setattr(self, name, None)

    def forward_overwriting(self, x, training: bool = False):
        """`forward` for a caller that owns x and will not read it again (Dense and Conv
        pass their fresh pre-activation x @ W + b): an activation may write y over x
        instead of allocating a second array. The default simply calls `forward`."""
        return self.forward(x, training=training)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> ActivationFunction:
        return cls(**config_)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@registry.register("activation", "linear")
class Linear(ActivationFunction):
    """f(x) = x; f'(x) = 1, so backward passes dy through."""

    name = "linear"

    def __call__(self, x):
        return linear(x)

    def forward(self, x, training=False):
        return linear(x)

    def backward(self, dy):
        return dy


@registry.register("activation", "sigmoid")
class Sigmoid(ActivationFunction):
    """f(x) = 1 / (1 + exp(-x)); f'(x) = y (1 - y).

    `forward` also keeps `self.logits = x` (a reference, no copy): the model's fused
    sigmoid + binary cross-entropy path computes the loss and dL/dx = (y - t)/N from them.
    """

    name = "sigmoid"

    def __call__(self, x):
        return sigmoid(x)

    def forward(self, x, training=False):
        self.logits = x
        self._y = sigmoid(x)
        return self._y

    @_underflow_is_zero
    def backward(self, dy):
        y = self._y
        dx = 1.0 - y
        dx *= y
        dx *= dy
        return dx


@registry.register("activation", "tanh")
class Tanh(ActivationFunction):
    """f(x) = tanh(x); f'(x) = 1 - y^2."""

    name = "tanh"

    def __call__(self, x):
        return tanh(x)

    def forward(self, x, training=False):
        self._y = tanh(x)
        return self._y

    def backward(self, dy):
        dx = 1.0 - self._y * self._y
        dx *= dy
        return dx


def _check_non_negative(owner: str, argument: str, value) -> float:
    if value is None or not value >= 0:
        raise ValueError(f"{owner}: {argument} must be a number >= 0, got {value!r}")
    return float(value)


@registry.register("activation", "relu")
class ReLU(ActivationFunction):
    """Rectified linear unit (see `relu` for the leak, cap and threshold).

    f'(x) = 1 where threshold < x < max_value (and x > 0 if capped), negative_slope where
    x < threshold, else 0. With the default arguments this is [y > 0], read off the output.
    """

    name = "relu"

    def __init__(self, negative_slope: float = 0.0, max_value: float | None = None,
                 threshold: float = 0.0):
        self.negative_slope = float(negative_slope)
        self.max_value = None if max_value is None else float(max_value)
        self.threshold = float(threshold)
        self._plain = (self.negative_slope == 0.0 and self.max_value is None
                       and self.threshold == 0.0)

    def __call__(self, x):
        return relu(x, self.negative_slope, self.max_value, self.threshold)

    def forward(self, x, training=False):
        y = self(x)
        # The plain ReLU's derivative [y > 0] needs only the output; the general one needs x.
        self._saved = y if self._plain else x
        return y

    def forward_overwriting(self, x, training=False):
        if not (self._plain and x.dtype.kind == "f"):
            return self.forward(x, training=training)
        # max(x, 0) written over x: one pass, no second activation-sized array. Safe because
        # backward needs only y (which is x now), and the caller hands over x.
        self._saved = namespace(x).maximum(x, 0.0, out=x)
        return x

    def backward(self, dy):
        if self._plain:
            xp = namespace(dy)
            dx = step_buffer(self, "dx", dy.shape, xp.result_type(dy, self._saved), xp)
            return xp.multiply(dy, self._saved > 0, out=dx)
        x = self._saved
        passes = x > self.threshold                      # the identity part, slope 1
        if self.max_value is not None:
            passes &= (x > 0) & (x < self.max_value)     # clipped parts are flat
        dx = dy * passes
        if self.negative_slope != 0.0:
            dx += self.negative_slope * (dy * (x < self.threshold))
        return dx

    def get_config(self):
        return {"negative_slope": self.negative_slope, "max_value": self.max_value,
                "threshold": self.threshold}


@registry.register("activation", "leaky_relu")
class LeakyReLU(ActivationFunction):
    """f(x) = x for x > 0, negative_slope * x otherwise; f'(x) = 1 or negative_slope.

    With negative_slope >= 0, x > 0 exactly where y > 0, so backward reads the output.
    """

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.2):
        self.negative_slope = _check_non_negative("leaky_relu", "negative_slope",
                                                  negative_slope)

    def __call__(self, x):
        return leaky_relu(x, self.negative_slope)

    def forward(self, x, training=False):
        self._y = leaky_relu(x, self.negative_slope)
        return self._y

    def backward(self, dy):
        return _select(self._y > 0, dy, self.negative_slope * dy)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


@registry.register("activation", "elu")
class ELU(ActivationFunction):
    """f(x) = x for x > 0, alpha (exp(x) - 1) otherwise; f'(x) = 1, or y + alpha."""

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def __call__(self, x):
        return elu(x, self.alpha)

    def forward(self, x, training=False):
        self._x = x                          # the branch; with alpha < 0, y > 0 on both sides
        self._y = elu(x, self.alpha)
        return self._y

    @_underflow_is_zero
    def backward(self, dy):
        return _select(self._x > 0, dy, (self._y + self.alpha) * dy)

    def get_config(self):
        return {"alpha": self.alpha}


@registry.register("activation", "selu")
class SELU(ActivationFunction):
    """f(x) = scale * elu(x, alpha); f'(x) = scale for x > 0, else y + scale * alpha."""

    name = "selu"

    def __call__(self, x):
        return selu(x)

    def forward(self, x, training=False):
        self._x = x
        self._y = selu(x)
        return self._y

    @_underflow_is_zero
    def backward(self, dy):
        return _select(self._x > 0, _SELU_SCALE * dy,
                       (self._y + _SELU_SCALE * _SELU_ALPHA) * dy)


@registry.register("activation", "gelu")
class GELU(ActivationFunction):
    """f(x) = x Phi(x).

    Exact: f'(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    approximate=True, Phi(x) ~ s = sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3):
    f'(x) = s + 2 x s (1 - s) u'(x), u'(x) = sqrt(2/pi) (1 + 3 * 0.044715 x^2).
    """

    name = "gelu"

    def __init__(self, approximate: bool = False):
        self.approximate = bool(approximate)

    def __call__(self, x):
        return gelu(x, self.approximate)

    @_underflow_is_zero
    def forward(self, x, training=False):
        x = _as_float(x)
        self._x = x
        self._cdf = _gelu_tanh_gate(x) if self.approximate else _normal_cdf(x)
        return x * self._cdf

    @_underflow_is_zero
    def backward(self, dy):
        x = self._x
        xp = namespace(x)
        if self.approximate:
            s = self._cdf
            xc = xp.clip(x, -_GELU_TANH_CLIP, _GELU_TANH_CLIP)   # s (1 - s) = 0 beyond anyway
            du = (2.0 * _SQRT_2_OVER_PI) * (1.0 + (3.0 * _GELU_CUBIC) * xc * xc)   # d(2u)/dx
            dx = s * (1.0 - s)
            dx *= du
            dx *= x
            dx += s
        else:
            # exp(-x^2/2) is 0 beyond |x| = 40 anyway; the clip keeps x^2 finite.
            xc = xp.clip(x, -40.0, 40.0)
            pdf = _ONE_OVER_SQRT_2PI * xp.exp(-0.5 * xc * xc)
            dx = self._cdf + x * pdf
        dx *= dy
        return dx

    def get_config(self):
        return {"approximate": self.approximate}


@registry.register("activation", "softplus")
class Softplus(ActivationFunction):
    """f(x) = log(1 + exp(x)); f'(x) = sigmoid(x) = 1 - exp(-y), read off the output.

    (exp(-y) = 1 / (1 + exp(x)); -expm1(-y) keeps full precision when y is tiny.)
    """

    name = "softplus"

    def __call__(self, x):
        return softplus(x)

    def forward(self, x, training=False):
        self._y = softplus(x)
        return self._y

    @_underflow_is_zero
    def backward(self, dy):
        dx = namespace(self._y).expm1(-self._y)      # exp(-y) - 1 = -sigmoid(x)
        dx *= dy
        dx *= -1.0
        return dx


@registry.register("activation", "softmax")
class Softmax(ActivationFunction):
    """y = softmax(x) along `axis`; dL/dx = y * (dy - sum(dy * y, axis)).

    (The Jacobian dy_i/dx_j = y_i (delta_ij - y_j), applied to dy without forming it.)
    `forward` also keeps `self.logits = x` (a reference, no copy): the model's fused
    softmax + cross-entropy path computes the loss and dL/dx = (y - t)/N from them.
    """

    name = "softmax"

    def __init__(self, axis: int = -1):
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"softmax: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def __call__(self, x):
        return softmax(x, self.axis)

    def forward(self, x, training=False):
        self.logits = x
        self._y = softmax(x, self.axis)
        return self._y

    @_underflow_is_zero
    def backward(self, dy):
        y = self._y
        inner = namespace(y).sum(dy * y, axis=self.axis, keepdims=True)  # sum_j dy_j y_j
        dx = dy - inner
        dx *= y
        return dx

    def get_config(self):
        return {"axis": self.axis}


@registry.register("activation", "silu", "swish")
class SiLU(ActivationFunction):
    """f(x) = x s, s = sigmoid(x); f'(x) = s + x s (1 - s) = s + y (1 - s)."""

    name = "silu"

    def __call__(self, x):
        return silu(x)

    @_underflow_is_zero
    def forward(self, x, training=False):
        x = _as_float(x)
        self._s = sigmoid(x)
        self._y = x * self._s
        return self._y

    @_underflow_is_zero
    def backward(self, dy):
        s = self._s
        dx = 1.0 - s
        dx *= self._y
        dx += s
        dx *= dy
        return dx


# ----- look-up and serialisation ---------------------------------------------------------
_BUILT_IN = {cls.name: cls for cls in (Linear, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, GELU,
                                       Softplus, Softmax, SiLU)}
# The plain functions are accepted too (`Dense(3, activation=activations.relu)`), as the
# class with default arguments: their derivatives are known.
_FUNCTIONS = {linear: Linear, sigmoid: Sigmoid, tanh: Tanh, relu: ReLU, leaky_relu: LeakyReLU,
              elu: ELU, selu: SELU, gelu: GELU, softplus: Softplus, softmax: Softmax,
              silu: SiLU}

_NEEDS_DERIVATIVE = """\
activation: got the callable {callable!r}, but a layer needs its derivative too. Subclass \
glassnet.activations.ActivationFunction:

    class Square(ActivationFunction):
        name = "square"
        def __call__(self, x):
            return x * x
        def forward(self, x, training=False):
            self._x = x                      # what backward needs
            return x * x
        def backward(self, dy):
            return 2 * self._x * dy          # dL/dx = f'(x) * dL/dy

and pass Square() (register it with glassnet.registry.register_serializable(kind="activation")
so that saved models can load it)."""


def get(identifier=None) -> ActivationFunction:
    """A new ActivationFunction from a name, a config dict, an instance (copied) or None.

    Always a fresh object, because each layer caches its own forward values on it.

        >>> get("elu"), get(None), get({"class_name": "LeakyReLU",
        ...                             "config": {"negative_slope": 0.1}})
        (ELU(alpha=1.0), Linear(), LeakyReLU(negative_slope=0.1))
    """
    if identifier is None:
        return Linear()
    if isinstance(identifier, ActivationFunction):
        return type(identifier).from_config(identifier.get_config())
    if isinstance(identifier, type) and issubclass(identifier, ActivationFunction):
        return identifier()
    if isinstance(identifier, (str, dict)):
        activation = registry.deserialize("activation", identifier)
        if not isinstance(activation, ActivationFunction):
            raise TypeError(f"activation {identifier!r}: registered entry is not an "
                            f"ActivationFunction, got {activation!r}")
        return activation
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    if callable(identifier):
        raise TypeError(_NEEDS_DERIVATIVE.format(callable=identifier))
    raise TypeError(f"activation: expected None, a name, a dict or an ActivationFunction, "
                    f"got {type(identifier).__name__} {identifier!r}")


def serialize(activation) -> str | dict[str, Any]:
    """The Keras name ("relu") for a built-in with default arguments, else a config dict."""
    activation = activation if isinstance(activation, ActivationFunction) else get(activation)
    cls = type(activation)
    if _BUILT_IN.get(activation.name) is cls and activation.get_config() == cls().get_config():
        return activation.name
    return registry.serialize(activation)


def deserialize(config_, custom_objects: dict[str, Any] | None = None) -> ActivationFunction:
    """The inverse of `serialize` (custom classes may be passed in `custom_objects`)."""
    return registry.deserialize("activation", config_, custom_objects)
