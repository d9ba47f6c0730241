"""FlatBuffer: many arrays laid end to end in one preallocated array, for one all-reduce.

An all-reduce has a fixed cost per call (a few microseconds on one machine, tens across a
network) on top of the bytes it moves, so a step reduces everything in one call (or in a
few buckets, contiguous slices of the array): each gradient is a view into one flat array,
and a few numbers (the loss, sample counts, metric sums) ride along at its start.

    >>> buffer = FlatBuffer([(784, 256), (256,)], scalars=3, dtype=np.float64)
    >>> W_grad, b_grad = buffer.views        # (784, 256) and (256,), views of buffer.array
    >>> buffer.scalars[:] = loss, count, 1.0 # the first 3 numbers
    >>> communicator.allreduce_sum(buffer.array)

    array:  [ scalars | view 0 | view 1 | ... ]     offsets[i]: where view i lies in it

Layers accumulate their gradients straight into the views (`param.grad` is bound to them),
so no copy goes in or out; the array is allocated once and kept for the whole fit. The
scalars come first so that the numbers known last in a step (the scalars, then the first
views) form one slice with them: buckets reduced in reverse order end with that slice.
"""

from __future__ import annotations

import math

import numpy as np


class FlatBuffer:
    """`scalars` numbers, then views of `shapes`, in one contiguous array of `dtype`.

    Attributes:
        array: the whole flat array (what is reduced).
        scalars: the first `scalars` numbers of `array`.
        views: one array per shape, each a view of `array`.
        offsets: (start, stop) of each view in `array`.
        segment: the part of `array` the views cover (for scaling them together).
    """

    def __init__(self, shapes, scalars: int, dtype):
        self.shapes = [tuple(shape) for shape in shapes]
        self.dtype = np.dtype(dtype)
        sizes = [math.prod(shape) for shape in self.shapes]
        self.array = np.zeros(scalars + sum(sizes), dtype=self.dtype)
        self.scalars = self.array[:scalars]
        self.segment = self.array[scalars:]
        self.views, self.offsets, offset = [], [], scalars
        for shape, size in zip(self.shapes, sizes):
            self.views.append(self.array[offset:offset + size].reshape(shape))
            self.offsets.append((offset, offset + size))
            offset += size

    def fits(self, shapes, scalars: int, dtype) -> bool:
        """Whether this buffer has exactly this layout (else a new one is needed)."""
        return (self.dtype == np.dtype(dtype) and len(self.scalars) == scalars
                and self.shapes == [tuple(shape) for shape in shapes])

    @property
    def nbytes(self) -> int:
        return self.array.nbytes
