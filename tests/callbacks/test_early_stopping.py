"""EarlyStopping (and the monitor modes it shares), on a fake model."""

from __future__ import annotations

import numpy as np
import pytest
from _fake_fit import run_fit, val_losses

from glassnet import callbacks as cb


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
