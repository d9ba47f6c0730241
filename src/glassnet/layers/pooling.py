"""Pooling (channels_last): max and average over windows, and over all spatial positions.

    MaxPooling:      y[n, o, c] = max_i  x_pad[n, o·s + i, c]       (x_pad: -inf padding)
    AveragePooling:  y[n, o, c] = mean_i x[n, o·s + i, c]           over the cells inside x
    Global*Pooling:  y[n, c]    = max / mean over every spatial position

The windows are strided views of the input (layers/_windows.py, shared with the
convolutions); backward adds the gradient of each kernel offset back onto a strided slice.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet.backend import namespace
from glassnet.layers import _windows
from glassnet.layers.base import Layer, require_forward_state
from glassnet.registry import register
from glassnet.training.buffers import step_buffer


class _Pooling(Layer):
    """Windowed pooling over `rank` spatial axes; subclasses give `_pool` and `_unpool`.

    Both directions loop over the P = prod(pool_size) offsets inside a window (4 for 2x2),
    each step one vectorised operation on an (N, *out, C) strided slice of the input. Reducing
    the (N, *out, *pool, C) window view over its short pool axes instead is ~6x slower in
    NumPy, which walks rows of length pool_w.
    """

    rank = 2

    @classmethod
    def contract_sample(cls, rng):
        return {}, rng.standard_normal((2,) + (4,) * cls.rank + (2,))   # (N, *spatial, C)

    def __init__(self, pool_size, strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        layer = type(self).__name__
        self.pool_size = _windows.normalize_tuple(pool_size, self.rank, "pool_size", layer)
        self.strides = (self.pool_size if strides is None
                        else _windows.normalize_tuple(strides, self.rank, "strides", layer))
        self.padding = _windows.normalize_padding(padding, layer)
        self.data_format = _windows.check_data_format(data_format, layer)

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, self.rank)
        out = _windows.output_spatial(self, input_shape[1:-1], self.pool_size, self.strides,
                                      (1,) * self.rank, self.padding)
        return (input_shape[0], *out, input_shape[-1])

    def _offsets(self, out):
        """(offset, region) per window position; x_pad[region] is that position of every window."""
        return _windows.window_offsets(self.pool_size, self.strides, (1,) * self.rank, out)

    @property
    def _overlapping(self) -> bool:
        """Whether a cell can lie in several windows (strides < pool_size on some axis).

        If not (the default strides = pool_size), backward writes each window position's
        gradient straight into its slice of dx with `out=` instead of adding it (`+=` reads
        dx back and needs a temporary): ~2x faster. Tests compare both cases with PyTorch.
        """
        return any(s < p for s, p in zip(self.strides, self.pool_size))

    def forward(self, x, training=False):
        _windows.check_input_rank(self, x.shape, self.rank)
        spatial = x.shape[1:-1]
        out = _windows.output_spatial(self, spatial, self.pool_size, self.strides,
                                      (1,) * self.rank, self.padding)
        pads = _windows.padding_amounts(spatial, self.pool_size, self.strides,
                                        (1,) * self.rank, self.padding)
        self._geometry = (x.shape, pads, out)
        return self._pool(x, pads, out, training)                  # (N, *out, C)

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, *out, C) -> dL/dx (N, *spatial, C)."""
        x_shape, pads, out = self._geometry
        padded_shape = (x_shape[0],
                        *(n + a + b for n, (a, b) in zip(x_shape[1:-1], pads)), x_shape[-1])
        # Cells no window reads get 0. When the windows tile x_pad exactly (strides =
        # pool_size, sizes divisible), every cell is written by _unpool: no zero fill needed
        tiled = all(s == p and o * s == n for s, p, o, n in
                    zip(self.strides, self.pool_size, out, padded_shape[1:-1]))
        dx = step_buffer(self, "dx", padded_shape, dy.dtype, namespace(dy))
        if not tiled:
            dx.fill(0)
        self._unpool(dy, dx, out)
        return _windows.crop(dx, pads, x_shape[1:-1])

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format}


