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

One callback a file; `monitor.py` holds what the monitoring ones share.

Example:
    >>> stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    >>> history = model.fit(x, y, validation_split=0.2, epochs=100, callbacks=[stop])
    >>> history.history["val_loss"][-1]
"""

from glassnet.callbacks.backup_and_restore import BackupAndRestore
from glassnet.callbacks.base import Callback
from glassnet.callbacks.base import Logs as Logs
from glassnet.callbacks.callback_list import CallbackList
from glassnet.callbacks.csv_logger import CSVLogger
from glassnet.callbacks.early_stopping import EarlyStopping
from glassnet.callbacks.history import History
from glassnet.callbacks.lambda_callback import LambdaCallback
from glassnet.callbacks.learning_rate_scheduler import LearningRateScheduler
from glassnet.callbacks.model_checkpoint import ModelCheckpoint
from glassnet.callbacks.progbar_logger import ProgbarLogger
from glassnet.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from glassnet.callbacks.tensorboard import TensorBoard
from glassnet.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "TerminateOnNaN", "CSVLogger",
    "LambdaCallback", "BackupAndRestore", "TensorBoard",
]  # fmt: skip
