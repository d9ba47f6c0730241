"""A fake model and the trainer's loop with scripted logs, to drive callbacks without training."""

from __future__ import annotations

import numpy as np

from glassnet import callbacks as cb


class FakeOptimizer:
    def __init__(self, learning_rate: float = 1.0):
        self.learning_rate = learning_rate
        self.iterations = 0


class FakeModel:
    """The attributes callbacks use; each epoch of `run_fit` sets the weights to [epoch, epoch]."""

    def __init__(self, learning_rate: float = 1.0):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.weights = [np.zeros(2, dtype="float32")]
        self.saved: list[tuple[str, str]] = []
        self.history = None

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, filepath):
        self.saved.append(("model", filepath))
        with open(filepath, "w") as file:
            file.write("model")

    def save_weights(self, filepath):
        self.saved.append(("weights", filepath))
        with open(filepath, "w") as file:
            file.write("weights")


def run_fit(callbacks, epoch_logs, model=None, steps=2, batch_logs=None, verbose=0):
    """The Keras trainer loop with scripted logs. Returns (model, number of epochs run).

    epoch_logs: one dict per epoch; batch_logs: optional function (epoch, step) -> dict.
    """
    model = model or FakeModel()
    model.stop_training = False
    epochs = len(epoch_logs)
    callback_list = cb.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                    model=model, verbose=verbose, epochs=epochs, steps=steps)
    callback_list.on_train_begin()
    ran = 0
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        for step in range(steps):
            callback_list.on_train_batch_begin(step)
            model.weights = [np.full(2, epoch, dtype="float32")]
            logs = batch_logs(epoch, step) if batch_logs else {"loss": 1.0}
            callback_list.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        callback_list.on_epoch_end(epoch, dict(epoch_logs[epoch]))
        ran += 1
        if model.stop_training:
            break
    callback_list.on_train_end()
    return model, ran


def val_losses(*values):
    return [{"loss": 1.0, "val_loss": value} for value in values]
