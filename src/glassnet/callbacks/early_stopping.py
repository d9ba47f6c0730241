"""EarlyStopping: stop training when a monitored quantity has stopped improving."""

from __future__ import annotations

from glassnet.callbacks.base import Callback
from glassnet.callbacks.monitor import is_improvement, monitor_value, resolve_mode
from glassnet.registry import register


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
        self.mode = resolve_mode(monitor, mode, "EarlyStopping")
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
        current = monitor_value(logs, self.monitor, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # the first monitored epoch
            self.best_epoch = epoch

        self.wait += 1
        if is_improvement(current, self.best, self.mode, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or is_improvement(
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


__all__ = ["EarlyStopping"]
