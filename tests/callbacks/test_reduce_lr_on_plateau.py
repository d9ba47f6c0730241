"""ReduceLROnPlateau on a fake model."""

from __future__ import annotations

import pytest
from _fake_fit import FakeModel, run_fit, val_losses

from glassnet import callbacks as cb


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