class _MaxPooling(_Pooling):
    """y = max over each window; dL/dx gets dy at the window's argmax, 0 elsewhere.

    Ties: the gradient goes to one position only, the first maximum in row-major window
    order (as PyTorch's MaxPool2d), so dx holds exactly the numbers of dy, rearranged.
    'same' pads with -inf, so a padded cell is never the maximum.
    """

    def _pool(self, x, pads, out, training):
        x_pad = _windows.pad(x, pads, value=-math.inf)
        # The argmax costs as much as the max; inference skips it and keeps only a reference
        # to the input (as Dense keeps x), so a backward after it can still find the maxima.
        y, self._argmax = self._max(x_pad, out, with_argmax=training)
        self._x_pad = None if training else self.keep(x_pad)
        return y

    @property
    def _pairwise(self) -> bool:
        """Whether every window is 2 cells wide on every axis, windows side by side (the
        default MaxPooling2D(2)): then the max can be taken pairwise, axis by axis."""
        return all(p == 2 and s == 2 for p, s in zip(self.pool_size, self.strides))

    def _max(self, x_pad, out, with_argmax: bool):
        """y (N, *out, C) and, if asked, the argmax (each window's first maximum)."""
        if self._pairwise:
            return self._max_pairwise(x_pad, out, with_argmax)
        return self._running_max(x_pad, out, with_argmax)

    def _running_max(self, x_pad, out, with_argmax: bool):
        """Running max over the window positions, any pool size and strides."""
        xp = namespace(x_pad)
        offsets = self._offsets(out)
        _, first = next(offsets)
        y = x_pad[first].copy()                                    # running max (N, *out, C)
        index_type = np.min_scalar_type(math.prod(self.pool_size) - 1)
        argmax = xp.zeros(y.shape, dtype=index_type) if with_argmax else None
        for position, (_, region) in enumerate(offsets, start=1):
            candidate = x_pad[region]
            if with_argmax:
                better = candidate > y                             # strict: ties keep the first
                # positions only grow, so max(argmax, position·better) records `position`
                # where better; branch-free (np.where on a random mask is ~20x slower)
                xp.maximum(argmax, better * index_type.type(position), out=argmax)
            xp.maximum(y, candidate, out=y)
        return y, argmax

    def _max_pairwise(self, x_pad, out, with_argmax: bool):
        """y (and the argmax) for 2-wide windows side by side, halving one axis at a time.

        For 2x2 windows, x viewed as v (N, OH, 2, OW, 2, C), v[n, i, a, j, b, c] =
        x[n, 2i + a, 2j + b, c] (a reshape: no copy; an odd last row or column, which no
        window reads, is sliced off first):
            h = max(v[:, :, 0], v[:, :, 1])            (N, OH, OW, 2, C): max over rows a
            y = max(h[..., 0, :], h[..., 1, :])        (N, OH, OW, C)
        The same numbers as the running max (max is exact), in ~0.6x the time: the first
        step reads whole image rows (runs of W·C numbers, not C), the second half the data.

        With the argmax (training), the window cells are first copied out as 2^rank
        contiguous blocks (2, 2, N, OH, OW, C): one pass over x. Every comparison after it
        then runs on contiguous arrays, ~5x faster than on the strided cells, whose rows
        are only C numbers long; the running max makes 2·(P - 1) of those strided passes.
        """
        xp = namespace(x_pad)
        rank = len(self.pool_size)
        read = x_pad[(slice(None), *(slice(0, 2 * o) for o in out), slice(None))]
        v = read.reshape(x_pad.shape[0], *(n for o in out for n in (o, 2)), x_pad.shape[-1])
        if not with_argmax:
            for axis in range(2, rank + 2):                        # the next window axis,
                v = xp.maximum(_take(v, 0, axis), _take(v, 1, axis))  # reduced away
            return v, None
        # (N, OH, 2, OW, 2, C) -> (2, 2, N, OH, OW, C): window axes first, one copy
        window_axes = tuple(range(2, 2 * rank + 1, 2))
        other_axes = tuple(a for a in range(v.ndim) if a not in window_axes)
        by_cell = v.transpose(*window_axes, *other_axes)
        # in fit, the same array every step (step_buffer): 1.4 MB for 64 26x26x8 images,
        # which allocated afresh would be paged in, and zeroed by the kernel, every step
        cells = step_buffer(self, "cells", by_cell.shape, by_cell.dtype, xp)
        cells[...] = by_cell
        return _first_maximum(cells, rank)

    def _unpool(self, dy, dx, out):
        if self._argmax is None:                                   # forward ran for inference
            require_forward_state(self, self._x_pad)
            _, self._argmax = self._max(self._x_pad, out, with_argmax=True)
        xp = namespace(dy)
        for position, (_, region) in enumerate(self._offsets(out)):
            routed = self._argmax == position                      # (N, *out, C) bool
            if self._overlapping:                                  # cells shared: add
                target = dx[region]
                target += dy * routed
            else:                                                  # one window per cell
                xp.multiply(dy, routed, out=dx[region])


