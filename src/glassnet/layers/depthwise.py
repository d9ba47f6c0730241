"""Depthwise and separable convolutions: DepthwiseConv2D and SeparableConv2D (channels_last).

A depthwise convolution filters each input channel on its own, with M (depth_multiplier)
kernels per channel; output channel c·M + m is input channel c through kernel m:

    z[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, m]

The sum runs over the kh·kw kernel offsets, one vectorised product each (no GEMM: nothing
is summed over channels). Backward loops over the same offsets:

    dW[a, b, c, m] = Σ_{n, i, j} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · dz[n, i, j, c, m]
    dx_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] += Σ_m dz[n, i, j, c, m] · W[a, b, c, m]

A separable convolution is a depthwise one followed by a 1x1 convolution P (C·M, F) that
mixes the channels: z = depthwise(x) @ P + b, with far fewer weights than a full Conv2D.
"""

from __future__ import annotations

from glassnet import activations, checks, constraints, regularizers
from glassnet.backend import namespace
from glassnet.layers import _windows
from glassnet.layers.base import Layer, require_forward_state, weight_config
from glassnet.registry import register


class _DepthwiseBase(Layer):
    """What both layers share: arguments, padding, and the depthwise product itself."""

    rank = 2

    def __init__(self, kernel_size, strides=(1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate=(1, 1), activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        layer = type(self).__name__
        self.depth_multiplier = checks.positive_integer(f"{layer}: depth_multiplier",
                                                        depth_multiplier)
        self.kernel_size = _windows.normalize_tuple(kernel_size, self.rank, "kernel_size", layer)
        self.strides = _windows.normalize_tuple(strides, self.rank, "strides", layer)
        self.dilation_rate = _windows.normalize_tuple(dilation_rate, self.rank, "dilation_rate",
                                                      layer)
        self.padding = _windows.normalize_padding(padding, layer)
        self.data_format = _windows.check_data_format(data_format, layer)
        _windows.check_strides_and_dilation(self.strides, self.dilation_rate, layer)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = depthwise_initializer
        self.bias_initializer = bias_initializer
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _channels(self, input_shape) -> int:
        _windows.check_input_rank(self, input_shape, self.rank)
        if input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the channel axis must be "
                             f"known, got input shape {tuple(input_shape)}")
        return input_shape[-1]

    def _out(self, input_shape) -> tuple:
        return _windows.output_spatial(self, input_shape[1:-1], self.kernel_size, self.strides,
                                       self.dilation_rate, self.padding)

    def _check_input(self, x, channels: int) -> None:
        _windows.check_input_rank(self, x.shape, self.rank)
        if x.shape[-1] != channels:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): expected "
                             f"{channels} input channels (built for that), got input of shape "
                             f"{x.shape}")

    # ----- the depthwise product and its backward ---------------------------------------
    def _depthwise(self, x, W):
        """x (N, *in, C), W (*k, C, M) -> d (N, *out, C·M), and the padded x for backward."""
        spatial, channels = x.shape[1:-1], x.shape[-1]
        out = self._out(x.shape)
        pads = _windows.padding_amounts(spatial, self.kernel_size, self.strides,
                                        self.dilation_rate, self.padding)
        x_pad = _windows.pad(x, pads)
        xp = namespace(x)
        d = xp.zeros((x.shape[0], *out, channels, W.shape[-1]), dtype=xp.result_type(x, W))
        offsets = _windows.window_offsets(self.kernel_size, self.strides, self.dilation_rate,
                                          out)
        for offset, region in offsets:          # (N, *out, C, 1) · (C, M), one offset at a time
            d += x_pad[region][..., None] * W[offset]
        self._geometry = (x.shape, pads, out)
        return d.reshape(*d.shape[:-2], -1), x_pad

    def _depthwise_backward(self, dd, x_pad, W, dW, input_gradient: bool):
        """dd (N, *out, C·M) -> dL/dx (N, *in, C) (None without input_gradient); adds dL/dW
        into dW (None when the layer is frozen)."""
        x_shape, pads, out = self._geometry
        channels, multiplier = W.shape[-2:]
        dd = dd.reshape(*dd.shape[:-1], channels, multiplier)          # (N, *out, C, M)
        xp = namespace(dd)
        dx_pad = xp.zeros(x_pad.shape, dtype=dd.dtype) if input_gradient else None
        rows = dd.reshape(-1, channels, multiplier)                    # (N·out, C, M)
        offsets = _windows.window_offsets(self.kernel_size, self.strides, self.dilation_rate,
                                          out)
        for offset, region in offsets:
            if dW is not None:                  # Σ over every position of x · dz, per (c, m)
                dW[offset] += xp.einsum("pc,pcm->cm", x_pad[region].reshape(-1, channels), rows)
            if dx_pad is not None:              # each position's dz back through W[a, b]
                target = dx_pad[region]                                # (N, *out, C)
                target += (dd * W[offset]).sum(axis=-1)
        if dx_pad is None:
            return None
        return _windows.crop(dx_pad, pads, x_shape[1:-1])


