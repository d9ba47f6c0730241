"""LambdaCallback on a fake model."""

from __future__ import annotations

import pytest
from _fake_fit import run_fit, val_losses

from glassnet import callbacks as cb


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
