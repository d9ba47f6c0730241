"""Differential tests, category "layers": random Sequential and Functional models.

Models are drawn over Dense, the activation layers, Dropout (inference), BatchNormalization,
LayerNormalization, Conv1D/Conv2D, pooling, global pooling, Flatten/Reshape, Embedding
(without masks: see test_diff_masks.py), SimpleRNN/LSTM/GRU, Bidirectional, TimeDistributed
and, in Functional models, the merge layers, several inputs and residual connections.
Each case compares predict, forward/backward in training or inference mode, and the
loss gradients of compute_gradients with the PyTorch reference (float64; one seed in eight
builds the model in float32).
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
    random_chain,
    targets,
)
from specs import L

MERGES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


def pytest_generate_tests(metafunc):
    harness.parametrize_seeds(metafunc)


def sequential_net(rng, ctx: Ctx):
    """Input -> 1..3 random layers -> head; sometimes Embedding ids first."""
    family = pick(rng, ["flat", "sequence", "image", "ids"])
    vocab = 0
    graph_inputs = [input_shape(rng, family if family != "ids" else "sequence")]
    drawn = []
    shape = graph_inputs[0]
    if family == "ids":
        vocab, dim = int(rng.integers(3, 9)), int(rng.integers(2, 5))
        graph_inputs, shape = [shape[:1]], (shape[0], dim)
        drawn.append((L("Embedding", {"input_dim": vocab, "output_dim": dim}), shape))
    layers, shape = random_chain(rng, shape, int(rng.integers(1, 4)), ctx)
    activation, loss = output_loss(rng)
    drawn += layers + head(rng, shape, activation, int(rng.integers(2, 5)), ctx)
    graph = Graph(graph_inputs, sequential=True, vocab=vocab)
    graph.chain(0, drawn)
    return graph, loss


def functional_net(rng, ctx: Ctx):
    """One or two inputs -> branches of the same shape -> a merge (and maybe a residual
    connection) -> more layers -> head."""
    family = pick(rng, ["flat", "sequence", "image"])
    first = input_shape(rng, family)
    count = int(rng.integers(1, 3))
    inputs = [first] + [first[:-1] + (int(rng.integers(2, 5)),) for _ in range(count - 1)]
    graph = Graph(inputs, sequential=False)
    keep = Ctx(ctx.training, keep_time=True)
    units, activation = int(rng.integers(2, 5)), pick(rng, ACTIVATIONS)
    sources = list(range(count)) if count > 1 else [0, 0]
    branches = []
    for source in sources:
        layers, shape = random_chain(rng, inputs[source], int(rng.integers(0, 3)), keep)
        tensor = graph.chain(source, layers)
        shape = shape[:-1] + (units,)
        branches.append(graph.add(L("Dense", {"units": units, "activation": activation}),
                                  tensor, shape))
    kind = pick(rng, MERGES)
    args = {}
    if kind == "Concatenate":
        args["axis"] = pick(rng, [-1, 1]) if len(shape) > 1 else -1
        axis = args["axis"] % (len(shape) + 1) - 1
        shape = tuple(d * 2 if i == axis else d for i, d in enumerate(shape))
    tensor = graph.add(L(kind, args), branches, shape)
    if chance(rng, 0.4):
        residual = graph.add(L("Dense", {"units": shape[-1], "activation": "tanh"}), tensor,
                             shape)
        tensor = graph.add(L("Add", {}), (tensor, residual), shape)
    layers, shape = random_chain(rng, shape, int(rng.integers(0, 3)), ctx)
    activation, loss = output_loss(rng)
    graph.chain(tensor, layers + head(rng, shape, activation, int(rng.integers(2, 5)), ctx))
    return graph, loss


@harness.category("layers", 150)
def test_layers(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    dtype = "float32" if diff_seed % 8 == 7 else "float64"
    with harness.run_case(request, "layers", diff_seed, dtype) as case:
        training = chance(rng, 0.5)
        ctx = Ctx(training=training)
        make = functional_net if chance(rng, 0.4) else sequential_net
        graph, loss = make(rng, ctx)
        net = graph.net
        case.description = f"{specs.describe(net)}; loss {loss}; training={training}"
        model, ref = checks.build_pair(net, rng)
        n = int(rng.integers(2, 7))
        arrays = specs.inputs_for(net, rng, n, dtype)
        checks.compare_predict(case, model, ref, arrays, batch_size=int(rng.integers(1, n + 1)))
        checks.compare_backward(case, model, ref, arrays, training, rng)
        y = targets(rng, loss, (n, *graph.shapes[-1]))
        model.compile(optimizer="sgd", loss=specs.make_loss(loss))
        checks.compare_loss_gradients(case, model, ref, loss, arrays, y, training=training)
