"""Losses: a pure per-sample function, its derivative right under it, and a thin Keras class.

Every loss is computed in two steps, as in Keras 3:

    l_n = call(y_true, y_pred)                      per-sample losses, shape (N,)
    L   = Σ_n w_n l_n / N                           reduction "sum_over_batch_size"

and `gradient` returns dL/dy_pred of the *reduced* scalar L (already divided by N and times
the sample weights w_n), with y_pred's shape and dtype, ready for the output layer's backward.

Per-sample: the elementwise losses (MSE, MAE, Huber, BCE) take the mean over the last axis,
the class-axis losses (CCE, sparse CCE, cosine) reduce over the class axis; any other
non-batch axes (a sequence's time steps) are averaged, so that for y_pred of shape (N, T, C)
`sum_over_batch_size` gives Keras' value Σ / (N T).

    >>> import numpy as np
    >>> from glassnet import losses
    >>> loss = losses.get("categorical_crossentropy")
    >>> y_true = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> y_pred = np.array([[0.2, 0.8], [0.6, 0.4]])
    >>> round(float(loss(y_true, y_pred)), 6)       # (-log 0.8 - log 0.6) / 2
    0.366985
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from glassnet import config, registry
from glassnet.backend import namespace

_REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None)


# --------------------------------------------------------------------------- helpers


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _as_prediction(y_pred):
    """y_pred as a float array (integers are cast to floatx), at least (N,)."""
    xp = namespace(y_pred)
    y_pred = xp.asarray(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(config.floatx())
    if y_pred.ndim == 0:
        raise ValueError("y_pred: expected a batch of shape (N, ...), got a scalar")
    return y_pred


def _as_targets(y_true, y_pred):
    """y_true cast to y_pred's dtype and shape; (N,) targets are accepted for (N, 1) outputs.

    Keras squeezes or expands a trailing axis of size 1 (`squeeze_or_expand_to_same_rank`);
    any other shape mismatch is an error rather than a silent broadcast.
    """
    y_pred = _as_prediction(y_pred)
    y_true = namespace(y_pred).asarray(y_true)
    if y_true.shape != y_pred.shape:
        if y_true.shape + (1,) != y_pred.shape and y_true.shape != y_pred.shape + (1,):
            raise ValueError(f"y_true: expected the shape of y_pred {y_pred.shape}, "
                             f"got {y_true.shape}")
        y_true = y_true.reshape(y_pred.shape)
    return y_true.astype(y_pred.dtype, copy=False), y_pred


def _per_sample_mean(values):
    """(N, ...) -> (N,): the mean over every non-batch axis."""
    if values.ndim == 1:
        return values  # one entry per sample already (the common case: skip the reduction)
    return values.reshape(values.shape[0], -1).mean(axis=1)


def _per_sample_count(array) -> int:
    """How many entries `_per_sample_mean` averages for each sample."""
    return array.size // array.shape[0] if array.shape[0] else 1


def _class_axis(y_pred, axis: int) -> int:
    """The class axis as a non-negative index; it must not be the batch axis."""
    if y_pred.ndim < 2:
        raise ValueError(f"y_pred: expected shape (N, ..., C), with a class axis, "
                         f"got {y_pred.shape}")
    if not -y_pred.ndim <= axis < y_pred.ndim or axis % y_pred.ndim == 0:
        raise ValueError(f"axis: expected a non-batch axis of y_pred {y_pred.shape}, got {axis}")
    return axis % y_pred.ndim


def _sigmoid(z):
    """1 / (1 + e^-z) without overflow: only e^-|z| <= 1 is ever computed."""
    xp = namespace(z)
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _log_softmax(z, axis: int):
    """z - logsumexp(z): the max is subtracted first so that exp never overflows."""
    xp = namespace(z)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax(z, axis: int):
    xp = namespace(z)
    e = xp.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _clip_probabilities(p):
    """clip(p, eps, 1 - eps) as Keras does, and the derivative of that clip (1 inside, else 0)."""
    eps = p.dtype.type(config.epsilon())
    inside = (p > eps) & (p < 1 - eps)
    return namespace(p).clip(p, eps, 1 - eps), inside.astype(p.dtype)


def _check_label_smoothing(label_smoothing: float) -> float:
    label_smoothing = float(label_smoothing)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing: expected a float in [0, 1], got {label_smoothing}")
    return label_smoothing


# --------------------------------------------------------------------------- regression


def mean_squared_error(y_true, y_pred):
    """l_n = mean_j (y_pred_nj - y_true_nj)^2.  y_true, y_pred (N, ...) -> (N,)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return _per_sample_mean((y_pred - y_true) ** 2)


