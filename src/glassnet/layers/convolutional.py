"""Convolutions Conv1D and Conv2D (channels_last), as one matrix product on a window view.

Forward, for Conv2D (Conv1D is the same with one spatial axis):

    z[n, i, j, f] = Σ_{a, b, c} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, f] + b[f]
    y = activation(z)

The sum is a GEMM once the windows of x are laid out as rows ("im2col"): windows(x_pad) is a
strided view (N, OH, OW, kh, kw, C) of the input, reshaped to (N·OH·OW, kh·kw·C), times the
kernel reshaped to (kh·kw·C, F). Backward is the transpose of the same products:

    dW = windowsᵀ @ dz           (kh·kw·C, N·OH·OW) @ (N·OH·OW, F)
    db = Σ_{n, i, j} dz
    dx = col2im(dz @ Wᵀ)         every window's gradient added back onto the pixels it read
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import activations, constraints, regularizers
from glassnet.backend import namespace
from glassnet.layers import _windows
from glassnet.layers.base import Layer, keeps_for_backward, require_forward_state, weight_config
from glassnet.registry import register

# In inference the im2col rows are made for a slice of the batch at a time, at most this big.
INFERENCE_ROWS_BYTES = 2 * 2**20


def _add_bias(z, b, row_length: int) -> None:
    """z (N·out, F) += b in place, b broadcast over every output position.

    Why not `z += b`: NumPy adds a broadcast operand one row of F numbers at a time, and for
    few filters (F = 8) that inner loop is so short that the add costs more than the GEMM
    before it. Viewing z as (N·OH, OW·F) and adding b tiled OW times is the same sum with
    inner loops OW times longer (~3x faster); tests compare it with PyTorch's conv.
    """
    tiled = namespace(z).tile(b, row_length)                       # (OW·F,) = [b, b, ..., b]
    rows = z.reshape(-1, tiled.shape[0])                           # a view: z is contiguous
    rows += tiled


class _Conv(Layer):
    """N-D convolution over `rank` spatial axes; Conv1D and Conv2D fix the rank."""

    rank = 2
    skips_input_gradient = True          # backward(dy, input_gradient=False) is supported

    @classmethod
    def contract_sample(cls, rng):
        return ({"filters": 2, "kernel_size": 2},
                rng.standard_normal((2,) + (4,) * cls.rank + (2,)))        # (N, *spatial, C)

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        layer = type(self).__name__
        if (isinstance(filters, bool) or not isinstance(filters, (int, np.integer))
                or filters <= 0):
            raise ValueError(f"{layer}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _windows.normalize_tuple(kernel_size, self.rank, "kernel_size", layer)
        self.strides = _windows.normalize_tuple(strides, self.rank, "strides", layer)
        self.dilation_rate = _windows.normalize_tuple(dilation_rate, self.rank, "dilation_rate",
                                                      layer)
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        self.padding = _windows.normalize_padding(padding, layer, allowed)
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
    def build(self, input_shape):
        _windows.check_input_rank(self, input_shape, self.rank)
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the channel axis must be "
                             f"known, got input shape {tuple(input_shape)}")
        self.compute_output_shape(input_shape)  # refuses inputs smaller than the kernel
        self.W = self.add_weight((*self.kernel_size, channels, self.filters),
                                 self.kernel_initializer, name="kernel",
                                 regularizer=self.kernel_regularizer,
                                 constraint=self.kernel_constraint)
        self.b = (self.add_weight((self.filters,), self.bias_initializer, name="bias",
                                  regularizer=self.bias_regularizer,
                                  constraint=self.bias_constraint) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, self.rank)
        out = _windows.output_spatial(self, input_shape[1:-1], self.kernel_size, self.strides,
                                      self.dilation_rate, self.padding)
        return (input_shape[0], *out, self.filters)

    def _check_input(self, x) -> None:
        _windows.check_input_rank(self, x.shape, self.rank)
        channels = self.W.shape[-2]
        if x.shape[-1] != channels:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}): expected "
                             f"{channels} input channels (built for that), got input of shape "
                             f"{x.shape}")

    # ----- the math ---------------------------------------------------------------------
    def forward(self, x, training=False):
        self._check_input(x)
        spatial = x.shape[1:-1]
        out = _windows.output_spatial(self, spatial, self.kernel_size, self.strides,
                                      self.dilation_rate, self.padding)
        pads = _windows.padding_amounts(spatial, self.kernel_size, self.strides,
                                        self.dilation_rate, self.padding)
        x_pad = _windows.pad(x, pads)
        kernel = self.W.value.reshape(-1, self.filters)            # (k·C, F)
        if training:
            # (N, *out, *k, C) windows -> (N·out, k·C) rows: the one copy of the forward pass
            cols = _windows.window_rows(x_pad, self.kernel_size, self.strides,
                                        self.dilation_rate, out)
            z = cols @ kernel                                      # (N·out, k·C) @ (k·C, F)
            if self.b is not None:
                _add_bias(z, self.b.value, out[-1])
            activated = False
        else:
            cols = None
            z, activated = self._rows_times_kernel(x_pad, out, kernel)
        # Backward needs the windows again for dW. In training the rows are kept: k_h·k_w
        # times the input's memory (1.5 MB for 64 MNIST images and a 3x3 kernel) saves a second
        # im2col copy. Inference keeps only a reference to the input, as Dense does (a
        # backward after it rebuilds the rows), and inference_only() (predict) not even that.
        self._geometry = (x.shape, x_pad.shape, pads, out)
        z = z.reshape(x.shape[0], *out, self.filters)              # (N, *out, F)
        y = z if activated else self.activation.forward_overwriting(z, training=training)
        self._cols = self.keep(cols)                              # training: the rows
        self._x_pad = None if training else self.keep(x_pad)      # else: the input
        return y

    def _rows_times_kernel(self, x_pad, out, kernel):
        """im2col(x_pad) @ kernel + b for inference, a slice of the batch at a time.

        Same products, row for row, as the whole batch at once; but the rows of a slice take
        at most INFERENCE_ROWS_BYTES instead of k_h·k_w times the whole input (35 MB for 1,000
        MNIST images in the second layer of a small CNN), and each slice's rows are read by
        the GEMM while still in cache. The bias, and when nothing is kept for a backward pass
        (predict) the activation too, are applied to each slice's z while it is in cache:
        one pass over the whole output instead of three (an activation acts on each sample
        on its own, so slicing the batch changes no number). Returns (z, activated).
        """
        batch, positions = x_pad.shape[0], math.prod(out)
        per_sample = positions * kernel.shape[0] * kernel.itemsize
        step = max(1, INFERENCE_ROWS_BYTES // per_sample)
        activate = not keeps_for_backward()
        xp = namespace(x_pad)
        z = xp.empty((batch * positions, kernel.shape[1]), dtype=kernel.dtype)
        for start in range(0, batch, step):
            stop = min(batch, start + step)
            cols = _windows.window_rows(x_pad[start:stop], self.kernel_size, self.strides,
                                        self.dilation_rate, out)
            part = z[start * positions:stop * positions]           # (slice·out, F), a view
            xp.matmul(cols, kernel, out=part)
            if self.b is not None:
                _add_bias(part, self.b.value, out[-1])
            if activate:
                shaped = part.reshape(stop - start, *out, self.filters)
                y = self.activation.forward_overwriting(shaped)    # part is ours
                if y is not shaped:                                # written elsewhere: copy
                    shaped[...] = y
        if activate:
            self.activation.forget()
        return z, activate

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, *out, F) -> dL/dx (N, *spatial, C); accumulates dL/dW and dL/db.

        With input_gradient=False only the weight gradients are accumulated and None is
        returned (the first layer of a model: nobody reads dL/dx of the data).
        """
        cols = getattr(self, "_cols", None)
        require_forward_state(self, getattr(self, "_x_pad", None) if cols is None else cols)
        return self.backward_preactivation(self.activation.backward(dy), input_gradient)

    def backward_preactivation(self, dz, input_gradient: bool = True):
        """dL/dz for the linear part z = conv(x, W) + b (the fused output path starts here)."""
        x_shape, padded_shape, pads, out = self._geometry
        xp = namespace(dz)
        dz = dz.reshape(-1, self.filters)                          # (N·out, F)
        if self.trainable:
            cols = self._cols
            if cols is None:                                       # forward ran for inference
                require_forward_state(self, self._x_pad)
                cols = _windows.window_rows(self._x_pad, self.kernel_size, self.strides,
                                            self.dilation_rate, out)
            self.W.grad += (cols.T @ dz).reshape(self.W.shape)     # (k·C, N·out) @ (N·out, F)
            if self.b is not None:
                # Σ over rows as a matrix-vector product: NumPy's sum(axis=0) over a tall,
                # narrow array is ~20x slower, and BLAS accumulates more accurately here
                self.b.grad += xp.ones(dz.shape[0], dtype=dz.dtype) @ dz
        if not input_gradient:
            return None
        dx = self._col2im(self._window_gradients(dz), padded_shape, x_shape[0], out)
        return _windows.crop(dx, pads, x_shape[1:-1])

    def _window_gradients(self, dz):
        """dz (N·out, F) -> dL/dwindows (K, N·out, C), K = k_h·k_w kernel offsets first.

        With the offset axis first, each offset's block (N·out, C) is contiguous, so col2im
        adds it to its input slice with long inner loops (the (N·out, K·C) layout would add
        blocks C numbers wide: ~3x slower for C = 8). For a single input channel, (K·C, N·out)
        is the same memory as (K, N·out, 1) and one GEMM is ~2x faster than the batched product.
        The (K, F, C) kernel is copied contiguous first (K·F·C numbers, 1,152 for 3x3x8x16):
        NumPy's batched matmul runs ~1.5x slower on the transposed view of W.
        """
        channels = self.W.shape[-2]
        W = self.W.value.reshape(-1, channels, self.filters)      # (K, C, F)
        if channels == 1:
            return (W[:, 0, :] @ dz.T)[..., None]                  # (K, F) @ (F, N·out)
        xp = namespace(dz)
        W_t = xp.ascontiguousarray(W.transpose(0, 2, 1))          # (K, F, C)
        return xp.matmul(dz, W_t)                                  # (N·out, F) @ (K, F, C)

    def _col2im(self, dwindows, padded_shape, batch, out):
        """Add each window's gradient dwindows (K, N·out, C) onto the input pixels it read.

        Why a loop over the k_h·k_w kernel offsets rather than a transposed convolution: each
        offset is one vectorised add of an (N, *out, C) block onto a strided slice, for any
        stride and dilation; the transposed convolution would need dz dilated with zeros
        (s² times more work at stride s) and a second im2col, k_h·k_w·F numbers per pixel.
        """
        dx = namespace(dwindows).zeros(padded_shape, dtype=dwindows.dtype)
        offsets = _windows.window_offsets(self.kernel_size, self.strides, self.dilation_rate, out)
        for block, (_, region) in zip(dwindows, offsets):
            target = dx[region]                                    # a strided view into dx
            target += block.reshape(batch, *out, padded_shape[-1])
        return dx

    # ----- (de)serialisation ------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **weight_config(self, "kernel", "bias"),
        }


