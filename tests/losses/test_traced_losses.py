"""Losses written with glassnet.ops: a plain function (`loss=fn`) and a Loss subclass with
only `call`, differentiated on the tape, weighted, masked and reduced by `Loss`."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers, losses, ops


def smooth_l1(y_true, y_pred):
    d = ops.abs(y_true - y_pred)
    return ops.mean(ops.where(d < 1, 0.5 * d ** 2, d - 0.5), axis=-1)


class LogCosh(losses.Loss):
    def call(self, y_true, y_pred):
        e = y_pred - y_true
        return ops.mean(e + ops.softplus(-2.0 * e) - np.log(2.0), axis=-1)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((6, 3)), 2 * rng.standard_normal((6, 3)), rng.uniform(0.5, 2, 6)


def test_a_plain_function_becomes_a_loss_with_its_gradient(batch):
    y_true, y_pred, weights = batch
    loss = losses.get(smooth_l1)
    assert isinstance(loss, losses.LossFunctionWrapper) and loss.name == "smooth_l1"
    assert gradcheck.check_loss(loss, y_true, y_pred, weights).passed
    d = np.abs(y_true - y_pred)
    per_sample = np.where(d < 1, 0.5 * d ** 2, d - 0.5).mean(axis=-1)
    assert float(loss(y_true, y_pred, weights)) == pytest.approx(np.mean(per_sample * weights))


def test_a_loss_subclass_with_only_call_is_differentiated(batch):
    y_true, y_pred, weights = batch
    assert LogCosh().traced
    assert gradcheck.check_loss(LogCosh(), y_true, y_pred, weights).passed
    assert gradcheck.check_loss(LogCosh(reduction="sum"), y_true, y_pred).passed
    expected = np.mean(np.log(np.cosh(y_pred - y_true)), axis=-1).mean()
    assert float(LogCosh()(y_true, y_pred)) == pytest.approx(expected, rel=1e-9)


def test_a_function_returning_a_scalar_is_taken_as_the_loss(batch):
    y_true, y_pred, _ = batch
    loss = losses.get(lambda t, p: ops.mean(ops.square(t - p)))
    assert float(loss(y_true, y_pred)) == pytest.approx(np.mean((y_true - y_pred) ** 2))
    assert gradcheck.check_loss(loss, y_true, y_pred).passed


def _fit(loss):
    gn.random.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 3)).astype("float32")
    y = (x @ np.array([[1.0], [2.0], [-1.0]]) + 0.5).astype("float32")
    model = gn.Sequential([layers.Input(shape=(3,)), layers.Dense(8, activation="relu"),
                           layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.Adam(0.02), loss=loss, metrics=["mae"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    return model, history, x, y


@pytest.mark.parametrize("loss", [smooth_l1, LogCosh()])
def test_the_loss_trains_a_model(loss):
    model, history, x, y = _fit(loss)
    assert history.history["loss"][-1] < history.history["loss"][0] / 4
    assert model.evaluate(x, y, verbose=0, return_dict=True)["mae"] < 0.3


def test_a_function_loss_saves_by_name_and_loads_with_custom_objects(tmp_path):
    model, _, x, _ = _fit(smooth_l1)
    path = tmp_path / "m.glassnet"
    model.save(path)
    loaded = gn.load_model(path, custom_objects={"smooth_l1": smooth_l1})
    assert loaded.loss.fn is smooth_l1
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_numpy_loss_function_is_refused_by_name(batch):
    y_true, y_pred, _ = batch
    loss = losses.get(lambda t, p: np.mean(np.square(t - p), axis=-1))
    with pytest.raises(TypeError, match=r"glassnet\.ops\.(square|subtract)"):
        loss.gradient(y_true, y_pred)