@register("layer")
class DepthwiseConv2D(_DepthwiseBase):
    """Depthwise 2-D convolution: each channel filtered by its own depth_multiplier kernels.

    z[n, i, j, c·M + m] = Σ_{a, b} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, m]
    y = activation(z + b)

    Shapes: x (N, H, W, C) -> y (N, OH, OW, C·M); W (kh, kw, C, M); b (C·M,). Output sizes
    and padding as Conv2D.

    Args:
        kernel_size: int or (kh, kw).
        strides, padding, data_format, dilation_rate, activation, use_bias: as Conv2D.
        depth_multiplier: M, the kernels per input channel (default 1).
        depthwise_initializer, bias_initializer: names or Initializer objects.
        depthwise_regularizer, bias_regularizer: e.g. "l2".

    Example:
        >>> DepthwiseConv2D(3, depth_multiplier=2)(np.ones((2, 8, 8, 3))).shape
        (2, 6, 6, 6)
    """

    skips_input_gradient = True

    @classmethod
    def contract_sample(cls, rng):
        return ({"kernel_size": 2, "depth_multiplier": 2, "strides": 2, "padding": "same"},
                rng.standard_normal((2, 5, 4, 3)))                        # (N, H, W, C)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self._out(input_shape)                  # refuses inputs smaller than the kernel
        self.W = self.add_weight((*self.kernel_size, channels, self.depth_multiplier),
                                 self.depthwise_initializer, name="kernel",
                                 regularizer=self.depthwise_regularizer,
                                 constraint=self.depthwise_constraint)
        self.b = (self.add_weight((channels * self.depth_multiplier,), self.bias_initializer,
                                  name="bias", regularizer=self.bias_regularizer,
                                  constraint=self.bias_constraint)
                  if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        channels = self._channels(input_shape)
        return (input_shape[0], *self._out(input_shape), channels * self.depth_multiplier)

    def forward(self, x, training=False):
        self._check_input(x, self.W.shape[-2])
        z, x_pad = self._depthwise(x, self.W.value)                    # (N, *out, C·M)
        if self.b is not None:
            z += self.b.value
        self._x_pad = self.keep(x_pad)
        return self.activation.forward_overwriting(z, training=training)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, OH, OW, C·M) -> dL/dx (N, H, W, C); accumulates dL/dW and dL/db."""
        require_forward_state(self, getattr(self, "_x_pad", None))
        return self.backward_preactivation(self.activation.backward(dy), input_gradient)

    def backward_preactivation(self, dz, input_gradient: bool = True):
        require_forward_state(self, getattr(self, "_x_pad", None))
        if self.trainable and self.b is not None:
            self.b.grad += dz.reshape(-1, dz.shape[-1]).sum(axis=0)
        return self._depthwise_backward(dz, self._x_pad, self.W.value,
                                        self.W.grad if self.trainable else None, input_gradient)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_config(self, "depthwise", "bias"),
        }


@register("layer")
class SeparableConv2D(_DepthwiseBase):
    """Depthwise 2-D convolution, then a 1x1 convolution that mixes the channels.

    d = depthwise(x, D)                   (N, OH, OW, C·M), as DepthwiseConv2D, no bias
    y = activation(d @ P + b)             P (C·M, F) the pointwise kernel

    backward: dP = dᵀ @ dz, db = Σ dz, dd = dz @ Pᵀ, then DepthwiseConv2D's backward of dd.

    Shapes: x (N, H, W, C) -> y (N, OH, OW, filters); depthwise kernel D (kh, kw, C, M);
    pointwise kernel P (1, 1, C·M, filters); b (filters,).

    Args:
        filters: number of output channels F.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
        activation, use_bias: as DepthwiseConv2D.
        depthwise_initializer, pointwise_initializer, bias_initializer: initializers.
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: regularizers.

    Example:
        >>> SeparableConv2D(16, 3, padding="same")(np.ones((2, 8, 8, 3))).shape
        (2, 8, 8, 16)
    """

    skips_input_gradient = True

    @classmethod
    def contract_sample(cls, rng):
        return ({"filters": 3, "kernel_size": 2, "depth_multiplier": 2},
                rng.standard_normal((2, 4, 5, 2)))                        # (N, H, W, C)

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate=(1, 1),
                 depth_multiplier: int = 1, activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding,
                         depth_multiplier=depth_multiplier, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer,
                         depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer,
                         depthwise_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self.filters = checks.positive_integer("SeparableConv2D: filters", filters)
        self.pointwise_initializer = pointwise_initializer
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self._out(input_shape)                  # refuses inputs smaller than the kernel
        self.depthwise_kernel = self.add_weight(
            (*self.kernel_size, channels, self.depth_multiplier), self.depthwise_initializer,
            name="depthwise_kernel", regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            (*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer, name="pointwise_kernel",
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        self.b = (self.add_weight((self.filters,), self.bias_initializer, name="bias",
                                  regularizer=self.bias_regularizer,
                                  constraint=self.bias_constraint) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        self._channels(input_shape)
        return (input_shape[0], *self._out(input_shape), self.filters)

    def forward(self, x, training=False):
        self._check_input(x, self.depthwise_kernel.shape[-2])
        d, x_pad = self._depthwise(x, self.depthwise_kernel.value)     # (N, *out, C·M)
        P = self.pointwise_kernel.value.reshape(-1, self.filters)      # (C·M, F)
        z = d @ P                                                      # (N, *out, F)
        if self.b is not None:
            z += self.b.value
        self._x_pad, self._d = self.keep(x_pad), self.keep(d)
        return self.activation.forward_overwriting(z, training=training)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, OH, OW, F) -> dL/dx (N, H, W, C); accumulates the three gradients."""
        require_forward_state(self, getattr(self, "_d", None))
        return self.backward_preactivation(self.activation.backward(dy), input_gradient)

    def backward_preactivation(self, dz, input_gradient: bool = True):
        require_forward_state(self, getattr(self, "_d", None))
        d = self._d.reshape(-1, self._d.shape[-1])                     # (N·out, C·M)
        dz_rows = dz.reshape(-1, self.filters)                         # (N·out, F)
        P = self.pointwise_kernel.value.reshape(-1, self.filters)
        if self.trainable:
            self.pointwise_kernel.grad += (d.T @ dz_rows).reshape(self.pointwise_kernel.shape)
            if self.b is not None:
                self.b.grad += dz_rows.sum(axis=0)
        dd = (dz_rows @ P.T).reshape(self._d.shape)                    # (N, *out, C·M)
        return self._depthwise_backward(
            dd, self._x_pad, self.depthwise_kernel.value,
            self.depthwise_kernel.grad if self.trainable else None, input_gradient)

    def get_config(self):
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_config(self, "depthwise", "pointwise", "bias"),
        }
