"""Dropout: zero a random fraction of activations while training."""

from __future__ import annotations

from glassnet.backend import namespace
from glassnet.layers.base import Layer
from glassnet.random import make_generator
from glassnet.registry import register


@register("layer")
class Dropout(Layer):
    """Inverted dropout: y = x · m / (1 - rate), m ~ Bernoulli(1 - rate), only when training.

    Scaling the kept units by 1 / (1 - rate) keeps E[y] = x, so inference is the identity.
    Shapes: x (N, ...) -> y (N, ...); `noise_shape` may set axes to 1 to share the mask.

    Args:
        rate: fraction of units dropped, in [0, 1).
        noise_shape: shape of the mask (broadcast against x); None means x's shape.
        seed: seeds this layer's own generator (default: drawn from the global seed).
    """

    supports_masking = True      # elementwise: a padding mask passes on (Keras)

    @classmethod
    def contract_sample(cls, rng):
        return {"rate": 0.5, "seed": 0}, rng.standard_normal((3, 4))

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._generator = make_generator(seed)

    def _mask_shape(self, x):
        if self.noise_shape is None:
            return x.shape
        return tuple(n if d is None else d for d, n in zip(self.noise_shape, x.shape))

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        xp = namespace(x)
        keep = self._generator.random(self._mask_shape(x), dtype=x.dtype) >= self.rate
        self._mask = xp.asarray(keep, dtype=x.dtype) * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self._mask

    def backward(self, dy, input_gradient: bool = True):
        return dy if self._mask is None else dy * self._mask

    def get_config(self):
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise_shape,
                "seed": self.seed}
