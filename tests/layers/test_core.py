"""Dense, Flatten, Reshape, Input and Dropout: gradients, shapes, configs, errors."""

import numpy as np
import pytest

from glassnet import gradcheck, layers

ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
               "softplus", "softmax"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape,units", [((4, 5), 3), ((1, 7), 1), ((3, 2, 6), 4)])
def test_dense_gradients(activation, shape, units, rng):
    x = rng.standard_normal(shape)
    layer = layers.Dense(units, activation=activation, bias_initializer="random_normal")
    report = gradcheck.check_layer(layer, x)
    assert report.passed, report


def test_dense_without_bias_has_one_weight(rng):
    layer = layers.Dense(3, use_bias=False)
    layer(rng.standard_normal((2, 4)).astype("float32"))
    assert [w.shape for w in layer.get_weights()] == [(4, 3)]
    assert gradcheck.check_layer(layer, rng.standard_normal((2, 4))).passed


def test_dense_keras_weight_order_and_shapes():
    layer = layers.Dense(7)
    layer.maybe_build((None, 5))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (5, 7) and bias.shape == (7,)
    assert kernel.dtype == np.float32
    limit = np.sqrt(6 / (5 + 7))  # Glorot uniform
    assert np.abs(kernel).max() <= limit and np.all(bias == 0)