def _mean_squared_error_gradient(y_true, y_pred):
    """dl_n/dy_pred = 2 (y_pred - y_true) / M, M entries per sample."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return (y_pred - y_true) * (2 / _per_sample_count(y_pred))


def mean_absolute_error(y_true, y_pred):
    """l_n = mean_j |y_pred_nj - y_true_nj|.  (N, ...) -> (N,)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return _per_sample_mean(namespace(y_pred).abs(y_pred - y_true))


def _mean_absolute_error_gradient(y_true, y_pred):
    """dl_n/dy_pred = sign(y_pred - y_true) / M (0 where they are equal, as in PyTorch)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return namespace(y_pred).sign(y_pred - y_true) / _per_sample_count(y_pred)


def _check_delta(delta: float) -> float:
    delta = float(delta)
    if not (delta > 0 and np.isfinite(delta)):
        raise ValueError(f"delta: expected a positive finite float, got {delta}")
    return delta


def huber(y_true, y_pred, delta: float = 1.0):
    """l_n = mean_j h(e_nj), e = y_pred - y_true,
    h(e) = e^2 / 2 where |e| <= delta, else delta (|e| - delta / 2).  (N, ...) -> (N,)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    xp = namespace(y_pred)
    delta = y_pred.dtype.type(_check_delta(delta))
    error = y_pred - y_true
    abs_error = xp.abs(error)
    elementwise = xp.where(abs_error <= delta, 0.5 * error**2, delta * (abs_error - 0.5 * delta))
    return _per_sample_mean(elementwise)


def _huber_gradient(y_true, y_pred, delta: float = 1.0):
    """dh/de = e inside the quadratic zone, delta sign(e) outside: clip(e, -delta, delta) / M."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    delta = y_pred.dtype.type(_check_delta(delta))
    return namespace(y_pred).clip(y_pred - y_true, -delta, delta) / _per_sample_count(y_pred)


# --------------------------------------------------------------------------- binary


def _smooth_binary(y_true, label_smoothing: float):
    """Keras: y (1 - s) + s / 2, pulling both targets towards 1/2."""
    if label_smoothing:
        return y_true * (1 - label_smoothing) + 0.5 * label_smoothing
    return y_true


def binary_crossentropy(y_true, y_pred, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1):
    """l_n = mean_j -[y log p + (1 - y) log(1 - p)].  (N, ...) -> (N,).

    from_logits=True: y_pred holds logits z, and the same value is computed stably as
    max(z, 0) - z y + log(1 + e^-|z|) (no exp of a large positive number, no log of 0).
    from_logits=False: p is clipped to [eps, 1 - eps] (eps = config.epsilon()) like Keras.
    `axis` is accepted for Keras compatibility; the per-sample mean covers every axis.
    """
    y_true, y_pred = _as_targets(y_true, y_pred)
    y_true = _smooth_binary(y_true, _check_label_smoothing(label_smoothing))
    xp = namespace(y_pred)
    if from_logits:
        z = y_pred
        elementwise = xp.maximum(z, 0) - z * y_true + xp.log1p(xp.exp(-xp.abs(z)))
    else:
        p, _ = _clip_probabilities(y_pred)
        elementwise = -(y_true * xp.log(p) + (1 - y_true) * xp.log(1 - p))
    return _per_sample_mean(elementwise)


def _binary_crossentropy_gradient(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                                  probs=None):
    """dl_n/dz = (sigmoid(z) - y) / M from logits (`probs` = sigmoid(z) when already known);
    dl_n/dp = (p - y) / (p (1 - p)) / M on clipped p, 0 where the clip is active."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    y_true = _smooth_binary(y_true, _check_label_smoothing(label_smoothing))
    count = _per_sample_count(y_pred)
    if from_logits:
        p = _sigmoid(y_pred) if probs is None else probs
        return (p - y_true) / count
    p, inside = _clip_probabilities(y_pred)
    return inside * (p - y_true) / (p * (1 - p) * count)


