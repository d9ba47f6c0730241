"""`timeseries_dataset_from_array`: sliding windows over a series, served as a PyDataset.

    >>> data = np.arange(100)
    >>> windows = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10,
    ...                                         batch_size=32)
    >>> x, y = windows[0]          # x (32, 10): data[i:i + 10]; y (32,): data[i + 10]
    >>> model.fit(windows, epochs=5)

Window `k` starts at `start_index + p_k`, with p_k = 0, s, 2s, ... (s = `sequence_stride`),
and holds `data[start + j * r]` for j < `sequence_length` (r = `sampling_rate`); its target
is `targets[start]`. Keras returns a `tf.data` (or Grain) dataset; glassnet a PyDataset
with the same windows, which `fit`, `evaluate` and `predict` take and `for` iterates.
"""

from __future__ import annotations

import math

import numpy as np

from glassnet import checks
from glassnet.random import make_generator
from glassnet.training.data.pydataset import PyDataset


class TimeseriesDataset(PyDataset):
    """Batches of windows over `data` (see `timeseries_dataset_from_array`).

    Attributes:
        start_positions: the first step of each window, relative to `start_index`, in the
            order they are served (shuffled once, if asked).
    """

    def __init__(self, data, targets, sequence_length: int, sequence_stride: int,
                 sampling_rate: int, batch_size: int | None, start_positions: np.ndarray,
                 start_index: int):
        super().__init__()
        self.data, self.targets = data, targets
        self.offsets = np.arange(sequence_length) * sampling_rate  # (sequence_length,)
        self.batch_size = batch_size
        self.start_positions = start_positions
        self.start_index = start_index

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.start_positions)
        return math.ceil(len(self.start_positions) / self.batch_size)

    def __getitem__(self, index: int):
        """Batch `index`: (x (b, sequence_length, ...), y (b, ...)), or x without targets;
        without a batch size, one window (sequence_length, ...) and its target."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} of a dataset of {len(self)}")
        index %= len(self)
        if self.batch_size is None:
            starts = self.start_positions[index] + self.start_index
        else:
            part = slice(index * self.batch_size, (index + 1) * self.batch_size)
            starts = self.start_positions[part] + self.start_index
        x = self.data[np.add.outer(starts, self.offsets)]  # (b, sequence_length, ...)
        return x if self.targets is None else (x, self.targets[starts])

    def __iter__(self):
        return (self[index] for index in range(len(self)))


def timeseries_dataset_from_array(data, targets, sequence_length: int,
                                  sequence_stride: int = 1, sampling_rate: int = 1,
                                  batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None,
                                  format: str = "tf") -> TimeseriesDataset:
    """Windows of `sequence_length` steps over `data` (axis 0 is time), with their targets.

    Args:
        data: the series, (steps, ...).
        targets: `targets[i]` belongs to the window starting at step i; None for none.
        sequence_length: steps per window.
        sequence_stride: steps between the starts of two windows.
        sampling_rate: steps between two entries of one window.
        batch_size: windows per batch; None serves single windows.
        shuffle: serve the windows in a random order (drawn once, from
            `np.random.RandomState(seed)` as Keras draws it; Keras also shuffles within a
            buffer on every pass, which a batch-indexed dataset does not).
        seed: the shuffle's seed; None draws one from glassnet's global generator.
        start_index, end_index: only steps in [start_index, end_index) are used.
        format: "tf" or "grain", Keras' choice of dataset type; either gives a PyDataset.

    Returns:
        A `TimeseriesDataset` (a PyDataset).
    """
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError("timeseries_dataset_from_array: data must have a time axis")
    steps = len(data)
    sequence_length = checks.positive_integer("sequence_length", sequence_length)
    checks.one_of("format", format, ("tf", "grain"))
    for name, value in (("sequence_stride", sequence_stride), ("sampling_rate", sampling_rate)):
        if checks.positive_integer(name, value) >= steps:
            raise ValueError(f"{name}: must be lower than the length of the data ({steps}), "
                             f"got {value}")
    checks.optional(checks.positive_integer, "batch_size", batch_size)
    if start_index:
        if not 0 <= checks.integer("start_index", start_index) < steps:
            raise ValueError(f"start_index: expected 0 <= start_index < {steps} (the length of "
                             f"the data), got {start_index}")
    if end_index:
        checks.integer("end_index", end_index)
        if start_index and end_index <= start_index:
            raise ValueError(f"end_index: must be higher than start_index ({start_index}), "
                             f"got {end_index}")
        if not 0 < end_index < steps:
            raise ValueError(f"end_index: expected 0 < end_index < {steps} (the length of the "
                             f"data), got {end_index}")
    start_index = start_index or 0
    end_index = end_index or steps
    count = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        count = min(count, len(targets))
    start_positions = np.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = int(make_generator(None).integers(1_000_000))
        np.random.RandomState(seed).shuffle(start_positions)
    return TimeseriesDataset(data, targets, sequence_length, sequence_stride, sampling_rate,
                             batch_size, start_positions, start_index)


__all__ = ["TimeseriesDataset", "timeseries_dataset_from_array"]
