"""CallbackList: the trainer's one handle on the user's callbacks, History and the progress bar."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from glassnet.callbacks.base import Callback, Logs
from glassnet.callbacks.history import History
from glassnet.callbacks.progbar_logger import ProgbarLogger


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


__all__ = ["CallbackList"]
