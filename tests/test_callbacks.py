"""Callbacks driven by a CallbackList the way `fit` drives them, on a fake model."""

from __future__ import annotations

import csv
import io
import math
import re
import warnings

import numpy as np
import pytest

from glassnet import callbacks as cb
from glassnet import registry


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


# --- CallbackList and History ---


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


# --- EarlyStopping ---


def test_early_stopping_counts_patience_from_the_best_epoch():
    stop = cb.EarlyStopping(patience=2)
    model, ran = run_fit([stop], val_losses(1.0, 0.9, 0.95, 0.96, 0.97, 0.5))
    # best at epoch 1; epochs 2 and 3 do not improve: stop at the end of epoch 3
    assert ran == 4 and stop.stopped_epoch == 3 and model.stop_training
    assert stop.best == 0.9 and stop.best_epoch == 1


def test_early_stopping_patience_zero_stops_at_first_non_improvement():
    stop = cb.EarlyStopping(patience=0)
    _, ran = run_fit([stop], val_losses(1.0, 0.8, 0.8, 0.5))
    assert ran == 3 and stop.stopped_epoch == 2  # equal is not better


def test_early_stopping_does_not_stop_while_improving():
    stop = cb.EarlyStopping(patience=1)
    model, ran = run_fit([stop], val_losses(1.0, 0.9, 0.8, 0.7))
    assert ran == 4 and stop.stopped_epoch == 0 and not model.stop_training


def test_early_stopping_min_delta():
    losses = val_losses(1.0, 0.95, 0.9, 0.85)
    large = cb.EarlyStopping(patience=1, min_delta=0.1)
    _, ran = run_fit([large], losses)
    assert ran == 2  # 0.95 is not below 1.0 - 0.1
    small = cb.EarlyStopping(patience=1, min_delta=-0.01)  # the sign is ignored
    _, ran = run_fit([small], losses)
    assert ran == 4


@pytest.mark.parametrize(
    "monitor, expected",
    [("val_loss", "min"), ("loss", "min"), ("val_mae", "min"), ("accuracy", "max"),
     ("val_accuracy", "max"), ("val_acc", "max"), ("auc", "max"),
     ("val_sparse_categorical_accuracy", "max"), ("val_mean_squared_error", "min")],
)
def test_auto_mode_from_the_monitor_name(monitor, expected):
    assert cb.EarlyStopping(monitor=monitor).mode == expected
    assert cb.ModelCheckpoint("m.glassnet", monitor=monitor).mode == expected
    assert cb.ReduceLROnPlateau(monitor=monitor).mode == expected


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="mode 'best' is unknown"):
        stop = cb.EarlyStopping(monitor="val_accuracy", mode="best")
    assert stop.mode == "max"


def test_early_stopping_max_mode():
    logs = [{"val_accuracy": value} for value in (0.5, 0.6, 0.55, 0.58, 0.9)]
    stop = cb.EarlyStopping(monitor="val_accuracy", patience=2)
    _, ran = run_fit([stop], logs)
    assert ran == 4 and stop.best == 0.6
    forced_min = cb.EarlyStopping(monitor="val_accuracy", patience=2, mode="min")
    _, ran = run_fit([forced_min], logs)
    assert ran == 3 and forced_min.best == 0.5  # 0.6 and 0.55 are "worse" than 0.5


def test_early_stopping_baseline_must_be_beaten_to_reset_patience():
    losses = val_losses(0.8, 0.9, 0.9, 0.9, 0.9)
    with_baseline = cb.EarlyStopping(patience=3, baseline=0.5)
    _, ran = run_fit([with_baseline], losses)
    assert ran == 3  # epoch 0 improved on nothing but did not beat 0.5: it counts as waiting
    without = cb.EarlyStopping(patience=3)
    _, ran = run_fit([without], losses)
    assert ran == 4


