"""Merge layers: several tensors in, one out (Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate, Dot), for models built with `Model(inputs, outputs)`.

A merge layer is called on a list, and its two functions work on lists:

    forward([x_1, ..., x_k]) -> y          every x_i of the same shape (N, ...)
    backward(dy) -> [dx_1, ..., dx_k]      one gradient for each input

As in Keras, the elementwise merges do not broadcast: the inputs must have the same shape
(Concatenate: the same shape except along `axis`). A wrong shape is a ValueError naming the
layer and the shapes, raised when the layer is built on symbolic inputs or called on arrays.

    >>> x = Input(shape=(8,))
    >>> h = Dense(8, activation="relu")(x)
    >>> y = Add()([x, h])                        # a residual connection
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.backend import namespace
from glassnet.layers.base import Layer
from glassnet.registry import register


class Merge(Layer):
    """Base class: checks the list of inputs and their shapes; subclasses do the math."""

    min_inputs = 2
    max_inputs: int | None = None
    supports_masking = True

    def compute_mask(self, x, mask=None):
        """As Keras: a position counts where every input's mask (those that have one) says
        so; no mask in, none out."""
        if mask is None:
            return None
        masks = [m for m in (mask if isinstance(mask, (list, tuple)) else [mask])
                 if m is not None]
        if not masks:
            return None
        combined = np.asarray(masks[0], dtype=bool)
        for other in masks[1:]:
            combined = combined & np.asarray(other, dtype=bool)
        return combined

    @classmethod
    def contract_sample(cls, rng):
        """Two inputs of the same shape (N, F)."""
        return {}, [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))]

    def __call__(self, inputs, training: bool = False):
        """`layer([a, b, ...])` on arrays (eager) or on symbolic tensors (a graph node)."""
        self._check_list(inputs)
        if any(getattr(t, "_glassnet_symbolic", False) for t in inputs):
            return super().__call__(inputs, training=training)
        self.maybe_build([(None,) + tuple(np.shape(a))[1:] for a in inputs])
        return self.apply(list(inputs), training=training)

    def _check_list(self, inputs) -> None:
        """A list (or tuple) of min_inputs..max_inputs items, or a ValueError naming the layer."""
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self._title()}: a merge layer must be called on a list of "
                             f"inputs, got {type(inputs).__name__}")
        count = len(inputs)
        if count < self.min_inputs or (self.max_inputs is not None and count > self.max_inputs):
            expected = (f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs
                        else f"at least {self.min_inputs}")
            raise ValueError(f"{self._title()}: expected {expected} inputs, got {count}")

    def _title(self) -> str:
        return f"{type(self).__name__} {self.name!r}"

    # ----- shapes ------------------------------------------------------------------------
    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)      # validates the shapes

    def compute_output_shape(self, input_shape) -> tuple:
        """The common shape of the inputs (a None in one input is filled from another)."""
        self._check_list(input_shape)
        shapes = [tuple(shape) for shape in input_shape]
        if len({len(shape) for shape in shapes}) > 1 or not all(
                _compatible(dims) for dims in zip(*shapes)):
            raise ValueError(f"{self._title()}: inputs must all have the same shape, got "
                             f"shapes {shapes}")
        return tuple(_known(dims) for dims in zip(*shapes))

    def _check_arrays(self, inputs) -> list:
        """The inputs as a list, after checking they all have the same shape."""
        self._check_list(inputs)
        shapes = [np.shape(x) for x in inputs]
        if len(set(shapes)) > 1:
            raise ValueError(f"{self._title()}: inputs must all have the same shape, got "
                             f"shapes {shapes}")
        return list(inputs)


def _compatible(dims) -> bool:
    """Sizes of one axis across the inputs agree (None, an unknown size, agrees with any)."""
    return len({d for d in dims if d is not None}) <= 1


def _known(dims):
    """The known size among `dims`, or None when every input leaves it open."""
    return next((d for d in dims if d is not None), None)


@register("layer")
class Add(Merge):
    """y = x_1 + x_2 + ... + x_k;  dL/dx_i = dy for every i.

    Backward returns the same array `dy` for every input (no copies); layers never modify
    their upstream gradient in place, so sharing it is safe.

    Shapes: k inputs (N, ...) of the same shape -> y (N, ...).
    """

    def forward(self, inputs, training: bool = False):
        inputs = self._check_arrays(inputs)
        self._count = len(inputs)
        y = inputs[0] + inputs[1]                 # a new array, so += below is safe
        for x in inputs[2:]:
            y += x
        return y

    def backward(self, dy, input_gradient: bool = True):
        return [dy] * self._count


@register("layer")
class Subtract(Merge):
    """y = x_1 - x_2;  dL/dx_1 = dy, dL/dx_2 = -dy.

    Shapes: two inputs (N, ...) of the same shape -> y (N, ...).
    """

    max_inputs = 2

    def forward(self, inputs, training: bool = False):
        x1, x2 = self._check_arrays(inputs)
        return x1 - x2

    def backward(self, dy, input_gradient: bool = True):
        return [dy, -dy]


@register("layer")
class Multiply(Merge):
    """y = x_1 ⊙ x_2 ⊙ ... ⊙ x_k (elementwise);  dL/dx_i = dy ⊙ Π_{j≠i} x_j.

    The product of the others is built from prefix and suffix products rather than y / x_i,
    which would divide by zero wherever an input is 0.

    Shapes: k inputs (N, ...) of the same shape -> y (N, ...).
    """

    def forward(self, inputs, training: bool = False):
        inputs = self._check_arrays(inputs)
        self._inputs = inputs                      # kept for backward
        y = inputs[0] * inputs[1]
        for x in inputs[2:]:
            y *= x
        return y

    def backward(self, dy, input_gradient: bool = True):
        inputs = self._inputs
        # prefix[i] = dy ⊙ x_1 ⊙ ... ⊙ x_{i-1}; walking back, suffix = x_{i+1} ⊙ ... ⊙ x_k
        prefix = [dy]
        for x in inputs[:-1]:
            prefix.append(prefix[-1] * x)
        grads = [None] * len(inputs)
        suffix = None
        for i in range(len(inputs) - 1, -1, -1):
            grads[i] = prefix[i] if suffix is None else prefix[i] * suffix
            suffix = inputs[i] if suffix is None else suffix * inputs[i]
        return grads


@register("layer")
class Average(Merge):
    """y = (x_1 + ... + x_k) / k;  dL/dx_i = dy / k.

    Shapes: k inputs (N, ...) of the same shape -> y (N, ...).
    """

    def forward(self, inputs, training: bool = False):
        inputs = self._check_arrays(inputs)
        self._count = len(inputs)
        y = inputs[0] + inputs[1]
        for x in inputs[2:]:
            y += x
        y /= len(inputs)                           # a Python int keeps float32 float32
        return y

    def backward(self, dy, input_gradient: bool = True):
        dx = dy / self._count
        return [dx] * self._count


class _Extremum(Merge):
    """Elementwise max or min: y = x_{a}, a = argmax_i x_i (or argmin) at each position.

    Gradient: dL/dx_i = dy where input i was selected, else 0. Ties go to the first input
    holding the extreme value, so the k gradients add up to exactly dy (a subgradient;
    PyTorch's maximum splits a tie evenly instead).
    """

    select = "argmax"                                       # or "argmin"

    def forward(self, inputs, training: bool = False):
        inputs = self._check_arrays(inputs)
        xp = namespace(inputs[0])
        stacked = xp.stack(inputs)                          # (k, N, ...)
        index = getattr(xp, self.select)(stacked, axis=0)         # (N, ...) which input won
        self._count, self._index = len(inputs), index
        return xp.take_along_axis(stacked, index[None], axis=0)[0]

    def backward(self, dy, input_gradient: bool = True):
        xp = namespace(dy)
        zero = dy.dtype.type(0)
        return [xp.where(self._index == i, dy, zero) for i in range(self._count)]


@register("layer")
class Maximum(_Extremum):
    """y = max(x_1, ..., x_k) elementwise; the gradient flows to the largest input."""

    select = "argmax"


@register("layer")
class Minimum(_Extremum):
    """y = min(x_1, ..., x_k) elementwise; the gradient flows to the smallest input."""

    select = "argmin"


@register("layer")
class Concatenate(Merge):
    """y = [x_1, x_2, ..., x_k] joined along `axis`;  dL/dx_i = the slice of dy x_i fills.

    Shapes: inputs (N, ..., d_i, ...) equal except along `axis` -> y (N, ..., Σ d_i, ...).

    Args:
        axis: the axis to join along (default -1, the features); not the batch axis 0.
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"Concatenate: axis must be an integer, got {axis!r}")
        self.axis = int(axis)

    def _axis(self, rank: int) -> int:
        """`axis` as a non-negative index for inputs of `rank`; the batch axis is refused."""
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 1 <= axis < rank:
            raise ValueError(f"{self._title()}: axis={self.axis} is out of range for inputs "
                             f"of rank {rank} (the batch axis 0 cannot be concatenated)")
        return axis

    def compute_output_shape(self, input_shape) -> tuple:
        self._check_list(input_shape)
        shapes = [tuple(shape) for shape in input_shape]
        if len({len(shape) for shape in shapes}) > 1:
            raise ValueError(f"{self._title()}: inputs must all have the same rank, got "
                             f"shapes {shapes}")
        axis = self._axis(len(shapes[0]))
        others = [shape[:axis] + shape[axis + 1:] for shape in shapes]
        if not all(_compatible(dims) for dims in zip(*others)):
            raise ValueError(f"{self._title()}: inputs must have the same shape except along "
                             f"axis {self.axis}, got shapes {shapes}")
        sizes = [shape[axis] for shape in shapes]
        joined = None if None in sizes else sum(sizes)
        merged = tuple(_known(dims) for dims in zip(*shapes))
        return merged[:axis] + (joined,) + merged[axis + 1:]

    def forward(self, inputs, training: bool = False):
        self._check_list(inputs)
        shapes = [np.shape(x) for x in inputs]
        if len({len(shape) for shape in shapes}) > 1:
            raise ValueError(f"{self._title()}: inputs must all have the same rank, got "
                             f"shapes {shapes}")
        axis = self._axis(len(shapes[0]))
        if len({shape[:axis] + shape[axis + 1:] for shape in shapes}) > 1:
            raise ValueError(f"{self._title()}: inputs must have the same shape except along "
                             f"axis {self.axis}, got shapes {shapes}")
        # where each input's block ends along the axis, for splitting dy in backward
        self._splits = np.cumsum([shape[axis] for shape in shapes])[:-1].tolist()
        self._axis_index = axis
        return namespace(inputs[0]).concatenate(inputs, axis=axis)

    def backward(self, dy, input_gradient: bool = True):
        return namespace(dy).split(dy, self._splits, axis=self._axis_index)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


