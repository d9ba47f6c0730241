"""The fusion pass (glassnet.models.fusion): each fused plan against the same model run layer
by layer (`config.set_fusion(False)`), forward and every gradient, float32 and float64.

The unfused layers are themselves compared with PyTorch in tests/layers; here the fused plan
must give the same numbers, bitwise (see the module's docstring for why it can)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from _concurrent import predicts_at_once
from glassnet import layers
from glassnet.models import fusion

MONOTONE = ["linear", "relu", "leaky_relu", "elu", "selu", "sigmoid", "tanh", "softplus",
            gn.activations.ReLU(max_value=1.0, threshold=0.1)]


@pytest.fixture(autouse=True)
def fusion_on():
    yield
    gn.config.set_fusion(True)


def conv_model(activation, dtype, rank=2, pool_args=None):
    """Conv -> MaxPooling -> Flatten -> Dense: the benchmark CNN's pattern, small."""
    gn.random.set_random_seed(3)
    conv, pool = ((layers.Conv2D, layers.MaxPooling2D) if rank == 2
                  else (layers.Conv1D, layers.MaxPooling1D))
    shape = (9, 9, 2) if rank == 2 else (11, 2)
    return gn.Sequential([layers.Input(shape),       # a bias that is not 0 (zeros by default)
                          conv(4, 2, activation=activation, bias_initializer="random_normal"),
                          pool(**(pool_args or {"pool_size": 2})), layers.Flatten(),
                          layers.Dense(3)], dtype=dtype)


def dense_model(activation, dtype):
    """Dense over the channels of an image, then MaxPooling2D."""
    gn.random.set_random_seed(4)
    return gn.Sequential([layers.Input((6, 6, 3)), layers.Dense(5, activation=activation,
                                                           bias_initializer="random_normal"),
                          layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)],
                         dtype=dtype)


def forward_backward(model, x, dy, training=True):
    """y, dL/dx and every weight gradient for the upstream gradient dy."""
    model.zero_grad()
    y = model.forward(x, training=training)
    dx = model.backward(dy)
    return [y, dx] + [p.grad.copy() for p in model.parameters()]


def assert_fused_equals_unfused(model, x, training=True):
    gn.config.set_fusion(True)
    model.compile(optimizer="sgd", loss="mse")
    assert any(isinstance(s, fusion.PoolBeforeActivation) for s in fusion.steps(model))
    shape = (len(x),) + tuple(model.output_shape[1:])
    dy = np.random.default_rng(1).standard_normal(shape).astype(model.dtype)
    fused = forward_backward(model, x, dy, training)
    gn.config.set_fusion(False)
    unfused = forward_backward(model, x, dy, training)
    assert len(fused) == len(unfused)
    for got, expected in zip(fused, unfused):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", MONOTONE, ids=str)
def test_conv2d_then_max_pool_is_bitwise_unfused(activation, dtype):
    x = np.random.default_rng(0).standard_normal((4, 9, 9, 2)).astype(dtype)
    x[:, :4, :4] = 0.0        # flat regions: ties in z, which both paths route alike
    assert_fused_equals_unfused(conv_model(activation, dtype), x)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "elu"])
def test_conv1d_and_dense_then_max_pool_are_bitwise_unfused(activation, dtype):
    rng = np.random.default_rng(0)
    assert_fused_equals_unfused(conv_model(activation, dtype, rank=1),
                                rng.standard_normal((3, 11, 2)).astype(dtype))
    assert_fused_equals_unfused(dense_model(activation, dtype),
                                rng.standard_normal((3, 6, 6, 3)).astype(dtype))


@pytest.mark.parametrize("pool_args", [{"pool_size": 2, "padding": "same"},
                                       {"pool_size": 2, "strides": 3}])
def test_same_padded_and_sparse_pools_are_bitwise_unfused(pool_args):
    x = np.random.default_rng(2).standard_normal((3, 9, 9, 2))
    assert_fused_equals_unfused(conv_model("sigmoid", "float64", pool_args=pool_args), x)


