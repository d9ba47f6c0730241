"""What reaches the loss in fit/evaluate: the fused softmax path only where it is exact,
(N, T) labels for sequence outputs, Keras' validation split, class weights on the training
part only (issue 11, bugs 5-8)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers, losses, optimizers


def test_softmax_output_with_crossentropy_over_another_axis():
    gn.config.set_floatx("float64")
    try:
        rng = np.random.default_rng(7)
        model = gn.Sequential([layers.Input((3, 4)), layers.Dense(5, activation="softmax")])
        loss = losses.CategoricalCrossentropy(axis=1)
        model.compile(optimizer="sgd", loss=loss)
        x = rng.normal(size=(2, 3, 4))
        y = np.eye(3)[rng.integers(0, 3, (2, 5))].transpose(0, 2, 1)
        assert model.evaluate(x, y, verbose=0) == pytest.approx(float(loss(y, model(x))),
                                                                rel=1e-9)
        report = gradcheck.check_model(model, x, y)
        assert report.passed, report
    finally:
        gn.config.set_floatx("float32")

def test_sparse_labels_for_a_sequence_output():
    rng = np.random.default_rng(8)
    model = gn.Sequential([layers.Input((3, 4)), layers.Dense(5, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, labels = rng.normal(size=(6, 3, 4)), rng.integers(0, 5, (6, 3))
    expected = float(losses.SparseCategoricalCrossentropy()(labels, model.predict(x, verbose=0)))
    assert model.evaluate(x, labels, verbose=0)[0] == pytest.approx(expected, rel=1e-5)
    history = model.fit(x, labels, epochs=1, batch_size=3, verbose=0)
    assert np.isfinite(history.history["loss"][0])

@pytest.mark.parametrize("n, split, n_val", [(10, 0.25, 3), (2, 0.25, 1), (7, 0.5, 4)])
def test_validation_split_cuts_at_floor_of_the_training_fraction(n, split, n_val):
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 1))
    model = gn.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=optimizers.SGD(0.0), loss="mse")
    history = model.fit(x, y, epochs=1, validation_split=split, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[n - n_val:], y[n - n_val:], verbose=0), rel=1e-6)

def test_class_weight_does_not_weight_validation_loss():
    rng = np.random.default_rng(10)
    x, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    model = gn.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=1, validation_split=0.5, class_weight={0: 1.0, 1: 5.0},
                        verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[10:], y[10:], verbose=0), rel=1e-6)
