"""The loops of `fit`, `evaluate` and `predict`: epochs, batches, callbacks, validation.

Who owns what, as in Keras' trainer: the data (`data.prepare`) owns x, y, the sample
weights, shuffling and the batch size; this module the epochs, the callbacks, validation,
the metrics' resets, and interruption; one step (`Model.train_step` -> `step.py`) the update.

    fit(x, y)    data.prepare.fit_sources -> for each epoch: draw an order, then for each
                 batch: model.train_step((x, y, w)), callbacks; validation at the epoch end

Interruption: Ctrl-C (SIGINT) and SIGTERM end the current step (`deferred_interrupts`); the
state between steps is consistent (`FitProgress.safe`), so a `BackupAndRestore` can write it
and a later fit resume from it.

Data parallelism (`glassnet.distribution.DataParallel`, several MPI processes): every rank
runs these same loops; the sources serve each rank its rows of every batch, each step runs
inside that batch's `Shard` (so `step.py` reduces over the ranks), and `parallel.py`
supplies what else differs (shared random state, agreed interruption, rank 0's output).
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from glassnet import callbacks as callbacks_module
from glassnet import checks
from glassnet.distribution import shard_bounds, sharding
from glassnet.layers.base import inference_only
from glassnet.random import global_generator
from glassnet.saving import training_state
from glassnet.training import parallel
from glassnet.training.buffers import StepBuffers
from glassnet.training.data import adapters, prepare
from glassnet.training.data.checks import check_int
from glassnet.training.data.groups import OutputGroup
from glassnet.training.gradients import require_compiled
from glassnet.training.guard import DivergenceError
from glassnet.training.outputs import has_several_outputs


# ----- fit ------------------------------------------------------------------------------------
def fit(model, x=None, y=None, batch_size: int | None = 32, epochs: int = 1, verbose="auto",
        callbacks=None, validation_split: float = 0.0, validation_data=None,
        shuffle: bool | str = True, class_weight=None, sample_weight=None,
        initial_epoch: int = 0, steps_per_epoch: int | None = None,
        validation_steps: int | None = None, validation_batch_size=None,
        validation_freq: int = 1):
    """`Model.fit` (see there for the arguments): check them, then run the epochs."""

    require_compiled(model, "fit")
    batch_size = check_int(batch_size, "batch_size", 1, allow_none=True)
    epochs = check_int(epochs, "epochs", 0)
    initial_epoch = check_int(initial_epoch, "initial_epoch", 0)
    validation_freq = check_int(validation_freq, "validation_freq", 1)
    steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", 1, allow_none=True)
    validation_steps = check_int(validation_steps, "validation_steps", 1, allow_none=True)
    checks.one_of("shuffle", shuffle, (True, False, "batch"))
    verbose = _verbosity(verbose)
    train, val = prepare.fit_sources(model, x, y, sample_weight, class_weight, batch_size,
                                     steps_per_epoch, shuffle, validation_split,
                                     validation_data, validation_batch_size, validation_steps)
    run = parallel.run_for(model)            # None on one process
    parallel.shard_sources(run, train, val)
    callbacks, verbose = parallel.callbacks_for_rank(callbacks, verbose, run)
    cbs = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                        model=model, verbose=verbose, epochs=epochs,
                                        steps=train.num_batches)
    backup = next((c for c in cbs.callbacks
                   if isinstance(c, callbacks_module.BackupAndRestore)), None)
    progress_class = training_state.FitProgress if run is None else parallel.AgreedProgress
    progress = progress_class(epoch=initial_epoch, num_batches=train.num_batches, train=train,
                              validation=val)
    model.fit_progress = progress  # read and restored by BackupAndRestore
    model.step_buffers = StepBuffers()
    model.stop_training = False
    epoch_logs: dict[str, float] = {}
    try:
        with parallel.failing_together(run, "fit"), \
                training_state.deferred_interrupts(progress):
            try:
                progress.safe = False  # a backup is being restored
                if run is not None:    # the same shuffle orders and masks on every rank
                    parallel.sync_generators(model, run.communicator)
                cbs.on_train_begin()
                progress.restore_history(cbs.history)
                progress.safe = True
                epoch_logs = _fit_epochs(model, train, val, cbs, progress, epochs,
                                         bool(shuffle), validation_freq, run)
            except KeyboardInterrupt:
                if not progress.safe or run is not None:  # no consistent state to save
                    raise
                progress.interrupted = "KeyboardInterrupt"
            if progress.interrupted is not None:
                _report_interruption(progress, backup)
            cbs.on_train_end(epoch_logs)
    finally:
        model.fit_progress = None
        model.step_buffers.clear()    # the last step's arrays are not needed any more
    return model.history


def _fit_epochs(model, train, val, cbs, progress, epochs: int, shuffle: bool,
                validation_freq: int, run=None) -> dict[str, float]:
    """The epochs from `progress` (epoch 0 step 0, or where a backup left off)."""
    epoch_logs: dict[str, float] = {}
    while progress.epoch < epochs and progress.interrupted is None:
        epoch = progress.epoch
        model.reset_metrics()
        if progress.metric_state is not None:  # resumed mid-epoch: the running means
            _load_metric_state(model, progress)
        cbs.on_epoch_begin(epoch)
        train.on_epoch_begin()
        if progress.order is None:
            progress.order = train.draw_order(shuffle, global_generator())
        _fit_batches(model, train, cbs, progress, run)
        if progress.interrupted is not None:
            break
        if progress.step == 0 and getattr(train, "exhausted", False):
            adapters.warn_exhausted("fit")
            break
        epoch_logs = _end_epoch(model, epoch, train, val, cbs, progress, validation_freq, run)
        if model.stop_training:
            break
    return epoch_logs


def _fit_batches(model, train, cbs, progress, run=None) -> None:
    """The epoch's batches from `progress.step` on; `progress.step` counts those done."""
    buffers = model.step_buffers
    for x, y, weights in train.batches(progress.order, progress.step):
        step = progress.step
        cbs.on_train_batch_begin(step)
        progress.safe = False  # weights and optimizer state are half-updated in a step
        try:
            # layers write into last step's arrays (see buffers); under data parallelism
            # the step reduces over the ranks (see parallel_step)
            with buffers.reusing(), sharding(parallel.shard(run, train)):
                model.train_step((x, y, weights))
        except DivergenceError as error:  # fit adds where in the epochs
            raise error.at(epoch=progress.epoch + 1, batch=step + 1) from None
        progress.step, progress.safe = step + 1, True
        if progress.targets is None:  # to rebuild the metrics when resuming
            progress.targets = _target_signature(y)
        cbs.on_train_batch_end(step, model.get_metrics_result())
        if model.stop_training or progress.interrupted is not None:
            break