def test_overlapping_pool_windows_are_not_fused():
    """A pixel that is the max of two windows: f'(y)(dy_1 + dy_2) unfused is not bitwise
    f'(y) dy_1 + f'(y) dy_2; the pass leaves such a pair alone."""
    model = conv_model("sigmoid", "float64", pool_args={"pool_size": 3, "strides": 2})
    model.compile(optimizer="sgd", loss="mse")
    assert fusion.steps(model) == model.layers


def test_backward_after_an_inference_forward_and_predict_are_unfused_numbers():
    model = conv_model("relu", "float32")
    x = np.random.default_rng(5).standard_normal((6, 9, 9, 2)).astype("float32")
    assert_fused_equals_unfused(model, x, training=False)
    gn.config.set_fusion(True)
    fused = model.predict(x, batch_size=4, verbose=0)
    gn.config.set_fusion(False)
    np.testing.assert_array_equal(fused, model.predict(x, batch_size=4, verbose=0))


def test_training_with_fusion_matches_training_without():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((40, 9, 9, 2)).astype("float32")
    y = rng.integers(0, 3, 40)
    weights = []
    for enabled in (True, False):
        gn.config.set_fusion(enabled)
        model = conv_model("relu", "float32")
        model.layers[-1].activation = gn.activations.get("softmax")
        model.compile(optimizer=gn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        weights.append(model.get_weights())
    for got, expected in zip(*weights):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("activation", ["gelu", "silu", "softmax",
                                        gn.activations.ReLU(negative_slope=-0.5)], ids=str)
def test_a_non_monotone_activation_is_not_fused(activation):
    model = conv_model(activation, "float32")
    model.compile(optimizer="sgd", loss="mse")
    assert fusion.steps(model) == model.layers


def test_summary_names_the_fused_groups_and_set_fusion_turns_them_off():
    model = conv_model("relu", "float32")
    lines = []
    model.summary(print_fn=lines.append)                # not compiled: no plan yet
    assert not any(line.startswith("Fused") for line in lines)
    model.compile(optimizer="sgd", loss="mse")
    lines = []
    model.summary(print_fn=lines.append)
    conv, pool = model.layers[:2]
    assert lines[-1] == (f"Fused: {conv.name} + {pool.name}: bias and relu after the max "
                         f"pooling")
    gn.config.set_fusion(False)
    lines = []
    model.summary(print_fn=lines.append)
    assert not any(line.startswith("Fused") for line in lines)


def test_a_pool_that_ends_the_model_or_a_changed_model_is_not_fused():
    model = gn.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(2, 3, activation="relu"),
                           layers.MaxPooling2D(2)])
    model.compile(optimizer="sgd", loss="mse")
    assert fusion.steps(model) == model.layers          # the last layer stays itself
    model.add(layers.Flatten())                         # after compile: the plan is stale
    assert fusion.steps(model) == model.layers


def test_an_activation_changed_after_compile_is_honoured():
    model = conv_model("relu", "float64")
    model.compile(optimizer="sgd", loss="mse")
    model.layers[0].activation = gn.activations.get("gelu")     # not monotone: no fusion
    x = np.random.default_rng(14).standard_normal((2, 9, 9, 2))
    fused = model.predict(x, verbose=0)
    gn.config.set_fusion(False)
    np.testing.assert_array_equal(fused, model.predict(x, verbose=0))


def test_a_hook_sees_each_layer_own_output():
    model = conv_model("relu", "float64")
    model.compile(optimizer="sgd", loss="mse")
    seen = []
    model.layers[0].add_hook(lambda layer, phase, call: seen.append(call()) or seen[-1])
    x = np.random.default_rng(7).standard_normal((2, 9, 9, 2))
    model.forward(x)
    assert seen[0].min() >= 0.0 and seen[0].shape == (2, 8, 8, 4)   # relu(conv + b), unpooled