@register("layer")
class Conv2D(_Conv):
    """2-D convolution (cross-correlation, as Keras) followed by an activation.

    z[n, i, j, f] = Σ_{a, b, c} x_pad[n, i·s_h + a·d_h, j·s_w + b·d_w, c] · W[a, b, c, f] + b[f]

    Shapes: x (N, H, W, C) -> y (N, OH, OW, filters); W (kh, kw, C, filters); b (filters,).
    'valid': OH = floor((H - (kh - 1)·d_h - 1) / s_h) + 1. 'same': OH = ceil(H / s_h), padded as
    TensorFlow (with an even kernel the extra row/column of zeros is at the bottom/right).

    Args:
        filters: number of output channels F.
        kernel_size: int or (kh, kw).
        strides: int or (s_h, s_w); strides > 1 with dilation_rate > 1 is refused, as in Keras.
        padding: "valid" (no padding) or "same" (case-insensitive).
        data_format: None or "channels_last" (the only layout supported).
        dilation_rate: int or (d_h, d_w): the kernel taps are d pixels apart.
        activation: name or activation object; default linear.
        use_bias: whether to add b.
        kernel_initializer, bias_initializer: names or Initializer objects.
        kernel_regularizer, bias_regularizer: e.g. "l2" or regularizers.L2(1e-4).

    Example:
        >>> layer = Conv2D(8, 3, activation="relu")
        >>> layer(np.ones((2, 28, 28, 1), dtype="float32")).shape
        (2, 26, 26, 8)
    """

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate=(1, 1), activation=None,
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
class Conv1D(_Conv):
    """1-D convolution over steps (N, T, C) -> (N, OT, filters), followed by an activation.

    z[n, t, f] = Σ_{a, c} x_pad[n, t·s + a·d, c] · W[a, c, f] + b[f]

    Shapes: W (k, C, filters); b (filters,). Padding "valid", "same" (TensorFlow's split) or
    "causal" ((k - 1)·d zeros in front, so output t depends on inputs up to t only).
    Other arguments as Conv2D, with ints instead of pairs.

    Example:
        >>> Conv1D(4, 3, padding="causal")(np.ones((2, 10, 3), dtype="float32")).shape
        (2, 10, 4)
    """

    rank = 1

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate=1, activation=None,
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