def test_dense_set_weights_checks_shapes():
    layer = layers.Dense(2)
    layer.maybe_build((None, 3))
    with pytest.raises(ValueError, match=r"expected shape \(3, 2\), got \(2, 3\)"):
        layer.set_weights([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(ValueError, match="expected 2 arrays"):
        layer.set_weights([np.zeros((3, 2))])


def test_dense_forward_matches_formula(rng):
    layer = layers.Dense(3, activation="tanh")
    x = rng.standard_normal((4, 5)).astype("float32")
    y = layer(x)
    W, b = layer.get_weights()
    np.testing.assert_allclose(y, np.tanh(x @ W + b), rtol=1e-6)
    assert y.dtype == np.float32


def test_dense_wrong_feature_count_names_layer():
    layer = layers.Dense(2, name="hidden")
    layer(np.ones((1, 3), dtype="float32"))
    with pytest.raises(ValueError, match=r"'hidden'.*last axis 3.*\(1, 4\)"):
        layer(np.ones((1, 4), dtype="float32"))


@pytest.mark.parametrize("units", [0, -1, 2.5, "3", True])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        layers.Dense(units)


def test_dense_config_round_trip():
    layer = layers.Dense(4, activation="relu", use_bias=False, kernel_initializer="he_normal",
                         kernel_regularizer="l2", name="d")
    clone = layers.Dense.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.activation.name == "relu"


def test_flatten_and_reshape(rng):
    x = rng.standard_normal((2, 3, 4))
    assert gradcheck.check_layer(layers.Flatten(), x).passed
    flatten = layers.Flatten()
    assert flatten(x).shape == (2, 12)
    assert flatten.compute_output_shape((None, 3, 4)) == (None, 12)
    reshape = layers.Reshape((4, -1))
    assert reshape(x).shape == (2, 4, 3)
    assert reshape.compute_output_shape((None, 3, 4)) == (None, 4, 3)
    assert gradcheck.check_layer(layers.Reshape((6, 2)), x).passed
    with pytest.raises(ValueError, match="cannot reshape"):
        layers.Reshape((5,)).compute_output_shape((None, 3, 4))
    with pytest.raises(ValueError, match="at most one"):
        layers.Reshape((-1, -1))


def test_input_returns_symbolic_tensor():
    tensor = layers.Input(shape=(256,))
    assert tensor.shape == (None, 256)
    dense = layers.Dense(3)
    out = dense(tensor)
    assert out.shape == (None, 3) and dense.built
    with pytest.raises(ValueError, match="positive"):
        layers.Input(shape=(0,))


def test_dropout_is_identity_at_inference(rng):
    x = rng.standard_normal((100, 10)).astype("float32")
    np.testing.assert_array_equal(layers.Dropout(0.5)(x), x)


def test_dropout_is_inverted_and_unbiased(rng):
    layer = layers.Dropout(0.3, seed=1)
    x = np.ones((2000, 50), dtype="float32")
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02
    dy = rng.standard_normal(x.shape).astype("float32")
    np.testing.assert_array_equal(layer.backward(dy), dy * y)  # same mask, same scale


def test_dropout_gradient_in_training_mode(rng):
    report = gradcheck.check_layer(layers.Dropout(0.5, seed=3), rng.standard_normal((4, 6)),
                                   training=True)
    assert report.passed, report


def test_dropout_seed_reproducible_and_noise_shape():
    x = np.ones((4, 6), dtype="float32")
    a = layers.Dropout(0.5, seed=7).forward(x, training=True)
    b = layers.Dropout(0.5, seed=7).forward(x, training=True)
    np.testing.assert_array_equal(a, b)
    shared = layers.Dropout(0.5, noise_shape=(None, 1), seed=2).forward(x, training=True)
    assert all(len(set(row)) == 1 for row in shared.tolist())


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rejects_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(rate)


def test_dense_can_skip_the_input_gradient(rng):
    """The training step's first layer: same weight gradients, no dL/dx computed."""
    x, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer = layers.Dense(3, activation="tanh", dtype="float64")
    layer(x)
    layer.zero_grad()
    dx = layer.backward(dy)
    full = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    assert layer.backward(dy, input_gradient=False) is None
    for a, p in zip(full, layer.parameters()):
        np.testing.assert_array_equal(a, p.grad)
    assert dx.shape == x.shape


def test_add_matmul_writes_after_zero_grad_and_accumulates_after(rng):
    param = layers.Parameter(np.ones((2, 3)))
    a, b = rng.standard_normal((2, 4)), rng.standard_normal((4, 3))
    param.grad += 5.0
    param.add_matmul(a, b)                   # not just zeroed: accumulates
    np.testing.assert_allclose(param.grad, 5.0 + a @ b)
    param.zero_grad()
    param.add_matmul(a, b)                   # just zeroed: written in place
    param.add_matmul(a, b)                   # then accumulates
    np.testing.assert_allclose(param.grad, 2 * (a @ b))


def test_zero_grad_is_lazy_but_every_read_sees_zeros(rng):
    """zero_grad only marks the gradient; reading it (to look, or to add with +=) writes the
    zeros first, so an add_matmul after a += accumulates instead of overwriting."""
    param = layers.Parameter(np.ones((2, 3)))
    a, b = rng.standard_normal((2, 4)), rng.standard_normal((4, 3))
    param.grad += 7.0
    param.zero_grad()
    np.testing.assert_array_equal(param.grad, np.zeros((2, 3)))   # a read sees zeros
    param.grad += 1.0
    param.zero_grad()
    param.grad += 2.0                         # += after zero_grad: starts from zeros
    param.add_matmul(a, b)                    # ... and the product is added, not written over
    np.testing.assert_allclose(param.grad, 2.0 + a @ b)
    param.zero_grad()
    param.grad = np.full((2, 3), 3.0)         # assigning a gradient cancels the pending zeros
    np.testing.assert_array_equal(param.grad, np.full((2, 3), 3.0))


@pytest.mark.parametrize("activation", ["relu", "linear", "sigmoid"])
def test_dense_activation_written_over_its_preactivation_equals_the_textbook(activation, rng):
    """Dense hands its fresh z = x @ W + b to forward_overwriting (ReLU writes max(z, 0) over
    z): outputs and gradients equal activation(x @ W + b) computed the plain way."""
    from glassnet import activations

    x, dy = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer = layers.Dense(3, activation=activation, bias_initializer="random_normal",
                         dtype="float64")
    y = layer(x)
    z = x @ layer.W.value + layer.b.value
    reference = activations.get(activation)
    np.testing.assert_array_equal(y, reference.forward(z.copy()))
    layer.zero_grad()
    dx = layer.backward(dy)
    dz = reference.backward(dy)
    np.testing.assert_allclose(dx, dz @ layer.W.value.T, rtol=1e-12)
    np.testing.assert_allclose(layer.W.grad, x.T @ dz, rtol=1e-12)
    assert not np.shares_memory(y, x)


def test_gradients_are_allocated_only_when_needed(rng):
    """A model that only predicts holds no gradient arrays (as PyTorch's grad None); the
    first training step allocates them, with the same values as always."""
    import glassnet as gn

    x, y = rng.standard_normal((16, 5)).astype("float32"), rng.integers(0, 3, 16)
    model = gn.Sequential([layers.Input(shape=(5,)), layers.Dense(4, activation="relu"),
                           layers.Dense(3, activation="softmax")])
    model.predict(x, verbose=0)
    assert all(p._grad is None for p in model.parameters())
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = model.get_weights()
    loss, _ = model.compute_gradients(x, y)
    grads = [p.grad.copy() for p in model.parameters()]
    assert all(g.dtype == np.float32 and g.shape == w.shape for g, w in zip(grads, before))
    model.compute_gradients(x, y)                        # allocated now: zeroed, then filled
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_array_equal(g, p.grad)
    fresh = layers.Parameter(np.ones(3, "float32"))
    np.testing.assert_array_equal(fresh.grad, np.zeros(3, "float32"))   # a read: zeros
