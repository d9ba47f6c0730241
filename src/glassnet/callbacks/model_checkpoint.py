"""ModelCheckpoint: save the model (or its weights) every epoch or every N batches."""

from __future__ import annotations

import os
import warnings

from glassnet.callbacks.base import Callback, Logs
from glassnet.callbacks.monitor import is_improvement, resolve_mode, save_frequency
from glassnet.registry import register


@register("callback")
class ModelCheckpoint(Callback):
    """Saves the model (or its weights) every epoch or every `save_freq` batches.

    Args:
        filepath: where to save; may hold format fields filled from the epoch (1-based) and
            the logs, e.g. "ckpt/{epoch:02d}-{val_loss:.2f}.glassnet". Must end in
            ".weights.npz" (or Keras' ".weights.h5") when save_weights_only, else in
            ".glassnet" (or Keras' ".keras").
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
        self.mode = resolve_mode(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold
        self.save_freq = save_frequency("ModelCheckpoint", save_freq)
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
        if is_improvement(current, self.best, self.mode, 0.0):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False


def _check_checkpoint_path(filepath: str, save_weights_only: bool) -> None:
    # glassnet's own format, or Keras 3's (which `model.save` / `save_weights` also write)
    endings = (".weights.npz", ".weights.h5") if save_weights_only else (".glassnet", ".keras")
    if not filepath.endswith(endings):
        what = "weights (save_weights_only=True)" if save_weights_only else "a model"
        raise ValueError(
            f"ModelCheckpoint: the filepath of {what} must end in {endings[0]!r} or "
            f"{endings[1]!r}, got filepath={filepath!r}"
        )


__all__ = ["ModelCheckpoint"]
