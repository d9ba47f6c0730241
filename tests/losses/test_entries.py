"""Per-entry losses (Keras 3): sequences (N, T, C), masks, every reduction, in float64.

The references below are Keras' formulas written out in NumPy: the loss function reduces only
the class (or last) axis, then `reduce_weighted_values` merges the sample weights and the mask
(`apply_mask`) and reduces. And for (N, C) outputs the numbers stay bitwise those of the
per-sample formula glassnet had before the entries (written out at the end).
"""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import config, gradcheck, losses, numerics

REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none"]


# --------------------------------------------------------------------------- Keras, by hand


def _log_softmax(z, axis=-1):
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _clip(p):
    return np.clip(p, config.epsilon(), 1 - config.epsilon())


def _normalize(x, axis=-1):
    return x / np.maximum(np.sqrt((x * x).sum(axis=axis, keepdims=True)), config.epsilon())


def _huber(e, delta):
    return np.where(np.abs(e) <= delta, 0.5 * e**2, delta * (np.abs(e) - 0.5 * delta))


# (loss, target kind, prediction kind, Keras' per-entry function of (y_true, y_pred))
CASES = [
    (losses.MeanSquaredError, {}, "real", "real", lambda y, p: ((p - y) ** 2).mean(-1)),
    (losses.MeanAbsoluteError, {}, "real", "real", lambda y, p: np.abs(p - y).mean(-1)),
    (losses.Huber, {"delta": 0.6}, "real", "real", lambda y, p: _huber(p - y, 0.6).mean(-1)),
    (losses.BinaryCrossentropy, {}, "binary", "probabilities",
     lambda y, p: -(y * np.log(_clip(p)) + (1 - y) * np.log(1 - _clip(p))).mean(-1)),
    (losses.BinaryCrossentropy, {"from_logits": True}, "binary", "logits",
     lambda y, z: (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(-1)),
    (losses.CategoricalCrossentropy, {}, "distribution", "probabilities",
     lambda y, p: -(y * np.log(_clip(p / p.sum(-1, keepdims=True)))).sum(-1)),
    (losses.CategoricalCrossentropy, {"from_logits": True}, "distribution", "logits",
     lambda y, z: -(y * _log_softmax(z)).sum(-1)),
    (losses.SparseCategoricalCrossentropy, {}, "labels", "probabilities",
     lambda y, p: -np.log(_clip(np.take_along_axis(p / p.sum(-1, keepdims=True),
                                                   y[..., None], -1)[..., 0]))),
    (losses.SparseCategoricalCrossentropy, {"from_logits": True}, "labels", "logits",
     lambda y, z: -np.take_along_axis(_log_softmax(z), y[..., None], -1)[..., 0]),
    (losses.CosineSimilarity, {}, "real", "real",
     lambda y, p: -(_normalize(y) * _normalize(p)).sum(-1)),
]
IDS = [f"{cls.__name__}{kwargs or ''}" for cls, kwargs, *_ in CASES]


def _targets(kind, shape, rng):
    if kind == "real":
        return rng.standard_normal(shape)
    if kind == "binary":
        return rng.integers(0, 2, shape).astype(np.float64)
    if kind == "distribution":
        raw = rng.uniform(0.0, 1.0, shape)
        return raw / raw.sum(axis=-1, keepdims=True)
    return rng.integers(0, shape[-1], shape[:-1])               # labels


def _predictions(kind, shape, rng):
    if kind == "probabilities":                                 # away from the clip
        return rng.uniform(0.05, 0.95, shape)
    return rng.standard_normal(shape) * (2 if kind == "logits" else 1)


def keras_reduce(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """keras.src.losses.loss.reduce_weighted_values, step by step; sample weights (N,) are
    (N, 1) against entries (N, T)."""
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        if sample_weight.ndim == 1:
            sample_weight = sample_weight.reshape((-1,) + (1,) * (values.ndim - 1))
    if mask is not None:                                        # apply_mask
        if reduction in ("mean", "sum_over_batch_size"):
            total, valid = mask.size, mask.sum()
            float_mask = np.where(mask, total / valid if valid else 0.0, 0.0)
        else:
            float_mask = mask.astype(np.float64)
        sample_weight = float_mask if sample_weight is None else sample_weight * float_mask
    if sample_weight is not None:
        values = values * sample_weight
    if reduction in ("none", None):
        return values
    loss = values.sum()                                         # reduce_values
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = sample_weight.sum()
        else:
            divisor = values.size
        loss = loss / divisor if divisor else 0.0
    return loss


# --------------------------------------------------------------------------- the lead's test


@pytest.mark.parametrize("loss_class, make_target", [
    (losses.SparseCategoricalCrossentropy, lambda rng: rng.integers(0, 4, (2, 3))),
    (losses.CategoricalCrossentropy, lambda rng: np.eye(4)[rng.integers(0, 4, (2, 3))]),
    (losses.MeanSquaredError, lambda rng: rng.normal(size=(2, 3, 4))),
])
def test_sequence_loss_reductions(loss_class, make_target):
    rng = np.random.default_rng(11)
    logits = rng.normal(size=(2, 3, 4))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    target = make_target(rng)
    per_step = loss_class(reduction="none")(target, probs)
    assert per_step.shape == (2, 3)
    assert float(loss_class(reduction="sum")(target, probs)) == pytest.approx(per_step.sum())
    assert float(loss_class()(target, probs)) == pytest.approx(per_step.mean())


# --------------------------------------------------------------------------- (N, T, C)


@pytest.mark.parametrize("masked", [False, True], ids=["no_mask", "mask"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("cls", "kwargs", "target", "prediction", "keras_fn"), CASES, ids=IDS)
def test_sequence_entries_follow_keras(cls, kwargs, target, prediction, keras_fn, reduction,
                                       weighted, masked, rng):
    shape = (4, 5, 3)
    y_true, y_pred = _targets(target, shape, rng), _predictions(prediction, shape, rng)
    w = rng.uniform(0.1, 2.0, 4) if weighted else None
    mask = rng.random((4, 5)) < 0.6 if masked else None
    loss = cls(reduction=reduction, **kwargs)
    entries = keras_fn(y_true, y_pred)
    assert entries.shape == (4, 5) == loss.entry_shape(y_pred)
    np.testing.assert_allclose(loss(y_true, y_pred, w, mask=mask),
                               keras_reduce(entries, w, mask, reduction), rtol=1e-12,
                               atol=1e-15)
    report = gradcheck.check_loss(loss, y_true, y_pred, w, mask=mask)
    assert report.passed, str(report)
    if loss.fused_activation and kwargs.get("from_logits"):
        probs = (numerics.softmax(y_pred, -1) if loss.fused_activation == "softmax"
                 else numerics.sigmoid(y_pred))
        value, dz = loss.fused_value_and_gradient(y_true, y_pred, probs, w, mask)
        np.testing.assert_allclose(value, loss(y_true, y_pred, w, mask=mask), rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(dz, loss.gradient(y_true, y_pred, w, mask=mask), rtol=1e-10,
                                   atol=1e-15)


def test_plain_functions_return_keras_shapes(rng):
    y, p = _targets("distribution", (3, 4, 5), rng), _predictions("probabilities", (3, 4, 5), rng)
    for fn in (losses.mean_squared_error, losses.mean_absolute_error, losses.huber,
               losses.binary_crossentropy, losses.categorical_crossentropy,
               losses.cosine_similarity):
        assert fn(y, p).shape == (3, 4)
        assert fn(y[:, 0], p[:, 0]).shape == (3,)
    assert losses.sparse_categorical_crossentropy(np.zeros((3, 4), int), p).shape == (3, 4)
    # y_pred (N,): one entry per sample, as before (Keras would average the batch away).
    assert losses.mean_squared_error(y[:, 0, 0], p[:, 0, 0]).shape == (3,)
    assert losses.MeanSquaredError(reduction="none")(y[:, 0, 0], p[:, 0, 0]).shape == (3,)


def test_class_axis_and_bce_axis_choose_the_entries(rng):
    # (N, C, T) with axis=1 is (N, T, C) with the default axis, entry for entry.
    y, p = _targets("distribution", (3, 4, 5), rng), _predictions("probabilities", (3, 4, 5), rng)
    w, mask = rng.uniform(0.5, 2.0, 3), rng.random((3, 4)) < 0.5
    for cls in (losses.CategoricalCrossentropy, losses.BinaryCrossentropy):
        moved = cls(axis=1, reduction="none")
        assert moved.entry_shape(p.transpose(0, 2, 1)) == (3, 4)
        np.testing.assert_allclose(moved(y.transpose(0, 2, 1), p.transpose(0, 2, 1)),
                                   cls(reduction="none")(y, p), rtol=1e-14)
        assert gradcheck.check_loss(cls(axis=1), y.transpose(0, 2, 1), p.transpose(0, 2, 1),
                                    w, mask=mask).passed


# --------------------------------------------------------------------------- masks


def test_ignore_class_is_a_mask_joined_with_the_given_one(rng):
    labels, logits = rng.integers(0, 4, (3, 6)), rng.standard_normal((3, 6, 4))
    labels[0, :3] = 2
    mask = rng.random((3, 6)) < 0.7
    w = rng.uniform(0.5, 2.0, 3)
    for reduction in REDUCTIONS:
        ignoring = losses.SparseCategoricalCrossentropy(True, ignore_class=2,
                                                        reduction=reduction)
        plain = losses.SparseCategoricalCrossentropy(True, reduction=reduction)
        both = mask & (labels != 2)
        safe = np.where(labels == 2, 0, labels)     # any label: the mask removes them
        np.testing.assert_allclose(ignoring(labels, logits, w, mask=mask),
                                   plain(safe, logits, w, mask=both), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(ignoring.gradient(labels, logits, w, mask=mask),
                                   plain.gradient(safe, logits, w, mask=both), rtol=1e-13,
                                   atol=1e-15)


def test_masked_out_batches_give_zero_and_a_zero_gradient(rng):
    y, p = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    nothing = np.zeros((2, 3), dtype=bool)
    for reduction in ("sum_over_batch_size", "mean_with_sample_weight"):
        loss = losses.MeanSquaredError(reduction=reduction)
        assert float(loss(y, p, mask=nothing)) == 0.0
        assert not loss.gradient(y, p, mask=nothing).any()
    # a 0/1 mask of numbers is the same as a boolean one
    mask = rng.random((2, 3)) < 0.5
    loss = losses.MeanSquaredError()
    assert float(loss(y, p, mask=mask.astype(float))) == float(loss(y, p, mask=mask))


def test_mask_on_one_entry_per_sample(rng):
    # (N, C) outputs: one entry per sample, so the mask is (N,) and drops whole samples.
    y, p = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    mask = np.array([True, False, True, True, False, True])
    loss = losses.MeanSquaredError()
    np.testing.assert_allclose(loss(y, p, mask=mask), loss(y[mask], p[mask]), rtol=1e-14)
    labels, logits = rng.integers(0, 3, 6), rng.standard_normal((6, 3))
    sparse = losses.SparseCategoricalCrossentropy()
    probs = numerics.softmax(logits, -1)
    value, dz = sparse.fused_value_and_gradient(labels, logits, probs, mask=mask)  # fast path
    general = losses.Loss.fused_value_and_gradient(sparse, labels, logits, probs, mask=mask)
    np.testing.assert_array_equal(value, general[0])
    np.testing.assert_array_equal(dz, general[1])
    np.testing.assert_allclose(value, sparse(labels[mask], probs[mask]), rtol=1e-12)
    assert not dz[~mask].any()


def test_bad_mask_and_weight_shapes_are_clear_errors(rng):
    y, p = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    loss = losses.MeanSquaredError()
    for call in (lambda m: loss(y, p, mask=m), lambda m: loss.gradient(y, p, mask=m)):
        with pytest.raises(ValueError, match=r"mask: expected .*\(2, 3\).*got \(2, 3, 4\)"):
            call(np.ones((2, 3, 4), bool))
        with pytest.raises(ValueError, match=r"mask: expected .*\(2, 3\).*got \(2,\)"):
            call(np.ones(2, bool))
    with pytest.raises(ValueError, match=r"mask: expected .*\(2,\).*got \(2, 1\)"):
        losses.CategoricalCrossentropy().fused_value_and_gradient(
            np.eye(3)[:2], np.zeros((2, 3)), np.full((2, 3), 1 / 3), mask=np.ones((2, 1)))
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(2,\) or \(2, 1\) "
                                         r"or the loss entries' \(2, 3\)"):
        loss(y, p, sample_weight=np.ones(3))


def test_sample_weights_of_the_entries_shape(rng):
    y, p = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    entries = ((p - y) ** 2).mean(-1)
    w = rng.uniform(0.5, 2.0, 3)
    temporal = rng.uniform(0.5, 2.0, (3, 4))
    mask = rng.random((3, 4)) < 0.5
    for reduction in REDUCTIONS:
        loss = losses.MeanSquaredError(reduction=reduction)
        for weights in (w, w[:, None], temporal):
            np.testing.assert_allclose(loss(y, p, weights, mask=mask),
                                       keras_reduce(entries, weights, mask, reduction),
                                       rtol=1e-13)
        assert gradcheck.check_loss(loss, y, p, temporal, mask=mask).passed
    # Keras: (N,) weights without a mask divide by Σ_n w_n, not by their sum over the entries.
    loss = losses.MeanSquaredError(reduction="mean_with_sample_weight")
    np.testing.assert_allclose(loss(y, p, w), (w[:, None] * entries).sum() / w.sum(), rtol=1e-13)


# --------------------------------------------------------------------------- (N, C): bitwise


def _old_scale(reduction, w, n, dtype):
    """The per-sample formula: L = Σ_n c_n l_n with c_n = w_n / N, w_n, or w_n / Σ w."""
    weights = None if w is None else np.asarray(w).astype(dtype).reshape(n)
    numerator = 1.0 if weights is None else weights
    if reduction in ("sum", "none"):
        return numerator
    if reduction == "mean_with_sample_weight" and weights is not None:
        denominator = weights.sum()
    else:
        denominator = n
    return numerator * 0.0 if denominator == 0 else numerator / denominator


def _old(reduction, losses_n, grad, scale):
    weighted = losses_n * scale
    value = weighted if reduction == "none" else np.asarray(weighted.sum())
    return value, grad * (scale[:, None] if np.ndim(scale) else scale)


def _old_mse(y, p, reduction, w):
    scale = _old_scale(reduction, w, p.shape[0], p.dtype)
    return _old(reduction, ((p - y) ** 2).mean(axis=1), (p - y) * (2 / p.shape[1]), scale)


def _old_bce(y, p, reduction, w):
    eps = p.dtype.type(config.epsilon())
    clipped = np.clip(p, eps, 1 - eps)
    inside = ((p > eps) & (p < 1 - eps)).astype(p.dtype)
    losses_n = (-(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))).mean(axis=1)
    grad = inside * (clipped - y) / (clipped * (1 - clipped) * p.shape[1])
    return _old(reduction, losses_n, grad, _old_scale(reduction, w, p.shape[0], p.dtype))


def _old_cce_logits(y, z, reduction, w):
    grad = numerics.softmax(z, 1) * y.sum(axis=1, keepdims=True) - y
    return _old(reduction, -(y * numerics.log_softmax(z, 1)).sum(axis=1), grad,
                _old_scale(reduction, w, z.shape[0], z.dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_one_entry_per_sample_is_bitwise_the_per_sample_formula(rng, dtype, reduction):
    for trial in range(6):
        n, c = int(rng.integers(1, 9)), int(rng.integers(1, 6))
        weights = [None, rng.uniform(0.1, 2.0, n), rng.uniform(0.1, 2.0, (n, 1)), np.zeros(n)]
        w = weights[trial % 4]
        real = rng.standard_normal((n, c)).astype(dtype), rng.standard_normal((n, c)).astype(dtype)
        binary = (rng.integers(0, 2, (n, c)).astype(dtype),
                  rng.uniform(0.001, 0.999, (n, c)).astype(dtype))
        distribution = _targets("distribution", (n, c), rng).astype(dtype), real[1]
        for loss, reference, (y, p) in [
                (losses.MeanSquaredError(reduction=reduction), _old_mse, real),
                (losses.BinaryCrossentropy(reduction=reduction), _old_bce, binary),
                (losses.CategoricalCrossentropy(True, reduction=reduction), _old_cce_logits,
                 distribution)]:
            value, grad = reference(y, p, reduction, w)
            np.testing.assert_array_equal(loss(y, p, w), value, strict=True)
            np.testing.assert_array_equal(loss.gradient(y, p, w), grad, strict=True)
        # the softmax output's fused gradient, sparse labels (its own fast path)
        labels, logits = rng.integers(0, c, n), rng.standard_normal((n, c)).astype(dtype)
        probs = numerics.softmax(logits, 1)
        shifted = logits - logits.max(axis=1, keepdims=True)
        losses_n = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(n), labels]
        grad = probs.copy()
        grad[np.arange(n), labels] -= 1
        value, grad = _old(reduction, losses_n, grad, _old_scale(reduction, w, n, logits.dtype))
        fused = losses.SparseCategoricalCrossentropy(reduction=reduction)
        ours = fused.fused_value_and_gradient(labels, logits, probs, w)
        np.testing.assert_array_equal(ours[0], value, strict=True)
        np.testing.assert_array_equal(ours[1], grad, strict=True)
