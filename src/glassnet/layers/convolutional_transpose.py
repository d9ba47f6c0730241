"""Transposed convolutions Conv1DTranspose and Conv2DTranspose (channels_last), the upsampling
half of autoencoders and generators.

A transposed convolution is the backward pass of a convolution, run forward: every input
pixel scatters a weighted copy of the kernel onto the output, s pixels apart. For Conv2D-
Transpose, with the kernel W (kh, kw, F, C) as Keras stores it,

    full[n, i·s_h + a·d_h, j·s_w + b·d_w, f] += Σ_c x[n, i, j, c] · W[a, b, f, c]
    z = full cropped to the output (padding), + b;   y = activation(z)

`full` (N, (H - 1)·s_h + (kh - 1)·d_h + 1, ..., F) holds every contribution; "valid" and
"same" padding and `output_padding` then cut rows off its borders (or append zero rows), as
Keras (and TensorFlow) define them. In matrix form it is Conv2D's backward, turned around:

    forward   blocks = x @ Wᵀ per kernel offset      (K, N·H·W, F), K = kh·kw
              full = col2im(blocks)                  each block added onto a strided slice
    backward  rows = im2col(dfull)                   (N·H·W, K·F), the windows of dL/dfull
              dW = rowsᵀ @ x                         (K·F, N·H·W) @ (N·H·W, C)
              dx = rows @ W                          (N·H·W, K·F) @ (K·F, C)
              db = Σ dz
"""

from __future__ import annotations

from glassnet import activations, checks, constraints, regularizers
from glassnet.backend import namespace
from glassnet.layers import _windows
from glassnet.layers.base import Layer, require_forward_state, weight_config
from glassnet.registry import register