def test_early_stopping_baseline_beaten_resets_patience():
    stop = cb.EarlyStopping(patience=2, baseline=0.5)
    _, ran = run_fit([stop], val_losses(0.8, 0.4, 0.45, 0.45, 0.45))
    assert ran == 4 and stop.best == 0.4


def test_early_stopping_restores_the_best_epochs_weights_when_stopping():
    stop = cb.EarlyStopping(patience=2, restore_best_weights=True)
    model, ran = run_fit([stop], val_losses(1.0, 0.5, 0.7, 0.8, 0.1))
    assert ran == 4
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])  # weights of epoch 1


def test_early_stopping_restores_best_weights_without_stopping_early():
    stop = cb.EarlyStopping(patience=10, restore_best_weights=True)
    model, ran = run_fit([stop], val_losses(1.0, 0.5, 0.7))
    assert ran == 3 and stop.stopped_epoch == 0
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])


def test_early_stopping_keeps_last_weights_without_restore():
    stop = cb.EarlyStopping(patience=2)
    model, _ = run_fit([stop], val_losses(1.0, 0.5, 0.7, 0.8))
    np.testing.assert_array_equal(model.weights[0], [3.0, 3.0])


def test_early_stopping_start_from_epoch_skips_warm_up():
    losses = val_losses(0.1, 1.0, 1.1, 1.2)
    warm = cb.EarlyStopping(patience=1, start_from_epoch=1)
    _, ran = run_fit([warm], losses)
    assert ran == 3 and warm.best == 1.0
    cold = cb.EarlyStopping(patience=1)
    _, ran = run_fit([cold], losses)
    assert ran == 2


def test_early_stopping_missing_monitor_warns_and_never_stops():
    stop = cb.EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match="`val_loss` which is not available.*loss"):
        _, ran = run_fit([stop], [{"loss": 1.0}] * 3)
    assert ran == 3


def test_early_stopping_is_reset_by_a_new_fit(capsys):
    stop = cb.EarlyStopping(patience=1, verbose=1)
    run_fit([stop], val_losses(0.1, 0.2, 0.3))
    assert "Epoch 2: early stopping" in capsys.readouterr().out
    _, ran = run_fit([stop], val_losses(0.9, 0.8, 0.7))
    assert ran == 3 and stop.stopped_epoch == 0 and stop.best == 0.7


# --- ModelCheckpoint ---


def test_model_checkpoint_formats_epoch_and_logs_into_the_path(tmp_path):
    pattern = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.glassnet")
    model, _ = run_fit([cb.ModelCheckpoint(pattern)], val_losses(0.5, 0.333, 0.7))
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["ckpt-01-0.50.glassnet", "ckpt-02-0.33.glassnet", "ckpt-03-0.70.glassnet"]
    assert [kind for kind, _ in model.saved] == ["model"] * 3


def test_model_checkpoint_save_best_only(tmp_path):
    pattern = str(tmp_path / "{epoch}.glassnet")
    checkpoint = cb.ModelCheckpoint(pattern, save_best_only=True)
    run_fit([checkpoint], val_losses(0.5, 0.6, 0.4, 0.45, 0.4))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["1.glassnet", "3.glassnet"]
    assert checkpoint.best == 0.4


def test_model_checkpoint_save_best_only_max_mode_and_threshold(tmp_path):
    pattern = str(tmp_path / "{epoch}.weights.npz")
    checkpoint = cb.ModelCheckpoint(pattern, monitor="val_accuracy", save_best_only=True,
                                    save_weights_only=True, initial_value_threshold=0.55)
    logs = [{"val_accuracy": value} for value in (0.5, 0.6, 0.58, 0.7)]
    model, _ = run_fit([checkpoint], logs)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["2.weights.npz", "4.weights.npz"]
    assert {kind for kind, _ in model.saved} == {"weights"}


