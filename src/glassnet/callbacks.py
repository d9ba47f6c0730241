"""Callbacks: code that `fit`, `evaluate` and `predict` run at fixed points of the loop.

The hook names, arguments and semantics are Keras 3's. The trainer drives a `CallbackList`:

    callbacks.on_train_begin()
    for epoch in range(epochs):
        callbacks.on_epoch_begin(epoch)
        for step in range(steps):
            callbacks.on_train_batch_begin(step)
            ...                                   # forward, backward, optimizer step
            callbacks.on_train_batch_end(step, {"loss": running_mean_loss, ...})
        callbacks.on_epoch_end(epoch, {"loss": ..., "val_loss": ...})
        if model.stop_training:                   # set by EarlyStopping, TerminateOnNaN
            break
    callbacks.on_train_end(logs)

Example:
    >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    >>> history = model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
    >>> history.history["val_loss"][-1]
"""

from __future__ import annotations

import csv
import inspect
import io
import math
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import numpy as np
from tqdm import tqdm

from glassnet.registry import register

Logs = dict[str, Any]

_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_batch_begin", "on_predict_batch_end", "on_batch_begin", "on_batch_end",
)  # fmt: skip


class Callback:
    """Base class: every hook is a no-op; subclasses override the ones they need.

    Attributes:
        model: the model being trained, set by `CallbackList` through `set_model`.
        params: {"verbose", "epochs", "steps"} of the current `fit`/`evaluate`/`predict`.

    `logs` hold Python floats: the running means of the loss and metrics at batch ends,
    the epoch's values (with `val_` entries when there is validation data) at epoch ends.
    """

    def __init__(self):
        self.model = None
        self.params: dict[str, Any] = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_test_begin(self, logs: Logs | None = None) -> None: ...
    def on_test_end(self, logs: Logs | None = None) -> None: ...
    def on_predict_begin(self, logs: Logs | None = None) -> None: ...
    def on_predict_end(self, logs: Logs | None = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...

    # The training batch hooks fall back on the Keras 2 names, as Keras 3 does.
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self.on_batch_end(batch, logs)


def _to_floats(logs: Logs | None) -> Logs:
    """The same dict with its scalars (NumPy or 0-d arrays) as Python floats.

    In place, so that entries callbacks add (ReduceLROnPlateau's "learning_rate") reach the
    trainer's own dict and every later callback, History included.
    """
    logs = {} if logs is None else logs
    for name, value in logs.items():
        if not isinstance(value, (str, bool)) and np.ndim(value) == 0:
            try:
                logs[name] = float(value)
            except (TypeError, ValueError):
                pass  # a non-numeric entry is passed on as it is
    return logs


class CallbackList(Callback):
    """Runs a list of callbacks as one: `callback_list.on_epoch_end(epoch, logs)` calls them all.

    Args:
        callbacks: the user's `Callback` instances (or one), called in this order.
        add_history: append a `History` (unless the list has one) and set `model.history` to it.
        add_progbar: append a `ProgbarLogger` (unless the list has one).
        model: the model, given to every callback through `set_model`.
        **params: e.g. verbose=1, epochs=10, steps=100, given through `set_params`.

    The defaults go last so they see the entries user callbacks add to the epoch logs.
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        add_history: bool = False,
        add_progbar: bool = False,
        model=None,
        **params: Any,
    ):
        super().__init__()
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]  # one callback alone, as Keras' flattening allows
        self.callbacks: list[Callback] = list(callbacks or [])
        for index, callback in enumerate(self.callbacks):
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"callbacks[{index}]: expected a glassnet.callbacks.Callback, "
                    f"got {type(callback).__name__}"
                )
        self.history = self._find_or_add(History, add_history)
        self.progbar = self._find_or_add(ProgbarLogger, add_progbar)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _find_or_add(self, cls: type, add: bool):
        for callback in self.callbacks:
            if isinstance(callback, cls):
                return callback
        if not add:
            return None
        callback = cls()
        self.callbacks.append(callback)
        return callback

    def set_model(self, model) -> None:
        super().set_model(model)
        if self.history is not None:
            model.history = self.history
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def _call(self, hook: str, *args: Any, logs: Logs | None) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=_to_floats(logs))

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=_to_floats(logs))

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=_to_floats(logs))

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=_to_floats(logs))

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=_to_floats(logs))

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=_to_floats(logs))

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=_to_floats(logs))

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=_to_floats(logs))

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs=_to_floats(logs))

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs=_to_floats(logs))

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=_to_floats(logs))

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=_to_floats(logs))

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=_to_floats(logs))

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=_to_floats(logs))

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs or {})

    def on_predict_batch_end(self, batch, logs=None):
        # Prediction logs may hold output arrays: passed on untouched, as Keras does.
        self._call("on_predict_batch_end", batch, logs=logs or {})


@register("callback")
class History(Callback):
    """Records the epoch logs: `history["val_loss"][e]` is epoch e's validation loss.

    `fit` returns this object (also at `model.history`).

    Attributes:
        history: dict name -> list of per-epoch floats.
        epoch: the 0-based indices of the recorded epochs.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            self.model.history = self


def _format_value(value: Any) -> str:
    """Keras' progress-bar format: 4 decimals, or scientific notation below 1e-3."""
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"
    return str(value)


def _format_logs(logs: Logs | None) -> str:
    """'loss: 0.1234 - accuracy: 0.9500 - val_loss: ...'"""
    return " - ".join(f"{name}: {_format_value(value)}" for name, value in (logs or {}).items())


@register("callback")
class ProgbarLogger(Callback):
    """Prints progress: a tqdm bar per epoch (verbose=1) or one line per epoch (verbose=2).

    verbose=1:  Epoch 3/10:  40%|████      | 40/100 [00:01<00:01, ..., loss: 0.1234 - ...]
    verbose=2:  Epoch 3/10 - 0.12s - loss: 0.1234 - accuracy: 0.9500 - val_loss: 0.2345
    verbose=0:  nothing.

    Validation inside `fit` is silent; `evaluate` and `predict` get their own bar.

    Args:
        count_mode: "steps" (the bar counts batches). Keras 2's "samples" is not supported.
        file: where to write; None means `sys.stdout` at the time of writing.
        mininterval: seconds between two redraws of the bar; batches in between only
            store their logs, which keeps a bar cheap next to a fast training step.
    """

    def __init__(self, count_mode: str = "steps", file: TextIO | None = None,
                 mininterval: float = 0.1):
        super().__init__()
        if count_mode != "steps":
            raise ValueError(f"ProgbarLogger: count_mode must be 'steps', got {count_mode!r}")
        self.file = file
        self.mininterval = mininterval
        self.verbose = 1
        self.epochs = 1
        self.steps: int | None = None
        self._bar: tqdm | None = None
        self._title = ""
        self._start = 0.0
        self._seen = 0
        self._last_postfix = 0.0
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs") or 1
        self.steps = params.get("steps")

    @property
    def _out(self) -> TextIO:
        return sys.stdout if self.file is None else self.file

    # --- hooks ---

    def on_train_begin(self, logs=None):
        self._in_fit = True  # validation runs inside fit are not shown

    def on_train_end(self, logs=None):
        self._close_bar()
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._begin(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._begin("Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._advance(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._begin("Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch, None)  # prediction logs hold outputs, not numbers to show

    def on_predict_end(self, logs=None):
        self._finish(None)

    # --- drawing ---

    def _begin(self, title: str) -> None:
        self._close_bar()
        self._title = title
        self._start = time.perf_counter()
        self._seen = 0
        self._last_postfix = 0.0
        if self.verbose == 1:
            self._bar = tqdm(total=self.steps, desc=title, file=self._out, unit="step",
                             mininterval=self.mininterval, leave=True)

    def _advance(self, batch: int, logs: Logs | None) -> None:
        self._seen = batch + 1
        if self._bar is None:
            return
        now = time.perf_counter()
        if logs and now - self._last_postfix >= self.mininterval:
            self._bar.set_postfix_str(_format_logs(logs), refresh=False)
            self._last_postfix = now
        self._bar.update(self._seen - self._bar.n)  # tqdm redraws at most every mininterval

    def _finish(self, logs: Logs | None) -> None:
        if self.verbose == 1 and self._bar is not None:
            if self._bar.total is None:
                self._bar.total = self._seen  # the step count is known now
            self._bar.update(self._seen - self._bar.n)
            self._bar.set_postfix_str(_format_logs(logs), refresh=False)
            self._close_bar()  # close draws the final state
        elif self.verbose == 2:
            elapsed = time.perf_counter() - self._start
            parts = [self._title, f"{elapsed:.2f}s"] + ([_format_logs(logs)] if logs else [])
            print(" - ".join(parts), file=self._out, flush=True)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


# --- monitoring a quantity: shared by EarlyStopping, ModelCheckpoint, ReduceLROnPlateau ---

# Metric names for which higher is better; every other quantity (losses, errors) is minimized.
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2_score")


def _resolve_mode(monitor: str, mode: str, owner: str) -> str:
    """'min' or 'max'. mode="auto": 'max' for accuracy-like names ("val_accuracy", "auc")."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "max" if any(marker in name for marker in _HIGHER_IS_BETTER) else "min"


def _is_improvement(current: float, reference: float | None, mode: str, min_delta: float) -> bool:
    """current beats reference by more than min_delta >= 0.

    min: current < reference - min_delta;  max: current > reference + min_delta.
    No reference yet (None) counts as an improvement.
    """
    if reference is None:
        return True
    if mode == "min":
        return current < reference - min_delta
    return current > reference + min_delta


def _learning_rate(model) -> float:
    return float(model.optimizer.learning_rate)


@register("callback")
class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved for `patience` epochs.

    Each monitored epoch adds 1 to `wait`; an improvement over the best value by more than
    `min_delta` sets `wait` back to 0 (only if it also beats `baseline`, when one is given).
    Training stops once wait >= patience (never after the first epoch).

    Args:
        monitor: the log entry to watch, e.g. "val_loss", "val_accuracy".
        min_delta: smallest change that counts as an improvement (its sign is ignored).
        patience: epochs without improvement before stopping.
        verbose: 1 prints the epoch of stopping and of the restored weights.
        mode: "min", "max" or "auto" (max for accuracy-like names, else min).
        baseline: a value the monitor must beat for `wait` to reset.
        restore_best_weights: at the end of training, set the weights of the best epoch,
            whether or not training stopped early (Keras 3 behaviour).
        start_from_epoch: warm-up epochs that are not monitored.

    Attributes:
        stopped_epoch: the 0-based epoch at which training stopped (0 if it did not).
        best, best_epoch, wait: the state described above.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.mode = _resolve_mode(monitor, mode, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        # Reset, so that one instance can serve several fits.
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _monitor_value(logs, self.monitor, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # the first monitored epoch
            self.best_epoch = epoch

        self.wait += 1
        if _is_improvement(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or _is_improvement(
                current, self.baseline, self.mode, self.min_delta
            ):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def _monitor_value(logs: Logs | None, monitor: str, what: str) -> float | None:
    """logs[monitor], or None with a warning that lists the available entries."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(
            f"{what} conditioned on metric `{monitor}` which is not available. "
            f"Available metrics are: {','.join(logs)}",
            stacklevel=3,
        )
    return value


@register("callback")
class ModelCheckpoint(Callback):
    """Saves the model (or its weights) every epoch or every `save_freq` batches.

    Args:
        filepath: where to save; may hold format fields filled from the epoch (1-based) and
            the logs, e.g. "ckpt/{epoch:02d}-{val_loss:.2f}.glassnet". Must end in
            ".weights.npz" when save_weights_only, else in ".glassnet".
        monitor: the log entry compared when save_best_only.
        verbose: 1 prints a line on each save decision.
        save_best_only: save only when `monitor` improves on the best value so far.
        save_weights_only: `model.save_weights(path)` instead of `model.save(path)`.
        mode: "min", "max" or "auto", as in EarlyStopping.
        save_freq: "epoch", or an int N: save after every N training batches.
        initial_value_threshold: the starting "best" value for save_best_only.
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _resolve_mode(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold
        self.save_freq = save_freq
        _check_save_freq(save_freq)
        _check_checkpoint_path(self.filepath, save_weights_only)
        self._current_epoch = 0
        self._batches_since_save = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch: int, batch: int | None, logs: Logs | None) -> None:
        logs = logs or {}
        filepath = self._format_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath)
        else:
            self.model.save(filepath)

    def _format_path(self, epoch: int, batch: int | None, logs: Logs) -> str:
        fields = dict(logs, epoch=epoch + 1)  # epochs and batches are 1-based in file names
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise KeyError(
                f"ModelCheckpoint: cannot format filepath {self.filepath!r}: no log entry "
                f"{error}; available: {', '.join(fields)}"
            ) from error

    def _should_save(self, epoch: int, logs: Logs, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.",
                          stacklevel=4)
            return True
        best_text = "None" if self.best is None else f"{self.best:.5f}"
        if _is_improvement(current, self.best, self.mode, 0.0):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False


def _check_save_freq(save_freq: Any) -> None:
    is_count = isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
    if save_freq != "epoch" and not is_count:
        raise ValueError(
            f"ModelCheckpoint: save_freq must be 'epoch' or a positive int, got {save_freq!r}"
        )


def _check_checkpoint_path(filepath: str, save_weights_only: bool) -> None:
    ending = ".weights.npz" if save_weights_only else ".glassnet"
    if not filepath.endswith(ending):
        what = "weights (save_weights_only=True)" if save_weights_only else "a model"
        raise ValueError(
            f"ModelCheckpoint: the filepath of {what} must end in {ending!r}, "
            f"got filepath={filepath!r}"
        )


@register("callback")
class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by `factor` when `monitor` stops improving.

    After `patience` epochs without an improvement larger than `min_delta`:
    lr <- max(lr * factor, min_lr); then `cooldown` epochs pass before counting again.
    Adds "learning_rate" (the rate used in the epoch) to the epoch logs.

    Args:
        monitor: the log entry to watch.
        factor: the multiplier, in [0, 1).
        patience: epochs without improvement before a reduction.
        verbose: 1 prints each reduction.
        mode: "min", "max" or "auto", as in EarlyStopping.
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs after a reduction during which no wait is counted.
        min_lr: lower bound on the learning rate.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.mode = _resolve_mode(monitor, mode, "ReduceLROnPlateau")
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        logs["learning_rate"] = _learning_rate(self.model)
        current = _monitor_value(logs, self.monitor, "Learning rate reduction")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if _is_improvement(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _reduce(self, epoch: int) -> None:
        old_lr = _learning_rate(self.model)
        # Compared in float32, the precision the rate is kept in: an lr stored as float32(min_lr)
        # must count as already at the floor.
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            self.model.optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0


@register("callback")
class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch: lr = schedule(epoch, lr).

    Args:
        schedule: a function (epoch: int 0-based, lr: float) -> float; a one-argument
            function schedule(epoch) is accepted too (Keras' older form).
        verbose: 1 prints the new rate each epoch.

    Example:
        >>> LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.9)
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        if _takes_two_arguments(self.schedule):
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {learning_rate!r}"
            )
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(learning_rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model)


def _takes_two_arguments(function: Callable) -> bool:
    """Whether function(epoch, lr) is a valid call (else it is called as function(epoch))."""
    try:
        inspect.signature(function).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:
        return True  # no signature to inspect (some builtins): assume the current form
    return True


@register("callback")
class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite.

    Args:
        raise_error: raise RuntimeError at once instead of setting `model.stop_training`
            (which lets the other callbacks' `on_train_end` run).
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


@register("callback")
class CSVLogger(Callback):
    """Writes the epoch logs to a CSV file: a header "epoch,<names...>", then one row an epoch.

    The columns are "epoch" (0-based, as Keras writes it) and the first epoch's log names in
    sorted order; a name missing later is written "NA". The whole file is rewritten through a
    temporary file after each epoch, so the file on disk is always complete.

    Args:
        filename: the CSV file.
        separator: the field delimiter.
        append: keep the rows of an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self._text = ""

    def on_train_begin(self, logs=None):
        self.keys = None
        self._text = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as file:
                self._text = file.read()
            if self._text and not self._text.endswith("\n"):
                self._text += "\n"

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not self._text:  # a new file, or an empty one being appended to
                self._text += self._row(["epoch", *self.keys])
        values = [_csv_value(logs.get(name, "NA")) for name in self.keys]
        self._text += self._row([epoch, *values])
        _write_atomically(self.filename, self._text)

    def _row(self, fields: list) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.sep, lineterminator="\n").writerow(fields)
        return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    """Lists and arrays as "[a, b]" (one field), everything else as it is."""
    if isinstance(value, str) or np.ndim(value) == 0:
        return value
    return "[" + ", ".join(map(str, np.ravel(value).tolist())) + "]"


def _write_atomically(path: str, text: str) -> None:
    """Write to a temporary file in the same folder, then rename it over `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".csv")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


@register("callback")
class LambdaCallback(Callback):
    """A callback made of plain functions.

    Args:
        on_epoch_begin, on_epoch_end: f(epoch, logs).
        on_train_batch_begin, on_train_batch_end: f(batch, logs).
        on_train_begin, on_train_end: f(logs).
        **kwargs: any other hook by name (on_test_begin=f(logs), on_predict_batch_end=
            f(batch, logs), ...).

    Example:
        >>> LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs: Callable):
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(
                f"LambdaCallback: unknown hook(s) {unknown}; valid hooks: {', '.join(_HOOKS)}"
            )
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)  # the instance attribute shadows the no-op method


__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN", "CSVLogger",
    "LambdaCallback", "BackupAndRestore",
]  # fmt: skip

from glassnet.backup import BackupAndRestore  # noqa: E402,F401  (it subclasses Callback)
