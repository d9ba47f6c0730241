"""A `fit` in progress as a file: what `callbacks.BackupAndRestore` writes and resumes from.

The training state holds everything the remaining steps depend on, so a resumed run ends with
weights bitwise-identical to a run that was never stopped:

    weights.npz     every model parameter (trainable or not, e.g. BatchNorm statistics)
    optimizer.npz   `optimizer.get_state()`: iterations, learning rate, slots (Adam's m, v)
    arrays.npz      the epoch's shuffle order, NumPy's legacy RNG keys, metric arrays
    state.json      epoch and step, the generators' states (glassnet's global one and each
                    layer's own, e.g. Dropout's), the running metrics, History so far,
                    how many batches a generator has given

in one zip file, `backup_dir/training_state.zip`, written atomically (a temporary file, then
a rename): killed at any moment, even by SIGKILL, the folder holds the previous complete
backup or the new one, never a half-written file. No pickle: JSON and plain numeric arrays,
read back with the checks of `archive.py` (every member stored, as written: nothing is
inflated), and every field checked against what a fit could have written, before anything is
restored (`training_state_checks.py`).

`FitProgress` is where `fit` stands (what is captured and restored). Interruption: during
`fit` (in the main thread) `deferred_interrupts` turns SIGINT (Ctrl-C) and SIGTERM into a
flag: the current step finishes, a backup is written if the callback is present, and `fit`
returns normally with the History so far (a second Ctrl-C stops at once). The previous
handlers are restored when `fit` returns.

    >>> state, members = capture_training_state(model, progress)
    >>> write_checkpoint(Path("backup") / FILE_NAME, state, members)
    >>> restore_training_state(model, progress, read_checkpoint(Path("backup") / FILE_NAME))
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
import signal
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.layers.base import Layer
from glassnet.random import global_generator
from glassnet.saving.archive import (
    NESTED_METHODS,
    ModelFileError,
    check_members,
    existing_file,
    few,
    json_bytes,
    npz_bytes,
    open_zip,
    read_json,
    read_nested_npz,
    write_zip,
)
from glassnet.saving.training_state_checks import check_against_fit, check_state
from glassnet.saving.weights import (
    STATE_KEY,
    WEIGHT_KEY,
    assign_optimizer_state,
    assign_weights,
    optimizer_count,
    optimizer_size_bound,
    ordered_weights,
    weight_arrays,
    weights_count,
    weights_size_bound,
)

FORMAT_NAME = "glassnet-training-state"
FORMAT_VERSION = 1
FILE_NAME = "training_state.zip"
PREVIOUS_FILE_NAME = "training_state.previous.zip"

STATE, WEIGHTS, OPTIMIZER, ARRAYS = "state.json", "weights.npz", "optimizer.npz", "arrays.npz"
_ARRAY_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_ARRAYS = 1000      # in arrays.npz: the order, the legacy RNG's keys, metrics' arrays


@dataclass
class FitProgress:
    """Where `fit` is, beside the weights: what a backup records and a resume restores.

    Attributes:
        epoch: the current epoch (0-based).
        step: batches of this epoch already trained on (a resume starts at this batch).
        order: this epoch's shuffle order of samples or batches; None before it is drawn
            (and when not shuffling: drawing again gives the same None).
        num_batches: batches per epoch (None for a generator without steps_per_epoch).
        train, validation: the batch sources (a generator's `position` is recorded).
        safe: False inside a step and inside an epoch's end, where the state is half-updated
            and nothing consistent can be saved.
        interrupted: "SIGINT", "SIGTERM" or "KeyboardInterrupt" once fit was interrupted.
        metric_state: running metrics of a resumed epoch, to load after the epoch's reset.
        targets: (shape, dtype) of a batch of y, to build the metrics before loading them.
        history: (history dict, epochs) of a resumed run, for fit to hand to History.
    """

    epoch: int
    step: int = 0
    order: np.ndarray | None = None
    num_batches: int | None = None
    train: Any = None
    validation: Any = None
    safe: bool = True
    interrupted: str | None = None
    metric_state: list | None = None
    targets: tuple | None = None
    history: tuple | None = None

    def restore_history(self, history) -> None:
        """Give a resumed run's records to `history` (a `callbacks.History`, or None)."""
        if history is not None and self.history is not None:
            history.history = {name: [np.array(v, dtype=np.float64) if isinstance(v, list)
                                      else v for v in values]
                               for name, values in self.history[0].items()}
            history.epoch = list(self.history[1])
        self.history = None


# ----- what is saved ------------------------------------------------------------------------
def capture_training_state(model, progress: FitProgress,
                           epoch_logs: tuple[int, dict] | None = None):
    """(state for state.json, {member: {key: array}}) of the model and fit right now."""
    state: dict[str, Any] = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "epoch": progress.epoch, "step": progress.step, "num_batches": progress.num_batches,
        "positions": {name: getattr(source, "position", None) for name, source in
                      (("train", progress.train), ("validation", progress.validation))},
        "history": _history_so_far(model, epoch_logs),
        "targets": _targets_state(progress.targets),
    }
    arrays: dict[str, np.ndarray] = {}
    if progress.order is not None:
        arrays["order"] = np.asarray(progress.order, dtype=np.int64)
    state["rng"] = _rng_state(model, arrays)
    # Mid-epoch, the running means of loss and metrics are part of the epoch's logs.
    state["metrics"] = _metric_state(model, arrays) if progress.step > 0 else None
    members = {
        WEIGHTS: {key: np.asarray(value) for key, value in weight_arrays(model).items()},
        OPTIMIZER: model.optimizer.get_state(),
        ARRAYS: arrays,
    }
    return state, members


