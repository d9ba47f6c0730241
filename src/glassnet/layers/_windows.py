"""Sliding windows as strided views: the index arithmetic convolution and pooling share.

For an input x (N, *spatial, C), a kernel of size k, stride s and dilation d, the window view

    windows(x)[n, o_1, ..., i_1, ..., c] = x[n, o_1·s_1 + i_1·d_1, ..., c]

has shape (N, *out, *k, C) and costs no memory: it reads x's buffer with other strides
(`sliding_window_view`). A convolution is then one matrix product of that view with the kernel.

The other way to slice the same numbers: offset i of every window is the strided slice
x[:, i·d : i·d + s·(out - 1) + 1 : s, :] of shape (N, *out, C). `window_offsets` yields those
slices; pooling and every backward pass loop over the k_h·k_w offsets (4 for a 2x2 pool, 9 for
a 3x3 kernel), one vectorised operation each, never over pixels or samples.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator

import numpy as np

from glassnet.backend import namespace

_SPATIAL_NAMES = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)",
                  3: "(batch, depth, height, width, channels)"}


# ----- argument checking ------------------------------------------------------------------
def normalize_tuple(value, rank: int, name: str, layer: str) -> tuple[int, ...]:
    """An int or a sequence of `rank` ints -> a tuple of `rank` positive ints."""
    try:
        values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    except TypeError:  # neither an int nor a sequence
        values = ()
    if len(values) != rank or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in values
    ):
        raise ValueError(f"{layer}: {name} must be a positive int or a tuple of {rank} positive "
                         f"ints, got {value!r}")
    return tuple(int(v) for v in values)


def normalize_padding(padding, layer: str, allowed=("valid", "same")) -> str:
    """'valid' / 'same' (case-insensitive, as Keras)."""
    name = str(padding).lower()
    if name not in allowed:
        raise ValueError(f"{layer}: padding must be one of {allowed}, got {padding!r}")
    return name


def check_data_format(data_format, layer: str) -> str:
    """glassnet stores images as (N, H, W, C); other layouts are refused, not guessed."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{layer}: only data_format='channels_last' is supported, "
                         f"got {data_format!r}")
    return "channels_last"


def check_strides_and_dilation(strides: tuple, dilation_rate: tuple, layer: str) -> None:
    """strides > 1 together with dilation_rate > 1 is refused, as Keras' backends refuse it."""
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(f"{layer}: strides > 1 is not supported together with "
                         f"dilation_rate > 1, got strides={strides} and "
                         f"dilation_rate={dilation_rate}")


def check_input_rank(layer, shape: tuple, spatial_rank: int) -> None:
    """ValueError naming the layer unless `shape` is (batch, *spatial, channels)."""
    if len(shape) != spatial_rank + 2:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}): expected input of rank "
            f"{spatial_rank + 2}, shape {_SPATIAL_NAMES[spatial_rank]}, got shape {tuple(shape)}"
        )


# ----- sizes and padding ------------------------------------------------------------------
def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding: out = ceil(size / stride), the odd pixel at the end.

    total = max((out - 1)·s + (k - 1)·d + 1 - size, 0), split (total // 2, total - total // 2):
    with an even kernel the extra row goes to the bottom/right (PyTorch's padding='same' would
    put it on the top/left, which shifts the output by one pixel).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def padding_amounts(spatial, kernel, strides, dilation, padding: str):
    """((before, after), ...) per spatial axis for 'valid', 'same' or 'causal' (1-D only)."""
    if padding == "valid":
        return tuple((0, 0) for _ in spatial)
    if padding == "causal":  # output t sees inputs <= t only: all padding goes in front
        return tuple(((k - 1) * d, 0) for k, d in zip(kernel, dilation))
    return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides,
                                                               dilation))


def output_size(size: int | None, kernel: int, stride: int, dilation: int,
                padding: str) -> int | None:
    """Number of window positions along one axis (None stays None)."""
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    return (size - (kernel - 1) * dilation - 1) // stride + 1


