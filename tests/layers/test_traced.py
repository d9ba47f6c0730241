"""call()-style layers on the tape: built-in layers inside a call, shared calls, the fast
path against the traced one, masks, several inputs, and the errors that name the mistake."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers, ops


@pytest.fixture(autouse=True)
def _float64():
    gn.config.set_floatx("float64")
    yield
    gn.config.set_floatx("float32")


def _check(layer, x, **kwargs):
    report = gradcheck.check_layer(layer, x, **kwargs)
    assert report.passed, str(report)


class SharedTwice(layers.Layer):
    """One Dense called twice in a call: each call back-propagates with its own input."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(3, activation="tanh")

    def call(self, inputs):
        return self.dense(self.dense(inputs) * 2.0 + 1.0)


def test_a_built_in_layer_called_twice_in_a_call_back_propagates_both_calls():
    _check(SharedTwice(), np.random.default_rng(0).standard_normal((5, 3)))


def test_a_built_in_layer_is_one_record_whose_vjp_is_its_backward():
    layer = SharedTwice()
    layer(np.zeros((2, 3)))
    layer.forward(np.ones((2, 3)), training=True)
    names = [record.op_name for record in layer._call_state.tape.records]
    assert names == ["layer 'dense'", "multiply", "add", "layer 'dense'"] or \
        names[0].startswith("layer ") and names.count(names[0]) == 2


class TracedDense(layers.Layer):
    """Dense written with ops: relu(x W + b)."""

    def __init__(self, units):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.W = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return ops.relu(ops.matmul(inputs, self.W) + self.b)


def test_the_traced_path_and_the_built_in_path_give_the_same_gradients():
    rng = np.random.default_rng(1)
    x, dy = rng.standard_normal((6, 4)), rng.standard_normal((6, 5))
    fast, traced = layers.Dense(5, activation="relu"), TracedDense(5)
    fast(x), traced(x)
    traced.set_weights(fast.get_weights())
    for layer in (fast, traced):
        layer.zero_grad()
    np.testing.assert_allclose(traced.forward(x, training=True),
                               fast.forward(x, training=True), rtol=1e-12)
    dx_traced, dx_fast = traced.backward(dy), fast.backward(dy)
    np.testing.assert_allclose(dx_traced, dx_fast, rtol=1e-12, atol=1e-14)
    for p_traced, p_fast in zip(traced.weights, fast.weights):
        np.testing.assert_allclose(p_traced.grad, p_fast.grad, rtol=1e-12, atol=1e-14)


class Residual(gn.Model):
    """A small residual CNN block written as a call(): conv, batch norm, x + f(x), pooling."""

    def __init__(self):
        super().__init__()
        self.conv1 = layers.Conv2D(4, 3, padding="same")
        self.norm = layers.BatchNormalization()
        self.conv2 = layers.Conv2D(4, 3, padding="same")
        self.pool = layers.GlobalAveragePooling2D()
        self.head = layers.Dense(3)

    def call(self, x, training=False):
        h = ops.relu(self.norm(self.conv1(x), training=training))
        h = ops.relu(self.conv2(h) + h)
        return self.head(self.pool(h))


def test_a_residual_cnn_written_as_a_call_passes_the_gradient_check():
    x = np.random.default_rng(2).standard_normal((2, 5, 5, 1))
    _check(Residual(), x, max_checks=40)


def test_built_in_layers_with_their_own_call_work_inside_a_call():
    class Mixer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.rnn = layers.LSTM(3)
            self.join = layers.Concatenate()

        def call(self, inputs):
            summary = self.rnn(inputs)
            return self.join([summary, ops.mean(inputs, axis=1)])

    _check(Mixer(), np.random.default_rng(3).standard_normal((2, 4, 2)), max_checks=60)


def test_call_may_take_several_positional_inputs():
    class Bilinear(layers.Layer):
        def build(self, input_shape):
            self.M = self.add_weight(shape=(3, 3), name="M")

        def call(self, a, b):
            return ops.sum(ops.matmul(a, self.M) * b, axis=-1, keepdims=True)

    layer = Bilinear()
    a, b = np.ones((2, 3)), np.full((2, 3), 2.0)
    layer.build((None, 3))
    expected = np.sum((a @ layer.M.numpy()) * b, axis=-1, keepdims=True)
    np.testing.assert_allclose(layer(a, b), expected)


def test_the_mask_reaches_call_when_it_asks_for_it():
    seen = {}

    class MaskedMean(layers.Layer):
        def call(self, inputs, mask=None):
            seen["mask"] = mask
            weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
            return ops.sum(inputs * weights, axis=1) / ops.sum(weights, axis=1)

    ids = np.array([[3, 1, 0, 0], [2, 0, 0, 0]])
    model = gn.Sequential([layers.Embedding(5, 2, mask_zero=True), MaskedMean()])
    out = model.predict(ids, verbose=0)
    np.testing.assert_array_equal(seen["mask"], ids != 0)
    table = model.layers[0].embeddings.numpy()
    np.testing.assert_allclose(out[1], table[2])


def test_a_second_positional_tensor_is_an_error_that_says_so():
    dense = layers.Dense(2)
    with pytest.raises(TypeError, match="takes one input.*Concatenate"):
        dense(np.ones((2, 3)), np.ones((2, 3)))
    assert dense(np.ones((2, 3)), True).shape == (2, 2)    # the old spelling of training


def test_a_numpy_function_in_call_names_the_op_to_use():
    class UsesNumpy(layers.Layer):
        def call(self, inputs):
            return np.exp(inputs)

    with pytest.raises(TypeError, match=r"np\.exp .*glassnet\.ops\.exp"):
        UsesNumpy()(np.ones((2, 2)))


def test_an_array_that_left_the_tape_is_reported_with_its_line():
    class LeavesTheTape(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), name="w")

        def call(self, inputs):
            return inputs.numpy() * self.w.numpy()

    layer = LeavesTheTape()
    with pytest.raises(TypeError, match=r"returned a NumPy array.*left the tape at .*numpy\(\)"):
        layer(np.ones((2, 2)))


def test_an_array_method_on_a_tensor_names_the_op():
    class UsesMethod(layers.Layer):
        def call(self, inputs):
            return inputs.mean(axis=0)

    with pytest.raises(AttributeError, match=r"glassnet\.ops\.mean"):
        UsesMethod()(np.ones((2, 2)))


def test_a_layer_without_call_or_forward_says_what_to_write():
    class Empty(layers.Layer):
        pass

    with pytest.raises(NotImplementedError, match="neither forward.*nor call"):
        Empty()(np.ones((2, 2)))


def test_an_unknown_output_shape_says_how_to_declare_it():
    class NeedsEvenBatch(layers.Layer):
        def call(self, inputs):
            return ops.reshape(inputs, (2, -1))

    with pytest.raises(ValueError, match="output shape is unknown.*compute_output_shape"):
        NeedsEvenBatch()(gn.Input(shape=(3,)))


def test_a_call_style_layer_called_twice_in_a_call_back_propagates_both_calls():
    class Inner(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], input_shape[-1]), name="w")

        def call(self, inputs):
            return ops.tanh(inputs @ self.w)

    class Outer(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = Inner()

        def call(self, inputs):
            return self.inner(self.inner(inputs) + inputs)

    _check(Outer(), np.random.default_rng(4).standard_normal((3, 4)))
