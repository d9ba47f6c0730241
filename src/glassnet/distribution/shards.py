"""How a global batch is split across ranks, and which part of it a step is working on.

Every rank sees the same global batch (the same shuffled order, from the shared seed) and
takes a contiguous part of it, as even as the batch allows:

    batch of 10 on 4 ranks:  rank 0 rows 0:3, rank 1 rows 3:6, rank 2 rows 6:8, rank 3 rows 8:10

A batch with fewer samples than ranks (a last, partial batch) leaves some ranks with none.
Such a rank still runs the step, on a stand-in of one sample whose contributions count for
nothing (`Shard.empty`): every rank must take part in every collective, and layers are not
asked to handle batches of zero samples.

During a step, `current_shard()` says where the rank's rows sit in the global batch:
Dropout draws its mask for the whole batch and keeps its rows (so the masks are those one
process would draw), BatchNormalization(synchronized=True) sums its statistics over ranks.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

import numpy as np

from glassnet.context import setting


def shard_bounds(total: int, rank: int, size: int) -> tuple[int, int]:
    """(start, stop) of `rank`'s rows of a batch of `total` samples split over `size` ranks:
    the first total % size ranks take one sample more."""
    base, extra = divmod(total, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


@dataclass(frozen=True)
class Shard:
    """This rank's part of the global batch in the step under way.

    Attributes:
        total: samples in the global batch.
        start, stop: this rank's rows of it (start == stop: none, see `empty`).
        communicator: the ranks' collectives (see `communicator.py`).
        owner: what the training loop keeps for this run (its gradient buffer).
    """

    total: int
    start: int
    stop: int
    communicator: Any
    owner: Any = None

    @property
    def count(self) -> int:
        return self.stop - self.start

    @property
    def empty(self) -> bool:
        """No samples on this rank: it steps on a stand-in whose contributions are zeroed."""
        return self.stop == self.start


_current: contextvars.ContextVar[Shard | None] = contextvars.ContextVar(
    "glassnet_shard", default=None)


def current_shard() -> Shard | None:
    """The shard of the data-parallel step under way; None outside one (or on one process)."""
    return _current.get()


def sharding(shard: Shard | None) -> setting:
    """Make `shard` the current one for the step inside (None: no data parallelism)."""
    return setting(_current, shard)


def batch_rows(total: int, shard: Shard | None, rows: int) -> slice:
    """Which rows of a draw for the whole batch (`total` rows) belong to a local batch of
    `rows` rows: the shard's, or the first `rows` for a stand-in (whose results count for
    nothing anyway). One process: all of them."""
    if shard is None:
        return slice(0, rows)
    start = min(shard.start, total - rows)
    return slice(start, start + rows)


def synchronized_sum(array):
    """`array` summed over the ranks in the data-parallel step under way (a new array);
    `array` itself outside one. A rank with an empty shard contributes zeros.

    For statistics that must cover the whole global batch, as BatchNormalization's with
    `synchronized=True`; every rank must call it the same number of times in a step.
    """
    shard = _current.get()
    if shard is None or shard.communicator.size == 1:
        return array
    buffer = np.zeros(np.shape(array), dtype=np.float64) if shard.empty else \
        np.array(array, dtype=np.float64)
    shard.communicator.allreduce_sum(buffer.reshape(-1))
    return buffer.astype(np.asarray(array).dtype, copy=False)
