"""Noise for regularization, only while training: spatial dropout, Gaussian noise and
dropout, alpha dropout. In inference every one of them is the identity.

Each layer draws from its own generator (`seed`, else one drawn from the global seed, as
Dropout does), so a seeded layer repeats its noise run after run. What the noise multiplies
x by is kept for backward, which is then one product:

    SpatialDropout1D/2D  y = x · m / (1 - rate)           dx = dy · m / (1 - rate)
    GaussianNoise        y = x + stddev · ε               dx = dy
    GaussianDropout      y = x · ξ,  ξ ~ N(1, rate / (1 - rate))          dx = dy · ξ
    AlphaDropout         y = a · (x · m + α'(1 - m)) + b                  dx = dy · a · m

m ~ Bernoulli(1 - rate) is the keep mask, ε ~ N(0, 1). All of them hand a padding mask on.
(Dropout itself lives in layers/regularization.py.)
"""

from __future__ import annotations

import math

from glassnet import checks
from glassnet.backend import namespace
from glassnet.layers import _windows
from glassnet.layers.base import Layer
from glassnet.layers.masking import PassesMask
from glassnet.layers.regularization import Dropout
from glassnet.random import make_generator
from glassnet.registry import register


# ----- spatial dropout: whole feature maps at once ------------------------------------------
class _SpatialDropout(PassesMask, Dropout):
    """Dropout whose mask is shared along the spatial axes: (N, 1, ..., 1, C)."""

    rank = 1

    @classmethod
    def contract_sample(cls, rng):
        return {"rate": 0.5, "seed": 0}, rng.standard_normal((3,) + (3,) * cls.rank + (4,))

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def _mask_shape(self, x):
        _windows.check_input_rank(self, x.shape, self.rank)
        return (x.shape[0],) + (1,) * self.rank + (x.shape[-1],)      # (N, 1, ..., 1, C)

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, self.rank)
        return tuple(input_shape)

    def forward(self, x, training=False, mask=None):
        """y = x · m / (1 - rate) with m (N, 1, ..., 1, C): a channel is dropped everywhere."""
        return super().forward(x, training=training)

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]                 # fixed by the layer, as in Keras
        return config


@register("layer")
class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of a sequence (Keras `layers.SpatialDropout1D`).

    Where neighbouring steps are strongly correlated (after a convolution) element-wise
    dropout barely regularizes; dropping a channel at every step does.

    Shapes: x (N, T, C) -> y (N, T, C); the mask m is (N, 1, C).

    Args:
        rate: fraction of channels dropped, in [0, 1).
        seed: seeds this layer's own generator.
    """

    rank = 1


@register("layer")
class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of an image (Keras `layers.SpatialDropout2D`).

    Shapes: x (N, H, W, C) -> y (N, H, W, C); the mask m is (N, 1, 1, C).

    Args:
        rate: fraction of channels dropped, in [0, 1).
        data_format: None or "channels_last".
        seed: seeds this layer's own generator.
    """

    rank = 2

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _windows.check_data_format(data_format, "SpatialDropout2D")

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


# ----- noise drawn from a normal distribution, and alpha dropout --------------------------------
class _Noise(PassesMask, Layer):
    """A layer that is the identity in inference and perturbs x in training: subclasses give
    `active` and `_noisy(x) -> (y, factor)`, factor = dy/dx (None for 1)."""

    active = True

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self._generator = make_generator(seed)

    def forward(self, x, training=False, mask=None):
        self._factor = None
        if not training or not self.active:
            return x
        y, self._factor = self._noisy(x)
        return y

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy -> dL/dx = dL/dy · factor (the same shape as x)."""
        return dy if self._factor is None else dy * self._factor


@register("layer")
class GaussianNoise(_Noise):
    """Additive zero-centred noise in training: y = x + stddev · ε, ε ~ N(0, 1); dx = dy.

    Shapes: any; y has x's shape.

    Args:
        stddev: standard deviation of the noise, in [0, 1] (as Keras checks).
        seed: seeds this layer's own generator.
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"stddev": 0.5, "seed": 0}, rng.standard_normal((3, 4))

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = checks.in_range("GaussianNoise: stddev", stddev, 0.0, 1.0,
                                      include_high=True)
        self.active = self.stddev > 0

    def _noisy(self, x):
        noise = self._generator.standard_normal(x.shape, dtype=x.dtype)
        noise *= x.dtype.type(self.stddev)
        return x + noise, None

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


@register("layer")
class GaussianDropout(_Noise):
    """Multiplicative one-centred noise in training: y = x · ξ, ξ ~ N(1, σ²),
    σ = sqrt(rate / (1 - rate)) (the variance dropout of that rate has); dx = dy · ξ.

    Shapes: any; y has x's shape.

    Args:
        rate: drop probability it imitates, in [0, 1).
        seed: seeds this layer's own generator.
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"rate": 0.3, "seed": 0}, rng.standard_normal((3, 4))

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        # rate 1 would need an infinite standard deviation: refused, not left to fail later
        self.rate = checks.in_range("GaussianDropout: rate", rate, 0.0, 1.0)
        self.active = self.rate > 0

    def _noisy(self, x):
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        factor = self._generator.standard_normal(x.shape, dtype=x.dtype)
        factor *= x.dtype.type(stddev)
        factor += x.dtype.type(1.0)                               # ξ = 1 + σ·ε
        return x * factor, factor

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


# SELU's constants (Klambauer et al. 2017): the negative saturation value is -λ·α.
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


@register("layer")
class AlphaDropout(_Noise):
    """Dropout that keeps a SELU network self-normalizing (Keras `layers.AlphaDropout`).

    A dropped unit is set to SELU's saturation value α' = -λ·α (not to 0), then an affine
    map a·(.) + b restores zero mean and unit variance:

        y = a · (x · m + α' · (1 - m)) + b,   m ~ Bernoulli(1 - rate)
        a = ((1 - rate) · (1 + rate · α'²))^(-1/2),   b = -a · α' · rate
        dL/dx = dL/dy · a · m

    Shapes: any; y has x's shape; `noise_shape` may set axes to 1 to share the mask.

    Args:
        rate: fraction of units dropped, in [0, 1).
        noise_shape: shape of the mask (None entries take x's size); None means x's shape.
        seed: seeds this layer's own generator.
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"rate": 0.3, "seed": 0}, rng.standard_normal((3, 4))

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        # rate 1 would make a infinite: refused, not left to fail in training
        self.rate = checks.in_range("AlphaDropout: rate", rate, 0.0, 1.0)
        self.noise_shape = None if noise_shape is None else tuple(
            None if d is None else checks.positive_integer("AlphaDropout: noise_shape", d)
            for d in noise_shape)
        self.active = self.rate > 0

    def _noisy(self, x):
        shape = x.shape if self.noise_shape is None else tuple(
            n if d is None else d for d, n in zip(self.noise_shape, x.shape))
        alpha_p = -SELU_ALPHA * SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        kept = namespace(x).asarray(self._generator.random(shape, dtype=x.dtype) >= self.rate,
                                    dtype=x.dtype)                      # m, broadcast to x
        y = x * kept
        y += x.dtype.type(alpha_p) * (1 - kept)
        y *= x.dtype.type(a)
        y += x.dtype.type(b)
        return y, kept * x.dtype.type(a)

    def get_config(self):
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": noise_shape}