# --------------------------------------------------------------------------- categorical


def _smooth_categorical(y_true, label_smoothing: float, axis: int):
    """Keras and PyTorch alike: y (1 - s) + s / C over the C classes."""
    if label_smoothing:
        num_classes = y_true.shape[axis]
        return y_true * (1 - label_smoothing) + label_smoothing / num_classes
    return y_true


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1):
    """l_n = -Σ_c y_c log p_c (summed over the class axis).  (N, C) -> (N,).

    from_logits=True: log p = z - logsumexp(z), never forming p.
    from_logits=False: as Keras, p is first renormalised, p / Σ_c p_c, then clipped to
    [eps, 1 - eps] before the log.
    """
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    y_true = _smooth_categorical(y_true, _check_label_smoothing(label_smoothing), axis)
    if from_logits:
        log_p = _log_softmax(y_pred, axis)
    else:
        p, _ = _clip_probabilities(y_pred / y_pred.sum(axis=axis, keepdims=True))
        log_p = namespace(y_pred).log(p)
    return _per_sample_mean(-(y_true * log_p).sum(axis=axis))


def _categorical_crossentropy_gradient(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                                       axis=-1, probs=None):
    """From logits: dl/dz = p Σ_c y_c - y (= p - y for targets summing to 1).

    From probabilities, through the renormalisation q = y_pred / S and the clip:
    g = dl/dq = -y / clip(q) where the clip is inactive (else 0), and
    dl/dy_pred_k = (g_k - Σ_j g_j q_j) / S.   (Each divided by the per-sample count.)
    """
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    y_true = _smooth_categorical(y_true, _check_label_smoothing(label_smoothing), axis)
    count = _per_sample_count(y_pred) // y_pred.shape[axis]
    if from_logits:
        p = _softmax(y_pred, axis) if probs is None else probs
        return (p * y_true.sum(axis=axis, keepdims=True) - y_true) / count
    total = y_pred.sum(axis=axis, keepdims=True)
    q = y_pred / total
    clipped, inside = _clip_probabilities(q)
    g = -inside * y_true / clipped
    return (g - (g * q).sum(axis=axis, keepdims=True)) / (total * count)


def _sparse_labels(y_true, y_pred, ignore_class=None):
    """Integer labels of shape y_pred.shape[:-1], checked, and the mask of those not ignored.

    Accepts (N,) or (N, 1) labels for y_pred (N, C) (and (N, T) / (N, T, 1) for (N, T, C)).
    Returns (labels as int64 with ignored entries set to 0, valid mask or None).
    """
    xp = namespace(y_pred)
    labels = xp.asarray(y_true)
    batch_shape, num_classes = y_pred.shape[:-1], y_pred.shape[-1]
    if labels.shape == batch_shape + (1,):
        labels = labels.reshape(batch_shape)
    if labels.shape != batch_shape:
        raise ValueError(f"y_true: expected integer labels of shape {batch_shape} or "
                         f"{batch_shape + (1,)} for y_pred {y_pred.shape}, got {labels.shape}")
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind != "f" or bool(xp.any(labels != xp.round(labels))):
            raise ValueError(f"y_true: expected integer class labels, got dtype {labels.dtype} "
                             "with non-integer values")
    labels = labels.astype(np.int64, copy=False)
    valid = None if ignore_class is None else labels != ignore_class
    checked = labels if valid is None else labels[valid]
    # Two reductions instead of a boolean array the size of the labels (most batches pass).
    if checked.size and (int(checked.min()) < 0 or int(checked.max()) >= num_classes):
        bad = (checked < 0) | (checked >= num_classes)
        raise ValueError(f"y_true: label {int(checked[bad][0])} is outside the range of classes "
                         f"[0, {num_classes}) of y_pred {y_pred.shape}")
    if valid is not None:
        labels = xp.where(valid, labels, 0)
    return labels, valid