def output_spatial(layer, spatial, kernel, strides, dilation, padding) -> tuple:
    """Output sizes of all spatial axes; ValueError when an input is smaller than the window."""
    out = tuple(output_size(n, k, s, d, padding)
                for n, k, s, d in zip(spatial, kernel, strides, dilation))
    if any(o is not None and o <= 0 for o in out):
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}): spatial input size "
            f"{tuple(spatial)} is smaller than the window {tuple(kernel)} (dilation "
            f"{tuple(dilation)}) with padding='valid'; the output would be empty"
        )
    return out


def pad(x, pads, value: float = 0.0):
    """x (N, *spatial, C) padded on the spatial axes; x itself when there is nothing to pad."""
    if not any(before or after for before, after in pads):
        return x
    xp = namespace(x)
    return xp.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def crop(x, pads, spatial):
    """Inverse of `pad` for gradients: the (N, *spatial, C) interior of a padded array."""
    if not any(before or after for before, after in pads):
        return x
    interior = tuple(slice(before, before + n) for (before, _), n in zip(pads, spatial))
    return x[(slice(None), *interior, slice(None))]


# ----- the windows ------------------------------------------------------------------------
def windows(x, kernel, strides, dilation):
    """Strided view (N, *out, *k, C) of x (N, *spatial, C): no copy.

    `sliding_window_view` takes every window of the dilated extent (k - 1)·d + 1; slicing
    its position axes by the stride and its window axes by the dilation keeps a view.
    """
    xp = namespace(x)
    rank = len(kernel)
    spatial_axes = tuple(range(1, rank + 1))
    extent = tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation))
    view = xp.lib.stride_tricks.sliding_window_view(x, extent, axis=spatial_axes)
    # view: (N, *positions, C, *extent) -> keep every s-th position, every d-th tap
    view = view[(slice(None), *(slice(None, None, s) for s in strides), slice(None),
                 *(slice(None, None, d) for d in dilation))]
    return view.transpose(0, *spatial_axes, *(a + rank + 1 for a in spatial_axes), rank + 1)


def window_rows(x, kernel, strides, dilation, out):
    """The windows of x (N, *spatial, C) as GEMM rows (N·out, k·C): im2col, one copy.

    Row r holds window r's numbers in the kernel's (k_1, ..., C) order, so `rows @ W.reshape(
    -1, F)` is the convolution. For a single input channel the copy is built offset by offset
    instead: copying the window view walks runs of only k_w numbers, while each offset's
    strided slice of x (the `window_offsets` regions) copies whole image rows, ~6x faster.
    That gives the (k, N·out) transpose of the rows; the result is its `.T` view, and BLAS
    reads a transposed operand at no cost. A test checks both paths against each other.
    """
    taps = math.prod(kernel)
    if x.shape[-1] != 1:
        return windows(x, kernel, strides, dilation).reshape(-1, taps * x.shape[-1])
    columns = namespace(x).empty((taps, x.shape[0], *out, 1), dtype=x.dtype)
    for index, (_, region) in enumerate(window_offsets(kernel, strides, dilation, out)):
        columns[index] = x[region]                                 # (N, *out, 1)
    return columns.reshape(taps, -1).T                             # (N·out, k) view


def window_offsets(kernel, strides, dilation, out) -> Iterator[tuple[tuple, tuple]]:
    """(offset, region) for every kernel offset i: region indexes x[:, i·d :: s][:out].

    The region of offset i holds, at output position o, the input element that window o
    reads at i, so `dx[region] += dwindows[..., i, :]` scatters one offset of every window.
    (Computed once per geometry: a training step asks for the same ones dozens of times.)
    """
    return iter(_offsets(tuple(kernel), tuple(strides), tuple(dilation), tuple(out)))


@functools.lru_cache(maxsize=512)
def _offsets(kernel, strides, dilation, out) -> tuple[tuple[tuple, tuple], ...]:
    found = []
    for offset in itertools.product(*(range(k) for k in kernel)):
        region = tuple(slice(i * d, i * d + s * (o - 1) + 1, s)
                       for i, d, s, o in zip(offset, dilation, strides, out))
        found.append((offset, (slice(None), *region, slice(None))))
    return tuple(found)
