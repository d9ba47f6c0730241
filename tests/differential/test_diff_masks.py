"""Differential tests of padding masks: Embedding(mask_zero=True) and what Keras does with it.

Keras (keras/src/layers/layer.py) hands the mask of ids != 0 from layer to layer: Dense,
Dropout, the activation layers, LayerNormalization, BatchNormalization and TimeDistributed
pass it on; SimpleRNN/LSTM/GRU and Bidirectional skip the masked steps; GlobalAveragePooling1D
averages the unmasked steps only; and when the model's output still carries the mask, the
loss weights the masked entries 0 and averages over the valid ones (losses/loss.py,
apply_mask). Categories:

    masks                  Sequential models: Embedding -> mask-passing layers -> an RNN,
                           Bidirectional, GlobalAveragePooling1D, or a per-step output
                           (masked loss); predict, gradients, fit and evaluate
    masks-bn-moments       BatchNormalization after the Embedding, in training mode:
                           Keras takes the batch moments over the unmasked steps only
    masks-functional       the same models as Functional ones: glassnet documents that its
                           functional models do not carry masks, so refusing such a model with
                           an error is accepted; silently ignoring the mask is not
"""

from __future__ import annotations

import numpy as np

import checks
import harness
import specs
from generators import (
    Ctx,
    Graph,
    chance,
    elementwise,
    output_loss,
    pick,
    recurrent_layer,
    targets,
)
from specs import L


def pytest_generate_tests(metafunc):
    harness.parametrize_seeds(metafunc)


def _passing_layers(rng, shape, ctx: Ctx, count: int):
    drawn = []
    for _ in range(count):
        if chance(rng, 0.2):
            units = int(rng.integers(2, 5))
            layer = L("TimeDistributed", {}, L("Dense", {"units": units,
                                                          "activation": "tanh"}))
            shape = shape[:-1] + (units,)
        else:
            layer, shape = elementwise(rng, shape, ctx)
        drawn.append((layer, shape))
    return drawn, shape


def _consumer(rng, shape, ctx: Ctx):
    """A layer that reads the mask: an RNN, Bidirectional or GlobalAveragePooling1D."""
    kind = pick(rng, ["rnn", "rnn", "bidirectional", "pooling"])
    if kind == "pooling":
        return L("GlobalAveragePooling1D", {}), (shape[-1],)
    layer = recurrent_layer(rng, shape[-1], chance(rng, 0.5), ctx)
    units = layer.args["units"]
    if kind == "bidirectional":
        mode = pick(rng, ["concat", "sum", "mul", "ave"])
        layer.args.pop("go_backwards", None)
        units *= 2 if mode == "concat" else 1
        layer = L("Bidirectional", {"merge_mode": mode}, layer)
    inner = layer.inner or layer
    return layer, (shape[0], units) if inner.args["return_sequences"] else (units,)


def masked_net(rng, ctx: Ctx, sequential: bool = True):
    """Embedding(mask_zero) -> passing layers -> maybe consumers -> Dense output; returns
    (graph, loss spec). A per-step output (N, T, C) keeps the mask for the loss."""
    steps, vocab, dim = int(rng.integers(3, 7)), int(rng.integers(4, 10)), int(rng.integers(2, 5))
    shape = (steps, dim)
    drawn = [(L("Embedding", {"input_dim": vocab, "output_dim": dim, "mask_zero": True}),
              shape)]
    layers, shape = _passing_layers(rng, shape, ctx, int(rng.integers(0, 4)))
    drawn += layers
    for _ in range(int(rng.integers(0, 3))):
        if len(shape) != 2:
            break
        layer, shape = _consumer(rng, shape, ctx)
        drawn.append((layer, shape))
        if len(shape) == 2 and chance(rng, 0.5):
            layers, shape = _passing_layers(rng, shape, ctx, 1)
            drawn += layers
    temporal = len(shape) == 2
    activation, loss = output_loss(rng, sparse_ok=not temporal, temporal=temporal)
    classes = int(rng.integers(2, 5))
    drawn.append((L("Dense", {"units": classes, "activation": activation}),
                  shape[:-1] + (classes,)))
    graph = Graph([(steps,)], sequential=sequential, vocab=vocab)
    graph.chain(0, drawn)
    return graph, loss


