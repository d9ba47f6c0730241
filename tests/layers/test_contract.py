"""The contract every registered layer passes: one harness for the whole family.

The layers are read from the registry (`@register("layer")`), so a layer added later is
checked without anyone writing its test. Each check runs on the constructor arguments and
input batch the layer declares with `Layer.contract_sample` (default: no arguments and a
float batch (N, F)); a layer whose input is not differentiated (Embedding's ids) says so
with `differentiable_input = False`, and the test asserts that no gradient flows back.

For every layer:
  - backward is the derivative of forward, for the input and every trainable weight
    (float64 central differences, in inference and in training mode);
  - get_config -> from_config gives a layer with the same config;
  - saved in a model and loaded again, it predicts bitwise the same;
  - an explicit build(shape), then a call, leaves one set of weights;
  - float32 in gives float32 out, and float32 gradients.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, registry
from glassnet.layers import Activation, InputLayer

# Models are registered as layers too (a saved model names its class), but they are the
# containers these checks put a layer in; tests/test_model.py, test_functional.py and
# test_saving.py check them. Only glassnet's own classes are covered: other tests register
# user layers of their own.
REGISTERED = sorted({cls for cls in registry.table("layer").values()
                     if cls.__module__.startswith("glassnet.")}, key=lambda cls: cls.__name__)
MODELS = [cls for cls in REGISTERED if issubclass(cls, gn.Model)]
LAYERS = [cls for cls in REGISTERED if cls not in MODELS]
LAYERS_COVERED_WHEN_WRITTEN = 38


def test_every_registered_layer_is_covered():
    assert len(LAYERS) >= LAYERS_COVERED_WHEN_WRITTEN
    assert [cls.__name__ for cls in MODELS] == ["Functional", "Sequential"]


def sample(cls):
    """A fresh layer and its input batch, from the arguments the class declares."""
    kwargs, x = cls.contract_sample(np.random.default_rng(0))
    return cls(**kwargs), x


def input_shape(x):
    """The shape `build` takes: batch axis None (a list of shapes for a list of inputs)."""
    if isinstance(x, list):
        return [input_shape(array) for array in x]
    return (None,) + np.shape(x)[1:]


def outputs(y) -> list:
    return list(y) if isinstance(y, (list, tuple)) else [y]


class StackedInputs:
    """A merge layer as `check_layer` sees it: its list of inputs stacked into one array
    (k, N, ...), forward reading the list of views, backward stacking the k gradients."""

    def __init__(self, layer):
        self.layer, self.name = layer, layer.name

    def parameters(self):
        return self.layer.parameters()

    def forward(self, x, training=False):
        return self.layer.forward(list(x), training=training)

    def backward(self, dy):
        return np.stack(self.layer.backward(dy))


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
def test_backward_is_the_derivative_of_forward(cls, training):
    layer, x = sample(cls)
    if isinstance(x, list):
        layer.maybe_build(input_shape(x))
        report = gradcheck.check_layer(StackedInputs(layer), np.stack(x), training=training)
    else:
        report = gradcheck.check_layer(layer, x, training=training)
    weights = [p.name for p in layer.parameters() if p.trainable]
    if cls.differentiable_input:
        assert [r.name for r in report.results] == ["x"] + weights
    else:
        assert [r.name for r in report.results] == weights
        y = layer.forward(x, training=training)
        assert layer.backward(np.ones_like(y)) is None, "no gradient for an integer input"
    # a layer with neither a float input nor weights (CategoryEncoding) has no derivative to
    # compare: that it gives no gradient back is what is checked, above
    no_derivative = not cls.differentiable_input and not weights
    assert report.results or no_derivative, f"{cls.__name__}: nothing to check"
    assert report.passed, report


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
def test_config_round_trip(cls):
    layer, x = sample(cls)
    layer(x)
    config = layer.get_config()
    clone = cls.from_config(config)
    assert type(clone) is cls
    assert clone.get_config() == config


def model_around(layer, x) -> gn.Model:
    """A functional model whose only layer is `layer` (one Input per array of x).

    An InputLayer is not called in a model, it is the model's input: a linear Activation
    after it makes the model.
    """
    if isinstance(layer, InputLayer):
        return gn.Model(layer.output, Activation("linear")(layer.output))
    if isinstance(x, list):
        inputs = [gn.Input(shape=np.shape(array)[1:]) for array in x]
    else:
        inputs = gn.Input(shape=np.shape(x)[1:])
    return gn.Model(inputs, layer(inputs))


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
def test_save_and_load_predict_the_same(cls, tmp_path):
    layer, x = sample(cls)
    model = model_around(layer, x)
    # weights drawn anew (positive: variances stay valid), so loading must restore them
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape) for w in model.get_weights()])
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "model.glassnet")
    loaded = gn.load_model(tmp_path / "model.glassnet")
    same = [inner for inner in loaded.layers          # Keras' order: InputLayers included
            if type(inner) is cls and inner.get_config() == layer.get_config()]
    assert len(same) == 1, f"{cls.__name__} not restored: {loaded.layers}"
    predicted = loaded.predict(x, verbose=0)
    assert predicted.dtype == expected.dtype
    assert predicted.tobytes() == expected.tobytes()          # bitwise


@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
def test_explicit_build_then_call_keeps_one_set_of_weights(cls):
    called, x = sample(cls)
    called(x)
    built, _ = sample(cls)
    built.build(input_shape(x))
    assert built.built
    weights = (len(built.parameters()), built.count_params())
    built(x)
    assert (len(built.parameters()), built.count_params()) == weights
    assert weights == (len(called.parameters()), called.count_params())


@pytest.mark.parametrize("training", [False, True], ids=["inference", "training"])
@pytest.mark.parametrize("cls", LAYERS, ids=lambda cls: cls.__name__)
def test_float32_in_float32_out(cls, training):
    """Outputs, and the gradients backward gives, stay in the layer's float32."""
    layer, x = sample(cls)
    x = [array.astype(np.float32) for array in x] if isinstance(x, list) else x.astype(
        np.float32)
    y = layer(x, training=training)
    assert all(output.dtype == np.float32 for output in outputs(y))
    dx = layer.backward(np.ones_like(y))
    gradients = [] if dx is None else outputs(dx)
    gradients += [p.grad for p in layer.parameters() if p.trainable]
    assert all(gradient.dtype == np.float32 for gradient in gradients)
