"""Ops on symbolic tensors (`x + h`, `ops.softmax(h)`, `h[:, 0]`) through `.keras` files, against
Keras 3.15 on its torch backend, both ways.

Keras keeps each such op as an op entry of the Functional model (keras_ops.py), glassnet as an
OpLayer. A model built with the ops in one library is saved, loaded in the other, predicts
the same (float32, relative 1e-5) and trains one step to the same weights; and back again,
with Keras' own op entries in the file.
"""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from _keras_compare import Differences, config_differences

import glassnet as gn
from glassnet.saving import KerasExportError, ModelFileError
from glassnet.saving.keras_ops import OPS

N = 5


@pytest.fixture(scope="module")
def differences():
    record = Differences()
    yield record
    record.report()


def _graph(keras):
    """A functional model whose outputs pass through ops of several kinds: binary with a
    constant on either side, unary, with constructor arguments (axis, shapes), indexing,
    a list of tensors."""
    ops, L = keras.ops, keras.layers
    x = keras.Input((4,), name="x")
    h = L.Dense(6, activation="tanh", name="hidden")(x)
    wide = ops.concatenate([h, x], axis=-1)                          # (N, 10)
    grid = ops.reshape(wide[:, :8], (-1, 2, 4))
    terms = [
        ops.tanh(h + ops.flip(h, axis=-1)) * 0.5,
        2.0 - ops.softmax(h, axis=-1),
        ops.mean(grid, axis=1),
        ops.reshape(ops.transpose(grid, (0, 2, 1)), (-1, 8)),
        ops.clip(h, -0.5, 0.5) / 3.0,
        -(h ** 2),
        ops.sum(ops.matmul(ops.expand_dims(h, 2), ops.expand_dims(h, 1)), axis=1),
        ops.maximum(wide, 0.1)[..., 1:],
        ops.sigmoid(ops.exp(h[:, 0:1])),
        h * np.linspace(0.5, 1.5, 6).astype("float32"),             # a constant array
        ops.where(ops.greater(h, 0.0), h, 0.1 * h),
    ]
    joined = ops.concatenate(terms, axis=-1)
    return keras.Model(x, L.Dense(3, name="head")(joined))


def _step(model, x, y):
    model.train_on_batch(x, y)


def _data():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((N, 4)).astype("float32"),
            rng.standard_normal((N, 3)).astype("float32"))


def _compare_weights(differences, expected_model, actual_model, where):
    expected, actual = expected_model.get_weights(), actual_model.get_weights()
    assert len(expected) == len(actual)
    for k, (e, a) in enumerate(zip(expected, actual)):
        differences.check(e, a, f"{where}, weight {k}", rtol=1e-4)


def test_ops_written_by_keras_load_in_glassnet_and_back(keras, differences, tmp_path):
    x, y = _data()
    keras.utils.set_random_seed(0)
    keras_model = _graph(keras)
    keras_model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    _step(keras_model, x, y)
    keras_model.save(tmp_path / "from_keras.keras")

    model = gn.load_model(tmp_path / "from_keras.keras")
    differences.check(keras_model.predict(x, verbose=0), model.predict(x, verbose=0),
                      "Keras -> glassnet, predict")
    _step(keras_model, x, y)
    _step(model, x, y)
    _compare_weights(differences, keras_model, model, "Keras -> glassnet, a step")

    model.save(tmp_path / "from_glassnet.keras")
    # Keras' `/` is its TrueDivide op, read as glassnet's divide and written as Keras' Divide;
    # a comparison's tensor is recorded as bool by Keras, as float by glassnet (Keras reads
    # only where a tensor comes from)
    assert config_differences(tmp_path / "from_keras.keras", tmp_path / "from_glassnet.keras",
                              allowed=("TrueDivide/class_name", "TrueDivide/registered_name",
                                       "Where/inbound_nodes/0/args/0/config/dtype")) == []
    reloaded = keras.saving.load_model(tmp_path / "from_glassnet.keras")
    differences.check(model.predict(x, verbose=0), reloaded.predict(x, verbose=0),
                      "glassnet -> Keras, predict")
    _step(reloaded, x, y)
    _step(model, x, y)
    _compare_weights(differences, reloaded, model, "glassnet -> Keras, a step")


def test_ops_written_by_glassnet_load_in_keras(keras, differences, tmp_path):
    """The same graph built with glassnet's ops (glassnet as keras) loads in Keras."""
    x, y = _data()
    model = _graph(gn)
    model.compile(optimizer=gn.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    _step(model, x, y)
    model.save(tmp_path / "from_glassnet.keras")
    keras_model = keras.saving.load_model(tmp_path / "from_glassnet.keras")
    differences.check(model.predict(x, verbose=0), keras_model.predict(x, verbose=0),
                      "glassnet ops -> Keras, predict")
    _step(keras_model, x, y)
    _step(model, x, y)
    _compare_weights(differences, keras_model, model, "glassnet ops -> Keras, a step")
    # the file holds Keras' op entries, not glassnet's OpLayer
    with zipfile.ZipFile(tmp_path / "from_glassnet.keras") as zf:
        specs = json.loads(zf.read("config.json"))["config"]["layers"]
    classes = {spec["class_name"] for spec in specs}
    assert "OpLayer" not in classes and {"Concatenate", "Softmax", "GetItem"} <= classes


def test_every_op_of_the_table_is_a_keras_op_class(keras):
    """The table names a class of keras.src.ops for each op, whose call takes the listed
    parameters and whose constructor takes the others of glassnet's op."""
    import importlib
    import inspect

    from glassnet import autodiff
    from glassnet.saving.keras_ops import keras_class
    for op, (module, call) in OPS.items():
        cls = getattr(importlib.import_module(f"keras.src.ops.{module}"), keras_class(op))
        assert tuple(p for p in inspect.signature(cls.call).parameters if p != "self") == call
        ours = [p for p in inspect.signature(autodiff.REGISTRY[op]).parameters if p not in call]
        init = [p for p in inspect.signature(cls.__init__).parameters
                if p not in ("self", "name")]
        assert set(ours) <= set(init), op


def test_an_op_glassnet_lacks_is_named(keras, tmp_path):
    x = keras.Input((4,))
    keras.Model(x, keras.ops.cross(x[:, :3], x[:, 1:])).save(tmp_path / "cross.keras")
    with pytest.raises(ModelFileError, match=r"Cross.*glassnet has no op"):
        gn.load_model(tmp_path / "cross.keras")


def test_an_op_keras_cannot_hold_is_named(h5py, tmp_path):
    x = gn.layers.Input((4,))
    y = gn.ops.einsum("ij,ij->i", x, x)
    with pytest.raises(KerasExportError, match="einsum"):
        gn.Model(x, y).save(tmp_path / "einsum.keras")
