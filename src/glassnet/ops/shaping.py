"""Ops that move values without changing them: reshape, transpose, concatenate, tile, pad...

Each VJP moves dy back the way the forward moved x: reshape back, transpose by the inverse
permutation, split what was concatenated, sum the copies tile and repeat made, cut away
what pad added.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from glassnet.autodiff import op
from glassnet.ops.dtypes import as_array, promote


@op("x")
def reshape(x, newshape):
    """x with shape `newshape` (one entry may be -1), same values in C order."""
    x = as_array(x)
    return np.reshape(x, newshape), (x.shape,)


@reshape.vjp
def reshape_vjp(dy, shape):
    return np.reshape(dy, shape)


@op("x")
def transpose(x, axes=None):
    """x with its axes permuted (reversed for None)."""
    x = as_array(x)
    return np.transpose(x, axes), (axes,)


@transpose.vjp
def transpose_vjp(dy, axes):
    return np.transpose(dy, None if axes is None else np.argsort(axes))


@op("x")
def expand_dims(x, axis):
    """x with a new axis of size 1 at `axis` (an int or a tuple)."""
    x = as_array(x)
    return np.expand_dims(x, axis), (x.shape,)


@op("x")
def squeeze(x, axis=None):
    """x without its axes of size 1 (or just `axis`)."""
    x = as_array(x)
    return np.squeeze(x, axis), (x.shape,)


@op("x")
def broadcast_to(x, shape):
    """x repeated along new or size-1 axes to `shape` (a view in NumPy)."""
    x = as_array(x)
    return np.broadcast_to(x, shape), ()


@broadcast_to.vjp
def broadcast_to_vjp(dy):
    return dy                               # the tape sums the copies back to x's shape


expand_dims.vjp(reshape_vjp)
squeeze.vjp(reshape_vjp)


@op("xs")
def concatenate(xs, axis=0):
    """The arrays of `xs` joined along an existing `axis`."""
    xs = promote(*xs)
    return np.concatenate(xs, axis=axis), ([x.shape[axis] for x in xs], axis)


@concatenate.vjp
def concatenate_vjp(dy, sizes, axis):
    return np.split(dy, np.cumsum(sizes)[:-1], axis=axis)


@op("x")
def stack(x, axis=0):
    """The arrays of the list `x` joined along a new `axis`."""
    xs = promote(*x)
    return np.stack(xs, axis=axis), (len(xs), axis)


@stack.vjp
def stack_vjp(dy, count, axis):
    return [np.take(dy, i, axis=axis) for i in range(count)]


@op("x")
def tile(x, repeats):
    """x repeated `repeats` times along each axis (np.tile)."""
    x = as_array(x)
    return np.tile(x, repeats), (x.shape, repeats)


@tile.vjp
def tile_vjp(dy, shape, repeats):
    repeats = [repeats] if np.ndim(repeats) == 0 else list(repeats)
    ndim = max(len(shape), len(repeats))
    shape = [1] * (ndim - len(shape)) + list(shape)
    repeats = [1] * (ndim - len(repeats)) + repeats
    # dy (r0 s0, r1 s1, ...) -> (r0, s0, r1, s1, ...), summed over the copies r
    split = [n for pair in zip(repeats, shape) for n in pair]
    return dy.reshape(split).sum(axis=tuple(range(0, 2 * ndim, 2)))


@op("x")
def repeat(x, repeats, axis=None):
    """Each element of x repeated `repeats` times along `axis` (of the flattened x for None)."""
    x = as_array(x)
    return np.repeat(x, repeats, axis=axis), (x.shape, repeats, axis)


@repeat.vjp
def repeat_vjp(dy, shape, repeats, axis):
    if axis is None:
        dy, axis, flat_shape = dy, 0, (int(np.prod(shape)),)
    else:
        flat_shape = shape
    axis = axis % len(flat_shape)
    counts = np.broadcast_to(np.asarray(repeats), (flat_shape[axis],))
    owner = np.repeat(np.arange(flat_shape[axis]), counts)     # which element each copy is
    moved = np.moveaxis(dy, axis, 0)
    dx = np.zeros((flat_shape[axis],) + moved.shape[1:], dy.dtype)
    np.add.at(dx, owner, moved)
    return np.moveaxis(dx, 0, axis).reshape(shape)


@op("x")
def pad(x, pad_width, mode="constant", constant_values=None):
    """x padded by `pad_width` (np.pad's forms; modes constant, reflect, symmetric, edge...)."""
    x = as_array(x)
    kwargs = {} if constant_values is None or mode != "constant" else \
        {"constant_values": constant_values}
    return np.pad(x, pad_width, mode=mode, **kwargs), (x.shape, pad_width, mode)


@pad.vjp
def pad_vjp(dy, shape, pad_width, mode):
    # Pad the index of each element of x the same way: every output entry then names the
    # element it copies (constant padding copies none: -1), and dx sums dy per element.
    index = np.arange(int(np.prod(shape))).reshape(shape)
    kwargs = {"constant_values": -1} if mode == "constant" else {}
    source = np.pad(index, pad_width, mode=mode, **kwargs)
    copied = source >= 0
    dx = np.bincount(source[copied], weights=dy[copied], minlength=index.size)
    return dx.reshape(shape)


@op("x")
def flip(x, axis=None):
    """x reversed along `axis` (all axes for None)."""
    x = as_array(x)
    return np.flip(x, axis), (axis,)


@flip.vjp
def flip_vjp(dy, axis):
    return np.flip(dy, axis)


@op("x")
def roll(x, shift, axis=None):
    """x shifted cyclically by `shift` along `axis` (of the flattened x for None)."""
    x = as_array(x)
    return np.roll(x, shift, axis), (shift, axis)


@roll.vjp
def roll_vjp(dy, shift, axis):
    return np.roll(dy, np.negative(shift), axis)


@op("x")
def get_item(x, key):
    """x[key]: basic and advanced NumPy indexing (the `t[...]` of a tensor)."""
    x = as_array(x)
    return x[key], (x.shape, x.dtype, key)


@get_item.vjp
def get_item_vjp(dy, shape, dtype, key):
    dx = np.zeros(shape, dtype)
    if _is_basic(key):
        dx[key] = dy                        # a view: each element at most once
    else:
        np.add.at(dx, key, dy)              # an index may repeat: its gradients add up
    return dx


def _is_basic(key) -> bool:
    items = key if isinstance(key, tuple) else (key,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))
               for item in items)


