"""glassnet.constraints against Keras 3 (torch backend): the projections' values, look-up and
(de)serialisation, the optimizer applying them after each step, and the layers' arguments."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet
from glassnet import constraints
from glassnet.saving.keras_layers import layer_from_keras, layer_to_keras

CASES = [
    ("MaxNorm", {}),
    ("MaxNorm", {"max_value": 1.0, "axis": 1}),
    ("MaxNorm", {"max_value": 1.5, "axis": [0, 1]}),
    ("MinMaxNorm", {}),
    ("MinMaxNorm", {"min_value": 0.5, "max_value": 2.0, "rate": 0.3, "axis": 1}),
    ("NonNeg", {}),
    ("UnitNorm", {}),
    ("UnitNorm", {"axis": [0, 2]}),
    ("Constraint", {}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in kwargs.items()) for name, kwargs in CASES]


def test_every_keras_constraint_name_is_here(keras):
    public = [name for name in dir(keras.constraints) if not name.startswith("_")]
    missing = [name for name in public if not hasattr(constraints, name)]
    assert not missing
    for name in ("max_norm", "min_max_norm", "non_neg", "unit_norm"):
        assert getattr(constraints, name).__name__ == getattr(keras.constraints, name).__name__


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_values_match_keras(name, kwargs, keras, rng):
    w = rng.normal(scale=1.5, size=(4, 3, 2)).astype("float32")
    w[:, 0] *= 0.05                                     # some norms below the bounds
    expected = keras.ops.convert_to_numpy(getattr(keras.constraints, name)(**kwargs)(w))
    got = getattr(constraints, name)(**kwargs)(w)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_serialize_matches_keras_and_round_trips(name, kwargs, keras):
    ours = getattr(constraints, name)(**kwargs)
    theirs = keras.constraints.serialize(getattr(keras.constraints, name)(**kwargs))
    spec = constraints.serialize(ours)
    assert spec["class_name"] == theirs["class_name"]
    assert spec["config"] == theirs["config"]
    restored = constraints.deserialize(spec)
    assert type(restored) is type(ours) and restored.get_config() == ours.get_config()
    assert constraints.get(spec).get_config() == ours.get_config()


def test_get_takes_names_classes_instances_and_callables():
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    assert isinstance(constraints.get("NonNeg"), constraints.NonNeg)
    assert isinstance(constraints.get(constraints.UnitNorm), constraints.UnitNorm)
    instance = constraints.MinMaxNorm(0.1, 0.2)
    assert constraints.get(instance) is instance and constraints.get(None) is None
    assert constraints.get(abs) is abs
    with pytest.raises(ValueError, match="no_such"):
        constraints.get("no_such")
    with pytest.raises(TypeError, match="constraint"):
        constraints.get(3)
    with pytest.raises(TypeError, match="axis"):
        constraints.MaxNorm(axis="0")


def _models(keras, units=4, features=5):
    ours = glassnet.Sequential([
        glassnet.Input((features,)),
        glassnet.layers.Dense(units, kernel_constraint=constraints.MaxNorm(1.0),
                              bias_constraint="non_neg")])
    theirs = keras.Sequential([
        keras.Input((features,)),
        keras.layers.Dense(units, kernel_constraint=keras.constraints.MaxNorm(1.0),
                           bias_constraint="non_neg")])
    return ours, theirs


def test_dense_with_max_norm_trains_like_keras(keras, rng):
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.normal(scale=3.0, size=(32, 4)).astype("float32")
    ours, theirs = _models(keras)
    weights = [3.0 * rng.normal(size=(5, 4)).astype("float32"),    # norms well above 1
               rng.normal(size=4).astype("float32")]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    ours.compile(optimizer=glassnet.optimizers.SGD(0.05), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    kernel, bias = ours.get_weights()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 1.0 + 1e-6)
    assert np.all(bias >= 0)
    for got, expected in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-5, atol=1e-6)


def _trained(layer, x, y):
    model = glassnet.Sequential([glassnet.Input(x.shape[1:]), layer])
    model.compile(optimizer=glassnet.optimizers.SGD(0.5), loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    return layer


def test_the_other_layers_apply_their_constraints_after_each_step(rng):
    conv = _trained(glassnet.layers.Conv2D(3, 2, kernel_constraint=constraints.MaxNorm(
        0.5, axis=[0, 1, 2]), bias_constraint="non_neg"),
        rng.normal(size=(8, 4, 4, 2)), rng.normal(size=(8, 3, 3, 3)))
    assert np.all(np.sqrt((conv.W.value ** 2).sum(axis=(0, 1, 2))) <= 0.5 + 1e-6)
    assert np.all(conv.b.value >= 0)
    embedding = _trained(glassnet.layers.Embedding(6, 3, embeddings_constraint=(
        constraints.UnitNorm(axis=1))), rng.integers(0, 6, size=(8, 2)),
        rng.normal(size=(8, 2, 3)))
    np.testing.assert_allclose(np.linalg.norm(embedding.embeddings.value, axis=1), 1.0,
                               rtol=1e-5)
    lstm = _trained(glassnet.layers.LSTM(3, kernel_constraint="non_neg",
                                         recurrent_constraint=constraints.MaxNorm(0.2),
                                         bias_constraint="non_neg"),
                    rng.normal(size=(8, 5, 2)), rng.normal(size=(8, 3)))
    assert np.all(lstm.kernel.value >= 0) and np.all(lstm.bias.value >= 0)
    assert np.all(np.linalg.norm(lstm.recurrent_kernel.value, axis=0) <= 0.2 + 1e-6)
    bn = _trained(glassnet.layers.BatchNormalization(gamma_constraint=constraints.MaxNorm(0.1),
                                                     beta_constraint="non_neg"),
                  rng.normal(size=(8, 3)), rng.normal(size=(8, 3)) - 2.0)
    assert np.linalg.norm(bn.gamma.value) <= 0.1 + 1e-6 and np.all(bn.beta.value >= 0)
    separable = _trained(glassnet.layers.SeparableConv2D(
        2, 2, depthwise_constraint="non_neg", pointwise_constraint=constraints.MaxNorm(
            0.3, axis=[0, 1, 2])), rng.normal(size=(8, 4, 4, 2)), rng.normal(size=(8, 3, 3, 2)))
    assert np.all(separable.depthwise_kernel.value >= 0)
    assert np.all(np.sqrt((separable.pointwise_kernel.value ** 2).sum(axis=(0, 1, 2)))
                  <= 0.3 + 1e-6)


@pytest.mark.parametrize(("cls", "kwargs"), [
    ("Dense", {"units": 3, "kernel_constraint": "max_norm", "bias_constraint": "non_neg"}),
    ("Conv1D", {"filters": 2, "kernel_size": 2, "kernel_constraint": "unit_norm"}),
    ("Conv2D", {"filters": 2, "kernel_size": 2, "bias_constraint": "non_neg"}),
    ("Conv3D", {"filters": 2, "kernel_size": 1, "kernel_constraint": "non_neg"}),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 2, "kernel_constraint": "non_neg"}),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "bias_constraint": "non_neg"}),
    ("DepthwiseConv2D", {"kernel_size": 2, "depthwise_constraint": "unit_norm",
                         "bias_constraint": "non_neg"}),
    ("SeparableConv2D", {"filters": 2, "kernel_size": 2, "depthwise_constraint": "non_neg",
                         "pointwise_constraint": "max_norm", "bias_constraint": "non_neg"}),
    ("Embedding", {"input_dim": 5, "output_dim": 2, "embeddings_constraint": "non_neg"}),
    ("BatchNormalization", {"gamma_constraint": "max_norm", "beta_constraint": "non_neg"}),
    ("LayerNormalization", {"gamma_constraint": "max_norm"}),
    ("SimpleRNN", {"units": 2, "recurrent_constraint": "unit_norm"}),
    ("GRU", {"units": 2, "kernel_constraint": "non_neg", "bias_constraint": "non_neg"}),
    ("LSTM", {"units": 2, "recurrent_constraint": "max_norm"}),
])
def test_config_round_trips_in_glassnet_and_keras_form(cls, kwargs, keras):
    layer = getattr(glassnet.layers, cls)(**kwargs)
    config = layer.get_config()
    restored = type(layer).from_config(config)
    assert restored.get_config() == config
    for key, value in kwargs.items():
        if key.endswith("_constraint"):
            assert config[key]["class_name"] == type(constraints.get(value)).__name__
    keras_layer = keras.layers.deserialize(layer_to_keras(layer))     # Keras reads ours
    for key in kwargs:
        if key.endswith("_constraint"):
            assert type(getattr(keras_layer, key)).__name__ == config[key]["class_name"]
    spec = keras.layers.serialize(keras_layer)                       # and we read Keras'
    converted = layer_from_keras(spec, "test")["config"]
    for key in kwargs:
        if key.endswith("_constraint"):
            assert converted[key] == config[key]


def test_a_layer_without_constraints_has_none_on_its_weights(rng):
    layer = glassnet.layers.Dense(2)
    layer(rng.normal(size=(1, 3)))
    assert all(p.constraint is None for p in layer.parameters())
    assert layer.get_config()["kernel_constraint"] is None


def test_keras_files_carry_constraints_and_the_new_activations_both_ways(keras, tmp_path, rng):
    x = rng.normal(size=(4, 3, 2)).astype("float32")
    model = glassnet.Sequential([
        glassnet.Input((3, 2)),
        glassnet.layers.GRU(4, recurrent_activation="hard_sigmoid",
                            recurrent_constraint=constraints.UnitNorm()),
        glassnet.layers.Dense(4, activation="mish", kernel_constraint=constraints.MaxNorm(1.5)),
        glassnet.layers.Dense(2, activation="squareplus", bias_constraint="non_neg")])
    # (not sparsemax: Keras 3.15 on torch computes it wrongly, see docs/differences.md)
    model.save(tmp_path / "ours.keras")
    theirs = keras.saving.load_model(tmp_path / "ours.keras")
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert isinstance(theirs.layers[1].kernel_constraint, keras.constraints.MaxNorm)
    assert theirs.layers[1].kernel_constraint.max_value == 1.5
    theirs.save(tmp_path / "theirs.keras")
    back = glassnet.saving.load_model(tmp_path / "theirs.keras")
    for key in ("activation", "kernel_constraint", "bias_constraint"):
        assert back.layers[1].get_config()[key] == model.layers[1].get_config()[key]
    np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    assert isinstance(back.layers[0].recurrent_constraint, constraints.UnitNorm)


def test_add_weight_takes_a_constraint_in_a_call_style_layer(rng):
    class Scale(glassnet.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1],), "ones", constraint="non_neg")

        def call(self, x):
            return x * self.w

    layer = Scale()
    x = rng.normal(size=(16, 3)).astype("float32")
    _trained(layer, x, -5.0 * x)                  # the best w is -5: the constraint holds it at 0
    assert isinstance(layer.w.constraint, constraints.NonNeg)
    np.testing.assert_array_equal(layer.w.value, 0.0)


def test_a_plain_function_constrains_but_cannot_be_saved(rng):
    layer = _trained(glassnet.layers.Dense(2, kernel_constraint=lambda w: w.clip(-0.1, 0.1)),
                     rng.normal(size=(8, 3)), 10 * rng.normal(size=(8, 2)))
    assert np.abs(layer.W.value).max() <= 0.1
    with pytest.raises(TypeError, match="Constraint"):
        layer.get_config()
