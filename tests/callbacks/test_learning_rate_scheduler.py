"""LearningRateScheduler on a fake model."""

from __future__ import annotations

import numpy as np
import pytest
from _fake_fit import FakeModel, run_fit, val_losses

from glassnet import callbacks as cb


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