def _run(case, rng, graph, loss, training: bool, fit: bool):
    net = graph.net
    model, ref = checks.build_pair(net, rng)
    n = int(rng.integers(3, 8))
    arrays = specs.inputs_for(net, rng, n, "float64")
    checks.compare_predict(case, model, ref, arrays, batch_size=int(rng.integers(1, n + 1)))
    checks.compare_backward(case, model, ref, arrays, training, rng)
    y = targets(rng, loss, (n, *graph.shapes[-1]))
    model.compile(optimizer="sgd", loss=specs.make_loss(loss))
    checks.compare_loss_gradients(case, model, ref, loss, arrays, y, training=training)
    if not fit:
        return
    optimizer = pick(rng, [{"kind": "SGD", "learning_rate": 0.1},
                            {"kind": "Adam", "learning_rate": 0.02}])
    val_arrays = specs.inputs_for(net, rng, n, "float64")
    val_y = targets(rng, loss, (n, *graph.shapes[-1]))
    batch_size = int(rng.integers(2, n + 1))
    checks.compare_fit(case, model, ref, loss, optimizer, arrays, y, batch_size=batch_size,
                       epochs=2, validation_data=(val_arrays, val_y))
    checks.compare_evaluate(case, model, ref, loss, val_arrays, val_y, batch_size)


@harness.category("masks", 60)
def test_masks(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    with harness.run_case(request, "masks", diff_seed) as case:
        training = chance(rng, 0.5)
        # BatchNormalization only in inference: its masked moments are masks-bn-moments'
        ctx = Ctx(training=True, masking=True, batchnorm=not training)   # fit: Dropout rate 0
        graph, loss = masked_net(rng, ctx)
        has_batchnorm = any(s.kind == "BatchNormalization" for s in graph.net.layers)
        case.description = f"{specs.describe(graph.net)}; loss {loss}; training={training}"
        _run(case, rng, graph, loss, training, fit=not has_batchnorm)


@harness.category("masks-bn-moments", 20)
def test_masked_batchnorm_moments(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    with harness.run_case(request, "masks-bn-moments", diff_seed) as case:
        steps, vocab, dim = int(rng.integers(3, 7)), int(rng.integers(4, 10)), 3
        graph = Graph([(steps,)], sequential=True, vocab=vocab)
        tensor = graph.add(L("Embedding", {"input_dim": vocab, "output_dim": dim,
                                           "mask_zero": True}), 0, (steps, dim))
        if chance(rng, 0.5):
            tensor = graph.add(L("Dense", {"units": dim, "activation": "tanh"}), tensor,
                               (steps, dim))
        tensor = graph.add(L("BatchNormalization", {"momentum": 0.8}), tensor, (steps, dim))
        tensor = graph.add(L("GlobalAveragePooling1D", {}), tensor, (dim,))
        graph.add(L("Dense", {"units": 2, "activation": "linear"}), tensor, (2,))
        case.description = specs.describe(graph.net) + "; training=True"
        model, ref = checks.build_pair(graph.net, rng)
        arrays = specs.inputs_for(graph.net, rng, int(rng.integers(3, 7)), "float64")
        checks.compare_backward(case, model, ref, arrays, True, rng)


@harness.category("masks-functional", 20)
def test_masks_functional(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    with harness.run_case(request, "masks-functional", diff_seed) as case:
        training = chance(rng, 0.5)
        ctx = Ctx(training=True, masking=True, batchnorm=False)   # fit: Dropout at rate 0
        graph, loss = masked_net(rng, ctx, sequential=False)
        case.description = f"{specs.describe(graph.net)}; loss {loss}; training={training}"
        try:
            specs.build(graph.net)
        except (ValueError, NotImplementedError) as error:
            if "mask" in str(error).lower():
                return                     # an explicit refusal is fine
            raise
        _run(case, rng, graph, loss, training, fit=True)
