"""Normalization: feature scaling that lives inside the model, so a saved model carries it."""

from __future__ import annotations

import numpy as np

from glassnet.layers.base import Layer
from glassnet.registry import register


@register("layer")
class Normalization(Layer):
    """y = (x - mean) / sqrt(variance), per feature along `axis` (Keras `layers.Normalization`).

    Give `mean` and `variance`, or call `adapt(x)` on training data. The statistics are
    non-trainable weights, so they are saved and loaded with the model.

    Shapes: x (N, ..., C) -> y (N, ..., C); mean, variance (C,).

    Example:
        >>> norm = Normalization()
        >>> norm.adapt(x_train)
        >>> model = Sequential([Input(shape=(3,)), norm, Dense(1)])
    """

    supports_masking = True      # elementwise: a padding mask passes on (Keras)

    @classmethod
    def contract_sample(cls, rng):
        """Statistics given, as adapt would set them."""
        return ({"mean": rng.standard_normal(4).tolist(),
                 "variance": rng.uniform(0.5, 2.0, 4).tolist()}, rng.standard_normal((3, 4)))

    def __init__(self, axis: int = -1, mean=None, variance=None, invert: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(f"Normalization: only axis=-1 is supported, got {axis!r}")
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: give both `mean` and `variance`, or neither")
        self.axis = axis
        self.invert = bool(invert)
        self._init_mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self._init_variance = None if variance is None else np.asarray(variance, np.float64)

    def build(self, input_shape):
        channels = input_shape[-1]
        self.mean = self.add_weight((channels,), "zeros", name="mean", trainable=False)
        self.variance = self.add_weight((channels,), "ones", name="variance", trainable=False)
        if self._init_mean is not None:
            self.mean.assign(np.broadcast_to(self._init_mean, (channels,)))
            self.variance.assign(np.broadcast_to(self._init_variance, (channels,)))

    def adapt(self, data) -> None:
        """Set mean and variance from `data` (N, ..., C), computed in float64."""
        data = np.asarray(data, dtype=np.float64)
        self.maybe_build((None,) + data.shape[1:])
        flat = data.reshape(-1, data.shape[-1])
        self.mean.assign(flat.mean(axis=0))
        self.variance.assign(flat.var(axis=0))

    def _scale(self, x):
        # A constant feature has variance 0: leave it unscaled rather than divide by zero.
        std = np.sqrt(self.variance.value)
        return np.where(std > 0, std, 1).astype(x.dtype)

    def forward(self, x, training=False):
        if self.invert:
            return x * self._scale(x) + self.mean.value
        return (x - self.mean.value) / self._scale(x)

    def backward(self, dy, input_gradient: bool = True):
        return dy * self._scale(dy) if self.invert else dy / self._scale(dy)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert}
