"""Layers that repeat or reorder entries without weights: RepeatVector, UpSampling1D, Permute.

A repeated entry's gradient is the sum of the gradients of its copies; a permutation's
backward is the inverse permutation. (UpSampling2D lives in layers/reshaping.py.)
"""

from __future__ import annotations

from glassnet import checks
from glassnet.backend import namespace
from glassnet.layers import _windows
from glassnet.layers.base import Layer
from glassnet.registry import register


def _check_rank(layer, shape, rank: int, expected: str) -> None:
    if len(shape) != rank:
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}): expected input of "
                         f"rank {rank}, shape {expected}, got shape {tuple(shape)}")


def _strict_int(name: str, value) -> int:
    """A positive int; like Keras, anything but an int (a float 2.0 too) is a TypeError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an integer, got {value!r} of type "
                        f"{type(value).__name__}")
    return checks.positive_integer(name, value)


@register("layer")
class RepeatVector(Layer):
    """Repeat each sample's vector n times: (N, F) -> (N, n, F).

        y[b, t, f] = x[b, f]  for t < n;      dL/dx[b, f] = Σ_t dL/dy[b, t, f]

    The usual bridge from an encoder's last state to a decoder RNN (seq2seq).

    Args:
        n: the number of copies.

    Example:
        >>> RepeatVector(3)(np.ones((2, 32), dtype="float32")).shape
        (2, 3, 32)
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"n": 3}, rng.standard_normal((2, 4))                     # (N, F)

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = _strict_int("RepeatVector: n", n)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 2, "(batch, features)")
        return input_shape[0], self.n, input_shape[1]

    def forward(self, x, training=False):
        _check_rank(self, x.shape, 2, "(batch, features)")
        n, features = x.shape
        return namespace(x).broadcast_to(x[:, None, :], (n, self.n, features)).copy()

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, n, F) -> dL/dx (N, F): the sum over the copies."""
        return dy.sum(axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


@register("layer")
class UpSampling1D(Layer):
    """Repeat each step `size` times along time: (N, T, C) -> (N, T·size, C).

        y[n, t, c] = x[n, t // size, c];      dL/dx[n, t, c] = Σ_{r < size} dL/dy[n, t·size + r, c]

    Args:
        size: the upsampling factor (an int; default 2).

    Example:
        >>> UpSampling1D(2)(np.ones((2, 3, 4), dtype="float32")).shape
        (2, 6, 4)
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"size": 3}, rng.standard_normal((2, 3, 2))               # (N, T, C)

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.size = _strict_int("UpSampling1D: size", size)

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, 1)
        n, steps, channels = input_shape
        return n, None if steps is None else steps * self.size, channels

    def forward(self, x, training=False):
        _windows.check_input_rank(self, x.shape, 1)
        n, steps, channels = x.shape
        # each step broadcast over `size` copies, then one copy into the sequence
        copies = namespace(x).broadcast_to(x[:, :, None, :], (n, steps, self.size, channels))
        return copies.reshape(n, steps * self.size, channels)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, T·size, C) -> dL/dx (N, T, C): the sum over each step's copies."""
        n, steps, channels = dy.shape
        return dy.reshape(n, steps // self.size, self.size, channels).sum(axis=2)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@register("layer")
class Permute(Layer):
    """Reorder the axes after the batch axis: y = x.transpose(0, *dims).

    `dims` counts from 1 (the batch axis stays first): Permute((2, 1)) turns (N, T, F) into
    (N, F, T). backward transposes dL/dy by the inverse permutation.

    Args:
        dims: a permutation of 1 .. rank - 1.

    Example:
        >>> Permute((2, 1))(np.ones((2, 10, 64), dtype="float32")).shape
        (2, 64, 10)
    """

    @classmethod
    def contract_sample(cls, rng):
        return {"dims": (3, 1, 2)}, rng.standard_normal((2, 3, 4, 2))

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1 .. {len(self.dims)} "
                             f"(the batch axis 0 is not permuted), got {dims!r}")
        self._axes = (0, *self.dims)                                   # y = x.transpose(axes)
        self._inverse = tuple(self._axes.index(axis) for axis in range(len(self._axes)))

    def _check(self, shape) -> None:
        axes = ", ".join(f"d{axis}" for axis in range(1, len(self._axes)))
        _check_rank(self, shape, len(self._axes), f"(batch, {axes})")

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        return tuple(input_shape[axis] for axis in self._axes)

    def forward(self, x, training=False):
        self._check(x.shape)
        return x.transpose(self._axes)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (permuted) -> dL/dx: the inverse permutation."""
        return dy.transpose(self._inverse)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}
