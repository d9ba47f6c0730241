"""CallbackList and History, driven the way `fit` drives them, on a fake model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _fake_fit import FakeModel, run_fit, val_losses

from glassnet import callbacks as cb
from glassnet import registry


class Recorder(cb.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(f"batch_end {batch} {logs['loss']}")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(f"epoch_end {epoch}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_callback_list_sets_model_params_and_calls_hooks_in_order():
    recorder = Recorder()
    model, _ = run_fit([recorder], val_losses(0.5, 0.4), steps=2)
    assert recorder.model is model
    assert recorder.params == {"verbose": 0, "epochs": 2, "steps": 2}
    assert recorder.calls == [
        "train_begin",
        "epoch_begin 0", "batch_end 0 1.0", "batch_end 1 1.0", "epoch_end 0",
        "epoch_begin 1", "batch_end 0 1.0", "batch_end 1 1.0", "epoch_end 1",
        "train_end",
    ]  # fmt: skip


def test_callback_list_adds_one_history_and_sets_model_history():
    model = FakeModel()
    own = cb.History()
    callback_list = cb.CallbackList([own], add_history=True, add_progbar=True, model=model)
    assert callback_list.history is own and model.history is own
    assert sum(isinstance(c, cb.History) for c in callback_list.callbacks) == 1
    assert sum(isinstance(c, cb.ProgbarLogger) for c in callback_list.callbacks) == 1
    assert cb.CallbackList([], model=model).callbacks == []
    assert cb.CallbackList(own).callbacks == [own]


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(TypeError, match=r"callbacks\[1\]"):
        cb.CallbackList([cb.History(), lambda epoch: None])


def test_callback_list_converts_numpy_scalars_to_floats():
    seen = []
    lam = cb.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    logs = {"loss": np.float32(0.5), "accuracy": np.array(0.25), "name": "x"}
    cb.CallbackList([lam]).on_epoch_end(0, logs)
    assert type(seen[0]["loss"]) is float and type(seen[0]["accuracy"]) is float
    assert seen[0] == {"loss": 0.5, "accuracy": 0.25, "name": "x"}


def test_history_records_every_epoch_and_entries_added_by_callbacks():
    logs = [{"loss": 0.9, "val_loss": 1.0}, {"loss": 0.8, "val_loss": 0.7}]
    scheduler = cb.LearningRateScheduler(lambda epoch, lr: lr / 2)
    model, _ = run_fit([scheduler], logs, model=FakeModel(learning_rate=1.0))
    history = model.history
    assert isinstance(history, cb.History)
    assert history.epoch == [0, 1]
    assert history.history == {"loss": [0.9, 0.8], "val_loss": [1.0, 0.7],
                               "learning_rate": [0.5, 0.25]}
    assert history.params["epochs"] == 2


def test_callbacks_are_registered():
    for name in ("History", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau",
                 "LearningRateScheduler", "TerminateOnNaN", "CSVLogger", "LambdaCallback",
                 "ProgbarLogger"):
        assert registry.lookup("callback", name) is getattr(cb, name)


def test_no_warnings_in_a_plain_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_fit([cb.EarlyStopping(), cb.ReduceLROnPlateau(), cb.TerminateOnNaN()],
                val_losses(1.0, 0.5))
