"""Keras' functional forms of the merge layers: `add([a, b])` is `Add()([a, b])`.

Each makes a new layer (keyword arguments such as `name` go to it) and calls it on the list,
symbolic tensors (a graph node) or arrays (computed at once):

    >>> x1, x2 = Input(shape=(8,)), Input(shape=(8,))
    >>> y = concatenate([add([x1, x2]), multiply([x1, x2])])     # (None, 16)
"""

from __future__ import annotations

from glassnet.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)


def add(inputs, **kwargs):
    """x_1 + ... + x_k (see `Add`)."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """x_1 - x_2 (see `Subtract`)."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """x_1 ⊙ ... ⊙ x_k (see `Multiply`)."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """(x_1 + ... + x_k) / k (see `Average`)."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Elementwise max (see `Maximum`)."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Elementwise min (see `Minimum`)."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs):
    """The inputs joined along `axis` (see `Concatenate`)."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Per-sample dot product along `axes`; `normalize=True` gives the cosine similarity
    (see `Dot`)."""
    return Dot(axes=axes, **kwargs)(inputs)


__all__ = ["add", "average", "concatenate", "dot", "maximum", "minimum", "multiply",
           "subtract"]