def test_model_checkpoint_best_only_without_monitor_warns_and_saves(tmp_path):
    checkpoint = cb.ModelCheckpoint(str(tmp_path / "m.glassnet"), save_best_only=True)
    with pytest.warns(UserWarning, match="only with val_loss available"):
        model, _ = run_fit([checkpoint], [{"loss": 1.0}])
    assert len(model.saved) == 1


def test_model_checkpoint_save_freq_counts_batches_across_epochs(tmp_path):
    pattern = str(tmp_path / "e{epoch}-b{batch}.glassnet")
    checkpoint = cb.ModelCheckpoint(pattern, save_freq=3)
    run_fit([checkpoint], val_losses(1.0, 1.0), steps=4)
    # batches 1..8 overall: saves after the 3rd (epoch 1, batch 3) and the 6th (epoch 2, batch 2)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["e1-b3.glassnet",
                                                                "e2-b2.glassnet"]


def test_model_checkpoint_creates_the_folder(tmp_path):
    path = tmp_path / "a" / "b" / "model.glassnet"
    run_fit([cb.ModelCheckpoint(path)], val_losses(1.0))
    assert path.read_text() == "model"


@pytest.mark.parametrize(
    "filepath, weights_only",
    [("m.keras", False), ("m.weights.npz", False), ("m.glassnet", True), ("m.npz", True),
     ("m.weights.h5", True)],
)
def test_model_checkpoint_rejects_wrong_extensions(filepath, weights_only):
    with pytest.raises(ValueError, match="must end in"):
        cb.ModelCheckpoint(filepath, save_weights_only=weights_only)


@pytest.mark.parametrize("save_freq", ["steps", 0, -2, 1.5, True])
def test_model_checkpoint_rejects_bad_save_freq(save_freq):
    with pytest.raises(ValueError, match="save_freq"):
        cb.ModelCheckpoint("m.glassnet", save_freq=save_freq)


def test_model_checkpoint_missing_format_field_names_it(tmp_path):
    checkpoint = cb.ModelCheckpoint(str(tmp_path / "{val_auc:.2f}.glassnet"))
    with pytest.raises(KeyError, match="val_auc"):
        run_fit([checkpoint], val_losses(1.0))


# --- ReduceLROnPlateau ---


def test_reduce_lr_rejects_factor_at_least_one():
    with pytest.raises(ValueError, match="factor=1.0"):
        cb.ReduceLROnPlateau(factor=1.0)


def test_reduce_lr_after_patience_and_logs_the_rate_used():
    reduce = cb.ReduceLROnPlateau(factor=0.5, patience=2)
    model, _ = run_fit([reduce], val_losses(1, 1, 1, 1, 1), model=FakeModel(1.0))
    # epoch 0 sets best; epochs 1, 2 wait -> reduce after epoch 2; epochs 3, 4 -> again
    assert model.history.history["learning_rate"] == [1.0, 1.0, 1.0, 0.5, 0.5]
    assert model.optimizer.learning_rate == 0.25


def test_reduce_lr_cooldown_suspends_waiting():
    reduce = cb.ReduceLROnPlateau(factor=0.5, patience=1, cooldown=2)
    model, _ = run_fit([reduce], val_losses(*[1.0] * 6), model=FakeModel(1.0))
    # reductions after epochs 1, 3, 5: the epoch after each is spent in cooldown
    assert model.history.history["learning_rate"] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert model.optimizer.learning_rate == 0.125
    no_cooldown = cb.ReduceLROnPlateau(factor=0.5, patience=1)
    model, _ = run_fit([no_cooldown], val_losses(*[1.0] * 6), model=FakeModel(1.0))
    assert model.optimizer.learning_rate == 0.5**5


def test_reduce_lr_respects_min_lr():
    reduce = cb.ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.05)
    model, _ = run_fit([reduce], val_losses(*[1.0] * 5), model=FakeModel(1.0))
    assert model.history.history["learning_rate"] == [1.0, 1.0, pytest.approx(0.1), 0.05, 0.05]
    assert model.optimizer.learning_rate == 0.05


