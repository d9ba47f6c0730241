"""ProgbarLogger: what a terminal shows for fit, evaluate and predict."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from _fake_fit import run_fit, val_losses

from glassnet import callbacks as cb
from glassnet.callbacks import progbar_logger


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
    real_format = progbar_logger._format_logs
    monkeypatch.setattr(progbar_logger, "_format_logs",
                        lambda logs: calls.append(1) or real_format(logs))
    out = io.StringIO()
    run_fit([cb.ProgbarLogger(file=out, mininterval=60.0)], val_losses(0.5), verbose=1,
            steps=500)
    assert len(calls) <= 3  # not once a batch: the first batch, the epoch end


def test_progbar_rejects_samples_count_mode():
    with pytest.raises(ValueError, match="count_mode"):
        cb.ProgbarLogger(count_mode="samples")
