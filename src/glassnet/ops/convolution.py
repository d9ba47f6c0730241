"""Convolution and pooling ops (Keras' `ops.conv`, `depthwise_conv`, `conv_transpose`,
`max_pool`, `average_pool`), for 1, 2 or 3 spatial axes, channels last by default.

Each forward gathers the input's windows as a strided view (no copy),

    windows[n, *o, c, *k] = x_padded[n, *(o * strides + k * dilation), c]

and reduces them: a tensordot with the kernel (conv), a max or a mean (pooling). Each VJP
scatters the gradient of the windows back, one kernel offset k at a time:

    dx_padded[n, *(o * strides + k * dilation), c] += dwindows[n, *o, c, *k]

and crops the padding away. (The built-in Conv2D layer does the same with im2col rows; these
ops serve call()-style layers and the functional API.)
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.autodiff import op
from glassnet.ops.dtypes import as_float, promote


def _tuple(value, rank: int, name: str) -> tuple[int, ...]:
    values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != rank:
        raise ValueError(f"{name}: expected {rank} values, got {values}")
    return tuple(int(v) for v in values)


def _channels_last(x, data_format):
    if data_format in (None, "channels_last"):
        return x
    if data_format != "channels_first":
        raise ValueError(f"data_format: expected 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    return np.moveaxis(x, 1, -1)


def _back(y, data_format):
    return y if data_format in (None, "channels_last") else np.moveaxis(y, -1, 1)


def _padding(sizes, window, strides, dilation, padding: str) -> list[tuple[int, int]]:
    """(before, after) per spatial axis: none for "valid"; for "same", what makes the output
    ceil(n / stride) long, the odd one after (as Keras and TensorFlow)."""
    padding = padding.lower()
    if padding == "valid":
        return [(0, 0)] * len(sizes)
    if padding != "same":
        raise ValueError(f"padding: expected 'valid' or 'same', got {padding!r}")
    pads = []
    for n, k, s, d in zip(sizes, window, strides, dilation):
        extent = (k - 1) * d + 1
        total = max((math.ceil(n / s) - 1) * s + extent - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


class _Geometry:
    """Where each window of a channels-last input lies: padding, strides, dilation."""

    def __init__(self, shape, window, strides, dilation, padding):
        self.rank = len(shape) - 2
        self.window = window
        self.strides = strides
        self.dilation = dilation
        self.pads = _padding(shape[1:-1], window, strides, dilation, padding)
        self.padded = tuple(n + lo + hi for n, (lo, hi) in zip(shape[1:-1], self.pads))
        self.extent = tuple((k - 1) * d + 1 for k, d in zip(window, dilation))
        self.out = tuple((n - e) // s + 1 for n, e, s in zip(self.padded, self.extent, strides))
        self.shape = tuple(shape)

    def pad(self, x, value=0.0):
        width = [(0, 0)] + list(self.pads) + [(0, 0)]
        return np.pad(x, width, constant_values=value) if any(map(any, self.pads)) else x

    def windows(self, padded):
        """(N, *out, C, *window): a strided view, no copy."""
        axes = tuple(range(1, self.rank + 1))
        view = np.lib.stride_tricks.sliding_window_view(padded, self.extent, axis=axes)
        index = ((slice(None),) + tuple(slice(None, o * s, s) for o, s in
                                        zip(self.out, self.strides))
                 + (slice(None),) + tuple(slice(None, None, d) for d in self.dilation))
        return view[index]

    def offsets(self):
        """Each kernel offset k, with the slice of the padded input its windows read."""
        for k in np.ndindex(*self.window):
            yield k, (slice(None),) + tuple(
                slice(i * d, i * d + (o - 1) * s + 1, s)
                for i, d, o, s in zip(k, self.dilation, self.out, self.strides))

    def crop(self, padded):
        return padded[(slice(None),) + tuple(slice(lo, lo + n) for (lo, _), n in
                                             zip(self.pads, self.shape[1:-1]))]

    def scatter(self, dwindows, dtype):
        """dL/dx from dL/dwindows (N, *out, C, *window): the sum over every window."""
        dx = np.zeros((self.shape[0],) + self.padded + (self.shape[-1],), dtype)
        for k, where in self.offsets():
            dx[where] += dwindows[(Ellipsis,) + k]
        return self.crop(dx)


@op("inputs", "kernel")
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (cross-correlation, as Keras): inputs (N, *spatial, C_in), kernel
    (*window, C_in, C_out) -> (N, *out, C_out)."""
    x, kernel = promote(as_float(inputs), kernel)
    x = _channels_last(x, data_format)
    rank = x.ndim - 2
    geometry = _Geometry(x.shape, kernel.shape[:rank], _tuple(strides, rank, "strides"),
                         _tuple(dilation_rate, rank, "dilation_rate"), padding)
    windows = geometry.windows(geometry.pad(x))              # (N, *out, C, *window)
    axes = [rank + 1] + list(range(rank + 2, 2 * rank + 2))
    y = np.tensordot(windows, kernel, axes=(axes, [rank] + list(range(rank))))
    return _back(y, data_format), (windows, kernel, geometry, data_format)