def _triangle(name: str, function, doc: str):
    def triangle(x, k=0):
        x = as_array(x)
        return function(x, k), (x.shape, k)

    triangle.__name__ = triangle.__qualname__ = name
    triangle.__doc__ = doc
    made = op("x")(triangle)

    @made.vjp
    def triangle_vjp(dy, shape, k):
        return function(dy, k)

    return made


tril = _triangle("tril", np.tril, "x with the entries above the k-th diagonal set to zero.")
triu = _triangle("triu", np.triu, "x with the entries below the k-th diagonal set to zero.")


# ----- composites ---------------------------------------------------------------------------
def split(x, indices_or_sections, axis=0):
    """x cut along `axis` into equal sections (an int) or at the given indices."""
    length = np.shape(x)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if length % indices_or_sections:
            raise ValueError(f"split: axis {axis} of length {length} does not divide into "
                             f"{indices_or_sections} equal sections")
        size = length // indices_or_sections
        bounds = list(range(0, length + 1, size))
    else:
        bounds = [0, *[int(i) for i in indices_or_sections], length]
    head = (slice(None),) * (axis % np.ndim(x))
    return [get_item(x, head + (slice(start, stop),))
            for start, stop in zip(bounds[:-1], bounds[1:])]


def array_split(x, indices_or_sections, axis=0):
    """As split, but sections may differ in size by one."""
    length = np.shape(x)[axis]
    parts = np.array_split(np.arange(length), indices_or_sections)
    return split(x, np.cumsum([len(p) for p in parts])[:-1], axis)


def unstack(x, num=None, axis=0):
    """The slices of x along `axis`, as a list."""
    head = (slice(None),) * (axis % np.ndim(x))
    return [get_item(x, head + (i,)) for i in range(np.shape(x)[axis])]


def moveaxis(x, source, destination):
    """x with axis `source` moved to `destination` (ints, or sequences of the same length)."""
    ndim = np.ndim(x)
    source = normalize_axis_tuple(source, ndim, "source")
    destination = normalize_axis_tuple(destination, ndim, "destination")
    if len(source) != len(destination):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must have "
                         f"the same number of axes")
    order = [axis for axis in range(ndim) if axis not in source]
    for to, axis in sorted(zip(destination, source)):
        order.insert(to, axis)
    return transpose(x, tuple(order))


def swapaxes(x, axis1, axis2):
    """x with two axes exchanged."""
    order = list(range(np.ndim(x)))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return transpose(x, tuple(order))


def ravel(x):
    """x flattened to 1-D."""
    return reshape(x, (-1,))


def hstack(xs):
    """Joined along the second axis (the first for 1-D arrays)."""
    return concatenate(xs, axis=1 if np.ndim(xs[0]) > 1 else 0)


def vstack(xs):
    """Joined along the first axis, 1-D arrays as rows."""
    return concatenate([reshape(x, (1, -1)) if np.ndim(x) == 1 else x for x in xs], axis=0)


__all__ = ["array_split", "broadcast_to", "concatenate", "expand_dims", "flip", "get_item",
           "hstack", "moveaxis", "pad", "ravel", "repeat", "reshape", "roll", "split",
           "squeeze", "stack", "swapaxes", "tile", "transpose", "tril", "triu", "unstack",
           "vstack"]
