"""Differential tests, category "losses": values, gradients and reductions, as Keras 3.

Keras computes a loss in two steps (keras/src/losses/loss.py): the loss function returns
one value per entry of y_pred without its last (class) axis, (N,) for (N, C) and (N, T)
for (N, T, C); then `reduce_weighted_values` multiplies by the sample weights and reduces:
"sum_over_batch_size" divides the sum by the number of values (N T), "sum" does not
divide, "mean_with_sample_weight" divides by the sum of the weights, "none" returns the
(N,) or (N, T) values.

    losses         the loss objects alone: loss(y_true, y_pred, sample_weight) and
                   loss.gradient(...) for MSE, MAE, Huber, binary / categorical / sparse
                   categorical cross-entropy (from_logits, label_smoothing, axis,
                   ignore_class) and CosineSimilarity, on (N, C) and (N, T, C) predictions
    losses-model   the same losses behind a model's output layer (where glassnet fuses
                   softmax/sigmoid with the cross-entropy): compute_gradients with sample
                   weights, and fit/evaluate, including (N, T) integer labels
"""

from __future__ import annotations

import numpy as np

import checks
import harness
import specs
from generators import Graph, chance, pick
from specs import L

REDUCTIONS = ["sum_over_batch_size", "sum_over_batch_size", "sum", "mean_with_sample_weight",
              "none"]


def pytest_generate_tests(metafunc):
    harness.parametrize_seeds(metafunc)


def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _one_hot(rng, shape, axis):
    """Targets one-hot along `axis` of `shape`."""
    axis = axis % len(shape)
    moved = shape[:axis] + shape[axis + 1:] + (shape[axis],)
    hot = np.eye(shape[axis])[rng.integers(0, shape[axis], size=moved[:-1])]
    return np.moveaxis(hot, -1, axis)


def loss_spec(rng, temporal: bool) -> dict:
    kind = pick(rng, ["mse", "mae", "huber", "bce", "cce", "cce", "scce", "scce", "cosine"])
    spec = {"kind": kind, "reduction": pick(rng, REDUCTIONS)}
    if kind == "huber":
        spec["delta"] = round(float(rng.uniform(0.3, 2.0)), 3)
    if kind in ("bce", "cce", "scce"):
        spec["from_logits"] = chance(rng, 0.5)
    if kind in ("bce", "cce") and chance(rng, 0.3):
        spec["label_smoothing"] = round(float(rng.uniform(0.05, 0.3)), 3)
    if kind == "cce" and temporal and "label_smoothing" not in spec and chance(rng, 0.5):
        spec["axis"] = 1              # Keras counts smoothing's classes on axis -1 always
    if kind == "cosine" and temporal and chance(rng, 0.5):
        spec["axis"] = 1
    if kind == "scce" and chance(rng, 0.3):
        spec["ignore_class"] = 0
    return spec


def prediction_and_targets(rng, spec: dict, shape: tuple):
    """(y_pred, y_true) of the kind `spec` expects, away from Keras' probability clipping."""
    kind, axis = spec["kind"], spec.get("axis", -1)
    z = rng.standard_normal(shape)
    if kind in ("mse", "mae", "huber", "cosine"):
        return z, rng.standard_normal(shape)
    if kind == "bce":
        y_true = (rng.integers(0, 2, size=shape) if chance(rng, 0.5)
                  else rng.uniform(0, 1, size=shape))
        return (z if spec["from_logits"] else 1 / (1 + np.exp(-z))), y_true.astype(float)
    if kind == "cce":
        y_true = _one_hot(rng, shape, axis) if chance(rng, 0.7) else _softmax(
            rng.standard_normal(shape), axis)
        if spec["from_logits"]:
            return z, y_true
        # probabilities; Keras renormalizes them, so an unnormalized positive y_pred is fine
        return (_softmax(z, axis) if chance(rng, 0.6) else np.exp(z)), y_true
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    if len(shape) == 2 and chance(rng, 0.3):
        labels = labels[:, None]
    return (z if spec["from_logits"] else _softmax(z, -1)), labels


