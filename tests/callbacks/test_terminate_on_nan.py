"""TerminateOnNaN on a fake model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _fake_fit import run_fit, val_losses

from glassnet import callbacks as cb


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