@conv.vjp
def conv_vjp(dy, windows, kernel, geometry, data_format, needs):
    dy = _channels_last(dy, data_format)                     # (N, *out, C_out)
    rank = geometry.rank
    dx = dkernel = None
    if needs[1]:                                             # Σ over n and o: (C, *window, O)
        dkernel = np.tensordot(windows, dy, axes=(list(range(rank + 1)),) * 2)
        dkernel = np.moveaxis(dkernel, 0, rank)              # (*window, C, O)
    if needs[0]:
        dwindows = np.tensordot(dy, kernel, axes=([rank + 1], [rank + 1]))  # (N,*o,*k,C)
        dwindows = np.moveaxis(dwindows, -1, rank + 1)       # (N, *out, C, *window)
        dx = _back(geometry.scatter(dwindows, dy.dtype), data_format)
    return dx, dkernel


@op("inputs", "kernel")
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Each input channel convolved with its own filters: kernel (*window, C, M) ->
    (N, *out, C * M), channel c's M outputs side by side."""
    x, kernel = promote(as_float(inputs), kernel)
    x = _channels_last(x, data_format)
    rank = x.ndim - 2
    geometry = _Geometry(x.shape, kernel.shape[:rank], _tuple(strides, rank, "strides"),
                         _tuple(dilation_rate, rank, "dilation_rate"), padding)
    windows = geometry.windows(geometry.pad(x))              # (N, *out, C, *window)
    o, k = "xyz"[:rank], "abc"[:rank]                        # out and window letters
    y = np.einsum(f"n{o}c{k},{k}cm->n{o}cm", windows, kernel)
    y = y.reshape(y.shape[:-2] + (-1,))
    return _back(y, data_format), (windows, kernel, geometry, data_format)


@depthwise_conv.vjp
def depthwise_conv_vjp(dy, windows, kernel, geometry, data_format, needs):
    dy = _channels_last(dy, data_format)
    o, k = "xyz"[:geometry.rank], "abc"[:geometry.rank]
    dy = dy.reshape(dy.shape[:-1] + kernel.shape[-2:])       # (N, *out, C, M)
    dx = dkernel = None
    if needs[1]:
        dkernel = np.einsum(f"n{o}c{k},n{o}cm->{k}cm", windows, dy)
    if needs[0]:
        dwindows = np.einsum(f"n{o}cm,{k}cm->n{o}c{k}", dy, kernel)
        dx = _back(geometry.scatter(dwindows, dy.dtype), data_format)
    return dx, dkernel


def _pool_geometry(x, pool_size, strides, padding):
    rank = x.ndim - 2
    window = _tuple(pool_size, rank, "pool_size")
    strides = window if strides is None else _tuple(strides, rank, "strides")
    return _Geometry(x.shape, window, strides, (1,) * rank, padding)


