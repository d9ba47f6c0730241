"""Metrics whose state is shaped by the data (F1Score, R2Score, multi-label AUC) in fit:
per-class results in History, and a mid-epoch backup that resumes to the same logs."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from _interrupt import RaiseAt
from glassnet import callbacks, layers, metrics
from glassnet.random import set_random_seed


def _data(n=120):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5)]
    return x, y


def _model():
    set_random_seed(3)
    model = gn.Sequential([layers.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy",
                  metrics=[metrics.F1Score(), metrics.R2Score(name="r2"),
                           metrics.AUC(multi_label=True, name="auc"), "precision"])
    return model


def test_per_class_results_reach_history_and_evaluate():
    x, y = _data()
    model = _model()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.shape(history.history["f1_score"][-1]) == (3,)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    fresh = metrics.F1Score()
    fresh.update_state(y, model.predict(x, verbose=0))
    np.testing.assert_allclose(logs["f1_score"], fresh.result(), rtol=1e-6)
    assert isinstance(logs["r2"], float) and isinstance(logs["auc"], float)


def test_a_mid_epoch_backup_restores_data_shaped_metric_state(tmp_path):
    x, y = _data()

    def fit(model, *extra):
        backup = callbacks.BackupAndRestore(tmp_path / "backup", save_freq=3)
        return model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                         callbacks=[backup, *extra])

    reference = _model().fit(x, y, epochs=2, batch_size=16, verbose=0).history
    with pytest.warns(RuntimeWarning, match="interrupted"):
        fit(_model(), RaiseAt(11))          # epoch 2, after its third step's backup
    resumed = fit(_model()).history
    assert resumed.keys() == reference.keys()
    for name in reference:
        np.testing.assert_array_equal(np.asarray(resumed[name]), np.asarray(reference[name]))
