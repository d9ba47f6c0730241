"""Differential tests, category "fit": validation, class and sample weights, History, evaluate.

Keras 3's fit (keras/src/trainers):
    - validation_split keeps the first floor(n (1 - split)) samples for training and the
      rest for validation (array_slicing.train_validation_split), before any shuffling;
    - class_weight becomes per-sample weights of the training part only
      (array_data_adapter): the validation loss is unweighted;
    - the History's "loss" is the batch-size-weighted mean of each batch's loss (computed
      before that batch's update), "val_loss" the same over the validation batches in
      inference mode; regularization penalties are part of both.

Each case draws a small model, a data set of 5..24 samples, a validation_split (or
validation data, or none), class weights or sample weights, batch size and epochs; it
compares the History, every weight after fit, evaluate on new data (with sample weights
sometimes) and predict.
"""

from __future__ import annotations

import math

import numpy as np

import checks
import harness
import specs
from generators import Graph, chance, input_shape, pick, targets
from specs import L

SPLITS = [0.1, 0.15, 0.2, 0.25, 0.3, 1 / 3, 0.4, 0.45, 0.5]


def pytest_generate_tests(metafunc):
    harness.parametrize_seeds(metafunc)


def fit_net(rng):
    """Input -> Dense -> (BatchNormalization) -> Dense(classes): (graph, loss spec)."""
    shape = input_shape(rng, "flat")
    graph = Graph([shape], sequential=chance(rng, 0.7))
    units = int(rng.integers(2, 6))
    args = {"units": units, "activation": pick(rng, ["tanh", "relu", "sigmoid"])}
    if chance(rng, 0.3):
        args["kernel_regularizer"] = {"l2": 0.01}
    tensor = graph.add(L("Dense", args), 0, (units,))
    if chance(rng, 0.4):
        tensor = graph.add(L("BatchNormalization", {"momentum": 0.7}), tensor, (units,))
    activation, loss = pick(rng, [("softmax", {"kind": "scce"}), ("softmax", {"kind": "cce"}),
                                   ("sigmoid", {"kind": "bce"}), ("linear", {"kind": "mse"})])
    classes = 1 if loss["kind"] == "bce" else int(rng.integers(2, 4))
    graph.add(L("Dense", {"units": classes, "activation": activation}), tensor, (classes,))
    return graph, loss


def _split(rng, n: int):
    """A validation_split that leaves Keras at least one sample on each side."""
    for _ in range(50):
        split = pick(rng, SPLITS)
        if 1 <= math.floor(n * (1.0 - split)) <= n - 1:
            return split
    return 0.5


@harness.category("fit", 80)
def test_fit(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    with harness.run_case(request, "fit", diff_seed) as case:
        graph, loss = fit_net(rng)
        net = graph.net
        n = int(rng.integers(5, 25))
        arrays = specs.inputs_for(net, rng, n, "float64")
        y = targets(rng, loss, (n, *graph.shapes[-1]))
        args = {"batch_size": int(rng.integers(2, n + 1)), "epochs": int(rng.integers(1, 4))}
        validation = pick(rng, ["split", "split", "data", None])
        if validation == "split":
            args["validation_split"] = _split(rng, n)
        elif validation == "data":
            m = int(rng.integers(2, 9))
            args["validation_data"] = (specs.inputs_for(net, rng, m, "float64"),
                                       targets(rng, loss, (m, *graph.shapes[-1])))
        weighting = pick(rng, ["class", "sample", None])
        if weighting == "class" and loss["kind"] != "mse":
            classes = max(2, graph.shapes[-1][-1])
            args["class_weight"] = {c: round(float(rng.uniform(0.2, 3.0)), 3)
                                    for c in range(classes)}
        elif weighting == "sample":
            args["sample_weight"] = rng.uniform(0.0, 2.0, size=n)
        optimizer = pick(rng, [{"kind": "SGD", "learning_rate": 0.1},
                                {"kind": "Adam", "learning_rate": 0.05}])
        shown = {k: v for k, v in args.items() if k not in ("validation_data", "sample_weight")}
        case.description = (f"{specs.describe(net)}; loss {loss}; {optimizer}; n={n}; {shown}; "
                            f"validation_data={'validation_data' in args}; "
                            f"sample_weight={'sample_weight' in args}")
        model, ref = checks.build_pair(net, rng)
        checks.compare_fit(case, model, ref, loss, optimizer, arrays, y, **args)
        m = int(rng.integers(2, 9))
        test_x = specs.inputs_for(net, rng, m, "float64")
        test_y = targets(rng, loss, (m, *graph.shapes[-1]))
        weights = rng.uniform(0.0, 2.0, size=m) if chance(rng, 0.5) else None
        checks.compare_evaluate(case, model, ref, loss, test_x, test_y,
                                int(rng.integers(1, m + 1)), weights)
        checks.compare_predict(case, model, ref, test_x)