def _end_epoch(model, epoch: int, train, val, cbs, progress,
               validation_freq: int, run=None) -> dict[str, float]:
    progress.safe = False  # validation and the epoch-end callbacks are one unit
    train.on_epoch_end()
    epoch_logs = model.get_metrics_result()
    if val is not None and (epoch + 1) % validation_freq == 0:
        # as in Keras, validation is an evaluation: the callbacks see its on_test_* hooks
        cbs.on_test_begin()
        val_logs = _evaluate_batches(model, val, cbs, run=run)
        cbs.on_test_end(val_logs)
        epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
    progress.epoch, progress.step, progress.order = epoch + 1, 0, None
    cbs.on_epoch_end(epoch, epoch_logs)
    progress.safe = True
    return epoch_logs


def _target_signature(y):
    """(shape, dtype) of a batch of targets; a list of them (None where an output has no
    targets) for a model with several outputs."""
    if isinstance(y, OutputGroup):
        return [None if a is None else (a.shape, a.dtype) for a in y]
    return (y.shape, y.dtype)


def _load_metric_state(model, progress) -> None:
    if progress.targets is not None:   # the metrics are chosen from shapes alone
        if model.compiled_outputs is not None:
            ys, preds = [], []
            for signature, output_shape in zip(progress.targets, model.output_shape):
                shape, dtype = signature or ((1,) + tuple(output_shape[1:]), model.dtype)
                ys.append(np.zeros(shape, dtype))
                preds.append(np.zeros((shape[0],) + tuple(output_shape[1:]), model.dtype))
            model.build_metrics(ys, preds)
        else:
            shape, dtype = progress.targets
            y_pred_shape = (shape[0],) + tuple(model.output_shape[1:])
            model.build_metrics(np.zeros(shape, dtype), np.zeros(y_pred_shape, model.dtype))
    training_state.load_metric_state(model, progress.metric_state)
    progress.metric_state = None


