"""Whole models, trained in glassnet, exported with `model.export(path, format="onnx")`:
onnxruntime predicts what `model.predict` predicts, at batch sizes 1 and 9.

The models of issue 12: an MLP with dropout, a CNN with batch normalization after training
(moving statistics away from 0 and 1), Embedding(mask_zero) -> Bidirectional LSTM -> GRU,
and a functional graph with a causal Conv1D, LayerNormalization, Add and Concatenate.
"""

from __future__ import annotations

import numpy as np
import pytest
from _onnx import (
    BATCH_SIZES,
    TOLERANCE,
    WORST,
    assert_same,
    relative_difference,
    require,
    run,
    session,
)

import glassnet as gn
from glassnet import layers
from glassnet.export.onnx import to_onnx
from glassnet.random import set_random_seed


@pytest.fixture(autouse=True)
def _seeded():
    set_random_seed(0)
    require("onnx")
    require("onnxruntime")


def _fit(model, x, y, loss="sparse_categorical_crossentropy", epochs=2):
    model.compile(optimizer="adam", loss=loss)
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return model


def mlp(rng):
    model = gn.Sequential([gn.Input(shape=(12,), name="features"),
                           layers.Dense(16, activation="relu"), layers.Dropout(0.3),
                           layers.Dense(8, activation="tanh"), layers.Dropout(0.3),
                           layers.Dense(3, activation="softmax", name="probabilities")])
    x = rng.standard_normal((64, 12)).astype(np.float32)
    return _fit(model, x, rng.integers(0, 3, 64)), lambda b: rng.standard_normal(
        (b, 12)).astype(np.float32)


def cnn(rng):
    model = gn.Sequential([
        gn.Input(shape=(10, 10, 1)),
        layers.Conv2D(4, 3, padding="same"), layers.BatchNormalization(), layers.ReLU(),
        layers.MaxPooling2D(), layers.Conv2D(6, 3, strides=2, padding="same"),
        layers.BatchNormalization(), layers.Activation("relu"),
        layers.GlobalAveragePooling2D(), layers.Dense(4, activation="softmax")])
    x = rng.uniform(0.0, 3.0, (64, 10, 10, 1)).astype(np.float32)
    _fit(model, x, rng.integers(0, 4, 64), epochs=3)
    moving = [layer.moving_mean.value for layer in model.layers
              if isinstance(layer, layers.BatchNormalization)]
    assert all(np.abs(m).max() > 0.05 for m in moving), "batch norm statistics did not move"
    return model, lambda b: rng.uniform(0.0, 3.0, (b, 10, 10, 1)).astype(np.float32)


def recurrent(rng):
    def ids(batch):
        x = rng.integers(1, 20, size=(batch, 9))
        for row, length in zip(x, rng.integers(2, 10, size=batch)):
            row[length:] = 0                                          # padded at the end
        return x.astype(np.float32)

    model = gn.Sequential([gn.Input(shape=(9,)), layers.Embedding(20, 8, mask_zero=True),
                           layers.Bidirectional(layers.LSTM(6, return_sequences=True)),
                           layers.GRU(5), layers.Dense(2, activation="softmax")])
    return _fit(model, ids(64), rng.integers(0, 2, 64)), ids


def functional(rng):
    sequence = gn.Input(shape=(12, 3), name="sequence")
    extra = gn.Input(shape=(4,), name="extra")
    h = layers.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu")(sequence)
    h = layers.LayerNormalization()(h)
    h = layers.Add()([h, layers.Conv1D(8, 1)(sequence)])              # a residual connection
    h = layers.GlobalAveragePooling1D()(h)
    joined = layers.Concatenate()([h, layers.Dense(4, activation="tanh")(extra)])
    model = gn.Model([sequence, extra], layers.Dense(1, name="score")(joined))

    def inputs(batch):
        return [rng.standard_normal((batch, 12, 3)).astype(np.float32),
                rng.standard_normal((batch, 4)).astype(np.float32)]

    x = inputs(64)
    return _fit(model, x, rng.standard_normal((64, 1)), loss="mse"), inputs


