"""Preprocessing inside the model, so a saved model carries it: Normalization and Rescaling
(feature scaling), CategoryEncoding (integer categories to one-hot, multi-hot or counts)."""

from __future__ import annotations

import numpy as np

from glassnet import checks
from glassnet.backend import namespace
from glassnet.layers.base import Layer
from glassnet.layers.masking import PassesMask
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
        # Statistics given as arguments: Keras keeps them in the config, not as weights.
        self.statistics_in_config = mean is not None

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


def _constant(name: str, value):
    """A number -> float; an array or sequence (one value per channel) -> list of floats."""
    if np.ndim(value) == 0:
        return checks.number(name, value)
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: expected finite numbers, got {value!r}")
    return array.tolist()


@register("layer")
class Rescaling(PassesMask, Layer):
    """y = x · scale + offset, in training and inference (Keras `layers.Rescaling`).

    Pixels in [0, 255] to [0, 1]: scale=1/255; to [-1, 1]: scale=1/127.5, offset=-1.
    `scale` and `offset` may also hold one value per channel (broadcast on the last axis).
    Integer inputs (uint8 images) are cast to the layer's float dtype first.

    backward: dL/dx = dL/dy · scale.

    Shapes: any; y has x's shape.

    Example:
        >>> Rescaling(1 / 255)(np.array([[0, 51, 255]], dtype="uint8"))
        array([[0. , 0.2, 1. ]], dtype=float32)
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"scale": 0.5, "offset": -1.0}, rng.standard_normal((3, 4))

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _constant("Rescaling: scale", scale)
        self.offset = _constant("Rescaling: offset", offset)

    def forward(self, x, training=False, mask=None):
        xp = namespace(x)
        x = xp.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(self.dtype)
        scale = xp.asarray(self.scale, dtype=x.dtype)
        return x * scale + xp.asarray(self.offset, dtype=x.dtype)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy -> dL/dx = dL/dy · scale (same shape)."""
        return dy * namespace(dy).asarray(self.scale, dtype=dy.dtype)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


@register("layer")
class CategoryEncoding(Layer):
    """Integer categories in [0, num_tokens) as vectors of length num_tokens (Keras
    `layers.CategoryEncoding`):

        one_hot    ids (N, ...) -> y[..., k] = [id == k]       (a last axis of 1 is dropped)
        multi_hot  ids (N, K)   -> y[n, k] = [k in ids[n]]
        count      ids (N, K)   -> y[n, k] = #{j : ids[n, j] == k}

    As in Keras, multi_hot and count read a rank-1 input as the ids of one sample, (K,) ->
    (num_tokens,); one_hot reads it as one id per sample. Ids outside [0, num_tokens) are
    refused. The input is integers, so there is no gradient to give back: backward returns
    None.

    Args:
        num_tokens: the number of categories (required).
        output_mode: "one_hot", "multi_hot" (default; "binary" is an alias) or "count".
        sparse: only False (glassnet's outputs are dense arrays).

    Example:
        >>> CategoryEncoding(4, output_mode="count")(np.array([[0, 1], [3, 3]]))
        array([[1., 1., 0., 0.],
               [0., 0., 0., 2.]], dtype=float32)
    """

    differentiable_input = False
    MODES = ("one_hot", "multi_hot", "count")

    @classmethod
    def contract_sample(cls, rng):
        return {"num_tokens": 5, "output_mode": "count"}, rng.integers(0, 5, size=(3, 4))

    def __init__(self, num_tokens=None, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if num_tokens is None:
            raise ValueError("CategoryEncoding: num_tokens must be set (the number of "
                             "categories; ids are in [0, num_tokens))")
        self.num_tokens = checks.positive_integer("CategoryEncoding: num_tokens", num_tokens)
        output_mode = "multi_hot" if output_mode == "binary" else output_mode
        self.output_mode = checks.one_of("CategoryEncoding: output_mode", output_mode,
                                         self.MODES)
        if sparse:
            raise ValueError("CategoryEncoding: sparse=True is not supported; glassnet's "
                             "outputs are dense arrays")
        self.sparse = False

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:     # (N, 1): one id a sample
                input_shape = input_shape[:-1]
            return input_shape + (self.num_tokens,)
        if len(input_shape) > 2:
            raise ValueError(f"CategoryEncoding {self.name!r}: output_mode={self.output_mode!r} "
                             f"takes ids of shape (batch, ids_per_sample), got {input_shape}")
        return input_shape[:-1] + (self.num_tokens,)

    def _ids(self, x):
        """Integer ids in [0, num_tokens); floats holding whole numbers are accepted (fit and
        predict cast inputs to floatx)."""
        xp = namespace(x)
        x = xp.asarray(x)
        if np.issubdtype(x.dtype, np.floating):
            if not bool(xp.all(x == xp.floor(x))):
                raise ValueError(f"CategoryEncoding {self.name!r}: expected integer ids, got "
                                 f"non-integer values of dtype {x.dtype}")
        elif not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"CategoryEncoding {self.name!r}: expected integer ids, got "
                             f"dtype {x.dtype}")
        if x.size and (float(x.min()) < 0 or float(x.max()) >= self.num_tokens):
            raise ValueError(f"CategoryEncoding {self.name!r}: ids must be in [0, num_tokens) "
                             f"= [0, {self.num_tokens}), got values in "
                             f"[{x.min()}, {x.max()}]")
        return x.astype(np.intp)

    def forward(self, x, training=False):
        ids = self._ids(x)
        out_shape = self.compute_output_shape(ids.shape)
        if self.output_mode == "one_hot":
            ids = ids.reshape(out_shape[:-1])
        # one_hot[..., k] = [id == k]: ids (..., 1) against 0 .. num_tokens - 1
        one_hot = ids[..., None] == namespace(ids).arange(self.num_tokens)
        if self.output_mode == "one_hot":
            return one_hot.astype(self.dtype)
        if self.output_mode == "multi_hot":                  # (N, K, T) -> (N, T)
            return one_hot.any(axis=-2).astype(self.dtype)
        return one_hot.sum(axis=-2, dtype=self.dtype)

    def backward(self, dy, input_gradient: bool = True):
        """No gradient: the input is integer ids."""
        return None

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode}