def test_set_fusion_refuses_a_non_bool():
    with pytest.raises(TypeError, match="set_fusion: expected True or False, got 'no'"):
        gn.config.set_fusion("no")


# ----- BatchNormalization folded into the Conv/Dense before it, for predict ------------------
def normalized_model(linear, dtype, use_bias):
    """linear -> BatchNormalization -> relu -> Flatten -> Dense, the statistics not trivial."""
    gn.random.set_random_seed(8)
    shape = (7, 7, 3) if linear is layers.Conv2D else (4, 3)
    first = (layers.Conv2D(5, 3, use_bias=use_bias, bias_initializer="random_normal")
             if linear is layers.Conv2D
             else layers.Dense(5, use_bias=use_bias, bias_initializer="random_normal"))
    model = gn.Sequential([layers.Input(shape), first, layers.BatchNormalization(),
                           layers.Activation("relu"), layers.Flatten(), layers.Dense(2)],
                          dtype=dtype)
    rng = np.random.default_rng(9)
    norm = model.layers[1]
    norm.set_weights([rng.uniform(0.5, 2.0, 5), rng.standard_normal(5),
                      rng.standard_normal(5), rng.uniform(0.1, 3.0, 5)])
    return model


@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("linear", [layers.Conv2D, layers.Dense], ids=["conv2d", "dense"])
@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-6), ("float64", 1e-14)])
def test_predict_with_the_normalization_folded_matches_unfolded(linear, use_bias, dtype, rtol):
    model = normalized_model(linear, dtype, use_bias)
    model.compile(optimizer="sgd", loss="mse")
    assert isinstance(fusion.steps(model)[0], fusion.NormalizationFolded)
    x = np.random.default_rng(10).standard_normal((6,) + model.input_shape[1:]).astype(dtype)
    folded = model.predict(x, verbose=0)
    gn.config.set_fusion(False)
    unfolded = model.predict(x, verbose=0)
    assert folded.dtype == unfolded.dtype == dtype
    scale = np.abs(unfolded).max()
    np.testing.assert_allclose(folded, unfolded, rtol=0, atol=rtol * scale)
    assert not np.array_equal(folded, unfolded) or dtype == "float64"   # it did fold
    np.testing.assert_array_equal(model.layers[0].get_weights()[0],
                                  normalized_model(linear, dtype, use_bias).get_weights()[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_and_gradients_never_see_the_fold(dtype):
    """Training (batch statistics) and an inference forward a backward may follow run the
    two layers as they are: the numbers are bitwise the unfused ones."""
    x = np.random.default_rng(11).standard_normal((4, 7, 7, 3)).astype(dtype)
    for training in (True, False):
        model = normalized_model(layers.Conv2D, dtype, use_bias=True)
        model.compile(optimizer="sgd", loss="mse")
        dy = np.random.default_rng(1).standard_normal((4, 2)).astype(dtype)
        fused = forward_backward(model, x, dy, training)
        gn.config.set_fusion(False)
        model = normalized_model(layers.Conv2D, dtype, use_bias=True)
        unfused = forward_backward(model, x, dy, training)
        gn.config.set_fusion(True)
        for got, expected in zip(fused, unfused):
            np.testing.assert_array_equal(got, expected)


def test_summary_names_the_folded_normalization_and_an_activation_stops_the_fold():
    model = normalized_model(layers.Dense, "float32", use_bias=True)
    model.compile(optimizer="sgd", loss="mse")
    lines = []
    model.summary(print_fn=lines.append)
    dense, norm = model.layers[:2]
    assert lines[-1] == (f"Fused: {dense.name} + {norm.name}: normalization folded into the "
                         f"kernel and bias for predict")
    model = gn.Sequential([layers.Input((4,)), layers.Dense(3, activation="relu"),
                           layers.BatchNormalization(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    assert fusion.steps(model) == model.layers           # BN(relu(z)) does not fold


# ----- Functional models whose graph is a chain --------------------------------------------
def functional_model(dtype, branch=False):
    gn.random.set_random_seed(12)
    inputs = layers.Input((9, 9, 2))
    h = layers.Conv2D(4, 2, activation="relu", bias_initializer="random_normal")(inputs)
    h = layers.MaxPooling2D(2)(h)
    if branch:                                          # not a chain: the graph runs as it is
        h = layers.Add()([h, layers.Activation("tanh")(h)])
    h = layers.Conv2D(3, 2, use_bias=False)(h)
    h = layers.BatchNormalization()(h)
    outputs = layers.Dense(2)(layers.Flatten()(h))
    return gn.Model(inputs, outputs, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_functional_chain_runs_the_fused_plan_with_the_unfused_numbers(dtype):
    model = functional_model(dtype)
    x = np.random.default_rng(13).standard_normal((3, 9, 9, 2)).astype(dtype)
    assert_fused_equals_unfused(model, x)
    gn.config.set_fusion(True)
    lines = []
    model.summary(print_fn=lines.append)
    assert [line.split(":")[0] for line in lines[-2:]] == ["Fused"] * 2
    folded = model.predict(x, verbose=0)
    gn.config.set_fusion(False)
    np.testing.assert_allclose(folded, model.predict(x, verbose=0), rtol=2e-5, atol=1e-6)


def test_a_functional_graph_that_branches_is_not_fused():
    model = functional_model("float64", branch=True)
    model.compile(optimizer="sgd", loss="mse")
    assert fusion.fused_chain(model) is None
    assert fusion.steps(model) == model.layers


def test_a_subclassed_model_with_its_own_forward_gets_no_plan():
    class Stack(gn.Model):
        def __init__(self):
            super().__init__()
            self.conv = layers.Conv2D(2, 3, activation="relu")
            self.pool = layers.MaxPooling2D(2)
            self.head = layers.Dense(1)

        def call(self, x):
            return self.head(layers.Flatten()(self.pool(self.conv(x))))

    model = Stack()
    model.compile(optimizer="sgd", loss="mse")
    lines = []
    model.summary(print_fn=lines.append)
    assert not any(line.startswith("Fused") for line in lines)


# ----- predict leaves the layers as they are (threads may predict at once) --------------------
def mixed_model():
    """Layers whose forward stores state for backward: activations, pooling, merges."""
    gn.random.set_random_seed(12)
    x = layers.Input((8, 8, 2))
    a = layers.Conv2D(3, 3, activation="tanh", padding="same")(x)
    a = layers.AveragePooling2D(2)(layers.BatchNormalization()(a))
    b = layers.Conv2D(3, 3, activation="elu", padding="same")(x)
    b = layers.MaxPooling2D(2)(b)
    merged = layers.Maximum()([layers.Multiply()([a, b]), layers.Average()([a, b])])
    pooled = layers.GlobalMaxPooling2D()(merged)
    y = layers.Dense(4, activation="softmax")(layers.Dense(5, activation="gelu")(pooled))
    return gn.Model(x, y)


@pytest.mark.parametrize("build", ["pool", "fold", "mixed"])
def test_predicts_in_several_threads_at_once_give_the_sequential_results(build):
    """The groups' predict runs a stand-in of the layer (without bias and activation, or
    with the folded weights) and never sets the layer's own aside, which a predict running
    at that moment in another thread would read."""
    model = {"pool": lambda: conv_model("relu", "float32"),
             "fold": lambda: normalized_model(layers.Conv2D, "float32", True),
             "mixed": mixed_model}[build]()
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(11)
    inputs = [rng.standard_normal((n,) + model.input_shape[1:]).astype("float32")
              for n in (3, 40, 17, 65)]
    wrong, errors = predicts_at_once(model, inputs, batch_size=16, rounds=15)
    assert not errors and not wrong
