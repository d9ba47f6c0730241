"""Metrics: values against scikit-learn, running means across batches, `get`'s choices."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import losses, metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _batches(n, sizes):
    """Consecutive slices of range(n) with the given (unequal) sizes."""
    edges = np.cumsum([0, *sizes])
    assert edges[-1] == n
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def _run(metric, y_true, y_pred, sample_weight=None, sizes=(7, 13, 5)):
    """Feed the data in batches; the running result must equal the full-data value."""
    for part in _batches(len(y_true), sizes):
        weights = None if sample_weight is None else sample_weight[part]
        metric.update_state(y_true[part], y_pred[part], sample_weight=weights)
    return metric.result()


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracies_match_sklearn(rng, weighted):
    n, c = 25, 4
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    labels, probs = rng.integers(0, c, n), rng.dirichlet(np.ones(c), n)
    expected = sklearn_metrics.accuracy_score(labels, probs.argmax(1), sample_weight=w)
    one_hot = np.eye(c)[labels]
    assert _run(metrics.CategoricalAccuracy(), one_hot, probs, w) == pytest.approx(expected)
    assert _run(metrics.SparseCategoricalAccuracy(), labels, probs, w) == pytest.approx(expected)
    assert _run(metrics.SparseCategoricalAccuracy(), labels[:, None], probs, w) == \
        pytest.approx(expected)
    assert _run(metrics.Accuracy(), labels, probs.argmax(1), w) == pytest.approx(expected)

    binary, p = rng.integers(0, 2, (n, 1)).astype(float), rng.uniform(0, 1, (n, 1))
    expected = sklearn_metrics.accuracy_score(binary[:, 0], p[:, 0] > 0.5, sample_weight=w)
    assert _run(metrics.BinaryAccuracy(), binary, p, w) == pytest.approx(expected)
    expected = sklearn_metrics.accuracy_score(binary[:, 0], p[:, 0] > 0.7, sample_weight=w)
    assert _run(metrics.BinaryAccuracy(threshold=0.7), binary, p, w) == pytest.approx(expected)


@pytest.mark.parametrize("outputs", [1, 3])
def test_regression_metrics_match_sklearn_with_weights(rng, outputs):
    n = 25
    y_true, y_pred = rng.standard_normal((n, outputs)), rng.standard_normal((n, outputs))
    w = rng.uniform(0.1, 2.0, n)
    mse = sklearn_metrics.mean_squared_error(y_true, y_pred, sample_weight=w)
    mae = sklearn_metrics.mean_absolute_error(y_true, y_pred, sample_weight=w)
    assert _run(metrics.MeanSquaredError(), y_true, y_pred, w) == pytest.approx(mse, rel=1e-12)
    assert _run(metrics.MeanAbsoluteError(), y_true, y_pred, w) == pytest.approx(mae, rel=1e-12)


def test_mean_weighted_by_batch_size_equals_the_full_data_mean(rng):
    values = rng.standard_normal(25)
    mean = metrics.Mean()
    for part in _batches(25, (10, 10, 5)):       # a smaller last batch counts less
        mean.update_state(values[part].mean(), sample_weight=len(values[part]))
    assert mean.result() == pytest.approx(values.mean(), rel=1e-12)
    mean.reset_state()
    assert mean.result() == 0.0
    mean.update_state(values)
    assert mean.result() == pytest.approx(values.mean(), rel=1e-12)


def test_mean_accumulates_float32_batches_in_float64():
    # Each batch is summed in float32; the running totals are float64, so 3000 batches give
    # back the batch mean to 1e-12 (float32 totals drift by about 1e-7 here).
    batch = np.full(100, 0.1, dtype=np.float32)
    mean = metrics.Mean()
    for _ in range(3000):
        mean.update_state(batch)
    assert mean.result() == pytest.approx(float(batch.sum()) / 100, rel=1e-12)


def test_per_batch_values_keep_the_input_dtype(rng):
    probs = rng.uniform(0, 1, (5, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1])
    assert metrics.sparse_categorical_accuracy(labels, probs).dtype == np.float32
    assert metrics.categorical_accuracy(np.eye(3)[labels], probs).dtype == np.float32
    assert metrics.binary_accuracy(np.ones((5, 3)), probs).dtype == np.float32


def test_functions_are_per_sample():
    y_true = np.array([[1.0, 0.0], [1.0, 1.0]])
    y_pred = np.array([[0.9, 0.8], [0.6, 0.7]])
    np.testing.assert_array_equal(metrics.binary_accuracy(y_true, y_pred), [0.5, 1.0])
    np.testing.assert_array_equal(metrics.categorical_accuracy(y_true[:1], y_pred[:1]), [1.0])
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy([[1], [1]], y_pred),
                                  [0.0, 1.0])


# --------------------------------------------------------------------------- sequences, masks


def _keras_masked_update(values, sample_weight, mask):
    """(total, count) one batch adds in Keras 3: MeanMetricWrapper merges the mask into the
    weights (apply_mask, "sum"), then reduce_to_samplewise_values averages per sample."""
    weights = mask.astype(float)
    if sample_weight is not None:
        weights = sample_weight.reshape((-1,) + (1,) * (values.ndim - 1)) * weights
    axes = tuple(range(1, values.ndim))
    return (values * weights).mean(axis=axes).sum(), weights.mean(axis=axes).sum()


@pytest.mark.parametrize("weighted", [False, True])
def test_sequence_metrics_with_a_mask_average_the_unmasked_entries(rng, weighted):
    n, t, c = 12, 5, 4
    labels, probs = rng.integers(0, c, (n, t)), rng.dirichlet(np.ones(c), (n, t))
    mask = rng.random((n, t)) < 0.6
    w = rng.uniform(0.1, 2.0, n) if weighted else None
    weights = mask * (1.0 if w is None else w[:, None])        # w broadcast over the steps
    matches = labels == probs.argmax(-1)
    expected = (weights * matches).sum() / weights.sum()

    def run(metric, y_true, y_pred):
        for part in _batches(n, (5, 7)):                       # batches of the same T
            metric.update_state(y_true[part], y_pred[part], mask=mask[part],
                                sample_weight=None if w is None else w[part])
        return metric.result()

    assert run(metrics.SparseCategoricalAccuracy(), labels, probs) == pytest.approx(expected)
    assert run(metrics.SparseCategoricalAccuracy(), labels[..., None], probs) == \
        pytest.approx(expected)
    assert run(metrics.CategoricalAccuracy(), np.eye(c)[labels], probs) == pytest.approx(expected)
    assert run(metrics.Accuracy(), labels[..., None], probs.argmax(-1)[..., None]) == \
        pytest.approx(expected)                                # one value per step (N, T)
    y_true, y_pred = rng.standard_normal((n, t, 3)), rng.standard_normal((n, t, 3))
    squared = ((y_pred - y_true) ** 2).mean(-1)
    assert run(metrics.MeanSquaredError(), y_true, y_pred) == \
        pytest.approx((weights * squared).sum() / weights.sum(), rel=1e-12)
    binary, p = rng.integers(0, 2, (n, t, 1)).astype(float), rng.uniform(0, 1, (n, t, 1))
    hits = (binary == (p > 0.5))[..., 0]
    assert run(metrics.BinaryAccuracy(), binary, p) == \
        pytest.approx((weights * hits).sum() / weights.sum())

    # one batch, term by term as Keras: the same running sums
    metric = metrics.SparseCategoricalAccuracy()
    metric.update_state(labels, probs, sample_weight=w, mask=mask)
    total, count = _keras_masked_update(matches.astype(float), w, mask)
    assert (metric.total, metric.count) == (pytest.approx(total), pytest.approx(count))


def test_an_all_true_mask_is_no_mask_and_a_mask_drops_samples(rng):
    labels, probs = rng.integers(0, 3, (6, 4)), rng.dirichlet(np.ones(3), (6, 4))
    w = rng.uniform(0.5, 2.0, 6)
    plain, masked = metrics.SparseCategoricalAccuracy(), metrics.SparseCategoricalAccuracy()
    plain.update_state(labels, probs, w)
    masked.update_state(labels, probs, w, mask=np.ones((6, 4), dtype=bool))
    assert masked.result() == pytest.approx(plain.result(), rel=1e-14)
    # (N, C) outputs: one value per sample, so a mask (N,) keeps the samples it marks
    y_true, y_pred = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    keep = np.array([1, 0, 1, 1, 0, 1])
    metric, reference = metrics.MeanAbsoluteError(), metrics.MeanAbsoluteError()
    metric.update_state(y_true, y_pred, w, mask=keep)
    reference.update_state(y_true[keep == 1], y_pred[keep == 1], w[keep == 1])
    assert metric.result() == pytest.approx(reference.result(), rel=1e-14)
    with pytest.raises(ValueError, match=r"mask: expected the shape of the metric's values "
                                         r"\(6, 4\).*got \(6,\)"):
        metrics.SparseCategoricalAccuracy().update_state(labels, probs, mask=np.ones(6))


def test_mean_takes_weights_of_the_values_shape_as_keras(rng):
    values, weights = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 3))
    mean = metrics.Mean()
    mean.update_state(values, sample_weight=weights)
    total, count = (values * weights).mean(1).sum(), weights.mean(1).sum()   # per sample
    assert mean.result() == pytest.approx(total / count, rel=1e-14)


def test_confusion_matrix_matches_sklearn(rng):
    labels, predicted = rng.integers(0, 4, 40), rng.integers(0, 4, 40)
    expected = sklearn_metrics.confusion_matrix(labels, predicted, labels=range(4))
    result = metrics.confusion_matrix(labels, predicted)
    assert result.dtype == np.int64 and result.shape == (4, 4)
    np.testing.assert_array_equal(result, expected)
    # one-hot targets and probabilities: argmax
    probs = rng.dirichlet(np.ones(4), 40)
    expected = sklearn_metrics.confusion_matrix(labels, probs.argmax(1), labels=range(4))
    np.testing.assert_array_equal(metrics.confusion_matrix(np.eye(4)[labels], probs), expected)
    # classes never seen still get their row and column
    expected = sklearn_metrics.confusion_matrix(labels, predicted, labels=range(6))
    np.testing.assert_array_equal(metrics.confusion_matrix(labels, predicted, num_classes=6),
                                  expected)
    # one sigmoid probability per sample: thresholded at 0.5
    binary, p = rng.integers(0, 2, (30, 1)), rng.uniform(0, 1, (30, 1))
    expected = sklearn_metrics.confusion_matrix(binary[:, 0], p[:, 0] > 0.5, labels=[0, 1])
    np.testing.assert_array_equal(metrics.confusion_matrix(binary, p), expected)
    with pytest.raises(ValueError, match=r"label 4 is outside \[0, 3\)"):
        metrics.confusion_matrix([0, 4], [0, 1], num_classes=3)


# --------------------------------------------------------------------------- get


@pytest.mark.parametrize(("loss", "true_shape", "pred_shape", "expected"), [
    (None, (8, 1), (8, 1), metrics.BinaryAccuracy),             # one unit
    ("binary_crossentropy", (8, 3), (8, 3), metrics.BinaryAccuracy),   # multi-label BCE
    (None, (8,), (8, 5), metrics.SparseCategoricalAccuracy),    # one axis fewer
    (None, (8, 1), (8, 5), metrics.SparseCategoricalAccuracy),  # labels as a column
    ("sparse_categorical_crossentropy", (8,), (8, 5), metrics.SparseCategoricalAccuracy),
    (None, (8, 5), (8, 5), metrics.CategoricalAccuracy),
    (losses.CategoricalCrossentropy(), (8, 5), (8, 5), metrics.CategoricalAccuracy),
    ("sparse_categorical_crossentropy", None, None, metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", None, None, metrics.CategoricalAccuracy),
    (None, None, None, metrics.Accuracy),                       # nothing known: exact match
])
def test_get_accuracy_follows_keras(loss, true_shape, pred_shape, expected):
    y_true = None if true_shape is None else np.zeros(true_shape)
    y_pred = None if pred_shape is None else np.zeros(pred_shape)
    for name in ("accuracy", "acc"):
        metric = metrics.get(name, loss=loss, y_true=y_true, y_pred=y_pred)
        assert type(metric) is expected
        assert metric.name == name                   # logs read "accuracy" / "val_accuracy"


def test_get_other_identifiers():
    mse = metrics.get("mse")
    assert type(mse) is metrics.MeanSquaredError and mse.name == "mse"
    assert type(metrics.get("mae")) is metrics.MeanAbsoluteError
    assert type(metrics.get("sparse_categorical_accuracy")) is metrics.SparseCategoricalAccuracy
    metric = metrics.BinaryAccuracy(threshold=0.3)
    assert metrics.get(metric) is metric
    assert metrics.get(None) is None
    restored = metrics.get(metrics.serialize(metric))
    assert type(restored) is metrics.BinaryAccuracy and restored.threshold == 0.3
    with pytest.raises(ValueError, match="valid names"):
        metrics.get("acuracy")

    def within_one(y_true, y_pred):
        return (np.abs(y_true - y_pred) <= 1).astype(float)

    wrapped = metrics.get(within_one)
    assert wrapped.name == "within_one"
    wrapped.update_state(np.array([0.0, 0.0]), np.array([0.5, 3.0]))
    assert wrapped.result() == 0.5


def test_validation():
    with pytest.raises(ValueError, match="threshold"):
        metrics.BinaryAccuracy(threshold=1.0)
    with pytest.raises(ValueError, match="sample_weight"):
        metrics.Mean().update_state(np.ones(4), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="y_true"):
        metrics.SparseCategoricalAccuracy().update_state(np.zeros((4, 2)), np.zeros((4, 3)))


@pytest.mark.parametrize("multi_label", [False, True])
def test_auc_with_fine_thresholds_equals_sklearn(rng, multi_label):
    """Thresholds between every two distinct scores: the trapezoids are sklearn's exactly."""
    y_true = rng.integers(0, 2, (300, 1))
    scores = np.round(rng.uniform(0, 0.999, (300, 1)), 3) + 0.00025   # ties, never on a
    weights = rng.uniform(0.1, 2.0, 300)                                 # threshold k/2000
    metric = metrics.AUC(num_thresholds=2001, multi_label=multi_label)
    _run(metric, y_true, scores, weights, sizes=(100, 150, 50))
    assert metric.true_positives.shape == ((2001, 1) if multi_label else (2001,))
    expected = sklearn_metrics.roc_auc_score(y_true[:, 0], scores[:, 0], sample_weight=weights)
    assert metric.result() == pytest.approx(expected, abs=1e-9)
