"""fit, evaluate and predict under data parallelism: what differs from one process.

`trainer.py` runs the same loops on every rank; this module gives them the parts that
differ (the step itself is `parallel_step.py`):

    run_for(model)            the run's state (None on one process: nothing changes)
    sync_generators           rank 0's random generators everywhere, before the first order
    AgreedProgress            Ctrl-C / SIGTERM acted on only once every rank knows of it
    callbacks_for_rank        only rank 0 prints, logs to CSV and writes checkpoints
    failing_together          an error on one rank ends every rank, naming rank and error
    gather_predictions        every rank's outputs, in the order of the data

Why the interruption is agreed on: a signal reaches the ranks at slightly different moments;
a rank that stopped one step before the others would leave them waiting forever in the next
all-reduce. So a signal only marks the request; the step's all-reduce carries it to every
rank, and all stop after that same step.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Iterator

import numpy as np

from glassnet import callbacks as callbacks_module
from glassnet import distribution
from glassnet.random import global_generator
from glassnet.saving import training_state
from glassnet.training.guard import DivergenceError
from glassnet.training.outputs import has_several_outputs
from glassnet.training.parallel_step import ParallelRun

# Callbacks whose only effect is output: run on rank 0 alone.
_CHIEF_ONLY = (callbacks_module.ProgbarLogger, callbacks_module.CSVLogger,
               callbacks_module.ModelCheckpoint, callbacks_module.TensorBoard)


def run_for(model) -> ParallelRun | None:
    """A `ParallelRun` when the current distribution spans several processes, else None.

    A model with several outputs is refused there (every rank refuses it alike): the
    data-parallel step reduces one loss and one set of metrics."""
    comm = distribution.communicator()
    if comm is not None and has_several_outputs(model):
        raise ValueError(f"model {model.name!r} has {len(model.output_names)} outputs; data "
                         f"parallelism (glassnet.distribution.DataParallel) supports models "
                         f"with one output for now")
    if comm is None:
        return None
    return ParallelRun(comm, distribution.distribution().bucket_bytes)


def sync_generators(model, comm) -> None:
    """glassnet's global generator (shuffling, initializers) and each layer's own (Dropout)
    set to rank 0's states, so every rank draws the same orders and masks."""
    generators = [global_generator()] + training_state.layer_generators(model)
    states = comm.broadcast_object([g.bit_generator.state for g in generators]
                                   if comm.rank == 0 else None)
    if len(states) != len(generators):
        raise RuntimeError(f"rank {comm.rank}: the model has {len(generators) - 1} random "
                           f"generators, rank 0's has {len(states) - 1}: every rank must "
                           "build the same model")
    for generator, state in zip(generators, states):
        generator.bit_generator.state = state


def shard(run: ParallelRun | None, source):
    """The shard of the batch `source` just gave (None on one process)."""
    if run is None:
        return None
    return run.shard(*source.last_shard)


def shard_sources(run: ParallelRun | None, *sources) -> None:
    """Make each batch source serve this rank's rows only, after checking that every rank
    was given the same arrays (each takes its rows of them: different data would train on
    a mix, silently)."""
    if run is None:
        return
    comm = run.communicator
    sources = [source for source in sources if source is not None]
    mine = [_fingerprint(source) for source in sources]
    chief = comm.broadcast_object(mine)
    differs = comm.allreduce_sum(np.array([float(mine != chief)]))[0]
    if differs:
        raise ValueError(f"DataParallel: {int(differs)} of {comm.size} ranks were given "
                         "other data than rank 0 (every rank must get the same x, y and "
                         f"sample weights, and takes its part of each batch); rank 0: "
                         f"{chief}, rank {comm.rank}: {mine}")
    for source in sources:
        source.shard_by(comm.rank, comm.size)


def _fingerprint(source) -> list:
    """The shapes and dtypes of a source's arrays and the sums of their first and last
    samples (two rows read, memory-mapped ones too); [] for a PyDataset or a generator."""
    arrays = getattr(source, "arrays", None)
    if arrays is None:
        return []
    found = []
    for array in arrays:
        parts = getattr(array, "arrays", [array])     # a multi-input model's inputs
        for part in parts:
            if part is None:
                found.append(None)
                continue
            ends = np.concatenate([np.ravel(part[:1]), np.ravel(part[-1:])])
            found.append([list(part.shape), str(part.dtype),
                          float(np.sum(ends, dtype=np.float64))])
    return found


class AgreedProgress(training_state.FitProgress):
    """`FitProgress` whose `interrupted` changes only when every rank agrees.

    A signal handler's `progress.interrupted = "SIGTERM"` records a request (`requested`);
    the next training step's all-reduce tells every rank, and `agree` then sets what
    `interrupted` reads, on every rank after the same step.
    """

    requested: str | None = None
    _agreed: str | None = None

    @property
    def interrupted(self) -> str | None:
        return self._agreed

    @interrupted.setter
    def interrupted(self, value: str | None) -> None:
        self.requested = value

    def agree(self, signal_name: str) -> None:
        self._agreed = self.requested or signal_name


def callbacks_for_rank(callbacks, verbose: int, run: ParallelRun | None) -> tuple[list, int]:
    """(callbacks, verbose) for this rank: rank 0 keeps everything; the others drop the
    progress bar, CSVLogger, ModelCheckpoint and TensorBoard. Every other callback runs on
    every rank and sees the same global logs, so EarlyStopping and ReduceLROnPlateau decide
    the same."""
    if callbacks is None:
        callbacks = []
    elif isinstance(callbacks, callbacks_module.Callback):
        callbacks = [callbacks]
    if run is None or run.communicator.rank == 0:
        return list(callbacks), verbose
    return [c for c in callbacks if not isinstance(c, _CHIEF_ONLY)], 0


@contextlib.contextmanager
def failing_together(run: ParallelRun | None, what: str) -> Iterator[None]:
    """Inside: an exception on this rank ends every rank (MPI_Abort), after printing the
    rank and the error; otherwise the others would wait for it in the next collective.

    `DivergenceError` is raised on every rank together (the check runs on reduced numbers),
    so it propagates as on one process.
    """
    if run is None:
        yield
        return
    try:
        yield
    except DivergenceError:
        raise
    except BaseException as error:
        comm = run.communicator
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        sys.stderr.write(f"glassnet: {what} failed on rank {comm.rank} of {comm.size}; "
                         f"ending every rank.\n{text}")
        comm.abort(1)
        raise


def gather_predictions(run: ParallelRun, pieces: list, rows: list, total: int) -> np.ndarray:
    """Every rank's outputs put together: `pieces[i]` are the outputs of this rank's global
    rows `rows[i]` (a range); the result (total, ...) on every rank, in the data's order."""
    comm = run.communicator
    local = np.concatenate(pieces) if pieces else None
    shapes = comm.broadcast_object(None if local is None else (local.shape[1:], local.dtype.str))
    if local is None:
        if shapes is None:
            raise ValueError("x: the generator gave no batches to predict")
        local = np.empty((0,) + tuple(shapes[0]), dtype=np.dtype(shapes[1]))
    indices = np.concatenate([np.arange(r.start, r.stop) for r in rows]) if rows else \
        np.zeros(0, dtype=np.int64)
    every_output = comm.allgather_rows(local)
    every_index = comm.allgather_rows(indices.astype(np.int64))
    outputs = np.empty((total,) + every_output.shape[1:], dtype=every_output.dtype)
    outputs[every_index] = every_output
    return outputs
