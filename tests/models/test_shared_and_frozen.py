"""A layer used twice in a Sequential is shared (per-call state), and `trainable = False`
freezes the layers inside a nested model (issue 11, bugs 3 and 4)."""

from __future__ import annotations

import numpy as np

import glassnet as gn
from glassnet import gradcheck, layers, optimizers


def test_sequential_with_a_layer_used_twice_has_correct_gradients():
    gn.config.set_floatx("float64")
    try:
        dense = layers.Dense(3, activation="tanh")
        model = gn.Sequential([layers.Input((3,)), dense, dense])
        model.compile(optimizer="sgd", loss="mse")
        rng = np.random.default_rng(4)
        report = gradcheck.check_model(model, rng.normal(size=(4, 3)), rng.normal(size=(4, 3)))
        assert report.passed, report
        assert len(model.parameters()) == 2
    finally:
        gn.config.set_floatx("float32")


def test_sequential_with_a_shared_layer_trains_like_the_functional_model():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 3))
    gn.utils.set_random_seed(5)
    dense = layers.Dense(3, activation="tanh")
    seq = gn.Sequential([layers.Input((3,)), dense, dense])
    inputs = layers.Input((3,))
    shared = layers.Dense(3, activation="tanh")
    fun = gn.Model(inputs, shared(shared(inputs)))
    fun.set_weights(seq.get_weights())
    for model in (seq, fun):
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, epochs=3, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(seq.get_weights(), fun.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

def test_frozen_nested_model_freezes_batch_normalization():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(32, 4)) * 3 + 1, rng.normal(size=(32, 1))
    inner = gn.Sequential([layers.Input((4,)), layers.Dense(4), layers.BatchNormalization()])
    inner.trainable = False
    assert all(not layer.trainable for layer in inner.layers)
    outer = gn.Sequential([layers.Input((4,)), inner, layers.Dense(1)])
    outer.compile(optimizer="sgd", loss="mse")
    before = inner.get_weights()
    # frozen BatchNormalization runs in inference mode even when training
    np.testing.assert_allclose(inner(x, training=True), inner(x, training=False), rtol=1e-6)
    outer.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(before, inner.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert len(outer.trainable_weights) == 2