def _take(array, index: int, axis: int):
    """array[..., index, ...] at `axis`: a view."""
    return array[(slice(None),) * axis + (index,)]


def _first_maximum(cells, rank: int):
    """Max and argmax over the leading `rank` axes of `cells` (2, ..., 2, *shape), a copy
    the caller gives away: (y, argmax) of `shape`, argmax the first maximum in row-major
    order (uint8), exactly as the running max finds it (a window holding a NaN, whose y is
    NaN either way, may send its gradient to another cell than the running max's).

    A knockout in two halves: the first half of the window (cells[0]) and the second
    (cells[1]) each find their own max and argmax, the same way one axis down; the second
    half wins only where its max is strictly larger, so ties keep the earlier cell.
    """
    if rank == 0:
        return cells, None
    y, first = _first_maximum(cells[0], rank - 1)                 # y: a view of our copy
    y_second, second = _first_maximum(cells[1], rank - 1)
    wins = y_second > y                                            # strict: ties keep the first
    half = np.uint8(2 ** (rank - 1))                               # cells in one half
    if first is None:
        argmax = wins.view(np.uint8)                               # 0 or 1
    else:
        # where(wins, half + second, first) without np.where (~20x slower than arithmetic):
        # the uint8 sum wraps modulo 256, and half + second < 256
        argmax = first + wins * (half + second - first)
    namespace(y).maximum(y, y_second, out=y)
    return y, argmax


class _AveragePooling(_Pooling):
    """y = mean over the window cells that lie inside x; dL/dx = dy / count on each cell.

    With padding='same' the padded cells are left out of the count (as TensorFlow's avg_pool
    and Keras; PyTorch's count_include_pad=False), so border outputs average fewer cells.
    """

    def _window_sum(self, x_pad, out):
        offsets = self._offsets(out)
        _, first = next(offsets)
        total = x_pad[first].copy()                                # (N, *out, C)
        for _, region in offsets:
            total += x_pad[region]
        return total

    def _pool(self, x, pads, out, training):
        total = self._window_sum(_windows.pad(x, pads), out)
        # cells of each window inside x: the same window sum over an indicator of x
        inside = namespace(x).ones((1, *x.shape[1:-1], 1), dtype=x.dtype)
        count = self._window_sum(_windows.pad(inside, pads), out)       # (1, *out, 1)
        self._count = count
        total /= count
        return total

    def _unpool(self, dy, dx, out):
        share = dy / self._count                                   # each cell's part of dy
        for _, region in self._offsets(out):
            if self._overlapping:
                target = dx[region]
                target += share
            else:
                dx[region] = share


@register("layer")
class MaxPooling2D(_MaxPooling):
    """Max over pool_size windows of (N, H, W, C) -> (N, OH, OW, C).

    Args:
        pool_size: int or (ph, pw); default (2, 2).
        strides: int or (s_h, s_w); None means pool_size (non-overlapping windows).
        padding: "valid" or "same" (TensorFlow's split, -inf padding).
        data_format: None or "channels_last".

    Example:
        >>> MaxPooling2D()(np.ones((2, 26, 26, 8), dtype="float32")).shape
        (2, 13, 13, 8)
    """

    rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layer")
class MaxPooling1D(_MaxPooling):
    """Max over windows of steps: (N, T, C) -> (N, OT, C); pool_size default 2."""

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layer")
class AveragePooling2D(_AveragePooling):
    """Mean over pool_size windows of (N, H, W, C) -> (N, OH, OW, C).

    Arguments as MaxPooling2D; with padding="same" the padding is not counted in the mean.
    """

    rank = 2

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


@register("layer")
class AveragePooling1D(_AveragePooling):
    """Mean over windows of steps: (N, T, C) -> (N, OT, C); pool_size default 2."""

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding: str = "valid",
                 data_format: str | None = None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


