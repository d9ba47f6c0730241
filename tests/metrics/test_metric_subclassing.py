"""A Metric subclass written as in Keras: add_variable, update_state, result, reset_state."""

from __future__ import annotations

import numpy as np

import glassnet as gn
from glassnet import layers, metrics, ops


class TruePositives(metrics.Metric):
    def __init__(self, name="true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hits = ops.cast(ops.logical_and(y_true > 0.5, y_pred > 0.5), "float32")
        if sample_weight is not None:
            hits = hits * ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
        self.count.assign_add(ops.sum(hits))

    def result(self):
        return self.count


def test_the_base_class_does_not_reset_in_init_and_resets_variables_after():
    metric = TruePositives()
    assert [v.name for v in metric.variables] == ["count"]
    metric.update_state(np.array([[1.0], [1.0], [0.0]]), np.array([[0.9], [0.2], [0.8]]))
    assert float(metric.result()) == 1.0
    metric.update_state(np.array([[1.0]]), np.array([[0.7]]), sample_weight=np.array([3.0]))
    assert float(metric.result()) == 4.0
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_a_metric_subclass_runs_in_fit_and_evaluate():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 2)).astype("float32")
    y = (x[:, :1] + x[:, 1:] > 0).astype("float32")
    model = gn.Sequential([layers.Input(shape=(2,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=gn.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=[TruePositives()])
    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["true_positives"][-1] > history.history["true_positives"][0]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    predicted = model.predict(x, verbose=0) > 0.5
    assert logs["true_positives"] == float(np.sum(predicted & (y > 0.5)))
