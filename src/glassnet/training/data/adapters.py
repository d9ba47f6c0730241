"""Batch sources: five kinds of input behind one interface, read one batch at a time.

A batch source (`ArrayBatches`, `PyDatasetBatches`, `IteratorBatches`) gives `draw_order` at
the start of an epoch, then `batches(order, start)` yields checked (x, y, sample_weight)
batches from batch number `start` on (a resumed run starts mid-epoch).

    NumPy arrays in memory    checked once in full; shuffled, each batch is gathered from
                              the epoch's permutation into a reused buffer (never a
                              shuffled copy of the data set)
    np.memmap arrays          header checked once, every batch checked as it is read;
                              shuffling permutes the order of the batches, never the data
    PyDataset                 batch i = dataset[i]; shuffling permutes the batch indices
    generator / iterator      batches in the order they come; no shuffling
    loader (torch DataLoader) a new pass over it each epoch (it shuffles itself, if asked)

Data parallelism (`shard_by(rank, size)`): every rank draws the same order and serves only
its rows of each global batch (`distribution.shard_bounds`): arrays gather just those rows,
memory-mapped arrays read just those rows from the file; a PyDataset's or a generator's
batch is read whole (it has no smaller unit) and cut. `last_shard` then says where the rows
sit: (samples in the global batch, start, stop). A rank left without rows by a short last
batch gets the batch's first sample as a stand-in, with start == stop (it counts for nothing).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator

import numpy as np

from glassnet.distribution import shard_bounds
from glassnet.training.data.pydataset import PyDataset


def batch_slices(n: int, batch_size: int | None) -> Iterator[slice]:
    """Contiguous batches; batch_size None means the whole data set in one batch."""
    size = n if batch_size is None else batch_size
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def num_batches(n: int, batch_size: int | None) -> int:
    return 1 if batch_size is None else -(-n // batch_size)


# ----- batch sources -------------------------------------------------------------------------
Batch = tuple  # (x, y, sample_weight); y and sample_weight may be None
Prepare = Callable[[Batch, str], Batch]  # (raw batch, where it came from) -> checked batch


def input_kind(x) -> str:
    """"dataset" (a PyDataset), "iterator" (a generator or other iterator), "loader" (a
    re-iterable loader of batches, such as torch's DataLoader), or "arrays"."""
    if isinstance(x, np.ndarray):
        return "arrays"
    if isinstance(x, PyDataset):
        return "dataset"
    if isinstance(x, Iterator):
        return "iterator"
    if is_loader(x):
        return "loader"
    return "arrays"


def is_loader(x) -> bool:
    """A loader as Keras' torch adapter takes it: iterable again each epoch, with a length in
    batches, a `dataset` and a `batch_size` (duck-typed: glassnet never imports torch)."""
    return (all(hasattr(x, name) for name in ("__iter__", "__len__", "dataset", "batch_size"))
            and not hasattr(x, "__array__"))


def is_lazy(*arrays) -> bool:
    """Whether any array is memory-mapped: then it is read, and checked, one batch at a time."""
    return any(isinstance(a, np.memmap) for a in arrays)


def check_no_arrays_with(kind: str, **given) -> None:
    """A PyDataset or generator yields y and sample_weight itself (as Keras requires)."""
    extra = [name for name, value in given.items() if value is not None]
    if extra:
        what = "a PyDataset" if kind == "dataset" else "a generator"
        raise ValueError(f"{', '.join(extra)}: must be None when x is {what}; its batches "
                         f"hold them as (x, y) or (x, y, sample_weight)")


def unpack_batch(batch, where: str) -> Batch:
    """(x, y, sample_weight) from a batch given as x, (x,), (x, y) or (x, y, sample_weight)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if not 1 <= len(batch) <= 3:
        raise ValueError(f"{where}: expected a batch x, (x, y) or (x, y, sample_weight), got a "
                         f"tuple of {len(batch)} items")
    return tuple(batch) + (None,) * (3 - len(batch))


def _limit(count: int, steps: int | None) -> int:
    return count if steps is None else min(count, steps)


class _Sharded:
    """What every batch source shares for data parallelism (see the module's docstring)."""

    split: tuple[int, int] | None = None        # (rank, size), or None: the whole batch
    last_shard: tuple[int, int, int] | None = None

    def shard_by(self, rank: int, size: int) -> None:
        """Serve only rank `rank`'s rows of each batch, out of `size` ranks."""
        self.split = (rank, size)

    def _bounds(self, total: int) -> tuple[int, int]:
        """The rows of a batch of `total` to read: the rank's, or a one-sample stand-in."""
        start, stop = shard_bounds(total, *self.split)
        self.last_shard = (total, start, stop)
        return (start, stop) if stop > start else (0, 1)

    def _cut(self, batch: Batch) -> Batch:
        """The rank's rows of a whole (checked) batch."""
        if self.split is None:
            return batch
        start, stop = self._bounds(len(batch[0]))
        return tuple(None if a is None else a[start:stop] for a in batch)


class ArrayBatches(_Sharded):
    """Batches of arrays: consecutive slices of `batch_size` samples.

    With `by_batch=False` (in-memory arrays) shuffling permutes the samples: batch k holds
    the samples `order[k*B:(k+1)*B]`, gathered into a buffer of one batch that the next
    batch overwrites (`gather_rows`), so an epoch never holds a shuffled copy of the data
    set: memory is the data plus one batch per array. Unshuffled, batches are views. With
    `by_batch=True` (memory-mapped arrays, or `shuffle="batch"`) it permutes the order of the
    batches instead, so an epoch reads each batch once, straight from the file, and never
    holds more than one batch in memory. The samples inside a batch stay together: the batch
    gradient is a sum over its samples, so their order within it changes nothing but
    rounding.

    Args:
        arrays: (x, y, sample_weight), y and sample_weight may be None.
        batch_size: samples per batch; None for one batch of everything.
        steps: at most this many batches per epoch (each epoch starts a new pass).
        prepare: checks and converts each batch as it is read; None if the arrays were
            checked in full already.
        by_batch: shuffle the order of the batches instead of the samples.
    """

    def __init__(self, arrays: Batch, batch_size: int | None, steps: int | None = None,
                 prepare: Prepare | None = None, by_batch: bool = False):
        self.arrays = arrays
        self.num_samples = len(arrays[0])
        self.batch_size = self.num_samples if batch_size is None else batch_size
        self.total_batches = num_batches(self.num_samples, batch_size)
        self.num_batches = _limit(self.total_batches, steps)
        self.prepare = prepare
        self.by_batch = by_batch
        self.order_size = self.total_batches if by_batch else self.num_samples

    def draw_order(self, shuffle: bool, generator: np.random.Generator) -> np.ndarray | None:
        """The epoch's permutation of the batches (by_batch) or of the samples; None: in order."""
        count = self.order_size
        return generator.permutation(count) if shuffle and count > 1 else None

    def batches(self, order: np.ndarray | None, start: int = 0) -> Iterator[Batch]:
        if self.by_batch:
            yield from self._batches_by_index(order, start)
            return
        if self.split is not None:   # only the rank's rows, gathered batch by batch
            for part in itertools.islice(batch_slices(self.num_samples, self.batch_size),
                                         start, self.num_batches):
                begin, end = self._bounds(part.stop - part.start)
                rows = slice(part.start + begin, part.start + end)
                rows = rows if order is None else order[rows]
                yield tuple(None if a is None else a[rows] for a in self.arrays)
            return
        parts = itertools.islice(batch_slices(self.num_samples, self.batch_size), start,
                                 self.num_batches)
        if order is None:
            for part in parts:
                yield tuple(None if a is None else a[part] for a in self.arrays)
            return
        buffers: list = [None] * len(self.arrays)    # one batch per array, reused
        for part in parts:
            rows = order[part]
            yield tuple(None if a is None else gather_rows(a, rows, buffers, i)
                        for i, a in enumerate(self.arrays))

    def _batches_by_index(self, order, start: int) -> Iterator[Batch]:
        indices = range(self.total_batches) if order is None else order
        for index in indices[start:self.num_batches]:
            begin = int(index) * self.batch_size
            part = slice(begin, min(begin + self.batch_size, self.num_samples))
            if self.split is not None:   # read only the rank's rows from the file
                first, last = self._bounds(part.stop - part.start)
                part = slice(begin + first, begin + last)
            batch = tuple(None if a is None else a[part] for a in self.arrays)
            if self.prepare is not None:
                batch = self.prepare(batch, f"samples {part.start}:{part.stop}")
            yield batch

    def on_epoch_begin(self) -> None: ...
    def on_epoch_end(self) -> None: ...


def gather_rows(array, rows: np.ndarray, buffers: list, slot: int):
    """array[rows], written into `buffers[slot]` (allocated at the first batch, reused by
    every later one: the previous batch's values are overwritten, so a batch is valid until
    the next is drawn). Not an ndarray (several arrays grouped): plain indexing."""
    if not isinstance(array, np.ndarray):
        return array[rows]
    buffer = buffers[slot]
    if buffer is None or len(buffer) < len(rows):
        buffer = buffers[slot] = np.empty((len(rows),) + array.shape[1:], array.dtype)
    out = buffer[:len(rows)]
    np.take(array, rows, axis=0, out=out)
    return out


class PyDatasetBatches(_Sharded):
    """Batch i is `dataset[i]`; shuffling permutes the batch indices (as Keras 3 does)."""

    def __init__(self, dataset: PyDataset, prepare: Prepare, steps: int | None = None,
                 name: str = "x"):
        count = len(dataset)
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"{name}: the PyDataset {type(dataset).__name__} has {count!r} "
                             "batches (its __len__); expected at least 1")
        self.dataset = dataset
        self.prepare = prepare
        self.total_batches = int(count)
        self.num_batches = _limit(self.total_batches, steps)
        self.num_samples = None
        self.order_size = self.total_batches

    def draw_order(self, shuffle: bool, generator: np.random.Generator) -> np.ndarray | None:
        count = self.total_batches
        return generator.permutation(count) if shuffle and count > 1 else None

    def batches(self, order: np.ndarray | None, start: int = 0) -> Iterator[Batch]:
        indices = range(self.total_batches) if order is None else order
        label = type(self.dataset).__name__
        for index in indices[start:self.num_batches]:
            where = f"{label}[{int(index)}]"
            yield self._cut(self.prepare(unpack_batch(self.dataset[int(index)], where), where))

    def on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()


class IteratorBatches(_Sharded):
    """Batches in the order a generator (or any iterator) gives them; never shuffled.

    With `steps`, an epoch takes the next `steps` batches (the iterator is shared by the
    epochs, as Keras' `steps_per_epoch`); without, it runs until the iterator is exhausted.
    `position` counts the batches taken so far, so that a resumed run can `skip` them.
    """

    def __init__(self, iterator: Iterator, prepare: Prepare, steps: int | None = None):
        self.iterator = iterator
        self.prepare = prepare
        self.num_batches = steps
        self.num_samples = None
        self.order_size = 0
        self.position = 0
        self.exhausted = False

    def draw_order(self, shuffle: bool, generator: np.random.Generator) -> None:
        return None

    def skip(self, count: int) -> None:
        """Take and drop the first `count` batches (those a resumed run already trained on)."""
        for _ in range(count - self.position):
            try:
                next(self.iterator)
            except StopIteration:
                raise ValueError(f"cannot resume: the generator ran out after {self.position} "
                                 f"batches, the backup was written after {count}") from None
            self.position += 1

    def batches(self, order=None, start: int = 0) -> Iterator[Batch]:
        for _ in itertools.count(start) if self.num_batches is None else range(
                start, self.num_batches):
            try:
                batch = next(self.iterator)
            except StopIteration:
                self.exhausted = True
                return
            where = f"batch {self.position} of the generator"
            self.position += 1
            yield self._cut(self.prepare(unpack_batch(batch, where), where))

    def on_epoch_begin(self) -> None: ...
    def on_epoch_end(self) -> None: ...


class LoaderBatches(IteratorBatches):
    """A loader's batches (torch's DataLoader: tensors, read through `np.asarray`): a new
    pass over it at each epoch's start, `len(loader)` batches unless `steps` says fewer.

    A run resumed mid-epoch (BackupAndRestore) takes the epoch's remaining batches from a new
    pass: a loader that shuffles has no order to replay, so nothing is skipped (`position`
    stays 0)."""

    def __init__(self, loader, prepare: Prepare, steps: int | None = None):
        super().__init__(iter(loader), prepare, len(loader) if steps is None else steps)
        self.loader = loader

    @property
    def position(self) -> int:
        return 0

    @position.setter
    def position(self, value: int) -> None:
        pass

    def on_epoch_begin(self) -> None:
        self.iterator = iter(self.loader)


def warn_exhausted(what: str) -> None:
    warnings.warn(f"{what}: the input ran out of data; interrupting training. Make sure that "
                  "the generator can produce steps_per_epoch * epochs batches.", stacklevel=5)
