"""The few collective operations data parallelism needs, over an mpi4py communicator.

    allreduce_sum(buffer)      in place: every rank ends with the elementwise sum over ranks
    start_allreduce_sum(buf)   the same, non-blocking: a request, finished by wait_all
    wait_all(requests)         until every started all-reduce has finished
    broadcast(array)           in place: rank 0's values on every rank
    broadcast_object(obj)      a picklable object from rank 0 (generator states, a backup)
    allgather_rows(array)      every rank's rows, concatenated in rank order, on every rank
    abort(code)                end every process of the job (an error on one rank)

`MPICommunicator` runs them over MPI; `SingleProcess` is the same interface for a world of
one process, where each is the identity, so code that calls them runs unchanged without MPI.
Buffers are NumPy arrays passed to MPI directly (no pickling): one `Allreduce` of a flat
float64 array of n numbers moves 8n bytes each way, with the MPI library's own algorithm
(ring or recursive doubling by size).

The all-reduces keep a tally (`reduce_calls`, `reduce_seconds`, `reduce_bytes`) for the
benchmarks: the time a step spends in MPI calls of all-reduces (starting, progressing and
waiting for non-blocking ones), waiting for the slowest rank included.

A non-blocking all-reduce (MPI_Iallreduce) lets a step go on computing while its gradients
travel; MPICH (and most MPI libraries without a progress thread) moves it forward only
inside MPI calls, so `progress(requests)` (MPI_Testall) pokes it between layers.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np


class SingleProcess:
    """A world of one process: rank 0 of 1; every collective returns its input."""

    rank = 0
    size = 1

    def __init__(self):
        self.reduce_calls, self.reduce_seconds, self.reduce_bytes = 0, 0.0, 0

    def allreduce_sum(self, buffer: np.ndarray) -> np.ndarray:
        return buffer

    def start_allreduce_sum(self, buffer: np.ndarray) -> Any:
        """A request for `allreduce_sum(buffer)`; here it is done at once (None)."""
        self.allreduce_sum(buffer)
        return None

    def progress(self, requests: list) -> None:
        """Let the started all-reduces move on (nothing to do in a world of one)."""

    def wait_all(self, requests: list) -> None:
        """Return once every request of `start_allreduce_sum` has finished."""

    def broadcast(self, array: np.ndarray) -> np.ndarray:
        return array

    def broadcast_object(self, obj: Any) -> Any:
        return obj

    def allgather_rows(self, array: np.ndarray) -> np.ndarray:
        return array

    def abort(self, code: int = 1) -> None:
        raise SystemExit(code)

    def __repr__(self) -> str:
        return "SingleProcess()"


class MPICommunicator(SingleProcess):
    """The collectives over an mpi4py communicator (`MPI.COMM_WORLD` or a sub-communicator).

    Every rank must call the same collectives in the same order, as MPI requires: the
    training loop does so by running the same steps on every rank (see `glassnet.training`).
    """

    def __init__(self, comm):
        super().__init__()
        from mpi4py import MPI  # imported here: glassnet never needs mpi4py on one process

        self._mpi = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    def allreduce_sum(self, buffer: np.ndarray) -> np.ndarray:
        """Sum `buffer` (contiguous) over the ranks, in place; returns it."""
        if not buffer.flags.c_contiguous:
            raise ValueError("allreduce_sum: the buffer must be C-contiguous")
        start = time.perf_counter()
        self.comm.Allreduce(self._mpi.IN_PLACE, buffer, op=self._mpi.SUM)
        self.reduce_seconds += time.perf_counter() - start
        self.reduce_calls += 1
        self.reduce_bytes += buffer.nbytes
        return buffer

    def start_allreduce_sum(self, buffer: np.ndarray) -> Any:
        """Start summing `buffer` (contiguous) over the ranks, in place (MPI_Iallreduce);
        `buffer` must not be touched until `wait_all` returns."""
        if not buffer.flags.c_contiguous:
            raise ValueError("start_allreduce_sum: the buffer must be C-contiguous")
        start = time.perf_counter()
        request = self.comm.Iallreduce(self._mpi.IN_PLACE, buffer, op=self._mpi.SUM)
        self.reduce_seconds += time.perf_counter() - start
        self.reduce_calls += 1
        self.reduce_bytes += buffer.nbytes
        return request

    def progress(self, requests: list) -> None:
        """MPI_Testall: MPICH advances non-blocking collectives only inside MPI calls."""
        if requests:
            start = time.perf_counter()
            self._mpi.Request.Testall(requests)
            self.reduce_seconds += time.perf_counter() - start

    def wait_all(self, requests: list) -> None:
        if requests:
            start = time.perf_counter()
            self._mpi.Request.Waitall(requests)
            self.reduce_seconds += time.perf_counter() - start

    def broadcast(self, array: np.ndarray) -> np.ndarray:
        """Rank 0's `array` (contiguous) into every rank's `array`, in place; returns it."""
        if not array.flags.c_contiguous:
            raise ValueError("broadcast: the array must be C-contiguous")
        self.comm.Bcast(array, root=0)
        return array

    def broadcast_object(self, obj: Any) -> Any:
        """Rank 0's `obj` (pickled), returned on every rank; the others' `obj` is ignored."""
        return self.comm.bcast(obj, root=0)

    def allgather_rows(self, array: np.ndarray) -> np.ndarray:
        """Every rank's `array` (n_r, ...) concatenated in rank order: (Σ n_r, ...).

        The ranks' arrays must agree in dtype and in every axis but the first.
        """
        array = np.ascontiguousarray(array)
        counts = np.array(self.comm.allgather(array.shape[0]), dtype=np.int64)
        row = int(np.prod(array.shape[1:], dtype=np.int64))
        result = np.empty((int(counts.sum()),) + array.shape[1:], dtype=array.dtype)
        sizes = counts * row
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        self.comm.Allgatherv(array, [result, (sizes.tolist(), offsets.tolist())])
        return result

    def abort(self, code: int = 1) -> None:
        """End every process of the job now (MPI_Abort): what an error on one rank must do,
        since the other ranks would otherwise wait for it forever in the next collective."""
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(code)

    def __repr__(self) -> str:
        return f"MPICommunicator(rank={self.rank}, size={self.size})"


def world_communicator(comm=None) -> SingleProcess:
    """An `MPICommunicator` over `comm` (default mpi4py's COMM_WORLD); `SingleProcess()` when
    mpi4py is not installed and no `comm` was given."""
    if comm is None:
        try:
            from mpi4py import MPI
        except ImportError:
            return SingleProcess()
        comm = MPI.COMM_WORLD
    return MPICommunicator(comm)
