"""DataParallel, Keras 3's name for data parallelism, over MPI processes; the current one.

    >>> import glassnet as gn
    >>> gn.distribution.set_distribution(gn.distribution.DataParallel())
    >>> model.fit(x, y, batch_size=256)          # run as: mpiexec -n 8 python train.py

Each process (rank) holds a whole copy of the model and trains on its part of every batch;
the gradients are averaged over the ranks once a step, so every rank applies the same
update and the copies stay equal (`glassnet.training.parallel` does the work). Without
mpi4py, or with one process, `DataParallel()` is a world of one and fit runs as always.

As in Keras, `distribution()` is the current setting and `set_distribution` changes it;
`Distribution.scope()` sets it for a `with` block. Keras' device arguments (`device_mesh`,
`devices`) name accelerators, which glassnet has none of: the "devices" here are processes.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

from glassnet.distribution.communicator import SingleProcess, world_communicator

# Environment variables that MPI launchers (MPICH/Hydra, Open MPI, Slurm) set in each process.
_LAUNCHER_SIZES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


class Distribution:
    """Base class: a way to spread training over processes (Keras' `keras.distribution`).

    Attributes:
        communicator: the collectives between the processes (`communicator.py`).
        rank: this process' number, 0 .. world_size - 1 (Keras: `data_shard_id`).
        world_size: the number of processes (Keras: `num_processes`).
        is_chief: rank 0, the one process that prints and writes files.
        bucket_bytes: the size of a gradient bucket (None: one all-reduce after backward).
    """

    bucket_bytes: int | None = None

    def __init__(self, communicator: SingleProcess):
        self.communicator = communicator

    @property
    def rank(self) -> int:
        return self.communicator.rank

    @property
    def world_size(self) -> int:
        return self.communicator.size

    @property
    def is_chief(self) -> bool:
        return self.communicator.rank == 0

    # Keras' names for the same numbers.
    @property
    def num_processes(self) -> int:
        return self.world_size

    @property
    def data_shard_id(self) -> int:
        return self.rank

    @contextlib.contextmanager
    def scope(self) -> Iterator[Distribution]:
        """This distribution as the current one inside the `with` block (as Keras)."""
        previous = distribution()
        set_distribution(self)
        try:
            yield self
        finally:
            set_distribution(previous)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, world_size={self.world_size})"


class DataParallel(Distribution):
    """Data parallelism: every rank a full model, every batch split across the ranks.

    What `fit` does under it (see docs/distributed.md):
        - rank 0's weights, optimizer state and random generators go to every rank first;
        - each global batch of `batch_size` samples is split evenly (`shards.shard_bounds`);
        - the gradients are summed over the ranks in one all-reduce a step, weighted so that
          the result is the gradient of the whole batch, and every rank applies it;
        - loss and metrics are summed the same way, so logs, History and callbacks see
          the figures of the whole batch; only rank 0 prints and writes files.
    `evaluate` and `predict` split their batches too (`predict` returns every output on
    every rank).

    Args:
        communicator: an mpi4py communicator (e.g. a `comm.Split` of the world); default
            `MPI.COMM_WORLD`. Without mpi4py installed the world is this process alone.
        device_mesh, devices: Keras' arguments; glassnet runs on CPU processes, so only
            None is accepted.
        auto_shard_dataset: True (Keras' default): every rank is given the same data and
            takes its part of each batch. False (data already split per process) is not
            supported.
        bucket_cap_mb: glassnet's own (PyTorch DDP's name): reduce the gradients in
            buckets of about this many MiB, each started (non-blocking) as backward
            finishes its layers. None (default): one all-reduce after backward, which
            measured as fast or faster on one machine (see docs/distributed.md).
    """

    def __init__(self, communicator=None, device_mesh=None, devices=None,
                 auto_shard_dataset: bool = True, bucket_cap_mb: float | None = None):
        if device_mesh is not None or devices is not None:
            raise ValueError("DataParallel: device_mesh and devices name accelerators; "
                             "glassnet trains on CPU processes (start them with mpiexec)")
        if auto_shard_dataset is not True:
            raise ValueError("DataParallel: auto_shard_dataset=False is not supported; give "
                             "every rank the same data, each takes its part of each batch")
        if bucket_cap_mb is not None and (
                isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float))
                or not bucket_cap_mb > 0):
            raise ValueError(f"DataParallel: bucket_cap_mb must be a positive number of MiB "
                             f"or None, got {bucket_cap_mb!r}")
        comm = world_communicator(communicator)
        if comm.size == 1 and communicator is None:
            _warn_if_launched_without_mpi4py()
        super().__init__(comm)
        self.auto_shard_dataset = True
        self.bucket_cap_mb = bucket_cap_mb
        self.bucket_bytes = None if bucket_cap_mb is None else max(1, int(bucket_cap_mb * 2**20))

    @property
    def num_model_replicas(self) -> int:
        return self.world_size


def launched_ranks() -> int:
    """How many processes the MPI launcher (mpiexec, srun) started, from its environment
    variables (read without initializing MPI); 1 outside a launcher."""
    for name in _LAUNCHER_SIZES:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 1


def _warn_if_launched_without_mpi4py() -> None:
    """Under mpiexec without mpi4py every process would train alone on all the data."""
    count = launched_ranks()
    if count > 1:
        try:
            import mpi4py  # noqa: F401
        except ImportError:
            warnings.warn(f"DataParallel: started as one of {count} processes but mpi4py is "
                          "not installed, so each process trains alone; "
                          'pip install "glassnet[mpi]"', RuntimeWarning, stacklevel=3)


_state: dict[str, Distribution | None] = {"distribution": None}


def distribution() -> Distribution | None:
    """The current distribution (None: one process, as without any)."""
    return _state["distribution"]


def set_distribution(value: Distribution | None) -> None:
    """Make `value` the current distribution (None turns data parallelism off)."""
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution: expected a Distribution (e.g. DataParallel()) or "
                        f"None, got {value!r}")
    _state["distribution"] = value


def rank() -> int:
    """This process' rank in the current distribution (0 without one)."""
    current = _state["distribution"]
    return 0 if current is None else current.rank


def world_size() -> int:
    """The number of processes in the current distribution (1 without one)."""
    current = _state["distribution"]
    return 1 if current is None else current.world_size


def is_chief() -> bool:
    """Whether this process is rank 0, the one that prints and writes files."""
    return rank() == 0


def communicator() -> SingleProcess | None:
    """The current distribution's collectives when it spans several processes, else None."""
    current = _state["distribution"]
    return None if current is None or current.world_size == 1 else current.communicator


def broadcast_object(obj):
    """Rank 0's `obj` on every rank (the identity on one process). Every rank must call it."""
    comm = communicator()
    return obj if comm is None else comm.broadcast_object(obj)
