"""Merge layers: gradients of list inputs, PyTorch references, shapes, configs, errors."""

import numpy as np
import pytest

from glassnet import gradcheck, layers, registry

ELEMENTWISE = [layers.Add, layers.Average, layers.Maximum, layers.Minimum, layers.Multiply]


def check_merge(layer, xs, dy=None, seed=0, eps=1e-6):
    """Relative error of each backward dx_i against central differences of Σ forward · dy."""
    rng = np.random.default_rng(seed)
    xs = [np.array(x, dtype=np.float64) for x in xs]
    y = layer(xs)
    dy = rng.standard_normal(y.shape) if dy is None else dy
    layer.forward(xs)
    dxs = layer.backward(dy.copy())
    assert len(dxs) == len(xs)

    def objective():
        return float(np.sum(layer.forward(xs) * dy))

    errors = []
    for x, dx in zip(xs, dxs):
        assert dx.shape == x.shape
        numeric = gradcheck.numerical_gradient(objective, x, range(x.size), eps)
        errors.append(gradcheck.relative_error(np.asarray(dx, dtype=np.float64), numeric))
    return errors


@pytest.mark.parametrize("cls", ELEMENTWISE)
@pytest.mark.parametrize("count", [2, 3])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)])
def test_elementwise_gradients(cls, count, shape, rng):
    xs = [rng.standard_normal(shape) for _ in range(count)]
    assert max(check_merge(cls(), xs)) < 1e-6


def test_subtract_gradients(rng):
    xs = [rng.standard_normal((3, 4)) for _ in range(2)]
    assert max(check_merge(layers.Subtract(), xs)) < 1e-6


def test_multiply_gradient_with_zero_inputs(rng):
    """The product of the others, not y / x_i, which is nan where x_i = 0."""
    xs = [rng.standard_normal((3, 4)) for _ in range(3)]
    xs[0][0, :] = 0.0
    xs[1][0, 0] = 0.0
    layer = layers.Multiply()
    assert max(check_merge(layer, xs)) < 1e-6
    assert all(np.isfinite(dx).all() for dx in layer.backward(np.ones((3, 4))))


@pytest.mark.parametrize("axis,shapes", [(-1, [(4, 2), (4, 3), (4, 1)]),
                                         (1, [(2, 3, 5), (2, 1, 5)]),
                                         (-2, [(2, 3, 5), (2, 4, 5)])])
def test_concatenate_gradients(axis, shapes, rng):
    xs = [rng.standard_normal(shape) for shape in shapes]
    assert max(check_merge(layers.Concatenate(axis=axis), xs)) < 1e-6


def torch_reference(torch, name, tensors, axis):
    ops = {"Add": lambda t: sum(t), "Subtract": lambda t: t[0] - t[1],
           "Multiply": lambda t: t[0] * t[1] * t[2] if len(t) == 3 else t[0] * t[1],
           "Average": lambda t: torch.stack(t).mean(dim=0),
           "Maximum": lambda t: torch.stack(t).amax(dim=0),
           "Minimum": lambda t: torch.stack(t).amin(dim=0),
           "Concatenate": lambda t: torch.cat(t, dim=axis)}
    return ops[name](tensors)


@pytest.mark.parametrize("name,count", [("Add", 3), ("Subtract", 2), ("Multiply", 3),
                                        ("Average", 3), ("Maximum", 3), ("Minimum", 3),
                                        ("Concatenate", 3)])
