"""The rest of Keras 3's activations: mish, celu, glu, the shrinks, the hard and sparse ones.

Each comes, as in `functions.py` and `classes.py`, as a plain function with Keras' name and
signature (`mish(x)`, `glu(x, axis=-1)`, `threshold(x, threshold, default_value)`) and as a
class a layer holds, whose `backward` is the derivative written out:

    celu         x > 0 ? x : alpha (exp(x/alpha) - 1)        f' = 1 or y/alpha + 1
    glu          a sigmoid(b), [a, b] = split(x, 2, axis)     da = s dy, db = a s (1-s) dy
    hard_shrink  x [|x| > t]                                  f' = [|x| > t]
    hard_silu    x relu6(x + 3) / 6                           f' = 0, (2x + 3)/6, 1
    hard_tanh    clip(x, -1, 1)                               f' = [|x| < 1]
    mish         x tanh(softplus(x))                          f' = t + x (1 - t^2) sigmoid(x)
    soft_shrink  x - clip(x, -t, t)                           f' = [|x| > t]
    sparse_plus  0, (x + 1)^2 / 4, x (breaks at -1 and 1)     f' = clip((x + 1)/2, 0, 1)
    sparse_sigmoid  clip((x + 1)/2, 0, 1)                     f' = [|x| < 1] / 2
    sparsemax    max(x - tau, 0), tau so the sum is 1         dx = [y>0] (dy - mean_S dy)
    squareplus   (x + sqrt(x^2 + b)) / 2                      f' = y / sqrt(x^2 + b)
    tanh_shrink  x - tanh(x)                                  f' = tanh(x)^2
    threshold    x > t ? x : default_value                    f' = [x > t]

Numerics: nothing overflows for finite inputs (squareplus takes sqrt(x^2 + b) as a hypot;
celu and mish only exponentiate non-positive numbers), squareplus has no cancellation for
x << 0 (written as b / (2 (r - x)) there) and tanh_shrink none near 0 (its Taylor series).

On the tape's tensors (inside a layer's `call()`) and the functional API's symbolic tensors
each function (sparsemax aside) runs as the glassnet.ops expression of the same formula
(`_composed_on_tensors`), so the tape differentiates it; as a layer's `activation=` the
class's own derivative is used.
"""

from __future__ import annotations

import functools

from glassnet import autodiff, checks, registry
from glassnet.activations.classes import ActivationFunction
from glassnet.activations.functions import (
    _as_float,
    _expm1_negative_part,
    _select,
    sigmoid,
    softplus,
)
from glassnet.backend import namespace
from glassnet.numerics import underflow_is_zero


def _composed_on_tensors(on_tensors):
    """On a traced or symbolic tensor, compute `on_tensors(ops, x, *args)` from glassnet.ops'
    ops (looked up when called: glassnet.ops imports this package) instead of the NumPy code."""

    def decorate(function):
        @functools.wraps(function)
        def dispatch(x, *args, **kwargs):
            if isinstance(x, autodiff.Operators):
                return on_tensors(autodiff.REGISTRY, x, *args, **kwargs)
            return function(x, *args, **kwargs)

        return dispatch

    return decorate


def _glu_on_tensors(ops, x, axis=-1):
    half = x.shape[axis] // 2
    a = ops["take"](x, list(range(half)), axis=axis)
    b = ops["take"](x, list(range(half, 2 * half)), axis=axis)
    return ops["multiply"](a, ops["sigmoid"](b))


def _sparsemax_on_tensors(ops, x, axis=-1):
    raise TypeError("activations.sparsemax on a tensor of call() or the functional API: use "
                    "layers.Activation('sparsemax') (or activation='sparsemax'), which has its "
                    "derivative")


# ----- the plain functions (Keras 3 signatures) ------------------------------------------
@_composed_on_tensors(lambda ops, x, alpha=1.0: ops["add"](ops["relu"](x), ops["multiply"](
    alpha, ops["expm1"](ops["divide"](ops["minimum"](x, 0.0), alpha)))))