def _history_so_far(model, epoch_logs) -> dict[str, Any]:
    history = getattr(model, "history", None)
    records = {} if history is None else {k: list(v) for k, v in history.history.items()}
    epochs = [] if history is None else list(history.epoch)
    if epoch_logs is not None and (not epochs or epochs[-1] != epoch_logs[0]):
        epochs.append(epoch_logs[0])
        for name, value in epoch_logs[1].items():
            records.setdefault(name, []).append(value)
    # a per-class metric (F1Score()) logs an array an epoch: a JSON list
    records = {name: [v.tolist() if isinstance(v, np.ndarray) else v for v in values]
               for name, values in records.items()}
    return {"history": records, "epoch": epochs}


def layer_generators(model) -> list[np.random.Generator]:
    """Every NumPy generator a layer keeps (Dropout's), in a fixed order: depth first
    through the layers, attributes by name; sub-layers of wrappers are included."""
    found: list[np.random.Generator] = []
    seen: set[int] = set()

    def visit(layer: Layer) -> None:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        for _, value in sorted(vars(layer).items()):
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                if isinstance(item, np.random.Generator) and id(item) not in seen:
                    seen.add(id(item))
                    found.append(item)
                elif isinstance(item, Layer):
                    visit(item)

    visit(model)
    return found


