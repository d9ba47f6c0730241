"""Activation layers: y = f(x) elementwise (Softmax: along an axis), no weights.

Each layer holds an `glassnet.activations.ActivationFunction` in `self.activation`; forward
and backward are that object's, so the math lives in one place (`glassnet.activations`) and a
`Dense(…, activation="relu")` and a `Dense(…)` followed by `ReLU()` compute the same thing.

    >>> import numpy as np
    >>> from glassnet import layers
    >>> layers.ReLU(max_value=6.0)(np.array([[-1.0, 3.0, 9.0]]))
    array([[0., 3., 6.]])
"""

from __future__ import annotations

from glassnet import activations, checks
from glassnet.layers.base import Layer
from glassnet.registry import register


class _ActivationLayer(Layer):
    """Shared body: forward/backward delegate to `self.activation` (set by the subclass)."""

    supports_masking = True      # elementwise: a padding mask passes on (Keras)

    activation: activations.ActivationFunction

    def forward(self, x, training: bool = False):
        """x (N, ...) -> y = f(x), same shape."""
        return self.activation.forward(x, training=training)

    def backward(self, dy):
        """dL/dy (N, ...) -> dL/dx = f'(x) * dL/dy (Softmax: the Jacobian applied to dy)."""
        return self.activation.backward(dy)

    def backward_preactivation(self, dz):
        """dL/dx when the loss already produced it (the model's fused softmax/sigmoid +
        cross-entropy path, where dL/dlogits = (y - t)/N): passed through unchanged."""
        return dz


@register("layer")
class Activation(_ActivationLayer):
    """Applies an activation function: `Activation("tanh")`, `Activation(activations.GELU())`.

    Args:
        activation: a name ("relu", "sigmoid", "softmax", ...), a config dict or an
            ActivationFunction (copied); None means linear.
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"activation": "tanh"}, rng.standard_normal((3, 4))

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def get_config(self):
        return {**super().get_config(),
                "activation": activations.serialize(self.activation)}


def _non_negative(layer: str, argument: str, value) -> float:
    """`checks.non_negative`, raising ValueError for a non-number too (None), as Keras does."""
    try:
        return checks.non_negative(f"{layer}: {argument}", value)
    except TypeError as error:
        raise ValueError(str(error)) from None


@register("layer")
class ReLU(_ActivationLayer):
    """Rectified linear unit with optional cap, leak and threshold (Keras 3 `layers.ReLU`).

        f(x) = max_value                         for x >= max_value
             = x                                 for threshold < x < max_value
             = negative_slope * (x - threshold)  for x <= threshold

    Args:
        max_value: cap on the output (None: no cap; 6.0 gives ReLU6), >= 0.
        negative_slope: slope below the threshold, >= 0.
        threshold: inputs at or below it are "off", >= 0.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else _non_negative("ReLU", "max_value",
                                                                      max_value)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)
        self.activation = activations.ReLU(negative_slope=self.negative_slope,
                                           max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


@register("layer")
class LeakyReLU(_ActivationLayer):
    """f(x) = x for x > 0, negative_slope * x otherwise (Keras 3 layer default 0.3).

    Args:
        negative_slope: slope for x <= 0, >= 0. (Keras 2's name `alpha` is accepted too.)
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        if "alpha" in kwargs:                 # Keras 3 still accepts the Keras 2 name
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        self.activation = activations.LeakyReLU(negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


@register("layer")
class ELU(_ActivationLayer):
    """Exponential linear unit: f(x) = x for x > 0, alpha (exp(x) - 1) otherwise.

    Args:
        alpha: the negative saturation value is -alpha.
    """

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)
        self.activation = activations.ELU(alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


@register("layer")
class Softmax(_ActivationLayer):
    """y = exp(x - max x) / sum exp(x - max x) along `axis`.

    Args:
        axis: the axis that sums to 1 (default the last, the classes).
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.Softmax(axis=axis)
        self.axis = self.activation.axis

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