def test_reduce_lr_min_delta_ignores_tiny_improvements():
    losses = val_losses(1.0, 0.99995, 0.9999, 0.99985)
    strict = cb.ReduceLROnPlateau(factor=0.5, patience=1)  # min_delta=1e-4
    model, _ = run_fit([strict], losses, model=FakeModel(1.0))
    assert model.optimizer.learning_rate < 1.0
    loose = cb.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.0)
    model, _ = run_fit([loose], losses, model=FakeModel(1.0))
    assert model.optimizer.learning_rate == 1.0


def test_reduce_lr_max_mode_for_accuracy():
    logs = [{"val_accuracy": value} for value in (0.5, 0.6, 0.7, 0.7)]
    reduce = cb.ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1, min_delta=0)
    model, _ = run_fit([reduce], logs, model=FakeModel(1.0))
    assert model.history.history["learning_rate"] == [1.0, 1.0, 1.0, 1.0]
    assert model.optimizer.learning_rate == 0.5  # only the last epoch did not improve


def test_reduce_lr_missing_monitor_warns_but_logs_rate():
    with pytest.warns(UserWarning, match="Learning rate reduction"):
        model, _ = run_fit([cb.ReduceLROnPlateau(patience=0)], [{"loss": 1.0}] * 2)
    assert model.history.history["learning_rate"] == [1.0, 1.0]


# --- LearningRateScheduler ---


def test_scheduler_sets_rate_at_epoch_begin(capsys):
    seen = []
    spy = cb.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer
                                                                             .learning_rate))
    scheduler = cb.LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr * 0.1,
                                         verbose=1)
    model = FakeModel(1.0)
    run_fit([scheduler, spy], val_losses(1, 1, 1, 1), model=model)
    assert seen == [1.0, 1.0, pytest.approx(0.1), pytest.approx(0.01)]
    assert "Epoch 3: LearningRateScheduler setting learning rate to 0.1" in capsys.readouterr().out


def test_scheduler_accepts_one_argument_schedules():
    model, _ = run_fit([cb.LearningRateScheduler(lambda epoch: 0.5 / (epoch + 1))],
                       val_losses(1, 1), model=FakeModel(1.0))
    assert model.optimizer.learning_rate == 0.25
    assert model.history.history["learning_rate"] == [0.5, 0.25]


def test_scheduler_rejects_a_non_float_rate():
    with pytest.raises(ValueError, match="should be a float"):
        run_fit([cb.LearningRateScheduler(lambda epoch, lr: 1)], val_losses(1))
    with pytest.raises(ValueError, match="should be a float"):
        run_fit([cb.LearningRateScheduler(lambda epoch, lr: None)], val_losses(1))
    model, _ = run_fit([cb.LearningRateScheduler(lambda epoch, lr: np.float32(0.5))],
                       val_losses(1))
    assert model.optimizer.learning_rate == 0.5 and type(model.optimizer.learning_rate) is float


# --- TerminateOnNaN ---


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float32("nan")])
def test_terminate_on_nan_stops_at_the_bad_batch(capsys, bad):
    def batch_logs(epoch, step):
        return {"loss": bad if (epoch, step) == (1, 2) else 0.5}

    model, ran = run_fit([cb.TerminateOnNaN()], val_losses(1, 1, 1), steps=4,
                         batch_logs=batch_logs)
    assert model.stop_training and ran == 2
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_ignores_finite_losses():
    model, ran = run_fit([cb.TerminateOnNaN()], val_losses(1, 1),
                         batch_logs=lambda epoch, step: {"loss": 1e30})
    assert not model.stop_training and ran == 2


def test_terminate_on_nan_can_raise():
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        run_fit([cb.TerminateOnNaN(raise_error=True)], val_losses(1),
                batch_logs=lambda epoch, step: {"loss": math.nan})


# --- CSVLogger ---


