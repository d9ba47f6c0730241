"""Differential tests, category "frozen": nested models and layers with trainable=False.

Keras semantics (keras/src/layers/layer.py, batch_normalization.py):
    - `model.trainable = False` freezes every layer inside it, recursively; a frozen weight
      gets no update and no regularization penalty;
    - a frozen BatchNormalization runs in inference mode even in `fit` (it uses and keeps its
      moving statistics);
    - gradients still flow through frozen layers to the trainable layers before them.

Models drawn: an outer Sequential or Functional model with a nested Sequential or
Functional model inside (sometimes two levels deep), the nested one frozen as a whole, or
trainable with single layers frozen (BatchNormalization(trainable=False), Dense(...)).
Each case compares which weights are trainable, predict, forward/backward and
compute_gradients in training mode, two epochs of fit (every weight afterwards, moving
statistics included) and predict after training.
"""

from __future__ import annotations

import numpy as np

import checks
import harness
import specs
from generators import Ctx, Graph, chance, head, input_shape, output_loss, pick, targets
from specs import L


def pytest_generate_tests(metafunc):
    harness.parametrize_seeds(metafunc)


def inner_layer(rng, shape, frozen_layers: bool):
    """A layer for the nested model; (L, output shape)."""
    kinds = ["Dense", "BatchNormalization", "BatchNormalization", "LayerNormalization"]
    if len(shape) == 2:
        kinds += ["LSTM", "Conv1D"]
    kind = pick(rng, kinds)
    if kind == "Dense":
        layer = L("Dense", {"units": int(rng.integers(2, 5)),
                            "activation": pick(rng, ["tanh", "relu", "linear"])})
        out = shape[:-1] + (layer.args["units"],)
    elif kind == "LSTM":
        layer = L("LSTM", {"units": int(rng.integers(2, 4)), "return_sequences": True})
        out = shape[:-1] + (layer.args["units"],)
    elif kind == "Conv1D":
        layer = L("Conv1D", {"filters": int(rng.integers(2, 4)), "kernel_size": 2,
                             "padding": "same"})
        out = shape[:-1] + (layer.args["filters"],)
    else:
        layer = L(kind, {"momentum": 0.7} if kind == "BatchNormalization" else {})
        out = shape
    if frozen_layers and chance(rng, 0.4):
        layer.args["trainable"] = False
    return layer, out


def nested(rng, shape, depth: int):
    """A nested model on `shape`: (L of kind "Model", its output shape)."""
    frozen = chance(rng, 0.6)
    graph = Graph([shape], sequential=chance(rng, 0.5))
    tensor, out = 0, shape
    for _ in range(int(rng.integers(1, 4))):
        layer, out = inner_layer(rng, out, frozen_layers=not frozen)
        tensor = graph.add(layer, tensor, out)
    if depth > 1 and chance(rng, 0.5):
        layer, out = nested(rng, out, depth - 1)
        tensor = graph.add(layer, tensor, out)
    graph.net.trainable = not frozen
    return L("Model", {}, graph.net), out


def frozen_net(rng, ctx: Ctx):
    shape = input_shape(rng, pick(rng, ["flat", "sequence"]))
    graph = Graph([shape], sequential=chance(rng, 0.5))
    tensor, out = 0, shape
    if chance(rng, 0.5):
        units = int(rng.integers(2, 5))
        out = out[:-1] + (units,)
        tensor = graph.add(L("Dense", {"units": units, "activation": "tanh"}), tensor, out)
    layer, out = nested(rng, out, depth=2)
    tensor = graph.add(layer, tensor, out)
    if chance(rng, 0.3):
        tensor = graph.add(L("BatchNormalization", {"momentum": 0.8}), tensor, out)
    activation, loss = output_loss(rng)
    graph.chain(tensor, head(rng, out, activation, int(rng.integers(2, 5)), ctx))
    return graph, loss


@harness.category("frozen", 50)
def test_frozen(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    with harness.run_case(request, "frozen", diff_seed) as case:
        graph, loss = frozen_net(rng, Ctx(training=True))
        net = graph.net
        case.description = f"{specs.describe(net)}; loss {loss}"
        model, ref = checks.build_pair(net, rng)
        n = int(rng.integers(3, 8))
        arrays = specs.inputs_for(net, rng, n, "float64")
        checks.compare_trainable_set(case, model, ref)
        checks.compare_predict(case, model, ref, arrays)
        checks.compare_backward(case, model, ref, arrays, True, rng)
        y = targets(rng, loss, (n, *graph.shapes[-1]))
        model.compile(optimizer="sgd", loss=specs.make_loss(loss))
        checks.compare_loss_gradients(case, model, ref, loss, arrays, y)
        optimizer = pick(rng, [{"kind": "SGD", "learning_rate": 0.05, "momentum": 0.9},
                                {"kind": "Adam", "learning_rate": 0.01},
                                {"kind": "AdamW", "learning_rate": 0.01,
                                 "weight_decay": 0.1}])
        checks.compare_fit(case, model, ref, loss, optimizer, arrays, y,
                           batch_size=int(rng.integers(2, n + 1)), epochs=2)
        checks.compare_predict(case, model, ref, specs.inputs_for(net, rng, n, "float64"))
