"""Activation layers: gradient checks, Keras defaults, configs, PyTorch references."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import activations, registry
from glassnet.gradcheck import check_layer
from glassnet.layers.activation import ELU, Activation, LeakyReLU, ReLU, Softmax

# (factory, points where the derivative jumps)
LAYERS = [
    (lambda: Activation("tanh"), ()),
    (lambda: Activation("sigmoid"), ()),
    (lambda: Activation("gelu"), ()),
    (lambda: Activation(activations.GELU(approximate=True)), ()),
    (lambda: Activation("softmax"), ()),
    (lambda: Activation(None), ()),
    (lambda: ReLU(), (0.0,)),
    (lambda: ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2), (0.2, 1.0)),
    (lambda: LeakyReLU(), (0.0,)),
    (lambda: ELU(alpha=0.5), (0.0,)),
    (lambda: Softmax(), ()),
    (lambda: Softmax(axis=1), ()),
]
IDS = ["tanh", "sigmoid", "gelu", "gelu_tanh", "softmax", "linear", "relu", "relu_options",
       "leaky_relu", "elu", "Softmax", "Softmax_axis1"]


def away_from(x, kinks, gap=1e-3):
    for kink in kinks:
        near = np.abs(x - kink) < gap
        x[near] = kink + np.where(x[near] < kink, -2 * gap, 2 * gap)
    return x


@pytest.mark.parametrize(("factory", "kinks"), LAYERS, ids=IDS)
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (2, 3, 2, 2)])
def test_gradient_check(factory, kinks, shape, rng):
    x = away_from(rng.normal(scale=1.5, size=shape), kinks)
    report = check_layer(factory(), x)
    assert report.passed, str(report)


@pytest.mark.parametrize(("factory", "kinks"), LAYERS, ids=IDS)
def test_forward_is_the_activation_function_and_layer_has_no_weights(factory, kinks, rng):
    layer = factory()
    x = rng.normal(size=(4, 6))
    np.testing.assert_array_equal(layer(x), layer.activation(x))
    assert layer.count_params() == 0 and layer.weights == []
    assert layer.compute_output_shape((None, 6)) == (None, 6)


@pytest.mark.parametrize(("factory", "kinks"), LAYERS, ids=IDS)
def test_backward_preactivation_passes_the_gradient_through(factory, kinks, rng):
    dz = rng.normal(size=(3, 4))
    assert factory().backward_preactivation(dz) is dz


def test_keras_defaults(rng):
    x = rng.normal(size=(10, 4))
    assert LeakyReLU().negative_slope == 0.3          # the layer's default (function: 0.2)
    np.testing.assert_array_equal(LeakyReLU()(x), np.where(x > 0, x, 0.3 * x))
    relu = ReLU()
    assert (relu.max_value, relu.negative_slope, relu.threshold) == (None, 0.0, 0.0)
    assert ELU().alpha == 1.0 and Softmax().axis == -1
    assert LeakyReLU(alpha=0.1).negative_slope == 0.1    # Keras 2 argument name
    np.testing.assert_array_equal(ReLU(max_value=6.0)(3 * x), np.clip(3 * x, 0, 6))


def test_softmax_layer_normalises_the_chosen_axis(rng):
    x = rng.normal(size=(2, 3, 4))
    np.testing.assert_allclose(Softmax(axis=1)(x).sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(Softmax()(x).sum(axis=-1), 1.0, rtol=1e-14)


@pytest.mark.parametrize(("kwargs", "argument"), [
    ({"max_value": -1.0}, "max_value"), ({"negative_slope": -0.1}, "negative_slope"),
    ({"threshold": -0.5}, "threshold"), ({"negative_slope": None}, "negative_slope"),
])
def test_relu_rejects_negative_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        ReLU(**kwargs)


def test_leaky_relu_rejects_a_negative_slope():
    with pytest.raises(ValueError, match="negative_slope"):
        LeakyReLU(negative_slope=-0.3)


def test_unknown_activation_name_lists_valid_names():
    with pytest.raises(ValueError, match="sigmoid"):
        Activation("sigmoidal")


@pytest.mark.parametrize("layer", [
    Activation("relu"), Activation(activations.LeakyReLU(0.05)), ReLU(max_value=6.0),
    LeakyReLU(negative_slope=0.1), ELU(alpha=0.7), Softmax(axis=1),
], ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer, rng):
    spec = registry.serialize(layer)
    restored = registry.deserialize("layer", {**spec, "config": {**spec["config"],
                                                                 "name": layer.name + "_copy"}})
    assert type(restored) is type(layer)
    x = rng.normal(size=(3, 2, 4))
    np.testing.assert_array_equal(restored(x), layer(x))
    config = layer.get_config()
    assert {k: v for k, v in restored.get_config().items() if k != "name"} == \
           {k: v for k, v in config.items() if k != "name"}


def test_activation_config_uses_names_for_builtins():
    assert Activation("swish").get_config()["activation"] == "silu"
    assert Activation(activations.Softmax(axis=1)).get_config()["activation"] == {
        "class_name": "Softmax", "config": {"axis": 1}}


def test_each_layer_owns_its_activation_object():
    shared = activations.Tanh()
    first, second = Activation(shared), Activation(shared)
    assert first.activation is not second.activation and first.activation is not shared


def test_softmax_and_elu_match_pytorch(torch, rng):
    """Forward and backward, float64, rtol 1e-12 / atol 1e-14."""
    x = rng.normal(scale=3.0, size=(2, 5, 4))
    dy = rng.normal(size=x.shape)
    cases = [(Softmax(axis=1), lambda t: torch.softmax(t, dim=1)),
             (ELU(alpha=0.5), lambda t: torch.nn.functional.elu(t, alpha=0.5)),
             (LeakyReLU(), lambda t: torch.nn.functional.leaky_relu(t, 0.3))]
    for layer, reference in cases:
        y = layer(x)
        dx = layer.backward(dy)
        x_t = torch.tensor(x, requires_grad=True)
        y_t = reference(x_t)
        y_t.backward(torch.tensor(dy))
        np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_float32_is_preserved(rng):
    x = rng.normal(size=(4, 3)).astype(np.float32)
    for factory, _ in LAYERS:
        layer = factory()
        y = layer(x)
        assert y.dtype == np.float32
        assert layer.backward(np.ones_like(y)).dtype == np.float32