def read_rows(path, separator=","):
    with open(path, newline="") as file:
        return list(csv.reader(file, delimiter=separator))


def test_csv_logger_writes_header_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "log.csv"
    rows_after_first_epoch = []
    spy = cb.LambdaCallback(
        on_epoch_end=lambda epoch, logs: rows_after_first_epoch.append(len(read_rows(path)))
    )
    logs = [{"loss": 0.5, "accuracy": 0.75, "val_loss": 0.25},
            {"loss": 0.25, "accuracy": 0.875}]
    run_fit([cb.CSVLogger(path), spy], logs)
    assert read_rows(path) == [
        ["epoch", "accuracy", "loss", "val_loss"],
        ["0", "0.75", "0.5", "0.25"],
        ["1", "0.875", "0.25", "NA"],
    ]
    assert rows_after_first_epoch == [2, 3]  # on disk after every epoch
    assert not [p for p in tmp_path.iterdir() if p.name != "log.csv"]  # no temporary left


def test_csv_logger_append_and_overwrite(tmp_path):
    path = tmp_path / "log.csv"
    run_fit([cb.CSVLogger(path, separator=";")], val_losses(0.5))
    run_fit([cb.CSVLogger(path, separator=";", append=True)], val_losses(0.25, 0.125))
    assert read_rows(path, ";") == [
        ["epoch", "loss", "val_loss"],
        ["0", "1.0", "0.5"],
        ["0", "1.0", "0.25"],
        ["1", "1.0", "0.125"],
    ]
    run_fit([cb.CSVLogger(path, separator=";")], val_losses(2.0))
    assert read_rows(path, ";") == [["epoch", "loss", "val_loss"], ["0", "1.0", "2.0"]]


def test_csv_logger_append_to_a_new_file_writes_a_header(tmp_path):
    path = tmp_path / "new.csv"
    run_fit([cb.CSVLogger(path, append=True)], [{"loss": 0.5}])
    assert read_rows(path) == [["epoch", "loss"], ["0", "0.5"]]


# --- LambdaCallback ---


def test_lambda_callback_calls_the_given_functions():
    calls = []
    lam = cb.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["val_loss"])),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch)),
        on_train_end=lambda logs: calls.append("train_end"),
        on_test_begin=lambda logs: calls.append("test_begin"),
    )
    run_fit([lam], val_losses(0.5), steps=2)
    assert calls == ["train_begin", ("batch_end", 0), ("batch_end", 1),
                     ("epoch_end", 0, 0.5), "train_end"]
    cb.CallbackList([lam]).on_test_begin()
    assert calls[-1] == "test_begin"


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="on_epoch_finish"):
        cb.LambdaCallback(on_epoch_finish=print)


# --- ProgbarLogger ---


def drawn_lines(out: io.StringIO) -> list[str]:
    """What a terminal shows: each line as its last redraw (tqdm redraws after a '\\r')."""
    return [line.split("\r")[-1] for line in out.getvalue().split("\n") if line]


def test_progbar_verbose_2_prints_one_line_per_epoch():
    out = io.StringIO()
    logs = [{"loss": 0.5, "accuracy": 0.95, "val_loss": 0.00001},
            {"loss": 0.25, "accuracy": 0.975, "val_loss": 0.125}]
    run_fit([cb.ProgbarLogger(file=out)], logs, verbose=2, steps=3)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"Epoch 1/2 - \d+\.\d\ds - loss: 0\.5000 - accuracy: 0\.9500 - "
                        r"val_loss: 1\.0000e-05", lines[0])
    assert re.fullmatch(r"Epoch 2/2 - \d+\.\d\ds - loss: 0\.2500 - accuracy: 0\.9750 - "
                        r"val_loss: 0\.1250", lines[1])


