"""PyDataset: data that does not fit in memory, served one batch at a time (Keras 3's API).

Subclass it, say how many batches there are and how to make batch `index`; `fit`,
`evaluate` and `predict` then ask for one batch at a time, so only the batches in use are
ever in memory:

    >>> class Images(PyDataset):
    ...     def __init__(self, paths, labels, batch_size):
    ...         super().__init__()
    ...         self.paths, self.labels, self.batch_size = paths, labels, batch_size
    ...     def __len__(self):                       # number of batches
    ...         return math.ceil(len(self.paths) / self.batch_size)
    ...     def __getitem__(self, index):            # batch `index`: (x, y) arrays
    ...         part = slice(index * self.batch_size, (index + 1) * self.batch_size)
    ...         return load_images(self.paths[part]), self.labels[part]
    >>> model.fit(Images(paths, labels, 64), epochs=10)

`__getitem__` returns `(x, y)`, `(x, y, sample_weight)`, or for `predict` `x` alone. With
`fit(shuffle=True)` the order of the batch indices is shuffled each epoch (from glassnet's
seeded global generator, so a run is reproducible and resumes exactly); `on_epoch_end()` is
called after the last batch of every epoch, for datasets that reshuffle their own samples
(draw that randomness from `glassnet.random.global_generator()` too, so that
`BackupAndRestore` can restore it).
"""

from __future__ import annotations


class PyDataset:
    """Base class of batch-indexed datasets: implement `__len__` and `__getitem__`.

    Args:
        workers, use_multiprocessing, max_queue_size: accepted for Keras compatibility;
            glassnet reads batches in the training thread, one at a time, in order.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int):
        """Batch `index` (0 <= index < len(self)): (x, y), (x, y, sample_weight) or x."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    @property
    def num_batches(self) -> int:
        return len(self)

    def on_epoch_begin(self) -> None:
        """Called before the first batch of every epoch."""

    def on_epoch_end(self) -> None:
        """Called after the last batch of every epoch (reshuffle your samples here)."""


Sequence = PyDataset  # Keras 2's name, still an alias in Keras 3 (keras.utils.Sequence)

__all__ = ["PyDataset", "Sequence"]