def _rng_state(model, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (user code)
    arrays["legacy_rng_keys"] = np.asarray(keys, dtype=np.uint32)
    return {"global": global_generator().bit_generator.state,
            "layers": [g.bit_generator.state for g in layer_generators(model)],
            "legacy": {"name": name, "pos": int(pos), "has_gauss": int(has_gauss),
                       "cached_gaussian": float(cached)}}


def _metric_state(model, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Each metric's numbers: float/int attributes in JSON, array attributes in arrays.npz."""
    states = []
    for index, metric in enumerate(model.metrics):
        scalars, array_names = {}, []
        for name, value in vars(metric).items():
            if isinstance(value, (float, int)) and not isinstance(value, bool):
                scalars[name] = value
            elif isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
                arrays[f"metric{index}_{name}"] = value
                array_names.append(name)
        states.append({"name": metric.name, "scalars": scalars, "arrays": array_names})
    return states


# ----- the file -----------------------------------------------------------------------------
def write_checkpoint(path: Path, state: dict[str, Any], members: dict[str, dict]) -> None:
    """One zip (stored, not deflated: backups are frequent), written atomically."""
    write_zip(path, {STATE: json_bytes(state),
                     **{member: npz_bytes(arrays) for member, arrays in members.items()}},
              zipfile.ZIP_STORED)


def read_checkpoint(path: str | os.PathLike, model=None) -> dict[str, Any]:
    """{"state", "weights", "optimizer", "arrays", "where"} of a backup, every member and
    every field of state.json checked (`training_state_checks.check_state`).

    Members are stored, as `write_checkpoint` writes them (nothing is inflated, so a backup
    can ask for no more memory than its size); with `model`, the weights and the optimizer
    state are compared with its weights (count and size) before their arrays are read.
    Raises ModelFileError (a ValueError) naming the file and the problem."""
    where = str(path)
    path = existing_file(path)
    weights_limits: dict[str, Any] = {}
    optimizer_limits: dict[str, Any] = {}
    if model is not None:
        size, expected = weights_size_bound(model.parameters())
        weights_limits = dict(max_bytes=size, expected=expected,
                              max_arrays=weights_count(model))
        size, expected = optimizer_size_bound(model.parameters(trainable_only=True))
        optimizer_limits = dict(max_bytes=size, expected=expected,
                                max_arrays=optimizer_count(model))
    with open(path, "rb") as handle, open_zip(handle, where) as zf:
        infos = check_members(zf, where, required=(STATE, WEIGHTS, OPTIMIZER, ARRAYS),
                              methods=NESTED_METHODS)
        state = read_json(zf, infos[STATE], where)
        arrays = read_nested_npz(zf, infos[ARRAYS], where, _ARRAY_KEY,
                                 max_arrays=(_MAX_ARRAYS, "what a fit writes"))
        check_state(state, arrays, where)
        weights = read_nested_npz(zf, infos[WEIGHTS], where, WEIGHT_KEY, **weights_limits)
        optimizer = read_nested_npz(zf, infos[OPTIMIZER], where, STATE_KEY, **optimizer_limits)
    return {"state": state, "weights": ordered_weights(weights, f"{where}: {WEIGHTS}"),
            "optimizer": optimizer, "arrays": arrays, "where": where}


# ----- restoring ----------------------------------------------------------------------------
def restore_training_state(model, progress: FitProgress, contents: dict[str, Any],
                           epochs: int | None = None) -> None:
    """Load a backup into the model, its optimizer, the generators and `progress`.

    Every field is first checked against this fit (`epochs`, its batches, its data sources)
    and this model (`training_state_checks.check_against_fit`): a refusal leaves all of
    them as they were."""
    state, arrays, where = contents["state"], contents["arrays"], contents["where"]
    generators = layer_generators(model)
    check_against_fit(model, progress, contents, generators, epochs)
    assign_optimizer_state(model, contents["optimizer"], f"{where}: {OPTIMIZER}")
    assign_weights(model, contents["weights"], f"{where}: {WEIGHTS}")
    _restore_rng(state["rng"], generators, arrays, where)
    for name, source in (("train", progress.train), ("validation", progress.validation)):
        position = state["positions"].get(name)
        if position and hasattr(source, "skip"):
            source.skip(position)
    progress.epoch, progress.step = state["epoch"], state["step"]
    progress.order = arrays.get("order")
    targets = state.get("targets")
    if isinstance(targets, list):   # a model with several outputs: one entry per output
        progress.targets = [None if t is None else (tuple(t["shape"]), t["dtype"])
                            for t in targets]
    else:
        progress.targets = None if targets is None else (tuple(targets["shape"]),
                                                         targets["dtype"])
    metrics = state.get("metrics")
    progress.metric_state = None if metrics is None else (metrics, arrays, where)
    progress.history = (state["history"]["history"], state["history"]["epoch"])


def _targets_state(targets):
    """(shape, dtype) of a batch of y as JSON, or a list of them (several outputs)."""
    if isinstance(targets, list):
        return [_targets_state(t) for t in targets]
    return None if targets is None else {"shape": list(targets[0]), "dtype": str(targets[1])}


def _restore_rng(rng: dict[str, Any], generators, arrays: dict[str, np.ndarray],
                 where: str) -> None:
    """Set every generator's state (each was tried on a fresh generator already)."""
    try:
        global_generator().bit_generator.state = rng["global"]
        for generator, saved in zip(generators, rng["layers"]):
            generator.bit_generator.state = saved
        legacy = rng.get("legacy")
        if legacy is not None and "legacy_rng_keys" in arrays:
            np.random.set_state((legacy["name"], arrays["legacy_rng_keys"],  # noqa: NPY002
                                 legacy["pos"], legacy["has_gauss"], legacy["cached_gaussian"]))
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise ModelFileError(f"{where}: {STATE}: invalid generator state: {error}") from error


def load_metric_state(model, saved: tuple) -> None:
    """Set each metric's running numbers from a backup (the metrics must be built).

    `saved` is `progress.metric_state`: (states, arrays, the file's name)."""
    states, arrays, where = (*saved, "the backup")[:3]
    metrics = model.metrics
    if [s.get("name") for s in states] != [m.name for m in metrics]:
        raise ModelFileError(f"{where}: {STATE}: metrics: the backup holds metrics "
                             f"{few([s.get('name') for s in states])}, the model has "
                             f"{few([m.name for m in metrics])}: compile it as before")
    for index, (metric, metric_state) in enumerate(zip(metrics, states)):
        # Only numbers the metric already has, of the same kind: never a method or new name.
        for name, value in metric_state["scalars"].items():
            current = getattr(metric, name, None)
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or isinstance(current, bool) or not isinstance(current, (int, float))):
                raise ModelFileError(f"{where}: {STATE}: metrics[{index}].scalars: the backup "
                                     f"sets metric {metric.name!r} attribute {name!r} to "
                                     f"{value!r}; expected a number it already has")
        for name in metric_state["arrays"]:
            current, value = getattr(metric, name, None), arrays.get(f"metric{index}_{name}")
            if not isinstance(current, np.ndarray) or value is None \
                    or value.shape != current.shape:
                raise ModelFileError(f"{where}: {STATE}: metrics[{index}].arrays: the backup's "
                                     f"array for metric {metric.name!r} attribute {name!r} "
                                     "does not match it")
    for index, (metric, metric_state) in enumerate(zip(metrics, states)):
        for name, value in metric_state["scalars"].items():
            setattr(metric, name, value)
        for name in metric_state["arrays"]:
            current = getattr(metric, name)
            setattr(metric, name, np.array(arrays[f"metric{index}_{name}"], dtype=current.dtype))


# ----- signals ------------------------------------------------------------------------------
@contextlib.contextmanager
def deferred_interrupts(progress: FitProgress) -> Iterator[None]:
    """SIGINT and SIGTERM only set `progress.interrupted` (fit stops after the current step).

    Installed in the main thread only (Python delivers signals there); the previous
    handlers are put back on exit. A second SIGINT raises KeyboardInterrupt at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if progress.interrupted is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        progress.interrupted = signal.Signals(signum).name

    previous = {}
    try:
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.signal(number, handler)
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, signal.SIG_DFL if old is None else old)


__all__ = ["ARRAYS", "FILE_NAME", "FORMAT_NAME", "FORMAT_VERSION", "OPTIMIZER",
           "PREVIOUS_FILE_NAME", "STATE", "WEIGHTS", "FitProgress", "capture_training_state",
           "deferred_interrupts", "layer_generators", "load_metric_state", "read_checkpoint",
           "restore_training_state", "write_checkpoint"]
