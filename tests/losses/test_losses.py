"""Losses: gradient checks, PyTorch references (float64), the fused output gradient, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import config, gradcheck, losses

RTOL = 1e-10  # float64 against PyTorch: the same formulas, summed in a different order
ATOL = 1e-12


def _one_hot(labels, num_classes):
    return np.eye(num_classes)[labels]


def _targets(kind: str, shape, rng):
    """y_true of the right kind for a y_pred of `shape`."""
    if kind == "real":
        return rng.standard_normal(shape)
    if kind == "binary":
        return rng.integers(0, 2, shape).astype(np.float64)
    if kind == "distribution":  # probability targets (rows sum to 1)
        raw = rng.uniform(0.0, 1.0, shape)
        return raw / raw.sum(axis=-1, keepdims=True)
    if kind == "labels":
        return rng.integers(0, shape[-1], shape[:-1])
    raise ValueError(kind)


def _predictions(kind: str, shape, rng):
    if kind == "logits":
        return rng.standard_normal(shape) * 2
    if kind == "probabilities":  # away from the [eps, 1 - eps] clip
        return rng.uniform(0.05, 0.95, shape)
    return rng.standard_normal(shape)


# (loss, target kind, prediction kind, shapes)
GRADCHECK_CASES = [
    (losses.MeanSquaredError(), "real", "real", [(6,), (6, 1), (6, 3), (4, 3, 2)]),
    (losses.MeanAbsoluteError(), "real", "real", [(6,), (6, 1), (6, 3), (4, 3, 2)]),
    (losses.Huber(delta=0.7), "real", "real", [(6,), (6, 1), (6, 3), (4, 3, 2)]),
    (losses.BinaryCrossentropy(), "binary", "probabilities", [(6,), (6, 1), (6, 3)]),
    (losses.BinaryCrossentropy(label_smoothing=0.1), "binary", "probabilities", [(6, 3)]),
    (losses.BinaryCrossentropy(from_logits=True), "binary", "logits", [(6, 1), (4, 3, 2)]),
    (losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), "binary", "logits",
     [(6, 3)]),
    (losses.CategoricalCrossentropy(), "distribution", "probabilities", [(6, 4), (3, 2, 4)]),
    (losses.CategoricalCrossentropy(label_smoothing=0.2), "distribution", "probabilities",
     [(6, 4)]),
    (losses.CategoricalCrossentropy(from_logits=True), "distribution", "logits",
     [(6, 4), (3, 2, 4)]),
    (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), "distribution",
     "logits", [(6, 4)]),
    (losses.CategoricalCrossentropy(axis=1), "distribution", "probabilities", [(3, 4, 2)]),
    (losses.SparseCategoricalCrossentropy(), "labels", "probabilities", [(6, 4), (3, 2, 4)]),
    (losses.SparseCategoricalCrossentropy(from_logits=True), "labels", "logits",
     [(6, 4), (3, 2, 4)]),
    (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=1), "labels", "logits",
     [(6, 4), (3, 5, 4)]),
    (losses.CosineSimilarity(), "real", "real", [(6, 4), (3, 2, 4)]),
    (losses.MeanSquaredError(reduction="sum"), "real", "real", [(6, 3)]),
    (losses.CategoricalCrossentropy(reduction="mean_with_sample_weight"), "distribution",
     "probabilities", [(6, 4)]),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("loss", "target", "prediction", "shapes"), GRADCHECK_CASES,
                         ids=lambda v: repr(v) if isinstance(v, losses.Loss) else None)
def test_gradient_matches_central_differences(loss, target, prediction, shapes, weighted, rng):
    for shape in shapes:
        y_true, y_pred = _targets(target, shape, rng), _predictions(prediction, shape, rng)
        sample_weight = rng.uniform(0.1, 2.0, shape[0]) if weighted else None
        report = gradcheck.check_loss(loss, y_true, y_pred, sample_weight)
        assert report.passed, f"{shape}\n{report}"


def test_sparse_labels_of_shape_n1_and_float_labels_give_the_same_loss(rng):
    loss = losses.SparseCategoricalCrossentropy(from_logits=True)
    logits, labels = rng.standard_normal((5, 3)), rng.integers(0, 3, 5)
    expected = loss(labels, logits)
    np.testing.assert_allclose(loss(labels[:, None], logits), expected, rtol=0)
    np.testing.assert_allclose(loss(labels.astype(float), logits), expected, rtol=0)
    assert gradcheck.check_loss(loss, labels[:, None], logits).passed


# --------------------------------------------------------------------------- PyTorch


def _torch_value_and_grad(torch, fn, y_pred):
    """fn(torch y_pred) -> scalar; returns (value, d value / d y_pred) as NumPy float64."""
    pred = torch.tensor(y_pred, dtype=torch.float64, requires_grad=True)
    value = fn(pred)
    value.backward()
    return value.item(), pred.grad.numpy()


def _assert_matches_torch(torch, loss, y_true, y_pred, torch_fn, sample_weight=None):
    value, grad = _torch_value_and_grad(torch, torch_fn, y_pred)
    np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight)), value, rtol=RTOL,
                               atol=ATOL)
    np.testing.assert_allclose(loss.gradient(y_true, y_pred, sample_weight), grad, rtol=RTOL,
                               atol=ATOL)


@pytest.mark.parametrize("shape", [(7, 1), (7, 3)])
def test_regression_losses_match_torch(torch, rng, shape):
    F = torch.nn.functional
    y_true, y_pred = rng.standard_normal(shape), rng.standard_normal(shape) * 2
    target = torch.tensor(y_true)
    pairs = [(losses.MeanSquaredError(), torch.nn.MSELoss()),
             (losses.MeanAbsoluteError(), torch.nn.L1Loss()),
             (losses.Huber(delta=0.5), torch.nn.HuberLoss(delta=0.5)),
             (losses.Huber(delta=2.0), torch.nn.HuberLoss(delta=2.0))]
    for ours, theirs in pairs:
        _assert_matches_torch(torch, ours, y_true, y_pred, lambda p, f=theirs: f(p, target))
    # Keras weighting, w_n times the per-sample mean over outputs, divided by N:
    w = rng.uniform(0.1, 2.0, shape[0])
    weights = torch.tensor(w)
    _assert_matches_torch(
        torch, losses.MeanSquaredError(), y_true, y_pred,
        lambda p: (weights * F.mse_loss(p, target, reduction="none").mean(1)).sum() / shape[0],
        sample_weight=w)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_binary_crossentropy_matches_torch(torch, rng, label_smoothing):
    y_true = rng.integers(0, 2, (8, 3)).astype(np.float64)
    # Keras smooths binary targets towards 1/2; PyTorch has no option, so smooth them here.
    target = torch.tensor(y_true * (1 - label_smoothing) + 0.5 * label_smoothing)
    probabilities, logits = rng.uniform(0.02, 0.98, (8, 3)), rng.standard_normal((8, 3)) * 3
    _assert_matches_torch(torch, losses.BinaryCrossentropy(label_smoothing=label_smoothing),
                          y_true, probabilities, lambda p: torch.nn.BCELoss()(p, target))
    _assert_matches_torch(
        torch, losses.BinaryCrossentropy(from_logits=True, label_smoothing=label_smoothing),
        y_true, logits, lambda z: torch.nn.BCEWithLogitsLoss()(z, target))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_categorical_crossentropy_matches_torch(torch, rng, label_smoothing):
    # Keras and PyTorch smooth the same way: y (1 - s) + s / C.
    y_true = _targets("distribution", (6, 5), rng)
    target = torch.tensor(y_true)
    cross_entropy = torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    logits = rng.standard_normal((6, 5)) * 2
    _assert_matches_torch(
        torch, losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing),
        y_true, logits, lambda z: cross_entropy(z, target))

    # On probabilities Keras renormalises (p / Σp) before the log: the reference does too.
    smoothed = target * (1 - label_smoothing) + label_smoothing / 5
    probabilities = rng.uniform(0.05, 1.0, (6, 5))
    _assert_matches_torch(
        torch, losses.CategoricalCrossentropy(label_smoothing=label_smoothing), y_true,
        probabilities,
        lambda p: -(smoothed * torch.log(p / p.sum(1, keepdim=True))).sum(1).mean())


def test_label_smoothing_of_one_hot_targets_matches_torch_with_class_indices(torch, rng):
    labels, logits = rng.integers(0, 4, 9), rng.standard_normal((9, 4))
    theirs = torch.nn.CrossEntropyLoss(label_smoothing=0.3)
    _assert_matches_torch(
        torch, losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3),
        _one_hot(labels, 4), logits, lambda z: theirs(z, torch.tensor(labels)))


def test_sparse_categorical_crossentropy_matches_torch(torch, rng):
    labels = rng.integers(0, 4, 9)
    target = torch.tensor(labels)
    logits, probabilities = rng.standard_normal((9, 4)) * 2, rng.uniform(0.05, 1.0, (9, 4))
    _assert_matches_torch(torch, losses.SparseCategoricalCrossentropy(from_logits=True), labels,
                          logits, lambda z: torch.nn.CrossEntropyLoss()(z, target))
    _assert_matches_torch(
        torch, losses.SparseCategoricalCrossentropy(), labels, probabilities,
        lambda p: torch.nn.NLLLoss()(torch.log(p / p.sum(1, keepdim=True)), target))


def test_ignore_class_matches_torch_ignore_index(torch, rng):
    labels = rng.integers(0, 4, 10)
    labels[[1, 4, 5]] = -1
    logits = rng.standard_normal((10, 4))
    theirs = torch.nn.CrossEntropyLoss(ignore_index=-1)
    _assert_matches_torch(torch, losses.SparseCategoricalCrossentropy(True, ignore_class=-1),
                          labels, logits, lambda z: theirs(z, torch.tensor(labels)))


def test_sequence_outputs_average_over_batch_and_time_like_torch(torch, rng):
    # y_pred (N, T, C): Keras divides the sum over N*T entries by N*T; PyTorch wants (N, C, T).
    labels, logits = rng.integers(0, 4, (3, 5)), rng.standard_normal((3, 5, 4))
    labels[0, :2] = 2
    theirs = torch.nn.CrossEntropyLoss(ignore_index=2)
    _assert_matches_torch(torch, losses.SparseCategoricalCrossentropy(True, ignore_class=2),
                          labels, logits,
                          lambda z: theirs(z.permute(0, 2, 1), torch.tensor(labels)))


def test_cosine_similarity_matches_torch(torch, rng):
    y_true, y_pred = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    target = torch.tensor(y_true)
    loss = losses.CosineSimilarity()
    _assert_matches_torch(torch, loss, y_true, y_pred,
                          lambda p: -torch.nn.functional.cosine_similarity(p, target).mean())
    # Keras' loss is -cos; the cosine distance 1 - cos is that plus 1.
    distance = 1 - torch.nn.functional.cosine_similarity(torch.tensor(y_pred), target)
    np.testing.assert_allclose(loss(y_true, y_pred, sample_weight=None) + 1,
                               distance.mean().item(), rtol=RTOL)
    assert -1 <= float(loss(y_true, y_pred)) <= 1


# --------------------------------------------------------------------------- reductions


def test_reductions_follow_keras(rng):
    y_true, y_pred = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    w = rng.uniform(0.1, 2.0, 5)
    per_sample = ((y_pred - y_true) ** 2).mean(axis=1)
    cases = {"sum_over_batch_size": (w * per_sample).sum() / 5,
             "mean": (w * per_sample).sum() / 5,
             "sum": (w * per_sample).sum(),
             "mean_with_sample_weight": (w * per_sample).sum() / w.sum(),
             "none": w * per_sample}
    for reduction, expected in cases.items():
        value = losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, w)
        np.testing.assert_allclose(value, expected, rtol=1e-13)
    # "none" returns the weighted per-sample losses; its gradient is that of their sum.
    grad = losses.MeanSquaredError(reduction="none").gradient(y_true, y_pred, w)
    np.testing.assert_allclose(grad, w[:, None] * 2 * (y_pred - y_true) / 3, rtol=1e-13)


def test_sample_weight_of_shape_n1_equals_n(rng):
    loss = losses.BinaryCrossentropy()
    y_true, y_pred = _targets("binary", (4, 2), rng), _predictions("probabilities", (4, 2), rng)
    w = rng.uniform(0.5, 1.5, 4)
    np.testing.assert_allclose(loss(y_true, y_pred, w[:, None]), loss(y_true, y_pred, w))
    np.testing.assert_allclose(loss.gradient(y_true, y_pred, w[:, None]),
                               loss.gradient(y_true, y_pred, w))


def test_targets_of_shape_n_are_accepted_for_outputs_n1(rng):
    loss = losses.MeanSquaredError()
    y_true, y_pred = rng.standard_normal(6), rng.standard_normal((6, 1))
    np.testing.assert_allclose(loss(y_true, y_pred), np.mean((y_pred[:, 0] - y_true) ** 2))
    assert loss.gradient(y_true, y_pred).shape == (6, 1)


# --------------------------------------------------------------------------- fused gradient


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z):
    with np.errstate(over="ignore"):  # exp(1e4) = inf gives the exact limit 0
        return 1 / (1 + np.exp(-z))


def _softmax_backward(p, dp):
    """dL/dz from dL/dp through p = softmax(z): p * (dp - Σ dp p)."""
    return p * (dp - (dp * p).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("weighted", [False, True])
def test_fused_softmax_crossentropy_equals_the_chain_rule(rng, weighted):
    logits = rng.standard_normal((6, 4))
    probs = _softmax(logits)
    w = rng.uniform(0.5, 2.0, 6) if weighted else None
    labels = rng.integers(0, 4, 6)
    for loss, y_true in [(losses.CategoricalCrossentropy(label_smoothing=0.1),
                          _one_hot(labels, 4)),
                         (losses.SparseCategoricalCrossentropy(), labels)]:
        assert loss.fused_activation == "softmax"
        value, dz = loss.fused_value_and_gradient(y_true, logits, probs, w)
        np.testing.assert_allclose(value, loss(y_true, probs, w), rtol=1e-12)
        chain = _softmax_backward(probs, loss.gradient(y_true, probs, w))
        np.testing.assert_allclose(dz, chain, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none",
                                       "mean_with_sample_weight"])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_crossentropy_fast_fused_path_equals_the_general_one(rng, dtype, reduction,
                                                                     weighted):
    """SparseCategoricalCrossentropy's own fused path (2-D logits, one label check) gives
    exactly the numbers of the general Loss path, for (N,) and (N, 1) labels."""
    loss = losses.SparseCategoricalCrossentropy(reduction=reduction)
    logits = (rng.standard_normal((7, 5)) * 30).astype(dtype)   # large: log-sum-exp matters
    probs = _softmax(logits.astype(np.float64)).astype(dtype)
    w = rng.uniform(0.5, 2.0, 7).astype(dtype) if weighted else None
    for labels in (rng.integers(0, 5, 7), rng.integers(0, 5, (7, 1))):
        fast = loss.fused_value_and_gradient(labels, logits, probs, w)
        general = losses.Loss.fused_value_and_gradient(loss, labels, logits, probs, w)
        for a, b in zip(fast, general):
            assert np.asarray(a).dtype == np.asarray(b).dtype
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="label 5 is outside"):
        loss.fused_value_and_gradient(np.full(7, 5), logits, probs)
    with pytest.raises(ValueError, match="probs: expected the shape"):
        loss.fused_value_and_gradient(labels, logits, probs[:, :4])


def test_fused_sigmoid_binary_crossentropy_equals_the_chain_rule(rng):
    loss = losses.BinaryCrossentropy(label_smoothing=0.05)
    assert loss.fused_activation == "sigmoid"
    logits = rng.standard_normal((6, 3))
    probs, y_true, w = _sigmoid(logits), _targets("binary", (6, 3), rng), rng.uniform(0.5, 2, 6)
    value, dz = loss.fused_value_and_gradient(y_true, logits, probs, w)
    np.testing.assert_allclose(value, loss(y_true, probs, w), rtol=1e-12)
    chain = loss.gradient(y_true, probs, w) * probs * (1 - probs)
    np.testing.assert_allclose(dz, chain, rtol=1e-10, atol=1e-15)
    # (p - y) w / (N C), as documented
    smoothed = y_true * 0.95 + 0.025
    np.testing.assert_allclose(dz, (probs - smoothed) * w[:, None] / 18, rtol=1e-12)


def test_losses_without_an_activation_to_fuse_say_so():
    assert losses.MeanSquaredError.fused_activation is None
    with pytest.raises(NotImplementedError):
        losses.MeanSquaredError().fused_value_and_gradient(np.ones((2, 1)), np.ones((2, 1)),
                                                           np.ones((2, 1)))


def test_fused_path_is_finite_where_the_chain_rule_overflows(torch):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    labels = np.array([1, 1])   # the first sample is confidently wrong
    probs = _softmax(logits)    # exactly 0 and 1 entries
    loss = losses.SparseCategoricalCrossentropy()
    value, dz = loss.fused_value_and_gradient(labels, logits, probs)
    expected = torch.nn.CrossEntropyLoss()(torch.tensor(logits), torch.tensor(labels)).item()
    assert np.isfinite(value) and np.all(np.isfinite(dz))
    np.testing.assert_allclose(value, expected, rtol=1e-12)          # = 2e4 / 2
    np.testing.assert_allclose(dz, (probs - _one_hot(labels, 3)) / 2, atol=1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = -_one_hot(labels, 3) / probs                          # -y / p: 1 / 0
        assert not np.all(np.isfinite(_softmax_backward(probs, naive)))
    # ...and the clipped loss on probabilities saturates at -log(eps) instead of 2e4.
    assert float(loss(labels, probs)) < value / 100

    bce = losses.BinaryCrossentropy()
    y_true = np.array([[0.0], [1.0]])
    bce_logits = np.array([[1e4], [-1e4]])
    value, dz = bce.fused_value_and_gradient(y_true, bce_logits, _sigmoid(bce_logits))
    np.testing.assert_allclose(value, 1e4, rtol=1e-12)
    np.testing.assert_allclose(dz, [[0.5], [-0.5]], rtol=1e-12)


# --------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(("loss", "target", "prediction", "shapes"), GRADCHECK_CASES[:16],
                         ids=lambda v: repr(v) if isinstance(v, losses.Loss) else None)
def test_float32_in_float32_out(loss, target, prediction, shapes, rng):
    shape = shapes[-1]
    y_true = _targets(target, shape, rng)                   # float64 (or int) targets
    y_pred = _predictions(prediction, shape, rng).astype(np.float32)
    w = rng.uniform(0.5, 2.0, shape[0])                     # float64 weights
    assert loss(y_true, y_pred, w).dtype == np.float32
    assert loss.gradient(y_true, y_pred, w).dtype == np.float32
    if loss.fused_activation:
        value, dz = loss.fused_value_and_gradient(y_true, y_pred, y_pred, w)
        assert value.dtype == np.float32 and dz.dtype == np.float32


def test_epsilon_follows_config(rng):
    loss = losses.BinaryCrossentropy()
    y_true, y_pred = np.array([[1.0]]), np.array([[0.0]])
    assert float(loss(y_true, y_pred)) == pytest.approx(-np.log(config.epsilon()))
    previous = config.epsilon()
    try:
        config.set_epsilon(1e-3)
        assert float(loss(y_true, y_pred)) == pytest.approx(-np.log(1e-3))
    finally:
        config.set_epsilon(previous)


# --------------------------------------------------------------------------- validation


def test_bad_sample_weight_shape_is_a_clear_error(rng):
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(4,\)"):
        losses.MeanSquaredError()(np.zeros((4, 2)), np.zeros((4, 2)), sample_weight=np.ones(3))


def test_sparse_labels_are_validated():
    loss = losses.SparseCategoricalCrossentropy()
    y_pred = np.full((3, 4), 0.25)
    with pytest.raises(ValueError, match=r"label 4 .*\[0, 4\)"):
        loss(np.array([0, 4, 1]), y_pred)
    with pytest.raises(ValueError, match=r"label -1 .*\[0, 4\)"):
        loss(np.array([0, -1, 1]), y_pred)
    with pytest.raises(ValueError, match="integer"):
        loss(np.array([0.5, 1, 2]), y_pred)
    with pytest.raises(ValueError, match="shape"):
        loss(np.array([[0, 1], [1, 2], [2, 3]]), y_pred)


def test_shape_mismatch_and_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="y_true: expected the shape"):
        losses.MeanSquaredError()(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="delta"):
        losses.Huber(delta=-1.0)


# --------------------------------------------------------------------------- get / config


@pytest.mark.parametrize(("name", "cls"), [
    ("mse", losses.MeanSquaredError), ("mean_squared_error", losses.MeanSquaredError),
    ("MeanSquaredError", losses.MeanSquaredError), ("mae", losses.MeanAbsoluteError),
    ("huber", losses.Huber), ("binary_crossentropy", losses.BinaryCrossentropy),
    ("categorical_crossentropy", losses.CategoricalCrossentropy),
    ("CategoricalCrossentropy", losses.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy),
    ("cosine_similarity", losses.CosineSimilarity),
])
def test_get_resolves_keras_names(name, cls):
    assert type(losses.get(name)) is cls


def test_get_instances_dicts_functions_and_errors():
    loss = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    assert losses.get(loss) is loss
    assert losses.get(None) is None
    restored = losses.get(losses.serialize(loss))
    assert type(restored) is losses.CategoricalCrossentropy
    assert restored.get_config() == loss.get_config()
    assert type(losses.get(losses.mean_squared_error)) is losses.MeanSquaredError
    with pytest.raises(ValueError, match="valid names: .*categorical_crossentropy"):
        losses.get("categorical_crossentropie")
    # a plain function is differentiated on the tape (tests/losses/test_traced_losses.py)
    assert type(losses.get(lambda y_true, y_pred: y_pred)) is losses.LossFunctionWrapper


@pytest.mark.parametrize("loss", [
    losses.MeanSquaredError(reduction="sum"), losses.Huber(delta=2.0),
    losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    losses.SparseCategoricalCrossentropy(ignore_class=0, name="scce"),
    losses.CosineSimilarity(axis=1, dtype="float64"),
])
def test_config_round_trip(loss):
    clone = type(loss).from_config(loss.get_config())
    assert clone.get_config() == loss.get_config()


def test_functions_return_per_sample_losses(rng):
    y_true, y_pred = _targets("distribution", (5, 3), rng), _predictions("probabilities", (5, 3),
                                                                         rng)
    for fn in (losses.mean_squared_error, losses.mse, losses.mean_absolute_error, losses.mae,
               losses.huber, losses.binary_crossentropy, losses.categorical_crossentropy,
               losses.cosine_similarity):
        assert fn(y_true, y_pred).shape == (5,)
    assert losses.sparse_categorical_crossentropy(np.arange(5) % 3, y_pred).shape == (5,)
    np.testing.assert_allclose(losses.categorical_crossentropy(y_true, y_pred),
                               -(y_true * np.log(y_pred / y_pred.sum(1, keepdims=True))).sum(1))


def test_a_subclass_needs_only_call_and_call_gradient(rng):
    class MeanFourthPower(losses.Loss):
        def call(self, y_true, y_pred):
            return ((y_pred - y_true) ** 4).mean(axis=-1)

        def call_gradient(self, y_true, y_pred):
            return 4 * (y_pred - y_true) ** 3 / y_pred.shape[-1]

    loss = MeanFourthPower()
    assert loss.name == "mean_fourth_power"
    y_true, y_pred = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    assert gradcheck.check_loss(loss, y_true, y_pred, rng.uniform(0.5, 2, 4)).passed