def _at_labels(array, labels):
    """array[..., labels]: the entry of each sample's label along the last axis."""
    xp = namespace(array)
    if array.ndim == 2:  # (N, C): plain fancy indexing, cheaper than take_along_axis
        return array[xp.arange(array.shape[0]), labels]
    return xp.take_along_axis(array, labels[..., None], axis=-1)[..., 0]


def _add_at_labels(array, labels, values) -> None:
    """array[..., labels] += values, in place (array C-contiguous, so the reshape is a view)."""
    flat = array.reshape(-1, array.shape[-1])
    xp = namespace(array)
    flat[xp.arange(flat.shape[0]), labels.reshape(-1)] += xp.asarray(values).reshape(-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                                    ignore_class: int | None = None):
    """l_n = -log p_{y_n}, y_n an integer label.  y_true (N,) or (N, 1), y_pred (N, C) -> (N,).

    Same numerics as `categorical_crossentropy` with y one-hot, without building the one-hot.
    Entries whose label equals `ignore_class` contribute 0 (and, in the Loss class, are left
    out of the batch-size denominator, as Keras and PyTorch's ignore_index do).
    """
    y_pred = _as_prediction(y_pred)
    labels, valid = _sparse_labels(y_true, y_pred, ignore_class)
    if from_logits:
        log_p = _at_labels(_log_softmax(y_pred, -1), labels)
    else:
        q = _at_labels(y_pred, labels) / y_pred.sum(axis=-1)
        log_p = namespace(y_pred).log(_clip_probabilities(q)[0])
    if valid is not None:
        log_p = log_p * valid
    return _per_sample_mean(-log_p)


def _sparse_categorical_crossentropy_gradient(y_true, y_pred, from_logits=False,
                                              ignore_class=None, probs=None):
    """From logits: dl/dz = p - onehot(y), written as p with 1 subtracted at the labels.
    From probabilities: the categorical formula with g nonzero only at the label."""
    y_pred = _as_prediction(y_pred)
    xp = namespace(y_pred)
    labels, valid = _sparse_labels(y_true, y_pred, ignore_class)
    count = _per_sample_count(y_pred) // y_pred.shape[-1]
    if from_logits:
        grad = _softmax(y_pred, -1) if probs is None else probs.copy()
        _add_at_labels(grad, labels, -1)                          # p - onehot(y)
    else:
        total = y_pred.sum(axis=-1)
        q = _at_labels(y_pred, labels) / total                    # the label's probability
        clipped, inside = _clip_probabilities(q)
        g = -inside / clipped                                     # dl/dq at the label
        grad = xp.broadcast_to((-g * q / total)[..., None], y_pred.shape).copy()
        _add_at_labels(grad, labels, g / total)
    if valid is not None:
        grad *= valid[..., None]
    return grad / count


# --------------------------------------------------------------------------- cosine


