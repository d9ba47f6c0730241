"""Callbacks driving a real model's fit (tests/test_callbacks.py covers their logic alone)."""

import csv

import numpy as np
import pytest

import glassnet as gn
from glassnet import callbacks, layers
from glassnet.utils import set_random_seed


@pytest.fixture
def data(rng):
    x = rng.standard_normal((64, 4)).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    return x, y


def model(learning_rate=0.05):
    set_random_seed(0)
    net = gn.Sequential([layers.Input(shape=(4,)), layers.Dense(8, activation="tanh"),
                         layers.Dense(1, activation="sigmoid")])
    net.compile(optimizer=gn.optimizers.SGD(learning_rate=learning_rate),
                loss="binary_crossentropy", metrics=["accuracy"])
    return net


def test_early_stopping_restores_the_best_weights(data):
    x, y = data
    net = model(learning_rate=5.0)  # large steps: the validation loss bounces
    snapshots = []
    keep = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append((logs["val_loss"], net.get_weights())))
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = net.fit(x, y, epochs=40, batch_size=8, validation_split=0.25, verbose=0,
                      callbacks=[keep, stop])
    best_loss, best_weights = min(snapshots, key=lambda item: item[0])
    assert len(history.epoch) < 40 or stop.stopped_epoch == 0
    for a, b in zip(net.get_weights(), best_weights):
        np.testing.assert_array_equal(a, b)
    assert best_loss == min(history.history["val_loss"])


def test_model_checkpoint_saves_loadable_best_models(data, tmp_path):
    x, y = data
    net = model()
    path = tmp_path / "best-{epoch:02d}.glassnet"
    checkpoint = callbacks.ModelCheckpoint(str(path), monitor="val_loss", save_best_only=True)
    history = net.fit(x, y, epochs=5, batch_size=16, validation_split=0.25, verbose=0,
                      callbacks=[checkpoint])
    saved = sorted(tmp_path.glob("best-*.glassnet"))
    assert saved, "no checkpoint written"
    losses = history.history["val_loss"]
    best_epoch = int(np.argmin(losses)) + 1
    assert saved[-1].name == f"best-{best_epoch:02d}.glassnet"
    loaded = gn.load_model(saved[-1])
    x_val, y_val = x[48:], y[48:]
    loss, _ = loaded.evaluate(x_val, y_val, verbose=0)
    assert loss == pytest.approx(min(losses), rel=1e-5)


def test_reduce_lr_on_plateau_and_scheduler_change_the_real_optimizer(data):
    x, y = data
    net = model()
    schedule = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = net.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[schedule])
    assert net.optimizer.learning_rate == pytest.approx(0.1 / 3)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10)
    net.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[plateau])
    # epoch 1 sets the best value; epoch 2 cannot improve by min_delta=10: one halving
    assert net.optimizer.learning_rate == pytest.approx(0.1 / 3 / 2)


def test_csv_logger_writes_one_row_per_epoch(data, tmp_path):
    x, y = data
    net = model()
    log = tmp_path / "log.csv"
    net.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
            callbacks=[callbacks.CSVLogger(str(log))])
    rows = list(csv.DictReader(log.open()))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}


def test_model_checkpoint_writes_keras_files_that_load_back(data, tmp_path, h5py):
    """Keras scripts checkpoint to ".keras" / ".weights.h5": Keras 3's formats, which
    glassnet writes and reads."""
    x, y = data
    net = model()
    checkpoints = [
        callbacks.ModelCheckpoint(str(tmp_path / "m{epoch}.keras")),
        callbacks.ModelCheckpoint(str(tmp_path / "last.weights.h5"), save_weights_only=True),
    ]
    net.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=checkpoints)
    assert {p.name for p in tmp_path.iterdir()} == {"m1.keras", "m2.keras", "last.weights.h5"}
    restored = gn.saving.load_model(tmp_path / "m2.keras")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), net.predict(x, verbose=0))
    fresh = model()
    fresh.load_weights(tmp_path / "last.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), net.predict(x, verbose=0))


def test_validation_in_fit_calls_the_test_hooks(data):
    """As in Keras, fit's validation is an evaluation: on_test_begin, on_test_batch_*,
    on_test_end (unprefixed logs) run after the epoch's batches, before on_epoch_end."""
    x, y = data
    calls = []

    class Record(callbacks.Callback):
        def on_test_begin(self, logs=None):
            calls.append("test_begin")

        def on_test_batch_end(self, batch, logs=None):
            calls.append(f"test_batch_{batch}")

        def on_test_end(self, logs=None):
            calls.append(("test_end", sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end_{epoch}")

    model().fit(x, y, epochs=1, batch_size=32, validation_data=(x[:40], y[:40]), verbose=0,
                callbacks=[Record()])
    assert calls == ["test_begin", "test_batch_0", "test_batch_1",
                     ("test_end", ["accuracy", "loss"]), "epoch_end_0"]
