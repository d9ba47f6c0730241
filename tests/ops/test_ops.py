"""glassnet.ops: Keras' names and dtype rules on plain arrays; operators and NumPy's hooks on
traced tensors; composite ops; control flow on the tape; glassnet.random's Keras functions."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import autodiff, config, ops
from glassnet import random as gn_random


def test_plain_arrays_in_plain_arrays_out():
    x = np.arange(6.0).reshape(2, 3)
    y = ops.softmax(ops.matmul(x, np.ones((3, 2))))
    assert type(y) is np.ndarray and y.shape == (2, 2)
    assert type(ops.sum(x)) is np.ndarray and ops.sum(x).shape == ()


@pytest.mark.parametrize("a, b, expected", [
    (np.zeros(2, "int64"), np.zeros(2, "float32"), "float32"),     # NumPy would say float64
    (np.zeros(2, "float16"), 2.0, "float16"),                     # a Python scalar is weak
    (np.zeros(2, "int32"), 2.0, "float32"),
    (np.zeros(2, "int8"), 3, "int8"),
    (np.zeros(2, "uint8"), np.zeros(2, "int8"), "int16"),
    (np.zeros(2, "bool"), np.zeros(2, "bool"), "bool"),
    (np.zeros(2, "float64"), np.zeros(2, "float32"), "float64"),  # 64-bit stays 64-bit
])
def test_keras_promotion_rules(a, b, expected):
    assert ops.result_type(a, b) == expected
    if expected != "bool":
        assert ops.add(a, b).dtype == expected


def test_python_values_convert_as_in_keras():
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == config.floatx()
    assert ops.convert_to_tensor([1, 2]).dtype == "int32"
    assert ops.result_type(1, 2.0) == config.floatx()
    assert ops.divide(np.array([1, 2]), np.array([2, 2])).dtype == config.floatx()
    assert ops.mean(np.array([1, 2])).dtype == config.floatx()
    assert ops.exp(np.array([0, 1])).dtype == config.floatx()


def test_operators_on_traced_tensors_are_ops():
    def f(x):
        return ops.sum((2 - x) ** 2 / (1 + x * x) @ np.ones((3, 1)) + (-x)[0, 0] + abs(x).T[0, 0])

    x = np.random.default_rng(0).standard_normal((2, 3))
    value, (grad,) = autodiff.value_and_gradients(f, x)
    eps, numeric = 1e-6, np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (float(f(up)) - float(f(down))) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    assert value == pytest.approx(float(f(x)))


def test_an_ndarray_on_the_left_of_an_operator_asks_the_tensor():
    _, (grad,) = autodiff.value_and_gradients(lambda x: ops.sum(np.full(3, 2.0) * x),
                                              np.ones(3))
    np.testing.assert_array_equal(grad, [2.0, 2.0, 2.0])


def test_numpy_functions_on_traced_tensors_name_the_op():
    with autodiff.trace() as tape:
        x = tape.watch(np.ones(3))
        with pytest.raises(TypeError, match=r"np\.tanh .*glassnet\.ops\.tanh"):
            np.tanh(x)
        with pytest.raises(TypeError, match=r"np\.concatenate .*glassnet\.ops\.concatenate"):
            np.concatenate([x, x])
        with pytest.raises(TypeError, match="cuts it off the tape"):
            np.asarray(x)
        assert np.shape(x) == (3,)                     # metadata is fine
        assert x.numpy().tolist() == [1.0, 1.0, 1.0]   # the explicit way out


def test_composites_and_their_gradients():
    x = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    values, indices = ops.top_k(x, 2)
    np.testing.assert_array_equal(values, [[3.0, 2.0], [4.0, 0.5]])
    np.testing.assert_array_equal(indices, [[0, 2], [1, 0]])
    parts = ops.split(x, [1], axis=1)
    assert [p.shape for p in parts] == [(2, 1), (2, 2)]
    mean, variance = ops.moments(x, axes=[1])
    np.testing.assert_allclose(variance, x.var(axis=1))
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(ops.where(x > 2)[1], [0, 1])
    np.testing.assert_allclose(ops.norm(x, axis=1), np.linalg.norm(x, axis=1))
    _, (grad,) = autodiff.value_and_gradients(lambda t: ops.sum(ops.top_k(t, 1)[0]), x)
    np.testing.assert_array_equal(grad, [[1, 0, 0], [0, 1, 0]])


def test_control_flow_runs_eagerly_and_records_each_step():
    def power_by_loop(x):
        _, y = ops.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x),
                              (0, ops.ones_like(x)))
        return ops.sum(y)

    _, (grad,) = autodiff.value_and_gradients(power_by_loop, np.array([2.0, 3.0]))
    np.testing.assert_allclose(grad, [12.0, 27.0])             # d x^3 = 3 x^2

    def cumulative(x):
        carry, ys = ops.scan(lambda c, v: (c + v, c * v), 0.0, x)
        return carry + ops.sum(ys)

    value, _ = autodiff.value_and_gradients(cumulative, np.array([1.0, 2.0, 3.0]))
    assert value == pytest.approx(6.0 + (0 * 1 + 1 * 2 + 3 * 3))
    assert ops.cond(True, lambda: 1, lambda: 2) == 1


def test_stop_gradient_and_cast_to_int_stop_the_gradient():
    _, (grad,) = autodiff.value_and_gradients(
        lambda x: ops.sum(x * ops.stop_gradient(x) + ops.cast(x, "int32")), np.array([2.0]))
    np.testing.assert_array_equal(grad, [2.0])


def test_keras_random_functions():
    generator = gn_random.SeedGenerator(7)
    first, second = (gn_random.normal((3,), seed=generator) for _ in range(2))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(gn_random.normal((3,), seed=gn_random.SeedGenerator(7)), first)
    np.testing.assert_array_equal(gn_random.uniform((2,), seed=3), gn_random.uniform((2,), seed=3))
    assert gn_random.normal((2, 2)).dtype == config.floatx()
    draws = gn_random.truncated_normal((1000,), stddev=2.0, seed=0)
    assert np.abs(draws).max() <= 4.0
    ints = gn_random.randint((100,), 2, 5, seed=0)
    assert ints.min() >= 2 and ints.max() < 5 and ints.dtype == "int32"
    kept = gn_random.dropout(np.ones((50, 50)), rate=0.4, seed=0)
    assert set(np.unique(kept)) == {0.0, 1 / 0.6} and 0.3 < (kept == 0).mean() < 0.5
    assert sorted(gn_random.shuffle(np.arange(5), seed=0).tolist()) == [0, 1, 2, 3, 4]
    assert gn_random.categorical(np.log([[0.0001, 1.0]]), 20, seed=0).sum() >= 18


def test_keras_activation_functions_on_traced_tensors_are_the_ops():
    from glassnet import activations

    x = np.random.default_rng(3).standard_normal((3, 4))
    for function in (activations.relu, activations.gelu, activations.selu, activations.softmax,
                     activations.leaky_relu, lambda t: activations.relu(t, max_value=1.0)):
        value, (grad,) = autodiff.value_and_gradients(
            lambda t, f=function: ops.sum(f(t) ** 2), x)
        assert value == pytest.approx(float(np.sum(function(x) ** 2)))
        eps, index = 1e-6, (1, 2)
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        numeric = (np.sum(function(up) ** 2) - np.sum(function(down) ** 2)) / (2 * eps)
        assert grad[index] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("source, destination", [(0, 1), (0, -1), (-1, 0), (2, 0),
                                                 ((0, 1), (2, 0)), ([0, 2], [1, 0])])
def test_moveaxis_matches_numpy_and_its_gradient_moves_back(source, destination, rng):
    x = rng.normal(size=(2, 3, 4))
    np.testing.assert_array_equal(ops.moveaxis(x, source, destination),
                                  np.moveaxis(x, source, destination))
    dy = rng.normal(size=np.moveaxis(x, source, destination).shape)
    _, (dx,) = autodiff.value_and_gradients(lambda t: ops.moveaxis(t, source, destination), x,
                                            dy=dy)
    np.testing.assert_array_equal(dx, np.moveaxis(dy, destination, source))


def test_moveaxis_names_a_bad_axis():
    with pytest.raises(np.exceptions.AxisError, match="source"):
        ops.moveaxis(np.ones((2, 3)), 2, 0)
    with pytest.raises(ValueError, match="same number of axes"):
        ops.moveaxis(np.ones((2, 3)), (0, 1), 0)