def _l2_normalize(x, axis: int):
    """x / max(||x||, eps) along axis (Keras' normalize), and that denominator."""
    xp = namespace(x)
    norm = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
    return x / xp.maximum(norm, x.dtype.type(config.epsilon())), norm


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """l_n = -cos(y_true_n, y_pred_n) = -Σ_c ŷ_true ŷ_pred, ŷ = y / ||y||.  (N, C) -> (N,).

    As in Keras the loss is the *negative* cosine, in [-1, 1] (-1 when aligned). The cosine
    distance 1 - cos used elsewhere is this loss plus 1: same gradient, shifted value.
    """
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    a, _ = _l2_normalize(y_true, axis)
    b, _ = _l2_normalize(y_pred, axis)
    return _per_sample_mean(-(a * b).sum(axis=axis))


def _cosine_similarity_gradient(y_true, y_pred, axis=-1):
    """With n = max(||u||, eps), u = y_pred: dl/du = -(a - (a·û) û) / n where ||u|| > eps
    (the radial part is removed), -a / eps on the flat part where the norm is clamped."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    a, _ = _l2_normalize(y_true, axis)
    b, norm = _l2_normalize(y_pred, axis)
    eps = y_pred.dtype.type(config.epsilon())
    radial = (a * b).sum(axis=axis, keepdims=True) * b * (norm > eps)
    count = _per_sample_count(y_pred) // y_pred.shape[axis]
    return -(a - radial) / (namespace(y_pred).maximum(norm, eps) * count)


# --------------------------------------------------------------------------- Loss classes


def _sample_weights(sample_weight, y_pred):
    """sample_weight as (N,) in y_pred's dtype (a scalar is broadcast), or None."""
    if sample_weight is None:
        return None
    xp = namespace(y_pred)
    n = y_pred.shape[0]
    weights = xp.asarray(sample_weight).astype(y_pred.dtype, copy=False)
    if weights.ndim == 0:
        return xp.full((n,), weights, dtype=y_pred.dtype)
    if weights.shape not in ((n,), (n, 1)):
        raise ValueError(f"sample_weight: expected shape ({n},) or ({n}, 1) for a batch of {n}, "
                         f"got {weights.shape}")
    return weights.reshape(n)