@register("layer")
class Dot(Merge):
    """Per sample, the dot product of two tensors along one axis of each (Keras' batch_dot).

    For x (N, d) and y (N, d) and axes=1: y_n = <x_n, y_n>, shape (N, 1). In general x's
    contracted axis is moved last and y's first (after the batch), the other axes flattened:

        X (N, P, d) @ Y (N, d, Q) = Z (N, P, Q)  ->  out (N, *x_rest, *y_rest)
        dX = dZ @ Yᵀ,  dY = Xᵀ @ dZ               (per sample)

    With `normalize=True` each input is first scaled to unit L2 norm along its axis,
    u = x · min(1/‖x‖, 1e7) (Keras' epsilon bound), so the output is the cosine similarity;
    its backward is du -> (du - u (u·du)) / ‖x‖ (the part along u does not change u).

    Args:
        axes: one axis for both inputs, or a pair (axis of x, axis of y); not the batch axis.
        normalize: L2-normalize along the axes before the product.
    """

    min_inputs = max_inputs = 2
    supports_masking = False

    @classmethod
    def contract_sample(cls, rng):
        return ({"axes": [2, 2], "normalize": True},
                [rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 2, 4))])

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes}")
            if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                       for a in axes):
                raise ValueError(f"Invalid format for argument `axes`: list elements should "
                                 f"be integers. Received: axes={axes}")
            axes = [int(a) for a in axes]
        elif isinstance(axes, bool) or not isinstance(axes, (int, np.integer)):
            raise TypeError(f"Invalid type for argument `axes`: it should be a list or an "
                            f"int. Received: axes={axes}")
        else:
            axes = int(axes)
        self.axes = axes
        self.normalize = bool(normalize)

    def compute_mask(self, x, mask=None):
        return None

    def contracted_axes(self, rank1: int, rank2: int) -> list[int]:
        """The contracted axis of each input, non-negative; the batch axis is refused."""
        given = [self.axes, self.axes] if isinstance(self.axes, int) else self.axes
        pair = [a % rank if a < 0 else a for a, rank in zip(given, (rank1, rank2))]
        if 0 in pair or pair[0] >= rank1 or pair[1] >= rank2:
            raise ValueError(f"{self._title()}: axes={self.axes} is out of range for inputs "
                             f"of ranks {rank1} and {rank2} (the batch axis 0 cannot be "
                             f"contracted)")
        return pair

    def compute_output_shape(self, input_shape) -> tuple:
        self._check_list(input_shape)
        shape1, shape2 = (list(shape) for shape in input_shape)
        a1, a2 = self.contracted_axes(len(shape1), len(shape2))
        if None not in (shape1[a1], shape2[a2]) and shape1[a1] != shape2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {shape1[a1]} (at axis "
                             f"{a1}) != {shape2[a2]} (at axis {a2}). Full input shapes: "
                             f"{tuple(shape1)}, {tuple(shape2)}")
        out = [_known((shape1[0], shape2[0]))]
        out += [d for i, d in enumerate(shape1) if i not in (0, a1)]
        out += [d for i, d in enumerate(shape2) if i not in (0, a2)]
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def build(self, input_shape) -> None:
        self.compute_output_shape(input_shape)      # validates the shapes

    def forward(self, inputs, training: bool = False):
        self._check_list(inputs)
        x, y = inputs
        if len(x) != len(y):
            raise ValueError(f"{self._title()}: the inputs must have the same batch size, "
                             f"got shapes {np.shape(x)} and {np.shape(y)}")
        a1, a2 = self.contracted_axes(np.ndim(x), np.ndim(y))
        out_shape = self.compute_output_shape([np.shape(x), np.shape(y)])
        xp = namespace(x)
        self._scales = None
        if self.normalize:
            (x, sx), (y, sy) = _unit(x, a1), _unit(y, a2)
            self._scales, self._units = (sx, sy), (x, y)          # kept for backward
        xm = xp.moveaxis(x, a1, -1)                               # (N, *x_rest, d)
        ym = xp.moveaxis(y, a2, 1)                                # (N, d, *y_rest)
        self._moved_shapes, self._axes_used = (xm.shape, ym.shape), (a1, a2)
        X = xm.reshape(len(x), -1, xm.shape[-1])                  # (N, P, d)
        Y = ym.reshape(len(y), ym.shape[1], -1)                   # (N, d, Q)
        self._X, self._Y = X, Y
        return (X @ Y).reshape(out_shape)                         # (N, P, Q) -> out

    def backward(self, dy, input_gradient: bool = True):
        """dL/dout (N, *x_rest, *y_rest) -> [dL/dx, dL/dy], shaped as the inputs."""
        xp = namespace(dy)
        X, Y = self._X, self._Y
        dz = dy.reshape(len(X), X.shape[1], Y.shape[2])           # (N, P, Q)
        dX = dz @ xp.swapaxes(Y, 1, 2)                            # (N, P, d)
        dY = xp.swapaxes(X, 1, 2) @ dz                            # (N, d, Q)
        (x_shape, y_shape), (a1, a2) = self._moved_shapes, self._axes_used
        dx = xp.moveaxis(dX.reshape(x_shape), -1, a1)
        dy_ = xp.moveaxis(dY.reshape(y_shape), 1, a2)
        if self._scales is not None:
            dx = _unit_backward(dx, self._units[0], self._scales[0], a1)
            dy_ = _unit_backward(dy_, self._units[1], self._scales[1], a2)
        return [dx, dy_]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


_MAX_INVERSE_NORM = 1e7          # Keras' normalize: x · min(1/‖x‖, 1/epsilon), epsilon 1e-7


def _unit(x, axis: int):
    """(u, scale): u = x · scale, scale = min(1/‖x‖, 1e7) along `axis` (kept as size 1)."""
    xp = namespace(x)
    norm = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
    with np.errstate(divide="ignore"):
        scale = xp.minimum(1 / norm, x.dtype.type(_MAX_INVERSE_NORM))
    return x * scale, scale


def _unit_backward(du, u, scale, axis: int):
    """dL/du -> dL/dx for u = x · min(1/‖x‖, 1e7): (du - u (u·du)) / ‖x‖ where the norm
    bound is not reached, du · 1e7 where it is (there the scale is a constant)."""
    xp = namespace(du)
    bounded = scale >= _MAX_INVERSE_NORM
    along = (u * du).sum(axis=axis, keepdims=True)
    return xp.where(bounded, du * scale, (du - u * along) * scale)


__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Merge", "Minimum", "Multiply",
           "Subtract"]