def test_matches_pytorch_forward_and_backward(torch, name, count, rng):
    """float64, continuous random inputs (no ties for max/min); tolerance 1e-12."""
    xs = [rng.standard_normal((4, 3, 5)) for _ in range(count)]
    layer = getattr(layers, name)(axis=1) if name == "Concatenate" else getattr(layers, name)()
    y = layer(xs)
    dy = rng.standard_normal(y.shape)
    dxs = layer.backward(dy)

    tensors = [torch.tensor(x, requires_grad=True) for x in xs]
    expected = torch_reference(torch, name, tensors, axis=1)
    expected.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    for dx, tensor in zip(dxs, tensors):
        np.testing.assert_allclose(dx, tensor.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_maximum_tie_sends_the_gradient_to_the_first_input():
    x = np.array([[1.0, 2.0, 3.0]])
    layer = layers.Maximum()
    layer([x, x.copy(), np.zeros_like(x)])
    dy = np.array([[1.0, 2.0, 3.0]])
    first, second, third = layer.backward(dy)
    np.testing.assert_array_equal(first, dy)
    np.testing.assert_array_equal(second, 0.0)
    np.testing.assert_array_equal(third, 0.0)


@pytest.mark.parametrize("cls", ELEMENTWISE + [layers.Subtract, layers.Concatenate])
def test_float32_stays_float32(cls, rng):
    xs = [rng.standard_normal((3, 4)).astype("float32") for _ in range(2)]
    layer = cls()
    y = layer(xs)
    assert y.dtype == np.float32
    assert all(dx.dtype == np.float32 for dx in layer.backward(np.ones_like(y)))


def test_output_shapes_with_unknown_sizes():
    assert layers.Add().compute_output_shape([(None, 3), (None, 3)]) == (None, 3)
    assert layers.Multiply().compute_output_shape([(None, None, 4), (None, 5, 4)]) == (None, 5, 4)
    concat = layers.Concatenate()
    assert concat.compute_output_shape([(None, 2), (None, 3)]) == (None, 5)
    assert concat.compute_output_shape([(None, 7, 2), (None, None, 3)]) == (None, 7, 5)
    assert concat.compute_output_shape([(None, 2), (None, None)]) == (None, None)
    assert layers.Concatenate(axis=1).compute_output_shape(
        [(None, 2, 6), (None, 3, 6)]) == (None, 5, 6)


def test_symbolic_call_builds_a_graph_node():
    a, b = layers.Input(shape=(3,)), layers.Input(shape=(3,))
    layer = layers.Average()
    y = layer([a, b])
    assert y.shape == (None, 3) and y.layer is layer and y.inputs == (a, b) and y.list_input
    assert layer.input_shape == ((None, 3), (None, 3)) and layer.output_shape == (None, 3)


@pytest.mark.parametrize("layer", [layers.Add(name="sum"), layers.Concatenate(axis=-2),
                                   layers.Subtract(), layers.Maximum()])
def test_config_round_trip(layer):
    restored = registry.deserialize("layer", registry.serialize(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()


# ----- errors -------------------------------------------------------------------------------
def test_add_shape_mismatch_names_layer_and_shapes():
    add = layers.Add(name="residual")
    with pytest.raises(ValueError, match=r"Add 'residual'.*same shape.*\(None, 3\), "
                                         r"\(None, 4\)"):
        add([layers.Input(shape=(3,)), layers.Input(shape=(4,))])
    eager = layers.Add(name="eager")
    with pytest.raises(ValueError, match=r"Add 'eager'.*same shape.*\(None, 3\), \(None, 4\)"):
        eager([np.ones((2, 3)), np.ones((2, 4))])
    eager([np.ones((2, 3)), np.ones((2, 3))])                  # built; checked again per call
    with pytest.raises(ValueError, match=r"Add 'eager'.*same shape.*\(2, 3\), \(5, 3\)"):
        eager([np.ones((2, 3)), np.ones((5, 3))])


def test_rank_mismatch_is_refused():
    with pytest.raises(ValueError, match="same shape"):
        layers.Multiply()([layers.Input(shape=(3,)), layers.Input(shape=(2, 3))])
    with pytest.raises(ValueError, match="same rank"):
        layers.Concatenate()([layers.Input(shape=(3,)), layers.Input(shape=(2, 3))])


def test_concatenate_mismatch_off_the_axis():
    with pytest.raises(ValueError, match=r"Concatenate 'cat'.*except along axis -1.*"
                                         r"\(None, 2, 3\), \(None, 4, 3\)"):
        layers.Concatenate(name="cat")([layers.Input(shape=(2, 3)), layers.Input(shape=(4, 3))])
    with pytest.raises(ValueError, match=r"except along axis 1.*\(None, 2, 3\), \(None, 2, 4\)"):
        layers.Concatenate(axis=1)([np.ones((5, 2, 3)), np.ones((5, 2, 4))])

    built = layers.Concatenate(name="built")
    built([np.ones((5, 2)), np.ones((5, 3))])
    with pytest.raises(ValueError, match=r"'built'.*except along axis -1.*\(5, 2\), \(4, 3\)"):
        built([np.ones((5, 2)), np.ones((4, 3))])


@pytest.mark.parametrize("axis", [0, -3, 2])
def test_concatenate_axis_out_of_range_or_batch(axis):
    with pytest.raises(ValueError, match=f"axis={axis} is out of range"):
        layers.Concatenate(axis=axis)([np.ones((2, 3)), np.ones((2, 3))])


def test_input_count_and_type_errors():
    with pytest.raises(ValueError, match=r"Subtract .*exactly 2 inputs, got 3"):
        layers.Subtract()([np.ones((1, 2))] * 3)
    with pytest.raises(ValueError, match=r"Add .*at least 2 inputs, got 1"):
        layers.Add()([np.ones((1, 2))])
    with pytest.raises(ValueError, match="called on a list of inputs, got ndarray"):
        layers.Add()(np.ones((2, 2)))
    with pytest.raises(TypeError, match="only symbolic tensors"):
        layers.Add()([layers.Input(shape=(2,)), np.ones((1, 2))])
    with pytest.raises(ValueError, match="axis must be an integer"):
        layers.Concatenate(axis=1.5)
