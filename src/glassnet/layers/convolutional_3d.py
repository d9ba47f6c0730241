"""Volumes (N, D, H, W, C): Conv3D, MaxPooling3D, AveragePooling3D and the global poolings.

The convolution and pooling code is written for any number of spatial axes (windows as
strided views, backward a loop over kernel offsets: layers/_windows.py); the 1-D and 2-D
layers fix the rank at 1 and 2 (layers/convolutional.py, layers/pooling.py), these at 3:

    Conv3D          z[n, i, j, k, f] = Σ_{a, b, e, c} x_pad[n, i·s_d + a·d_d, j·s_h + b·d_h,
                                                        k·s_w + e·d_w, c] · W[a, b, e, c, f] + b[f]
    MaxPooling3D    y = max over each pool window; the gradient goes to its first maximum
    AveragePooling3D y = mean over the window's cells inside x ('same' padding not counted)
    Global*3D       max / mean over D, H and W
"""

from __future__ import annotations

from glassnet.layers.convolutional import _Conv
from glassnet.layers.pooling import (
    _AveragePooling,
    _GlobalAveragePooling,
    _GlobalMaxPooling,
    _MaxPooling,
)
from glassnet.registry import register


@register("layer")
class Conv3D(_Conv):
    """3-D convolution (cross-correlation, as Keras) followed by an activation.

    Shapes: x (N, D, H, W, C) -> y (N, OD, OH, OW, filters); W (kd, kh, kw, C, filters);
    b (filters,). Output sizes, padding ("valid", "same") and the other arguments as
    Conv2D, with triples instead of pairs.

    Example:
        >>> Conv3D(4, 3, padding="same")(np.ones((2, 8, 8, 8, 1), dtype="float32")).shape
        (2, 8, 8, 8, 4)
    """

    rank = 3

    def __init__(self, filters: int, kernel_size, strides=(1, 1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate=(1, 1, 1), activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)


@register("layer")
class MaxPooling3D(_MaxPooling):
    """Max over pool_size windows of (N, D, H, W, C) -> (N, OD, OH, OW, C).

    Args:
        pool_size: int or (pd, ph, pw); default (2, 2, 2).
        strides: int or a triple; None means pool_size.
        padding: "valid" or "same" (TensorFlow's split, -inf padding).
        data_format: None or "channels_last".
    """

    rank = 3

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layer")
class AveragePooling3D(_AveragePooling):
    """Mean over pool_size windows of (N, D, H, W, C) -> (N, OD, OH, OW, C).

    Arguments as MaxPooling3D, but pool_size has no default (as in Keras 3); with
    padding="same" the padding is not counted in the mean.
    """

    rank = 3

    @classmethod
    def contract_sample(cls, rng):
        return {"pool_size": 2}, rng.standard_normal((2, 4, 4, 4, 2))

    def __init__(self, pool_size, strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layer")
class GlobalAveragePooling3D(_GlobalAveragePooling):
    """Mean over depth, height and width: (N, D, H, W, C) -> (N, C) (keepdims: (N, 1, 1, 1,
    C))."""

    rank = 3


@register("layer")
class GlobalMaxPooling3D(_GlobalMaxPooling):
    """Max over depth, height and width: (N, D, H, W, C) -> (N, C) (keepdims: (N, 1, 1, 1,
    C)); the gradient goes to the first maximum."""

    rank = 3