class Loss:
    """Base class: subclass it and implement `call` and `call_gradient` (or `gradient`).

    Args:
        name: the loss' name (default: the class name in snake_case).
        reduction: "sum_over_batch_size" (= "mean"): Σ w_n l_n / N; "sum": Σ w_n l_n;
            "mean_with_sample_weight": Σ w_n l_n / Σ w_n; "none" (or None): w_n l_n, (N,).
        dtype: float dtype the loss is computed in; None (the default) keeps y_pred's own
            dtype (Keras would use floatx: here float64 gradient checks stay float64).

    Subclass contract:
        call(y_true, y_pred) -> l, shape (N,)
        call_gradient(y_true, y_pred) -> dl_n/dy_pred, shape of y_pred (unweighted, unreduced)
    from which `__call__` and `gradient` apply the weights and the reduction.
    """

    # Name of the output activation whose backward this loss can fuse with (see below).
    fused_activation: str | None = None

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = None if dtype is None else config.standardize_dtype(dtype)

    # -- to implement
    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}.call(y_true, y_pred) -> (N,) losses")

    def call_gradient(self, y_true, y_pred):
        raise NotImplementedError(
            f"{type(self).__name__}: implement call_gradient(y_true, y_pred) -> dl_n/dy_pred "
            "(or override gradient) so that the loss can be trained")

    # -- reduction
    def _convert(self, y_true, y_pred):
        y_pred = _as_prediction(y_pred)
        if self.dtype is not None:
            y_pred = y_pred.astype(self.dtype, copy=False)
        return namespace(y_pred).asarray(y_true), y_pred

    def _valid_fraction(self, y_true, y_pred):
        """(N,) fraction of each sample's entries that count (ignore_class), or None for all."""
        return None

    def _sample_scale(self, y_true, y_pred, sample_weight):
        """c_n such that the reduced loss is Σ_n c_n l_n (and "none" returns c_n l_n)."""
        weights = _sample_weights(sample_weight, y_pred)
        numerator = 1.0 if weights is None else weights
        if self.reduction in ("sum", "none", None):
            return numerator
        valid = self._valid_fraction(y_true, y_pred)
        if self.reduction == "mean_with_sample_weight" and weights is not None:
            denominator = (weights if valid is None else weights * valid).sum()
        else:
            denominator = y_pred.shape[0] if valid is None else valid.sum()
        if denominator == 0:  # nothing to average (all ignored): 0, as Keras' divide_no_nan
            return numerator * 0.0
        return numerator / denominator

    def _reduce(self, losses, scale):
        weighted = losses * scale
        if self.reduction in ("none", None):
            return weighted
        return namespace(weighted).asarray(weighted.sum())

    @staticmethod
    def _expand(scale, like):
        """Per-sample scale (N,) reshaped to broadcast against y_pred (N, ...)."""
        if getattr(scale, "ndim", 0) == 0:
            return scale
        return scale.reshape(scale.shape + (1,) * (like.ndim - 1))

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss: a 0-d array (or (N,) for reduction "none"), in y_pred's dtype."""
        y_true, y_pred = self._convert(y_true, y_pred)
        scale = self._sample_scale(y_true, y_pred, sample_weight)
        return self._reduce(self.call(y_true, y_pred), scale)

    def gradient(self, y_true, y_pred, sample_weight=None):
        """dL/dy_pred of the reduced loss L, y_pred's shape and dtype.

        For reduction "none" it is the derivative of Σ_n w_n l_n (each sample's own gradient).
        """
        y_true, y_pred = self._convert(y_true, y_pred)
        scale = self._sample_scale(y_true, y_pred, sample_weight)
        return self.call_gradient(y_true, y_pred) * self._expand(scale, y_pred)

    # -- fused output gradient
    #
    # With p = softmax(z) and L = -Σ y log p, the chain rule through p is
    #     dL/dz = softmax'(z)^T (-y / p),
    # where -y / p overflows (p underflows to 0 for a confident wrong answer) and the Jacobian
    # product then cancels to the simple dL/dz = p - y (for targets that sum to 1). The same
    # happens for sigmoid + binary crossentropy: dL/dz = p - y (per entry). So for these two
    # pairs -- softmax + (sparse) categorical crossentropy, sigmoid + binary crossentropy --
    # the model skips the activation's backward and asks the loss for dL/dz directly: one
    # subtraction, exact, and finite for any logits. Any other pair goes through the chain.

    def _logit_losses(self, y_true, logits):
        raise NotImplementedError

    def _logit_gradient(self, y_true, logits, probs):
        raise NotImplementedError

    def _fused_inputs(self, y_true, logits, probs):
        """(y_true, logits, probs) converted as for `__call__`, probs checked against logits."""
        y_true, logits = self._convert(y_true, logits)
        probs = namespace(logits).asarray(probs).astype(logits.dtype, copy=False)
        if probs.shape != logits.shape:
            raise ValueError(f"probs: expected the shape of logits {logits.shape}, "
                             f"got {probs.shape}")
        return y_true, logits, probs

    def fused_value_and_gradient(self, y_true, logits, probs, sample_weight=None):
        """(L, dL/dlogits) for this loss after `fused_activation`, computed from the logits.

        Args:
            y_true: targets as for `__call__`.
            logits: z, the output layer's pre-activation (N, ..., C).
            probs: activation(z), already computed by the forward pass (reused for dL/dz).
            sample_weight: (N,) or None.
        Returns:
            L computed stably from z (log-sum-exp / softplus form; no probability clipping),
            and dL/dz, z's shape and dtype: (p - y) w_n / N for softmax (one-hot y for sparse
            labels, label smoothing applied; p Σy - y for targets not summing to 1), and
            (p - y) w_n / (N M) for sigmoid (M outputs per sample).
        """
        if self.fused_activation is None:
            raise NotImplementedError(f"{type(self).__name__} has no fused output gradient")
        y_true, logits, probs = self._fused_inputs(y_true, logits, probs)
        scale = self._sample_scale(y_true, logits, sample_weight)
        value = self._reduce(self._logit_losses(y_true, logits), scale)
        return value, self._logit_gradient(y_true, logits, probs) * self._expand(scale, logits)

    # -- serialization
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Loss:
        return cls(**config_)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@registry.register("loss", "mean_squared_error", "mse", "MSE")