@harness.category("losses", 120)
def test_losses(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    _, reference_train = harness.load_reference()
    with harness.run_case(request, "losses", diff_seed) as case:
        temporal = chance(rng, 0.4)
        n = int(rng.integers(2, 7))
        shape = (n, int(rng.integers(2, 5)), int(rng.integers(2, 5))) if temporal else \
            (n, int(rng.integers(2, 5)))
        spec = loss_spec(rng, temporal)
        y_pred, y_true = prediction_and_targets(rng, spec, shape)
        weights = None
        if not temporal and chance(rng, 0.5):  # Keras has no (N,) weights for (N, T) losses
            weights = rng.uniform(0, 2, size=n) * (rng.random(n) > 0.2)
        case.description = f"loss {spec} on y_pred {shape}; sample_weight={weights is not None}"
        loss = specs.make_loss(spec)
        value = loss(y_true, y_pred, sample_weight=weights)
        prediction = reference_train.tensor(y_pred, grad=True)
        target = torch.as_tensor(y_true) if spec["kind"] == "scce" else \
            reference_train.tensor(y_true)
        expected = reference_train.keras_loss(
            spec, target, prediction, None if weights is None else reference_train.tensor(weights))
        case.compare("loss value", value, expected)
        gradient = loss.gradient(y_true, y_pred, sample_weight=weights)
        (expected_gradient,) = torch.autograd.grad(expected.sum(), prediction)
        case.compare("loss gradient dL/dy_pred", gradient, expected_gradient)


def model_loss_case(rng):
    """A model whose output layer and loss glassnet may fuse: (graph, loss spec, targets)."""
    temporal = chance(rng, 0.5)
    features, classes = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    steps = int(rng.integers(2, 5))
    shape = (steps, features) if temporal else (features,)
    graph = Graph([shape], sequential=chance(rng, 0.6))
    out = shape[:-1] + (classes,)
    kind = pick(rng, ["cce", "cce", "scce", "bce", "mse"])
    spec = {"kind": kind, "reduction": pick(rng, REDUCTIONS[:4])}
    axis = 1 if kind == "cce" and temporal and chance(rng, 0.5) else -1
    if axis == 1:
        spec["axis"] = 1
    activation = {"cce": "softmax", "scce": "softmax", "bce": "sigmoid", "mse": "linear"}[kind]
    if kind in ("cce", "scce", "bce") and chance(rng, 0.3):
        spec["from_logits"], activation = True, "linear"
    tensor = 0
    if chance(rng, 0.5):
        tensor = graph.add(L("Dense", {"units": 3, "activation": "tanh"}), tensor,
                           shape[:-1] + (3,))
    if activation == "softmax" and axis == 1 and chance(rng, 0.5):
        tensor = graph.add(L("Dense", {"units": classes}), tensor, out)
        graph.add(L("Softmax", {"axis": 1}), tensor, out)
    else:
        graph.add(L("Dense", {"units": classes, "activation": activation}), tensor, out)
    n = int(rng.integers(3, 9))
    if kind == "scce":
        y = rng.integers(0, classes, size=(n, *out[:-1]))
    elif kind == "cce":
        y = _one_hot(rng, (n, *out), axis)
    elif kind == "bce":
        y = rng.integers(0, 2, size=(n, *out)).astype(float)
    else:
        y = rng.standard_normal((n, *out))
    return graph, spec, y


@harness.category("losses-model", 60)
def test_losses_in_model(diff_seed, torch, request):
    rng = np.random.default_rng(diff_seed)
    with harness.run_case(request, "losses-model", diff_seed) as case:
        graph, spec, y = model_loss_case(rng)
        net, n = graph.net, len(y)
        temporal = len(graph.shapes[-1]) == 2
        weights = None if temporal or chance(rng, 0.5) else rng.uniform(0, 2, size=n)
        case.description = (f"{specs.describe(net)}; loss {spec}; y {y.shape}; "
                            f"sample_weight={weights is not None}")
        model, ref = checks.build_pair(net, rng)
        arrays = specs.inputs_for(net, rng, n, "float64")
        model.compile(optimizer="sgd", loss=specs.make_loss(spec))
        checks.compare_loss_gradients(case, model, ref, spec, arrays, y, weights)
        batch_size = int(rng.integers(2, n + 1))
        checks.compare_fit(case, model, ref, spec, {"kind": "SGD", "learning_rate": 0.1},
                           arrays, y, batch_size=batch_size, epochs=2, sample_weight=weights)
        checks.compare_evaluate(case, model, ref, spec, arrays, y, batch_size, weights)
