"""Ops on symbolic tensors become graph nodes (OpLayer): residuals, concatenation, slices,
scalars; trained, gradient-checked and saved like any functional model."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers, ops


def _residual_model():
    inputs = gn.Input(shape=(6,))
    h = layers.Dense(6, activation="relu")(inputs)
    h = ops.tanh(h + inputs) * 0.5                       # x = x + residual, as Keras 3
    joined = ops.concatenate([h, inputs[:, :2]], axis=-1)
    return gn.Model(inputs, layers.Dense(1)(1.0 - joined))


def test_operators_and_ops_on_symbolic_tensors_are_nodes():
    model = _residual_model()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("OpLayer") == 6
    assert [layer.op for layer in model.layers if isinstance(layer, layers.OpLayer)] == \
        ["add", "tanh", "multiply", "get_item", "concatenate", "subtract"]
    assert model.output_shape == (None, 1)


def test_the_graph_computes_what_the_ops_compute():
    model = _residual_model()
    x = np.random.default_rng(0).standard_normal((5, 6)).astype("float32")
    dense, head = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    h = np.tanh(np.maximum(x @ dense.W.numpy() + dense.b.numpy(), 0) + x) * 0.5
    expected = (1.0 - np.concatenate([h, x[:, :2]], -1)) @ head.W.numpy() + head.b.numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_gradients_flow_through_op_nodes():
    gn.config.set_floatx("float64")
    try:
        model = _residual_model()
        rng = np.random.default_rng(1)
        model.compile(optimizer="sgd", loss="mse")
        assert gradcheck.check_model(model, rng.standard_normal((4, 6)),
                                     rng.standard_normal((4, 1))).passed
    finally:
        gn.config.set_floatx("float32")


def test_a_model_with_op_nodes_trains_saves_and_loads(tmp_path):
    gn.random.set_random_seed(0)
    model = _residual_model()
    rng = np.random.default_rng(2)
    x = rng.standard_normal((128, 6)).astype("float32")
    y = x[:, :1] - x[:, 1:2]
    model.compile(optimizer=gn.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=15, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    model.save(tmp_path / "m.glassnet")
    loaded = gn.load_model(tmp_path / "m.glassnet")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_an_argument_a_config_cannot_hold_is_refused_by_name():
    inputs = gn.Input(shape=(3,))
    with pytest.raises(TypeError, match="ops.add on symbolic tensors: cannot record"):
        ops.add(inputs, object())
