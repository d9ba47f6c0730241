"""Several arrays that travel together along the batch axis: a model's inputs, its targets
or the sample weights of its outputs.

The batch loop takes `len(x)` and slices `x[order]`, `x[start:stop]`; an `ArrayGroup` gives
a list of arrays those two operations, so the same loop serves one array or several. An
entry may be None (an output trained without a loss, or without sample weights).
"""

from __future__ import annotations


class ArrayGroup:
    """Arrays indexed together along their first (batch) axis; entries may be None."""

    def __init__(self, arrays):
        self.arrays = list(arrays)

    def __len__(self) -> int:
        return next(len(a) for a in self.arrays if a is not None)

    def __getitem__(self, index) -> ArrayGroup:
        return type(self)([None if a is None else a[index] for a in self.arrays])

    def __iter__(self):
        return iter(self.arrays)

    def __repr__(self) -> str:
        shapes = [None if a is None else a.shape for a in self.arrays]
        return f"{type(self).__name__}(shapes={shapes})"


class OutputGroup(ArrayGroup):
    """The targets (or the sample weights) of a model with several outputs, one entry per
    output in the order of `model.output_names`."""