def test_progbar_verbose_1_draws_a_bar_per_epoch_with_the_final_logs():
    out = io.StringIO()
    logs = [{"loss": 0.5, "val_loss": 0.75}, {"loss": 0.25, "val_loss": 0.625}]
    run_fit([cb.ProgbarLogger(file=out)], logs, verbose=1, steps=3,
            batch_logs=lambda epoch, step: {"loss": 0.1 * (step + 1)})
    final_lines = drawn_lines(out)
    assert len(final_lines) == 2  # one bar per epoch, left on screen
    assert final_lines[0].startswith("Epoch 1/2") and "3/3" in final_lines[0]
    assert "loss: 0.5000 - val_loss: 0.7500" in final_lines[0]
    assert final_lines[1].startswith("Epoch 2/2")
    assert "loss: 0.2500 - val_loss: 0.6250" in final_lines[1]


def test_progbar_verbose_0_prints_nothing():
    out = io.StringIO()
    callback_list = cb.CallbackList([cb.ProgbarLogger(file=out)], verbose=0, epochs=1, steps=2)
    callback_list.on_train_begin()
    callback_list.on_epoch_begin(0)
    callback_list.on_train_batch_end(0, {"loss": 1.0})
    callback_list.on_epoch_end(0, {"loss": 1.0})
    callback_list.on_train_end()
    assert out.getvalue() == ""


def test_progbar_default_writes_to_stdout(capsys):
    run_fit([], val_losses(0.5), verbose=2)
    assert capsys.readouterr().out.startswith("Epoch 1/1 - ")


def test_progbar_validation_inside_fit_is_silent_but_evaluate_is_shown():
    out = io.StringIO()
    progbar = cb.ProgbarLogger(file=out)
    callback_list = cb.CallbackList([progbar], verbose=2, epochs=1, steps=1)
    callback_list.on_train_begin()
    callback_list.on_epoch_begin(0)
    callback_list.on_test_begin()  # validation, inside fit
    callback_list.on_test_batch_end(0, {"loss": 3.0})
    callback_list.on_test_end({"loss": 3.0})
    callback_list.on_epoch_end(0, {"loss": 1.0, "val_loss": 3.0})
    callback_list.on_train_end()
    assert "Evaluate" not in out.getvalue()

    evaluate = cb.CallbackList([progbar], verbose=1, epochs=1, steps=2)
    evaluate.on_test_begin()
    evaluate.on_test_batch_end(0, {"loss": 2.0})
    evaluate.on_test_batch_end(1, {"loss": 2.5})
    evaluate.on_test_end({"loss": 2.5, "accuracy": 0.5})
    last = drawn_lines(out)[-1]
    assert last.startswith("Evaluate") and "2/2" in last
    assert "loss: 2.5000 - accuracy: 0.5000" in last


def test_progbar_predict_with_unknown_step_count():
    out = io.StringIO()
    predict = cb.CallbackList([cb.ProgbarLogger(file=out)], verbose=1, epochs=1, steps=None)
    predict.on_predict_begin()
    for batch in range(4):
        predict.on_predict_batch_end(batch, {"outputs": np.zeros((2, 3))})
    predict.on_predict_end()
    last = drawn_lines(out)[-1]
    assert last.startswith("Predict") and "4/4" in last


def test_progbar_formats_logs_only_when_it_redraws(monkeypatch):
    calls = []
    real_format = cb._format_logs
    monkeypatch.setattr(cb, "_format_logs", lambda logs: calls.append(1) or real_format(logs))
    out = io.StringIO()
    run_fit([cb.ProgbarLogger(file=out, mininterval=60.0)], val_losses(0.5), verbose=1,
            steps=500)
    assert len(calls) <= 3  # not once a batch: the first batch, the epoch end


def test_progbar_rejects_samples_count_mode():
    with pytest.raises(ValueError, match="count_mode"):
        cb.ProgbarLogger(count_mode="samples")


def test_no_warnings_in_a_plain_run():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_fit([cb.EarlyStopping(), cb.ReduceLROnPlateau(), cb.TerminateOnNaN()],
                val_losses(1.0, 0.5))