@underflow_is_zero
def celu(x, alpha: float = 1.0):
    """Continuously differentiable ELU: x for x > 0, alpha (exp(x / alpha) - 1) otherwise."""
    x = _as_float(x)
    y = alpha * _expm1_negative_part(x / alpha)
    y += namespace(x).maximum(x, 0.0)
    return y


def _halves(x, axis: int):
    """x split in two equal halves along `axis` (ValueError when its length is odd)."""
    length = x.shape[axis]
    if length % 2:
        raise ValueError(f"glu: the length of axis {axis} must be even, got shape {x.shape}")
    xp = namespace(x)
    return xp.split(x, 2, axis=axis)


@_composed_on_tensors(_glu_on_tensors)
@underflow_is_zero
def glu(x, axis: int = -1):
    """Gated linear unit: a * sigmoid(b), where a and b are the two halves of x along `axis`
    (so the output is half as long there)."""
    a, b = _halves(_as_float(x), axis)
    return a * sigmoid(b)


@_composed_on_tensors(lambda ops, x, threshold=0.5: ops["multiply"](
    x, ops["greater"](ops["abs"](x), threshold)))
def hard_shrink(x, threshold: float = 0.5):
    """x where |x| > threshold, else 0."""
    x = _as_float(x)
    return x * (namespace(x).abs(x) > threshold)


@_composed_on_tensors(lambda ops, x: ops["multiply"](
    x, ops["divide"](ops["clip"](ops["add"](x, 3.0), 0.0, 6.0), 6.0)))
def hard_silu(x):
    """Hard SiLU (hard swish): x * relu6(x + 3) / 6, i.e. 0 below -3, x above 3."""
    x = _as_float(x)
    return x * (namespace(x).clip(x + 3.0, 0.0, 6.0) / 6.0)


hard_swish = hard_silu


@_composed_on_tensors(lambda ops, x: ops["clip"](x, -1.0, 1.0))
def hard_tanh(x):
    """clip(x, -1, 1)."""
    x = _as_float(x)
    return namespace(x).clip(x, -1.0, 1.0)


@_composed_on_tensors(lambda ops, x: ops["multiply"](x, ops["tanh"](ops["softplus"](x))))
@underflow_is_zero
def mish(x):
    """x * tanh(softplus(x)) (softplus written so exp never overflows)."""
    x = _as_float(x)
    return x * namespace(x).tanh(softplus(x))


@_composed_on_tensors(lambda ops, x, threshold=0.5: ops["subtract"](
    x, ops["clip"](x, -threshold, threshold)))
def soft_shrink(x, threshold: float = 0.5):
    """x - threshold above threshold, x + threshold below -threshold, else 0."""
    x = _as_float(x)
    return x - namespace(x).clip(x, -threshold, threshold)


@_composed_on_tensors(lambda ops, x: ops["add"](
    ops["multiply"](0.25, ops["square"](ops["add"](ops["clip"](x, -1.0, 1.0), 1.0))),
    ops["relu"](ops["subtract"](x, 1.0))))
