"""History: the per-epoch logs of a `fit`, which `fit` returns."""

from __future__ import annotations

from glassnet.callbacks.base import Callback
from glassnet.registry import register


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


__all__ = ["History"]
