"""The activations layers hold: each a class with `forward`, which keeps what `backward` needs,
and `backward`, which returns dL/dx = f'(x) * dL/dy (Keras 3 names: `ReLU()`, `Softmax(axis)`).

Where the derivative can be written through the output it is (sigmoid: y(1 - y), tanh:
1 - y^2, relu: [y > 0]), so usually nothing but a reference to y is stored. The values
themselves come from the plain functions in `functions.py`.
"""

from __future__ import annotations

from typing import Any

from glassnet import checks, numerics, registry
from glassnet.activations.functions import (
    _GELU_CUBIC,
    _GELU_TANH_CLIP,
    _ONE_OVER_SQRT_2PI,
    _SELU_ALPHA,
    _SELU_SCALE,
    _SQRT_2_OVER_PI,
    _as_float,
    _gelu_tanh_gate,
    _normal_cdf,
    _select,
    elu,
    gelu,
    leaky_relu,
    linear,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from glassnet.backend import namespace
from glassnet.numerics import underflow_is_zero
from glassnet.training.buffers import step_buffer


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
        """y = f(x), keeping on self what `backward` needs.

        Compute into local names and return those; store on self only what backward reads,
        and never read it back within forward: two threads may run predict through the same
        layer at once, and the other one's forward may have replaced it in between."""
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
        y = sigmoid(x)
        self._y = y
        return y

    @underflow_is_zero
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
        y = tanh(x)
        self._y = y
        return y

    def backward(self, dy):
        dx = 1.0 - self._y * self._y
        dx *= dy
        return dx


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
        self.negative_slope = checks.non_negative("leaky_relu: negative_slope", negative_slope)

    def __call__(self, x):
        return leaky_relu(x, self.negative_slope)

    def forward(self, x, training=False):
        y = leaky_relu(x, self.negative_slope)
        self._y = y
        return y

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
        y = elu(x, self.alpha)
        self._y = y
        return y

    @underflow_is_zero
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
        y = selu(x)
        self._y = y
        return y

    @underflow_is_zero
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

    @underflow_is_zero
    def forward(self, x, training=False):
        x = _as_float(x)
        cdf = _gelu_tanh_gate(x) if self.approximate else _normal_cdf(x)
        self._x, self._cdf = x, cdf
        return x * cdf

    @underflow_is_zero
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
        y = softplus(x)
        self._y = y
        return y

    @underflow_is_zero
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
        self.axis = checks.integer("softmax: axis", axis)

    def __call__(self, x):
        return softmax(x, self.axis)

    def forward(self, x, training=False):
        self.logits = x
        # A layer's float pre-activation goes straight to the numerics (no dtype or
        # traced-tensor dispatch to pass through: this runs once per forward of a classifier)
        y = (numerics.softmax(x, self.axis) if getattr(x, "dtype", None) is not None
             and x.dtype.kind == "f" else softmax(x, self.axis))
        self._y = y
        return y

    @underflow_is_zero
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

    @underflow_is_zero
    def forward(self, x, training=False):
        x = _as_float(x)
        s = sigmoid(x)
        y = x * s
        self._s, self._y = s, y
        return y

    @underflow_is_zero
    def backward(self, dy):
        s = self._s
        dx = 1.0 - s
        dx *= self._y
        dx += s
        dx *= dy
        return dx