def _report_interruption(progress, backup) -> None:
    """Write the backup (if any) and say where training stopped."""
    where = f"epoch {progress.epoch + 1}, after step {progress.step}"
    if backup is not None:
        backup.backup()
        saved = f"training state saved to {str(backup.checkpoint_path)!r}; run the same fit " \
                "again to resume"
    else:
        saved = "nothing saved (add a callbacks.BackupAndRestore to be able to resume)"
    warnings.warn(f"fit: interrupted by {progress.interrupted} at {where}; {saved}",
                  RuntimeWarning, stacklevel=4)


# ----- evaluate and predict -------------------------------------------------------------------
def _evaluate_batches(model, source, cbs=None, run=None) -> dict[str, float]:
    model.reset_metrics()
    source.on_epoch_begin()
    steps = 0
    for step, (x, y, weights) in enumerate(source.batches(None)):
        if cbs is not None:
            cbs.on_test_batch_begin(step)
        with sharding(parallel.shard(run, source)):
            model.test_step((x, y, weights))
        steps = step + 1
        if cbs is not None:
            cbs.on_test_batch_end(step, model.get_metrics_result())
    source.on_epoch_end()
    if steps == 0:
        raise ValueError("evaluation data: the generator gave no batches (it is exhausted; "
                         "pass validation_steps / steps, or use a PyDataset)")
    return model.get_metrics_result()


def evaluate(model, x=None, y=None, batch_size: int | None = 32, verbose="auto",
             sample_weight=None, steps: int | None = None, callbacks=None,
             return_dict: bool = False):
    """`Model.evaluate`: loss and metrics on (x, y)."""
    require_compiled(model, "evaluate")
    batch_size = check_int(batch_size, "batch_size", 1, allow_none=True)
    steps = check_int(steps, "steps", 1, allow_none=True)
    verbose = _verbosity(verbose)
    source = prepare.batch_source(model, x, y, sample_weight, None, batch_size, steps)
    run = parallel.run_for(model)
    parallel.shard_sources(run, source)
    callbacks, verbose = parallel.callbacks_for_rank(callbacks, verbose, run)
    cbs = callbacks_module.CallbackList(callbacks, add_history=False, add_progbar=verbose != 0,
                                        model=model, verbose=verbose, epochs=1,
                                        steps=source.num_batches)
    with parallel.failing_together(run, "evaluate"):
        cbs.on_test_begin()
        logs = _evaluate_batches(model, source, cbs, run)
        cbs.on_test_end(logs)
    return _result(logs, return_dict, model)


def predict(model, x, batch_size: int | None = 32, verbose="auto", steps: int | None = None,
            callbacks=None):
    """`Model.predict`: outputs for x, batch by batch, in inference mode."""
    batch_size = check_int(batch_size, "batch_size", 1, allow_none=True)
    steps = check_int(steps, "steps", 1, allow_none=True)
    verbose = _verbosity(verbose)
    source = prepare.batch_source(model, x, batch_size=batch_size, steps=steps, targets=False)
    run = parallel.run_for(model)
    parallel.shard_sources(run, source)
    callbacks, verbose = parallel.callbacks_for_rank(callbacks, verbose, run)
    cbs = callbacks_module.CallbackList(callbacks, add_history=False, add_progbar=verbose != 0,
                                        model=model, verbose=verbose, epochs=1,
                                        steps=source.num_batches)
    if run is not None:
        with parallel.failing_together(run, "predict"):
            return _predict_sharded(model, source, cbs, run)
    cbs.on_predict_begin()
    # Arrays: one output array allocated once; other sources: batches concatenated.
    several = has_several_outputs(model)
    total = (min(source.num_samples, source.num_batches * source.batch_size)
             if isinstance(source, adapters.ArrayBatches) and not several else None)
    outputs, pieces, start = None, [], 0
    source.on_epoch_begin()
    for step, (x_batch, _, _) in enumerate(source.batches(None)):
        cbs.on_predict_batch_begin(step)
        with inference_only():        # layers keep nothing for a backward pass
            y_batch = model.forward(x_batch, training=False)
        if several:
            pieces.append([np.array(y) for y in y_batch])
        elif total is None:
            pieces.append(np.array(y_batch))  # a copy: a layer may reuse its buffer
        else:
            if outputs is None:  # allocate once, when the output shape is known
                outputs = np.empty((total,) + y_batch.shape[1:], dtype=y_batch.dtype)
            outputs[start:start + len(y_batch)] = y_batch
        start += len(y_batch)
        cbs.on_predict_batch_end(step, {"outputs": y_batch})
    source.on_epoch_end()
    cbs.on_predict_end()
    if total is None:
        if not pieces:
            raise ValueError("x: the generator gave no batches to predict")
        if several:   # one array per output, as a list or a dict by name (Keras)
            return _packed(model, [np.concatenate(p) for p in zip(*pieces)])
        outputs = np.concatenate(pieces)
    return outputs