def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1 (a C^1 softplus)."""
    x = _as_float(x)
    xp = namespace(x)
    inside = xp.clip(x, -1.0, 1.0) + 1.0
    y = 0.25 * inside * inside
    y += xp.maximum(x - 1.0, 0.0)             # beyond 1: 1 + (x - 1) = x
    return y


@_composed_on_tensors(lambda ops, x: ops["clip"](ops["multiply"](0.5, ops["add"](x, 1.0)),
                                                 0.0, 1.0))
def sparse_sigmoid(x):
    """clip((x + 1) / 2, 0, 1): 0 below -1, 1 above 1, linear between."""
    x = _as_float(x)
    return namespace(x).clip(0.5 * (x + 1.0), 0.0, 1.0)


@_composed_on_tensors(_sparsemax_on_tensors)
def sparsemax(x, axis: int = -1):
    """max(x - tau, 0) along `axis`, tau the one number that makes the outputs sum to 1
    (Martins & Astudillo 2016): the Euclidean projection of x onto the probability simplex.

    tau from the sorted values z_(1) >= z_(2) >= ...: k = the largest k with
    1 + k z_(k) > sum_{j<=k} z_(j), tau = (sum_{j<=k} z_(j) - 1) / k.
    """
    x = _as_float(x)
    xp = namespace(x)
    z = xp.moveaxis(x, axis, -1)
    z = z - z.max(axis=-1, keepdims=True)           # shift-invariant; keeps the sums small
    ordered = -xp.sort(-z, axis=-1)                 # descending
    cumulative = xp.cumsum(ordered, axis=-1)
    k = xp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    in_support = 1.0 + k * ordered > cumulative     # true for a prefix of the sorted values
    support = in_support.sum(axis=-1, keepdims=True)
    total = xp.take_along_axis(cumulative, support - 1, axis=-1)
    tau = (total - 1.0) / support.astype(z.dtype)
    return xp.moveaxis(xp.maximum(z - tau, 0.0), -1, axis)


def _hypot_b(x, b: float):
    """sqrt(x^2 + b) without overflow for large |x|."""
    return namespace(x).hypot(x, b ** 0.5)


@_composed_on_tensors(lambda ops, x, b=4: ops["multiply"](
    0.5, ops["add"](x, ops["hypot"](x, b ** 0.5))))
@underflow_is_zero
def squareplus(x, b: float = 4):
    """(x + sqrt(x^2 + b)) / 2, a smooth relu; for x < 0 computed as b / (2 (r - x)), the
    same number without the cancellation of x + r."""
    x = _as_float(x)
    xp = namespace(x)
    r = _hypot_b(x, b)
    right = 0.5 * (x + r)
    left = (0.5 * b) / (r - xp.minimum(x, 0.0))     # r - x >= sqrt(b) > 0 where used
    return _select(x >= 0, right, left) if b > 0 else right


# Below |x| = 0.1 x - tanh(x) ~ x^3/3 loses digits to cancellation; there its Taylor series
# to x^13 is used (the next term, 929569 x^15 / 638512875, is below 5e-15 of the sum).
_TANH_SHRINK_SERIES = 0.1
_TANH_SHRINK_COEFFICIENTS = (1.0 / 3.0, -2.0 / 15.0, 17.0 / 315.0, -62.0 / 2835.0,
                             1382.0 / 155925.0, -21844.0 / 6081075.0)   # of x^3, x^5, ...


@_composed_on_tensors(lambda ops, x: ops["subtract"](x, ops["tanh"](x)))
def tanh_shrink(x):
    """x - tanh(x) (by its Taylor series near 0)."""
    x = _as_float(x)
    xp = namespace(x)
    near = xp.clip(x, -_TANH_SHRINK_SERIES, _TANH_SHRINK_SERIES)
    z = near * near
    series = _TANH_SHRINK_COEFFICIENTS[-1] * z
    for c in _TANH_SHRINK_COEFFICIENTS[-2:0:-1]:
        series += c
        series *= z
    series += _TANH_SHRINK_COEFFICIENTS[0]
    series *= near * z
    return _select(xp.abs(x) < _TANH_SHRINK_SERIES, series, x - xp.tanh(x))


@_composed_on_tensors(lambda ops, x, threshold, default_value: ops["where"](
    ops["greater"](x, threshold), x, default_value))
def threshold(x, threshold: float, default_value: float):
    """x where x > threshold, else default_value."""
    x = _as_float(x)
    above = x > threshold
    return _select(above, x, namespace(x).full_like(x, default_value))


# ----- the classes layers hold -----------------------------------------------------------
class _Elementwise(ActivationFunction):
    """An activation y = f(x) whose backward needs x (kept by reference)."""

    def forward(self, x, training=False):
        x = _as_float(x)
        y = self(x)
        self._x, self._y = x, y          # set, never read back here: see ActivationFunction
        return y


@registry.register("activation", "celu")
class CELU(_Elementwise):
    """f(x) = x (x > 0), alpha expm1(x / alpha); f'(x) = 1, or y / alpha + 1 = exp(x/alpha)."""

    name = "celu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)
        if self.alpha == 0.0:
            raise ValueError("celu: alpha must be non-zero, got 0.0")

    def __call__(self, x):
        return celu(x, self.alpha)

    def backward(self, dy):
        return _select(self._x > 0, dy, (self._y / self.alpha + 1.0) * dy)

    def get_config(self):
        return {"alpha": self.alpha}