def transpose_crops(kernel: int, stride: int, dilation: int, padding: str,
                    output_padding: int | None) -> tuple[int, int]:
    """(before, after): how much of `full` the output leaves out on each side of one axis;
    a negative `after` appends that many zero rows instead.

    Keras' definition, with the extent E = (k - 1)·d + 1 of the dilated kernel and `full`
    of size (n - 1)·s + E:
      valid   out = (n - 1)·s + E + p,   p = output_padding, or max(E, s) - E (the rows no
              input reaches when the stride is longer than the kernel): zeros appended
      same    out = n·s without output_padding, else (n - 1)·s + E mod 2 + p.
    Keras computes it as a convolution over the stride-dilated input padded with `total`
    rows, ceil(total / 2) of them before (at most E - 1) and the rest after; a pad of E - 1
    on a side gives `full`'s border, so the crop on that side is E - 1 - pad.
    """
    extent = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(extent, stride) - extent if output_padding is None else output_padding
        return 0, -extra
    total = (stride + extent - 2 if output_padding is None
             else extent + extent % 2 - 2 + output_padding)    # padding of the equivalent conv
    before = min(total // 2 + total % 2, extent - 1)
    return extent - 1 - before, extent - 1 - (total - before)


def _output_padding(value, rank: int, strides, layer: str):
    """None, or one non-negative int per axis, each below its stride (as Keras checks)."""
    if value is None:
        return None
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    values = tuple(checks.integer(f"{layer}: output_padding", v, minimum=0) for v in values)
    if len(values) != rank or any(p >= s for p, s in zip(values, strides)):
        raise ValueError(f"{layer}: output_padding must be {rank} non-negative int(s), each "
                         f"smaller than its stride {tuple(strides)}, got {value!r}")
    return values


class _ConvTranspose(Layer):
    """N-D transposed convolution over `rank` spatial axes; subclasses fix the rank."""

    rank = 2
    skips_input_gradient = True          # backward(dy, input_gradient=False) is supported

    @classmethod
    def contract_sample(cls, rng):
        return ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
                rng.standard_normal((2,) + (3,) * cls.rank + (2,)))        # (N, *spatial, C)

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 output_padding=None, data_format: str | None = None, dilation_rate=1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        layer = type(self).__name__
        self.filters = checks.positive_integer(f"{layer}: filters", filters)
        self.kernel_size = _windows.normalize_tuple(kernel_size, self.rank, "kernel_size", layer)
        self.strides = _windows.normalize_tuple(strides, self.rank, "strides", layer)
        self.dilation_rate = _windows.normalize_tuple(dilation_rate, self.rank, "dilation_rate",
                                                      layer)
        self.padding = _windows.normalize_padding(padding, layer)
        self.output_padding = _output_padding(output_padding, self.rank, self.strides, layer)
        self.data_format = _windows.check_data_format(data_format, layer)
        _windows.check_strides_and_dilation(self.strides, self.dilation_rate, layer)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    # ----- shapes -----------------------------------------------------------------------
    def crops(self) -> tuple[tuple[int, int], ...]:
        """(before, after) per spatial axis: what the output leaves out of `full`."""
        paddings = self.output_padding or (None,) * self.rank
        return tuple(transpose_crops(k, s, d, self.padding, p) for k, s, d, p
                     in zip(self.kernel_size, self.strides, self.dilation_rate, paddings))

    def _full(self, spatial) -> tuple:
        """Sizes of `full`, every input pixel's kernel laid down: (n - 1)·s + (k - 1)·d + 1."""
        return tuple(None if n is None else (n - 1) * s + (k - 1) * d + 1 for n, k, s, d
                     in zip(spatial, self.kernel_size, self.strides, self.dilation_rate))

    def build(self, input_shape):
        _windows.check_input_rank(self, input_shape, self.rank)
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the channel axis must be "
                             f"known, got input shape {tuple(input_shape)}")
        self.compute_output_shape(input_shape)  # refuses an empty output
        self.W = self.add_weight((*self.kernel_size, self.filters, channels),
                                 self.kernel_initializer, name="kernel",
                                 regularizer=self.kernel_regularizer,
                                 constraint=self.kernel_constraint)
        self.b = (self.add_weight((self.filters,), self.bias_initializer, name="bias",
                                  regularizer=self.bias_regularizer,
                                  constraint=self.bias_constraint) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, self.rank)
        out = tuple(None if n is None else n - before - after
                    for n, (before, after) in zip(self._full(input_shape[1:-1]), self.crops()))
        if any(o is not None and o <= 0 for o in out):
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): input shape "
                             f"{tuple(input_shape)} gives an empty output {out}")
        return (input_shape[0], *out, self.filters)

    def _check_input(self, x) -> None:
        _windows.check_input_rank(self, x.shape, self.rank)
        channels = self.W.shape[-1]
        if x.shape[-1] != channels:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): expected "
                             f"{channels} input channels (built for that), got input of shape "
                             f"{x.shape}")

    # ----- the math ---------------------------------------------------------------------
    def forward(self, x, training=False):
        self._check_input(x)
        xp = namespace(x)
        batch, spatial, channels = x.shape[0], x.shape[1:-1], x.shape[-1]
        full, crops = self._full(spatial), self.crops()
        out = self.compute_output_shape(x.shape)[1:-1]
        # one GEMM per kernel offset: blocks[j] = x @ W[j]ᵀ, (N·in, C) @ (C, F)
        kernel = self.W.value.reshape(-1, self.filters, channels)     # (K, F, C)
        blocks = xp.matmul(x.reshape(-1, channels), kernel.transpose(0, 2, 1))  # (K, N·in, F)
        # col2im: each offset's block lands on a strided slice of `full`; rows that a
        # negative crop appends (output_padding) stay zero
        appended = tuple(max(0, -after) for _, after in crops)
        z_full = xp.zeros((batch, *(f + a for f, a in zip(full, appended)), self.filters),
                          dtype=blocks.dtype)
        offsets = _windows.window_offsets(self.kernel_size, self.strides, self.dilation_rate,
                                          spatial)
        for block, (_, region) in zip(blocks, offsets):
            target = z_full[region]                                    # a strided view
            target += block.reshape(batch, *spatial, self.filters)
        z = xp.ascontiguousarray(_windows.crop(z_full, crops, out))   # (N, *out, F)
        if self.b is not None:
            z += self.b.value
        self._x = self.keep(x)
        return self.activation.forward_overwriting(z, training=training)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, *out, F) -> dL/dx (N, *in, C); accumulates dL/dW and dL/db.
        With input_gradient=False only the weight gradients are accumulated (None back)."""
        require_forward_state(self, getattr(self, "_x", None))
        return self.backward_preactivation(self.activation.backward(dy), input_gradient)

    def backward_preactivation(self, dz, input_gradient: bool = True):
        """dL/dz for the linear part (the fused output path starts here)."""
        x = self._x
        require_forward_state(self, x)
        xp = namespace(dz)
        spatial, channels = x.shape[1:-1], x.shape[-1]
        full, crops = self._full(spatial), self.crops()
        # dL/dfull: dz where the output came from, zeros on the cropped borders
        dfull = _windows.pad(dz, tuple((before, max(0, after)) for before, after in crops))
        dfull = dfull[(slice(None), *(slice(0, n) for n in full))]   # less appended zeros
        # the windows of dfull are the transposed scatter: window i holds what pixel i wrote
        rows = _windows.window_rows(dfull, self.kernel_size, self.strides,
                                    self.dilation_rate, spatial)     # (N·in, K·F)
        kernel = self.W.value.reshape(-1, channels)                    # (K·F, C)
        x_rows = x.reshape(-1, channels)                               # (N·in, C)
        if self.trainable:
            self.W.grad += (rows.T @ x_rows).reshape(self.W.shape)     # (K·F, N·in) @ (N·in, C)
            if self.b is not None:
                dz_rows = dz.reshape(-1, self.filters)
                self.b.grad += xp.ones(dz_rows.shape[0], dtype=dz.dtype) @ dz_rows
        if not input_gradient:
            return None
        return (rows @ kernel).reshape(x.shape)                        # (N·in, K·F) @ (K·F, C)

    # ----- (de)serialisation ------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_config(self, "kernel", "bias"),
        }


@register("layer")
class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution ("deconvolution"), followed by an activation.

    full[n, i·s_h + a·d_h, j·s_w + b·d_w, f] += Σ_c x[n, i, j, c] · W[a, b, f, c]

    Shapes: x (N, H, W, C) -> y (N, OH, OW, filters); W (kh, kw, filters, C); b (filters,).
    "valid": OH = (H - 1)·s_h + max(kh, s_h) (+ output_padding instead of the max's extra);
    "same": OH = H·s_h (or (H - 1)·s_h + kh mod 2 + output_padding when it is given).

    Args:
        filters: number of output channels F.
        kernel_size: int or (kh, kw).
        strides: int or (s_h, s_w): the upsampling factor.
        padding: "valid" or "same" (case-insensitive).
        output_padding: None, int or (p_h, p_w), each below its stride: rows added at the
            bottom/right, to pick one of the input sizes a strided Conv2D maps to H.
        data_format: None or "channels_last".
        dilation_rate: int or (d_h, d_w); dilation > 1 with strides > 1 is refused.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: as Conv2D.

    Example:
        >>> Conv2DTranspose(8, 3, strides=2, padding="same")(np.ones((2, 7, 7, 4))).shape
        (2, 14, 14, 8)
    """

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 output_padding=None, data_format: str | None = None, dilation_rate=(1, 1),
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)


@register("layer")
class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution over steps (N, T, C) -> (N, OT, filters).

    full[n, t·s + a·d, f] += Σ_c x[n, t, c] · W[a, f, c]

    Shapes: W (k, filters, C); b (filters,). Other arguments as Conv2DTranspose, with ints
    instead of pairs.

    Example:
        >>> Conv1DTranspose(4, 3, strides=2)(np.ones((2, 5, 3))).shape
        (2, 11, 4)
    """

    rank = 1

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 output_padding=None, data_format: str | None = None, dilation_rate=1,
                 activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)

