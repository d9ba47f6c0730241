"""BatchNormalization folded into the Conv/Dense before it in the ONNX export, as predict
folds it (glassnet.models.fusion): one Conv (or MatMul and Add) with the folded kernel and
bias, no normalization nodes; onnxruntime predicts what the fused `model.predict` predicts.
Where the fold is not valid (an activation before the normalization, another axis, a layer
output that a branch also reads) or fusion is off, the normalization is written as it is."""

from __future__ import annotations

import numpy as np
import pytest
from _onnx import assert_same, randomize, require, run, session

import glassnet as gn
from glassnet import layers
from glassnet.export.onnx import to_onnx
from glassnet.models import fusion

NORMALIZATION_OPS = ["Sub", "Mul", "Mul", "Add"]      # (x - μ) · inv_std · γ + β, unfolded


@pytest.fixture(autouse=True)
def _fusion_on():
    require("onnx")
    require("onnxruntime")
    gn.random.set_random_seed(0)
    yield
    gn.config.set_fusion(True)


def layer_ops(proto, layer) -> list[str]:
    """The op types of the nodes written for `layer` (named under its scope)."""
    return [node.op_type for node in proto.graph.node if f"/{layer.name}/" in f"/{node.name}"]


def initializer(proto, layer, hint: str) -> np.ndarray:
    from onnx import numpy_helper

    (array,) = [numpy_helper.to_array(t) for t in proto.graph.initializer
                if f"/{t.name}".endswith(f"/{layer.name}/{hint}")]
    return array


def random_input(shape, seed=1):
    rng = np.random.default_rng(seed)
    return lambda batch: rng.standard_normal((batch,) + shape).astype(np.float32)


LINEAR = {
    "conv1d": ((9, 3), lambda use_bias: layers.Conv1D(4, 3, padding="same", use_bias=use_bias)),
    "conv2d": ((7, 6, 3), lambda use_bias: layers.Conv2D(4, 3, strides=2, use_bias=use_bias)),
    "dense": ((6,), lambda use_bias: layers.Dense(4, use_bias=use_bias)),
}
LINEAR_OPS = {"conv1d": ["Transpose", "Conv", "Transpose"],
              "conv2d": ["Transpose", "Conv", "Transpose"], "dense": ["MatMul", "Add"]}


@pytest.mark.parametrize("center, scale, use_bias", [(True, True, True), (False, False, True),
                                                     (True, False, False),
                                                     (False, True, False)])
@pytest.mark.parametrize("kind", sorted(LINEAR))
def test_the_folded_export_predicts_what_fused_predict_does(kind, center, scale, use_bias):
    shape, make = LINEAR[kind]
    model = gn.Sequential([gn.Input(shape), make(use_bias),
                           layers.BatchNormalization(center=center, scale=scale, epsilon=0.01),
                           layers.Activation("relu")])
    randomize(model, np.random.default_rng(2))
    model.compile(optimizer="sgd", loss="mse")
    assert isinstance(fusion.steps(model)[0], fusion.NormalizationFolded)   # predict folds
    linear, norm = model.layers[:2]

    proto = to_onnx(model)
    assert [node.op_type for node in proto.graph.node] == LINEAR_OPS[kind] + ["Relu",
                                                                              "Identity"]
    assert layer_ops(proto, norm) == []
    W, b = fusion.folded_weights(linear, norm)             # the numbers predict folds with
    kernel = initializer(proto, linear, "kernel")
    if kind != "dense":                                    # stored (F, C, *k) for ONNX's Conv
        kernel = np.moveaxis(kernel, (0, 1), (-1, -2))
    np.testing.assert_array_equal(kernel, W)
    np.testing.assert_array_equal(initializer(proto, linear, "bias"), b)
    assert_same(model, random_input(shape), f"folded/{kind}/{center}-{scale}-{use_bias}")


def test_with_fusion_off_the_export_keeps_the_normalization():
    shape, make = LINEAR["conv2d"]
    model = gn.Sequential([gn.Input(shape), make(True), layers.BatchNormalization()])
    randomize(model, np.random.default_rng(3))
    model.compile(optimizer="sgd", loss="mse")
    folded = session(to_onnx(model))
    gn.config.set_fusion(False)
    proto = to_onnx(model)
    assert layer_ops(proto, model.layers[1]) == NORMALIZATION_OPS
    assert_same(model, random_input(shape), "folded/fusion-off")
    x = random_input(shape, seed=4)(5)
    unfolded = run(session(proto), x)
    np.testing.assert_allclose(run(folded, x), unfolded, rtol=0,
                               atol=1e-5 * np.abs(unfolded).max())


@pytest.mark.parametrize("case", ["activation_before", "time_axis"])
def test_a_normalization_the_fold_cannot_absorb_is_written_as_it_is(case):
    """BN(relu(z)) is not affine in z; BN over the steps of a Conv1D's output (axis 1) does
    not act per output channel."""
    if case == "activation_before":
        stack = [layers.Conv2D(4, 3, activation="relu"), layers.BatchNormalization()]
        shape = (6, 6, 2)
    else:
        stack = [layers.Conv1D(4, 3, padding="same"), layers.BatchNormalization(axis=1)]
        shape = (5, 2)
    model = gn.Sequential([gn.Input(shape), *stack])
    randomize(model, np.random.default_rng(5))
    model.compile(optimizer="sgd", loss="mse")
    assert layer_ops(to_onnx(model), model.layers[1]) == NORMALIZATION_OPS
    assert_same(model, random_input(shape), f"not-folded/{case}")


def branching_model(shared: bool):
    """Conv2D -> BN -> Add with a second branch: the second branch reads the convolution's
    own output (`shared`, no fold: it needs z itself) or the model input (the fold holds)."""
    inputs = gn.Input((6, 6, 2))
    conv = layers.Conv2D(3, 3, padding="same")
    z = conv(inputs)
    norm = layers.BatchNormalization(epsilon=0.05)
    other = layers.Conv2D(3, 1)(z if shared else inputs)
    outputs = layers.Add()([norm(z), other])
    model = gn.Model(inputs, outputs)
    randomize(model, np.random.default_rng(6))
    model.compile(optimizer="sgd", loss="mse")
    return model, norm


def test_a_branch_that_reads_the_layer_output_stops_the_fold():
    model, norm = branching_model(shared=True)
    proto = to_onnx(model)
    assert layer_ops(proto, norm) == NORMALIZATION_OPS
    assert_same(model, random_input((6, 6, 2)), "not-folded/branch")


def test_a_functional_graph_folds_where_only_the_normalization_reads_the_layer():
    model, norm = branching_model(shared=False)
    proto = to_onnx(model)
    assert layer_ops(proto, norm) == []
    assert [node.op_type for node in proto.graph.node].count("Conv") == 2
    assert_same(model, random_input((6, 6, 2)), "folded/functional")