@registry.register("activation", "glu")
class GLU(ActivationFunction):
    """y = a s, s = sigmoid(b), [a, b] = halves of x along `axis`;
    dL/da = dy s, dL/db = dy a s (1 - s), put back side by side."""

    name = "glu"

    def __init__(self, axis: int = -1):
        self.axis = checks.integer("glu: axis", axis)

    def __call__(self, x):
        return glu(x, self.axis)

    @underflow_is_zero
    def forward(self, x, training=False):
        a, b = _halves(_as_float(x), self.axis)
        s = sigmoid(b)
        self._a, self._s = a, s
        return a * s

    def backward(self, dy):
        s = self._s
        da = dy * s
        db = da * self._a
        db *= 1.0 - s
        return namespace(da).concatenate([da, db], axis=self.axis)

    def get_config(self):
        return {"axis": self.axis}


class _Shrink(_Elementwise):
    """Shared by hard_shrink and soft_shrink: f'(x) = [|x| > threshold]."""

    def __init__(self, threshold: float = 0.5):
        self.threshold = checks.non_negative(f"{self.name}: threshold", threshold)

    def backward(self, dy):
        return dy * (namespace(self._x).abs(self._x) > self.threshold)

    def get_config(self):
        return {"threshold": self.threshold}


@registry.register("activation", "hard_shrink")
class HardShrink(_Shrink):
    """f(x) = x [|x| > threshold]; f'(x) = [|x| > threshold]."""

    name = "hard_shrink"

    def __call__(self, x):
        return hard_shrink(x, self.threshold)


@registry.register("activation", "soft_shrink")
class SoftShrink(_Shrink):
    """f(x) = x - clip(x, -threshold, threshold); f'(x) = [|x| > threshold]."""

    name = "soft_shrink"

    def __call__(self, x):
        return soft_shrink(x, self.threshold)


@registry.register("activation", "hard_silu", "hard_swish")
class HardSiLU(_Elementwise):
    """f(x) = x relu6(x + 3) / 6; f'(x) = 0 below -3, (2x + 3) / 6 between, 1 above 3."""

    name = "hard_silu"

    def __call__(self, x):
        return hard_silu(x)

    def backward(self, dy):
        x = self._x
        xp = namespace(x)
        slope = (2.0 * x + 3.0) / 6.0 * (xp.abs(x) < 3.0)
        slope += x >= 3.0
        return slope * dy


@registry.register("activation", "hard_tanh")
class HardTanh(_Elementwise):
    """f(x) = clip(x, -1, 1); f'(x) = [|x| < 1]."""

    name = "hard_tanh"

    def __call__(self, x):
        return hard_tanh(x)

    def backward(self, dy):
        return dy * (namespace(self._x).abs(self._x) < 1.0)


@registry.register("activation", "mish")
class Mish(ActivationFunction):
    """f(x) = x t, t = tanh(softplus(x)); f'(x) = t + x (1 - t^2) sigmoid(x)."""

    name = "mish"

    def __call__(self, x):
        return mish(x)

    @underflow_is_zero
    def forward(self, x, training=False):
        x = _as_float(x)
        t = namespace(x).tanh(softplus(x))
        self._x, self._t = x, t
        return x * t

    @underflow_is_zero
    def backward(self, dy):
        t = self._t
        dx = 1.0 - t * t
        dx *= self._x
        dx *= sigmoid(self._x)
        dx += t
        dx *= dy
        return dx