def _predict_sharded(model, source, cbs, run) -> np.ndarray:
    """`predict` under data parallelism: each rank its rows, then every output everywhere."""
    run.ensure_synced(model)
    cbs.on_predict_begin()
    pieces, rows, offset = [], [], 0
    source.on_epoch_begin()
    for step, (x_batch, _, _) in enumerate(source.batches(None)):
        cbs.on_predict_batch_begin(step)
        total, start, stop = source.last_shard
        y_batch = None
        if stop > start:                      # not a stand-in
            with inference_only():
                y_batch = model.forward(x_batch, training=False)
            pieces.append(np.array(y_batch))
            rows.append(range(offset + start, offset + stop))
        offset += total
        cbs.on_predict_batch_end(step, {"outputs": y_batch})
    source.on_epoch_end()
    cbs.on_predict_end()
    return parallel.gather_predictions(run, pieces, rows, offset)


# ----- one batch ------------------------------------------------------------------------------
def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None,
                   return_dict: bool = False):
    """`Model.train_on_batch`: one gradient step; the loss (and metrics) on that batch."""
    require_compiled(model, "train_on_batch")
    x, y, weights = prepare.prepare_arrays(model, x, y, sample_weight, class_weight)
    model.reset_metrics()
    run = parallel.run_for(model)
    with parallel.failing_together(run, "train_on_batch"), _batch_shard(run, x) as rows:
        model.train_step(tuple(None if a is None else a[rows] for a in (x, y, weights)))
    return _result(model.get_metrics_result(), return_dict, model)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict: bool = False):
    require_compiled(model, "test_on_batch")
    x, y, weights = prepare.prepare_arrays(model, x, y, sample_weight)
    model.reset_metrics()
    run = parallel.run_for(model)
    with parallel.failing_together(run, "test_on_batch"), _batch_shard(run, x) as rows:
        model.test_step(tuple(None if a is None else a[rows] for a in (x, y, weights)))
    return _result(model.get_metrics_result(), return_dict, model)


@contextlib.contextmanager
def _batch_shard(run, x):
    """The rows of one given batch this rank steps on (all of it on one process), with
    the step inside their shard."""
    if run is None:
        yield slice(None)
        return
    total = len(x)
    start, stop = shard_bounds(total, run.communicator.rank, run.communicator.size)
    with sharding(run.shard(total, start, stop)):
        yield slice(start, stop) if stop > start else slice(0, 1)


def predict_on_batch(model, x):
    return _packed(model, model.forward(model.prepare_inputs(x), training=False))


def _packed(model, outputs):
    """Outputs as Keras returns them (a list or a dict for several outputs)."""
    pack = getattr(model, "pack_outputs", None)
    return outputs if pack is None or not isinstance(outputs, list) else pack(outputs)


def _verbosity(verbose) -> int:
    checks.one_of("verbose", verbose, ("auto", 0, 1, 2))
    return 1 if verbose == "auto" else int(verbose)


def _result(logs: dict[str, float], return_dict: bool, model=None):
    """The logs as evaluate returns them: a dict, one number, or a list in Keras' order
    (with several outputs: "loss", each output's loss, then the others sorted by name)."""
    if return_dict:
        return logs
    values = list(logs.values())
    outputs = None if model is None else model.compiled_outputs
    if outputs is not None:
        first = [k for k in ["loss", *outputs.loss_names()] if k in logs]
        values = [logs[k] for k in first] + [logs[k] for k in sorted(logs) if k not in first]
    return values[0] if len(values) == 1 else values