class MeanSquaredError(Loss):
    """Mean of squares of errors: l_n = mean_j (y_pred - y_true)^2 (PyTorch's MSELoss)."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _mean_squared_error_gradient(y_true, y_pred)


@registry.register("loss", "mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(Loss):
    """Mean of absolute errors: l_n = mean_j |y_pred - y_true| (PyTorch's L1Loss)."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _mean_absolute_error_gradient(y_true, y_pred)


@registry.register("loss", "huber")
class Huber(Loss):
    """Quadratic for |error| <= delta, linear beyond (PyTorch's HuberLoss(delta=delta))."""

    def __init__(self, delta: float = 1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = _check_delta(delta)

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def call_gradient(self, y_true, y_pred):
        return _huber_gradient(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


@registry.register("loss", "binary_crossentropy", "bce", "BCE")
class BinaryCrossentropy(Loss):
    """Binary crossentropy on probabilities (or logits with from_logits=True).

    Args:
        from_logits: y_pred holds logits rather than sigmoid probabilities.
        label_smoothing: s in [0, 1]; targets become y (1 - s) + s / 2.
        axis: accepted for Keras compatibility (the per-sample mean covers all axes).
    """

    fused_activation = "sigmoid"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = axis

    def call(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing)

    def call_gradient(self, y_true, y_pred):
        return _binary_crossentropy_gradient(y_true, y_pred, self.from_logits,
                                             self.label_smoothing)

    def _logit_losses(self, y_true, logits):
        return binary_crossentropy(y_true, logits, True, self.label_smoothing)

    def _logit_gradient(self, y_true, logits, probs):
        return _binary_crossentropy_gradient(y_true, logits, True, self.label_smoothing, probs)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@registry.register("loss", "categorical_crossentropy")
class CategoricalCrossentropy(Loss):
    """Crossentropy between one-hot (or probability) targets and predictions (N, C).

    Args:
        from_logits: y_pred holds logits rather than softmax probabilities.
        label_smoothing: s in [0, 1]; targets become y (1 - s) + s / C (same as PyTorch's
            CrossEntropyLoss(label_smoothing=s)).
        axis: the class axis.
    """

    fused_activation = "softmax"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = int(axis)

    def call(self, y_true, y_pred):
        return categorical_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing,
                                        self.axis)

    def call_gradient(self, y_true, y_pred):
        return _categorical_crossentropy_gradient(y_true, y_pred, self.from_logits,
                                                  self.label_smoothing, self.axis)

    def _logit_losses(self, y_true, logits):
        return categorical_crossentropy(y_true, logits, True, self.label_smoothing, self.axis)

    def _logit_gradient(self, y_true, logits, probs):
        return _categorical_crossentropy_gradient(y_true, logits, True, self.label_smoothing,
                                                  self.axis, probs)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@registry.register("loss", "sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(Loss):
    """Crossentropy with integer labels y_true (N,) or (N, 1) and predictions (N, C).

    Args:
        from_logits: y_pred holds logits rather than softmax probabilities.
        ignore_class: a label value to skip (padding); its entries give 0 and do not count
            in the "sum_over_batch_size" denominator (PyTorch's ignore_index).
    """

    fused_activation = "softmax"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits,
                                               self.ignore_class)

    def call_gradient(self, y_true, y_pred):
        return _sparse_categorical_crossentropy_gradient(y_true, y_pred, self.from_logits,
                                                         self.ignore_class)

    def _valid_fraction(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        _, valid = _sparse_labels(y_true, y_pred, self.ignore_class)
        return _per_sample_mean(valid.astype(y_pred.dtype))

    def _logit_losses(self, y_true, logits):
        return sparse_categorical_crossentropy(y_true, logits, True, self.ignore_class)

    def _logit_gradient(self, y_true, logits, probs):
        return _sparse_categorical_crossentropy_gradient(y_true, logits, True, self.ignore_class,
                                                         probs)

    def fused_value_and_gradient(self, y_true, logits, probs, sample_weight=None):
        """As `Loss.fused_value_and_gradient`; for logits (N, C) without ignore_class, the
        training step's common case, from one label check and one log-sum-exp:

            l_n = log Σ_j exp(z_nj - m_n) - (z_{n,y_n} - m_n),  m_n = max_j z_nj
            dl_n/dz_n = p_n - onehot(y_n)

        The same numbers as the general path (tested), which checks the labels twice and
        builds log p for every class; this runs every step, so the calls saved count.
        """
        xp = namespace(logits)
        if self.ignore_class is not None or xp.ndim(logits) != 2:
            return super().fused_value_and_gradient(y_true, logits, probs, sample_weight)
        y_true, logits, probs = self._fused_inputs(y_true, logits, probs)
        labels, _ = _sparse_labels(y_true, logits)
        rows = xp.arange(logits.shape[0])
        shifted = logits - logits.max(axis=1, keepdims=True)              # (N, C), <= 0
        losses = xp.log(xp.exp(shifted).sum(axis=1)) - shifted[rows, labels]  # (N,)
        scale = self._sample_scale(y_true, logits, sample_weight)
        grad = probs.copy()
        grad[rows, labels] -= 1                                           # p - onehot(y)
        grad *= self._expand(scale, logits)
        return self._reduce(losses, scale), grad

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


@registry.register("loss", "cosine_similarity")
class CosineSimilarity(Loss):
    """l_n = -cos(y_true_n, y_pred_n) along `axis`: in [-1, 1], -1 for aligned vectors.

    The "cosine distance" 1 - cos is this loss + 1 (same gradient).
    """

    def __init__(self, axis: int = -1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = int(axis)

    def call(self, y_true, y_pred):
        return cosine_similarity(y_true, y_pred, self.axis)

    def call_gradient(self, y_true, y_pred):
        return _cosine_similarity_gradient(y_true, y_pred, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


# Keras' short names for the functions.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

# The functions above, passed as `loss=losses.mean_squared_error`, resolve to their class.
_FUNCTION_CLASSES = {
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    huber: Huber,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    cosine_similarity: CosineSimilarity,
}


def serialize(loss: Loss) -> dict[str, Any]:
    return registry.serialize(loss)


def deserialize(config_, custom_objects: dict[str, Any] | None = None) -> Loss:
    return registry.deserialize("loss", config_, custom_objects)


def get(identifier) -> Loss | None:
    """A Loss from an instance (returned as is), a name ("mse", "categorical_crossentropy",
    "CategoricalCrossentropy"), a {'class_name', 'config'} dict, or one of this module's
    functions. None gives None. A plain Python function is refused: training needs dL/dy_pred.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier) and identifier in _FUNCTION_CLASSES:
        return _FUNCTION_CLASSES[identifier]()
    if callable(identifier):
        raise TypeError(
            f"loss: got the callable {getattr(identifier, '__name__', identifier)!r}; training "
            "needs the loss' gradient too, so subclass glassnet.losses.Loss and implement "
            "call(y_true, y_pred) -> per-sample losses and call_gradient(y_true, y_pred) -> "
            "their derivative (or gradient(...) for the reduced loss)")
    raise TypeError(f"loss: expected a Loss, a name or a config dict, got {identifier!r}")