@registry.register("activation", "sparse_plus")
class SparsePlus(_Elementwise):
    """f(x) = 0, (x + 1)^2 / 4, x; f'(x) = clip((x + 1) / 2, 0, 1)."""

    name = "sparse_plus"

    def __call__(self, x):
        return sparse_plus(x)

    def backward(self, dy):
        return dy * namespace(self._x).clip(0.5 * (self._x + 1.0), 0.0, 1.0)


@registry.register("activation", "sparse_sigmoid")
class SparseSigmoid(_Elementwise):
    """f(x) = clip((x + 1) / 2, 0, 1); f'(x) = 1/2 on (-1, 1), else 0."""

    name = "sparse_sigmoid"

    def __call__(self, x):
        return sparse_sigmoid(x)

    def backward(self, dy):
        return 0.5 * (dy * (namespace(self._x).abs(self._x) < 1.0))


@registry.register("activation", "sparsemax")
class Sparsemax(ActivationFunction):
    """y = sparsemax(x) along `axis`. On the support S = {y > 0} the map is x - tau(x) with
    tau the mean of x over S (less 1/|S|), so dL/dx = [y > 0] (dy - mean_S(dy))."""

    name = "sparsemax"

    def __init__(self, axis: int = -1):
        self.axis = checks.integer("sparsemax: axis", axis)

    def __call__(self, x):
        return sparsemax(x, self.axis)

    def forward(self, x, training=False):
        y = sparsemax(x, self.axis)
        self._y = y
        return y

    def backward(self, dy):
        xp = namespace(dy)
        support = self._y > 0
        size = support.sum(axis=self.axis, keepdims=True).astype(dy.dtype)   # |S| >= 1
        mean = xp.sum(dy * support, axis=self.axis, keepdims=True) / size
        return (dy - mean) * support

    def get_config(self):
        return {"axis": self.axis}


@registry.register("activation", "squareplus")
class Squareplus(_Elementwise):
    """f(x) = (x + r) / 2, r = sqrt(x^2 + b); f'(x) = (1 + x / r) / 2 = y / r."""

    name = "squareplus"

    def __init__(self, b: float = 4):
        self.b = checks.non_negative("squareplus: b", b)

    def __call__(self, x):
        return squareplus(x, self.b)

    @underflow_is_zero
    def backward(self, dy):
        return dy * (self._y / _hypot_b(self._x, self.b))

    def get_config(self):
        return {"b": self.b}


@registry.register("activation", "tanh_shrink")
class TanhShrink(_Elementwise):
    """f(x) = x - tanh(x); f'(x) = tanh(x)^2."""

    name = "tanh_shrink"

    def __call__(self, x):
        return tanh_shrink(x)

    def backward(self, dy):
        t = namespace(self._x).tanh(self._x)
        return dy * (t * t)


@registry.register("activation", "threshold")
class Threshold(_Elementwise):
    """f(x) = x where x > threshold, else default_value; f'(x) = [x > threshold].

    Both arguments are required, as in Keras (so `activation="threshold"` is refused)."""

    name = "threshold"

    def __init__(self, threshold: float, default_value: float):
        self.threshold = float(threshold)
        self.default_value = float(default_value)

    def __call__(self, x):
        return threshold(x, self.threshold, self.default_value)

    def backward(self, dy):
        return dy * (self._x > self.threshold)

    def get_config(self):
        return {"threshold": self.threshold, "default_value": self.default_value}


EXTENDED_CLASSES = (CELU, GLU, HardShrink, SoftShrink, HardSiLU, HardTanh, Mish, SparsePlus,
                    SparseSigmoid, Sparsemax, Squareplus, TanhShrink, Threshold)
# The plain functions, as the class with default arguments (threshold has none to default).
EXTENDED_FUNCTIONS = {celu: CELU, glu: GLU, hard_shrink: HardShrink, soft_shrink: SoftShrink,
                      hard_silu: HardSiLU, hard_tanh: HardTanh, mish: Mish,
                      sparse_plus: SparsePlus, sparse_sigmoid: SparseSigmoid,
                      sparsemax: Sparsemax, squareplus: Squareplus, tanh_shrink: TanhShrink}