MODELS = {"mlp_dropout": mlp, "cnn_batch_norm": cnn, "embedding_bilstm_gru": recurrent,
          "functional_causal_conv": functional}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_trained_model_runs_the_same_in_onnxruntime(name, tmp_path):
    rng = np.random.default_rng(7)
    model, make_input = MODELS[name](rng)
    path = tmp_path / f"{name}.onnx"
    model.export(path, format="onnx", verbose=False)
    sess = session(str(path))
    worst = max(relative_difference(run(sess, x), model.predict(x, verbose=0))
                for x in (make_input(batch) for batch in BATCH_SIZES))
    WORST[f"model/{name}"] = worst
    assert worst <= TOLERANCE


@pytest.mark.parametrize("opset", [17, 21])
@pytest.mark.parametrize("name", ["embedding_bilstm_gru", "functional_causal_conv"])
def test_other_opsets(name, opset):
    model, make_input = MODELS[name](np.random.default_rng(8))
    assert_same(model, make_input, f"model/{name}/opset{opset}", opset_version=opset)


def test_names_opset_and_dynamic_batch(tmp_path):
    onnx = require("onnx")
    model, _ = functional(np.random.default_rng(9))
    path = tmp_path / "model.onnx"
    model.export(str(path), format="onnx", verbose=False)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["sequence", "extra"]
    assert [o.name for o in proto.graph.output] == ["score"]
    assert proto.opset_import[0].version == 18
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "batch" and not batch.HasField("dim_value")


def test_sequential_input_name_and_input_signature(tmp_path):
    onnx = require("onnx")
    model, make_input = mlp(np.random.default_rng(10))
    proto = to_onnx(model)
    assert [i.name for i in proto.graph.input] == ["input_layer"]
    assert [o.name for o in proto.graph.output] == ["probabilities"]
    # renamed, with the batch fixed at 9
    signature = [gn.Input(batch_shape=(9, 12), name="pixels")]
    proto = to_onnx(model, input_signature=signature)
    assert [i.name for i in proto.graph.input] == ["pixels"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 9
    assert_same(model, make_input, "model/input_signature", batch_sizes=(9,),
                input_signature=signature)
    with pytest.raises(ValueError, match="does not fit input"):
        to_onnx(model, input_signature=[gn.Input(shape=(13,))])
    assert onnx is not None


def test_verbose_prints_where_the_file_went(tmp_path, capsys):
    model, _ = mlp(np.random.default_rng(11))
    model.export(tmp_path / "m.onnx")                     # format="onnx" is the default
    assert f"Saved artifact at '{tmp_path / 'm.onnx'}'." in capsys.readouterr().out


def test_nested_models_are_written_inline():
    rng = np.random.default_rng(12)
    block = gn.Sequential([gn.Input(shape=(6,)), layers.Dense(6, activation="gelu"),
                           layers.LayerNormalization()])
    x = gn.Input(shape=(6,))
    model = gn.Model(x, layers.Dense(2)(layers.Add()([x, block(x)])))
    assert_same(model, lambda b: rng.standard_normal((b, 6)).astype(np.float32),
                "model/nested")


def test_a_float64_model_is_written_in_float64():
    """(onnxruntime has float64 kernels for these operators; not for Conv.)"""
    onnx = require("onnx")
    rng = np.random.default_rng(13)
    model = gn.Sequential([gn.Input(shape=(6, 3)), layers.BatchNormalization(),
                           layers.LSTM(5, return_sequences=True), layers.GRU(3),
                           layers.Dense(2, activation="softmax")], dtype="float64")
    proto = to_onnx(model)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    x = rng.standard_normal((9, 6, 3))
    assert relative_difference(run(session(proto), x), model.predict(x, verbose=0)) < 1e-12
