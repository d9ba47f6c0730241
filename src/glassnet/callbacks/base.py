"""The callback interface: every hook that `fit`, `evaluate` and `predict` call, as no-ops.

Hook names, arguments and semantics are Keras 3's; `callback_list.py` runs a list of them.
"""

from __future__ import annotations

from typing import Any

Logs = dict[str, Any]

# Every hook a callback can implement (LambdaCallback accepts these names).
HOOKS = (
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


__all__ = ["HOOKS", "Callback", "Logs"]