@op("inputs")
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The largest value of each window; the gradient goes to the first largest (as the
    built-in MaxPooling layers and TensorFlow)."""
    x = _channels_last(as_float(inputs), data_format)
    geometry = _pool_geometry(x, pool_size, strides, padding)
    windows = geometry.windows(geometry.pad(x, -np.inf))
    flat = windows.reshape(windows.shape[:geometry.rank + 2] + (-1,))
    first = np.argmax(flat, axis=-1)                         # (N, *out, C)
    y = np.take_along_axis(flat, first[..., None], -1)[..., 0]
    return _back(y, data_format), (first, geometry, data_format)


@max_pool.vjp
def max_pool_vjp(dy, first, geometry, data_format):
    dy = _channels_last(dy, data_format)
    dx = np.zeros((geometry.shape[0],) + geometry.padded + (geometry.shape[-1],), dy.dtype)
    for number, (_, where) in enumerate(geometry.offsets()):
        dx[where] += dy * (first == number)
    return _back(geometry.crop(dx), data_format)


@op("inputs")
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The mean of each window; with "same" padding, of the window's values inside the
    input (the padding is not counted, as Keras)."""
    x = _channels_last(as_float(inputs), data_format)
    geometry = _pool_geometry(x, pool_size, strides, padding)
    axes = tuple(range(-geometry.rank, 0))
    total = geometry.windows(geometry.pad(x)).sum(axis=axes)
    ones = np.ones((1,) + x.shape[1:-1] + (1,), x.dtype)
    inside = _Geometry(ones.shape, geometry.window, geometry.strides, geometry.dilation,
                       "same" if any(map(any, geometry.pads)) else "valid")
    count = inside.windows(inside.pad(ones)).sum(axis=axes)  # (1, *out, 1)
    return _back(total / count, data_format), (count, geometry, data_format)


@average_pool.vjp
def average_pool_vjp(dy, count, geometry, data_format):
    dy = _channels_last(dy, data_format) / count
    dwindows = np.broadcast_to(dy[(Ellipsis,) + (None,) * geometry.rank],
                               dy.shape + geometry.window)
    return _back(geometry.scatter(dwindows, dy.dtype), data_format)


@op("inputs", "kernel")
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """The gradient of `conv` with respect to its input, as a layer (a "deconvolution"):
    inputs (N, *spatial, C_in), kernel (*window, C_out, C_in) -> (N, *larger, C_out)."""
    x, kernel = promote(as_float(inputs), kernel)
    x = _channels_last(x, data_format)
    rank = x.ndim - 2
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation_rate, rank, "dilation_rate")
    window = kernel.shape[:rank]
    extra = (0,) * rank if output_padding is None else _tuple(output_padding, rank,
                                                              "output_padding")
    sizes = []
    for n, k, s, d, e in zip(x.shape[1:-1], window, strides, dilation, extra):
        extent = (k - 1) * d + 1
        sizes.append((n - 1) * s + extent + e if padding == "valid" else n * s + e)
    geometry = _Geometry((x.shape[0], *sizes, kernel.shape[-2]), window, strides, dilation,
                         padding)
    if geometry.out != x.shape[1:-1]:
        raise ValueError(f"conv_transpose: inputs of spatial shape {x.shape[1:-1]} do not "
                         f"fit output {tuple(sizes)} (windows {geometry.out})")
    dwindows = np.moveaxis(np.tensordot(x, kernel, axes=([rank + 1], [rank + 1])), -1,
                           rank + 1)                         # (N, *in, C_out, *window)
    y = geometry.scatter(dwindows, x.dtype)
    return _back(y, data_format), (x, kernel, geometry, data_format)


@conv_transpose.vjp
def conv_transpose_vjp(dy, x, kernel, geometry, data_format, needs):
    dy = _channels_last(dy, data_format)
    rank = geometry.rank
    windows = geometry.windows(geometry.pad(dy))             # (N, *in, C_out, *window)
    axes = [rank + 1] + list(range(rank + 2, 2 * rank + 2))
    dx = dkernel = None
    if needs[0]:
        dx = np.tensordot(windows, kernel, axes=(axes, [rank] + list(range(rank))))
        dx = _back(dx, data_format)
    if needs[1]:
        dkernel = np.tensordot(windows, x, axes=(list(range(rank + 1)),) * 2)  # (Co,*k,Ci)
        dkernel = np.moveaxis(dkernel, 0, rank)
    return dx, dkernel


__all__ = ["average_pool", "conv", "conv_transpose", "depthwise_conv", "max_pool"]
