"""Data-parallel training over MPI: the same script on 1 process or on many.

    import glassnet as gn
    gn.distribution.set_distribution(gn.distribution.DataParallel())   # Keras 3's names
    model.fit(x, y, batch_size=256, epochs=10)

    mpiexec -n 8 python train.py          # or: srun -n 8 python train.py on Slurm

Every process trains a full copy of the model on its part of every batch; once a step the
gradients are summed over the processes (an MPI all-reduce), so all apply the same update.
The result is the one process training with the same `batch_size` would reach (see
docs/distributed.md for what is exact and what is per process). `pip install
"glassnet[mpi]"` brings mpi4py and, for a machine without MPI, MPICH with its `mpiexec`.

    data_parallel.py   DataParallel, Distribution, the current one, rank / world_size / is_chief
    communicator.py    the collectives over mpi4py (and their one-process stand-ins)
    shards.py          how a batch is split over the ranks; the shard of the step under way
    flat_buffer.py     gradients as views of one flat array, reduced in one call

This package knows no model: `glassnet.training` (trainer.py, parallel.py) uses it in fit.
"""

from glassnet.distribution.communicator import MPICommunicator, SingleProcess
from glassnet.distribution.data_parallel import (
    DataParallel,
    Distribution,
    broadcast_object,
    communicator,
    distribution,
    is_chief,
    launched_ranks,
    rank,
    set_distribution,
    world_size,
)
from glassnet.distribution.flat_buffer import FlatBuffer
from glassnet.distribution.shards import (
    Shard,
    batch_rows,
    current_shard,
    shard_bounds,
    sharding,
    synchronized_sum,
)

__all__ = ["DataParallel", "Distribution", "FlatBuffer", "MPICommunicator", "Shard",
           "SingleProcess", "batch_rows", "broadcast_object", "communicator", "current_shard",
           "distribution", "is_chief", "launched_ranks", "rank", "set_distribution",
           "shard_bounds", "sharding", "synchronized_sum", "world_size"]
