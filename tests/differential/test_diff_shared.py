"""Differential tests, category "shared": one layer object called at several places.

In Keras a layer called twice shares its weights between the calls, and the gradient of a
shared weight is the sum over its uses (autograd does it). Models drawn:

    Sequential   [..., layer, (shape-keeping layers), layer, ...] with the same object twice
                 (Dense(F), LayerNormalization, BatchNormalization, an activation, an RNN
                 returning sequences of F units, Conv1D(F, padding="same"), TimeDistributed)
    Functional   a siamese pair (two inputs through the same layers, merged), or a layer used
                 at two depths with a skip connection around the second use

Each case compares predict, forward/backward in training mode, compute_gradients, and two
epochs of fit with validation data.
"""

from __future__ import annotations

import numpy as np

import checks
import harness
import specs
from generators import (
    ACTIVATIONS,
    Ctx,
    Graph,
    chance,
    head,
    input_shape,
    output_loss,
    pick,
    shape_keeping_layer,
    targets,
)
from specs import L


def pytest_generate_tests(metafunc):
    harness.parametrize_seeds(metafunc)


def shared_layer(rng, shape, ctx: Ctx) -> L:
    """A layer mapping `shape` to itself, so that it can be applied to its own output."""
    features = shape[-1]
    if len(shape) == 2 and chance(rng, 0.5):
        kind = pick(rng, ["SimpleRNN", "LSTM", "GRU", "Conv1D", "TimeDistributed"])
        if kind == "Conv1D":
            return L("Conv1D", {"filters": features, "kernel_size": int(rng.integers(1, 4)),
                                "padding": "same", "activation": pick(rng, ACTIVATIONS)})
        if kind == "TimeDistributed":
            return L("TimeDistributed", {}, L("Dense", {"units": features,
                                                         "activation": "tanh"}))
        return L(kind, {"units": features, "return_sequences": True})
    return shape_keeping_layer(rng, shape, ctx)


def sequential_shared(rng, ctx: Ctx):
    shape = input_shape(rng, pick(rng, ["flat", "sequence"]))
    graph = Graph([shape], sequential=True)
    tensor = 0
    if chance(rng, 0.4):
        tensor = graph.add(shape_keeping_layer(rng, shape, ctx), tensor, shape)
    index = len(graph.net.layers)
    tensor = graph.add(shared_layer(rng, shape, ctx), tensor, shape)
    for _ in range(int(rng.integers(1, 3))):
        for _ in range(int(rng.integers(0, 2))):
            tensor = graph.add(shape_keeping_layer(rng, shape, ctx), tensor, shape)
        tensor = graph.reuse(index, tensor, shape)
    activation, loss = output_loss(rng)
    graph.chain(tensor, head(rng, shape, activation, int(rng.integers(2, 5)), ctx))
    return graph, loss


def functional_shared(rng, ctx: Ctx):
    shape = input_shape(rng, pick(rng, ["flat", "sequence"]))
    if chance(rng, 0.5):                                       # siamese
        graph = Graph([shape, shape], sequential=False)
        ends = [0, 1]
        for _ in range(int(rng.integers(1, 3))):
            graph.net.layers.append(shared_layer(rng, shape, ctx))
            index = len(graph.net.layers) - 1
            ends = [graph.reuse(index, end, shape) for end in ends]
        kind = pick(rng, ["Add", "Subtract", "Multiply", "Average", "Maximum"])
        tensor = graph.add(L(kind, {}), ends, shape)
    else:                                                       # two depths, a skip
        graph = Graph([shape], sequential=False)
        index = len(graph.net.layers)
        first = graph.add(shared_layer(rng, shape, ctx), 0, shape)
        middle = graph.add(shape_keeping_layer(rng, shape, ctx), first, shape)
        second = graph.reuse(index, middle, shape)
        tensor = graph.add(L("Add", {}), (first, second), shape)
    activation, loss = output_loss(rng)
    graph.chain(tensor, head(rng, shape, activation, int(rng.integers(2, 5)), ctx))
    return graph, loss


@harness.category("shared", 50)
def test_shared(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    with harness.run_case(request, "shared", diff_seed) as case:
        ctx = Ctx(training=True)
        make = functional_shared if chance(rng, 0.5) else sequential_shared
        graph, loss = make(rng, ctx)
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
        val_arrays = specs.inputs_for(net, rng, n, "float64")
        val_y = targets(rng, loss, (n, *graph.shapes[-1]))
        optimizer = pick(rng, [{"kind": "SGD", "learning_rate": 0.05, "momentum": 0.9},
                                {"kind": "Adam", "learning_rate": 0.01}])
        checks.compare_fit(case, model, ref, loss, optimizer, arrays, y,
                           batch_size=int(rng.integers(2, n + 1)), epochs=2,
                           validation_data=(val_arrays, val_y))