# ----- global pooling ---------------------------------------------------------------------
class _GlobalPooling(Layer):
    """Pool over all spatial axes: (N, *spatial, C) -> (N, C), or (N, 1, ..., 1, C)."""

    rank = 2

    @classmethod
    def contract_sample(cls, rng):
        return {}, rng.standard_normal((2,) + (3,) * cls.rank + (2,))   # (N, *spatial, C)

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _windows.check_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        _windows.check_input_rank(self, input_shape, self.rank)
        if self.keepdims:
            return (input_shape[0], *(1,) * self.rank, input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def forward(self, x, training=False):
        _windows.check_input_rank(self, x.shape, self.rank)
        self._x_shape = x.shape
        flat = x.reshape(x.shape[0], -1, x.shape[-1])              # (N, S, C), S = H·W
        y = self._pool(flat)                                       # (N, C)
        return y.reshape(self.compute_output_shape(x.shape)) if self.keepdims else y

    def backward(self, dy, input_gradient: bool = True):
        """dL/dy (N, C) or (N, 1, .., 1, C) -> dL/dx (N, *spatial, C)."""
        n, channels = self._x_shape[0], self._x_shape[-1]
        dflat = self._unpool(dy.reshape(n, channels), math.prod(self._x_shape[1:-1]))
        return dflat.reshape(self._x_shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class _GlobalAveragePooling(_GlobalPooling):
    """y[n, c] = (1/S) Σ_p x[n, p, c]; dL/dx[n, p, c] = dy[n, c] / S."""

    def _pool(self, flat):
        return flat.mean(axis=1)

    def _unpool(self, dy, size):
        dflat = namespace(dy).empty((dy.shape[0], size, dy.shape[1]), dtype=dy.dtype)
        dflat[...] = (dy / dy.dtype.type(size))[:, None, :]       # broadcast over positions
        return dflat


class _GlobalMaxPooling(_GlobalPooling):
    """y[n, c] = max_p x[n, p, c]; the gradient goes to the first maximum only.

    As MaxPooling and PyTorch's adaptive_max_pool; TensorFlow's reduce_max would split it
    evenly among tied maxima instead.
    """

    def _pool(self, flat):
        xp = namespace(flat)
        argmax = flat.argmax(axis=1)[:, None, :]                   # (N, 1, C)
        self._argmax = argmax
        return xp.take_along_axis(flat, argmax, axis=1)[:, 0, :]

    def _unpool(self, dy, size):
        xp = namespace(dy)
        dflat = xp.zeros((dy.shape[0], size, dy.shape[1]), dtype=dy.dtype)
        xp.put_along_axis(dflat, self._argmax, dy[:, None, :], axis=1)
        return dflat


@register("layer")
class GlobalAveragePooling2D(_GlobalAveragePooling):
    """Mean over height and width: (N, H, W, C) -> (N, C) (keepdims: (N, 1, 1, C))."""

    rank = 2


@register("layer")
class GlobalAveragePooling1D(_GlobalAveragePooling):
    """Mean over steps: (N, T, C) -> (N, C) (keepdims: (N, 1, C)).

    With a padding mask m (N, T) (Embedding with mask_zero=True), the mean is over the
    unmasked steps only, as in Keras 3:

        y[n, c] = Σ_t m[n, t] x[n, t, c] / Σ_t m[n, t]
        dL/dx[n, t, c] = m[n, t] dy[n, c] / Σ_t m[n, t]

    (a sample with every step masked gives 0, where Keras gives 0/0 = nan). The mask stops
    here: the output has no steps.
    """

    rank = 1
    supports_masking = True

    def forward(self, x, training=False, mask=None):
        self._masked = mask is not None
        if mask is None:
            return super().forward(x, training)
        _windows.check_input_rank(self, x.shape, self.rank)
        xp = namespace(x)
        mask = xp.asarray(mask)
        if mask.shape != x.shape[:2]:
            raise ValueError(f"{type(self).__name__} {self.name!r}: mask must have shape "
                             f"(batch, steps) = {x.shape[:2]}, got {mask.shape}")
        counts = xp.maximum(mask.sum(axis=1, keepdims=True), 1).astype(x.dtype)   # (N, 1)
        weights = mask.astype(x.dtype) / counts                                  # (N, T)
        self._x_shape = x.shape
        self._step_weights = self.keep(weights)
        y = xp.einsum("nt,ntc->nc", weights, x)
        return y.reshape(self.compute_output_shape(x.shape)) if self.keepdims else y

    def backward(self, dy, input_gradient: bool = True):
        if not getattr(self, "_masked", False):
            return super().backward(dy, input_gradient)
        require_forward_state(self, self._step_weights)
        n, channels = self._x_shape[0], self._x_shape[-1]
        return self._step_weights[:, :, None] * dy.reshape(n, 1, channels)

    def compute_mask(self, x, mask=None):
        return None


@register("layer")
class GlobalMaxPooling2D(_GlobalMaxPooling):
    """Max over height and width: (N, H, W, C) -> (N, C) (keepdims: (N, 1, 1, C))."""

    rank = 2


@register("layer")
class GlobalMaxPooling1D(_GlobalMaxPooling):
    """Max over steps: (N, T, C) -> (N, C) (keepdims: (N, 1, C))."""

    rank = 1
