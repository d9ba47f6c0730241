"""Probabilistic losses: binary, categorical and sparse categorical crossentropy.

Each is a pure per-entry function (reducing the class axis, or for binary crossentropy
averaging `axis`: (N, C) -> (N,), (N, T, C) -> (N, T)), its derivative right under it, and a
thin Keras class.
From logits the values go through `glassnet.numerics` (log-softmax, the softplus form); from
probabilities, p is clipped to [eps, 1 - eps] as Keras does. The classes also give the
fused output gradient dL/dz = p - y for a softmax or sigmoid output (see `Loss`).
Sparse labels are checked (integers in [0, C)) and never expanded to one-hot.
"""

from __future__ import annotations

import numpy as np

from glassnet import checks, config, numerics, registry
from glassnet.backend import namespace
from glassnet.losses.base import (
    Loss,
    _as_prediction,
    _as_targets,
    _class_axis,
    _entry_axis,
    _entry_count,
    _mean_over,
)

# --------------------------------------------------------------------------- helpers


def _clip_probabilities(p):
    """clip(p, eps, 1 - eps) as Keras does, and the derivative of that clip (1 inside, else 0)."""
    eps = p.dtype.type(config.epsilon())
    inside = (p > eps) & (p < 1 - eps)
    return namespace(p).clip(p, eps, 1 - eps), inside.astype(p.dtype)


def _check_label_smoothing(label_smoothing: float) -> float:
    return checks.in_range("label_smoothing", label_smoothing, 0.0, 1.0, include_high=True)


# --------------------------------------------------------------------------- binary


def _smooth_binary(y_true, label_smoothing: float):
    """Keras: y (1 - s) + s / 2, pulling both targets towards 1/2."""
    if label_smoothing:
        return y_true * (1 - label_smoothing) + 0.5 * label_smoothing
    return y_true


def binary_crossentropy(y_true, y_pred, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1):
    """l = mean_k -[y log p + (1 - y) log(1 - p)] over `axis`.  (N, ..., K) -> (N, ...).

    from_logits=True: y_pred holds logits z, and the same value is computed stably as
    max(z, 0) - z y + log(1 + e^-|z|) (no exp of a large positive number, no log of 0).
    from_logits=False: p is clipped to [eps, 1 - eps] (eps = config.epsilon()) like Keras.
    y_pred (N,) gives one entry per sample (no axis is averaged).
    """
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _entry_axis(y_pred, axis)
    y_true = _smooth_binary(y_true, _check_label_smoothing(label_smoothing))
    xp = namespace(y_pred)
    if from_logits:
        z = y_pred
        elementwise = xp.maximum(z, 0) - z * y_true + xp.log1p(xp.exp(-xp.abs(z)))
    else:
        p, _ = _clip_probabilities(y_pred)
        elementwise = -(y_true * xp.log(p) + (1 - y_true) * xp.log(1 - p))
    return _mean_over(elementwise, axis)


def _binary_crossentropy_gradient(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                                  axis=-1, probs=None):
    """dl/dz = (sigmoid(z) - y) / K from logits (`probs` = sigmoid(z) when already known);
    dl/dp = (p - y) / (p (1 - p)) / K on clipped p, 0 where the clip is active.
    K: the values averaged per entry (the length of `axis`)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    y_true = _smooth_binary(y_true, _check_label_smoothing(label_smoothing))
    count = _entry_count(y_pred, _entry_axis(y_pred, axis))
    if from_logits:
        p = numerics.sigmoid(y_pred) if probs is None else probs
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
    """l = -Σ_c y_c log p_c (summed over the class axis).  (N, ..., C) -> (N, ...).

    from_logits=True: log p = z - logsumexp(z), never forming p.
    from_logits=False: as Keras, p is first renormalised, p / Σ_c p_c, then clipped to
    [eps, 1 - eps] before the log.
    """
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    y_true = _smooth_categorical(y_true, _check_label_smoothing(label_smoothing), axis)
    if from_logits:
        log_p = numerics.log_softmax(y_pred, axis)
    else:
        p, _ = _clip_probabilities(y_pred / y_pred.sum(axis=axis, keepdims=True))
        log_p = namespace(y_pred).log(p)
    return -(y_true * log_p).sum(axis=axis)


def _categorical_crossentropy_gradient(y_true, y_pred, from_logits=False, label_smoothing=0.0,
                                       axis=-1, probs=None):
    """From logits: dl/dz = p Σ_c y_c - y (= p - y for targets summing to 1).

    From probabilities, through the renormalisation q = y_pred / S and the clip:
    g = dl/dq = -y / clip(q) where the clip is inactive (else 0), and
    dl/dy_pred_k = (g_k - Σ_j g_j q_j) / S.
    """
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    y_true = _smooth_categorical(y_true, _check_label_smoothing(label_smoothing), axis)
    if from_logits:
        p = numerics.softmax(y_pred, axis) if probs is None else probs
        return p * y_true.sum(axis=axis, keepdims=True) - y_true
    total = y_pred.sum(axis=axis, keepdims=True)
    q = y_pred / total
    clipped, inside = _clip_probabilities(q)
    g = -inside * y_true / clipped
    return (g - (g * q).sum(axis=axis, keepdims=True)) / total


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


def _class_axis_last(y_pred, axis: int):
    """y_pred with its class axis `axis` moved to the end (a view; as is when already last)."""
    axis = _class_axis(y_pred, axis)
    if axis == y_pred.ndim - 1:
        return y_pred
    return namespace(y_pred).moveaxis(y_pred, axis, -1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1):
    """l = -log p_y, y an integer label.  y_true (N, ...) or (N, ..., 1), y_pred (N, ..., C)
    -> (N, ...).

    Same numerics as `categorical_crossentropy` with y one-hot, without building the one-hot.
    Entries whose label equals `ignore_class` contribute 0 (and, in the Loss class, are left
    out of the batch-size denominator, as Keras and PyTorch's ignore_index do). `axis` is
    y_pred's class axis (the labels have y_pred's shape without it).
    """
    y_pred = _class_axis_last(_as_prediction(y_pred), axis)
    labels, valid = _sparse_labels(y_true, y_pred, ignore_class)
    if from_logits:
        log_p = _at_labels(numerics.log_softmax(y_pred, -1), labels)
    else:
        q = _at_labels(y_pred, labels) / y_pred.sum(axis=-1)
        log_p = namespace(y_pred).log(_clip_probabilities(q)[0])
    if valid is not None:
        log_p = log_p * valid
    return -log_p


def _sparse_categorical_crossentropy_gradient(y_true, y_pred, from_logits=False,
                                              ignore_class=None, axis=-1, probs=None):
    """From logits: dl/dz = p - onehot(y), written as p with 1 subtracted at the labels.
    From probabilities: the categorical formula with g nonzero only at the label."""
    y_pred = _as_prediction(y_pred)
    class_axis = _class_axis(y_pred, axis)
    y_pred = _class_axis_last(y_pred, axis)
    xp = namespace(y_pred)
    labels, valid = _sparse_labels(y_true, y_pred, ignore_class)
    if from_logits:
        grad = numerics.softmax(y_pred, -1) if probs is None else probs.copy()
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
    return grad if class_axis == grad.ndim - 1 else xp.moveaxis(grad, -1, class_axis)


@registry.register("loss", "binary_crossentropy", "bce", "BCE")
class BinaryCrossentropy(Loss):
    """Binary crossentropy on probabilities (or logits with from_logits=True).

    Args:
        from_logits: y_pred holds logits rather than sigmoid probabilities.
        label_smoothing: s in [0, 1]; targets become y (1 - s) + s / 2.
        axis: the axis averaged into each entry (the last: (N, K) -> (N,), (N, T, K) ->
            (N, T)); y_pred (N,) has one entry per sample.
    """

    fused_activation = "sigmoid"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = int(axis)

    def reduced_axis(self, y_pred) -> int | None:
        return _entry_axis(y_pred, self.axis)

    def call(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing,
                                   self.axis)

    def call_gradient(self, y_true, y_pred):
        return _binary_crossentropy_gradient(y_true, y_pred, self.from_logits,
                                             self.label_smoothing, self.axis)

    def _logit_losses(self, y_true, logits):
        return binary_crossentropy(y_true, logits, True, self.label_smoothing, self.axis)

    def _logit_gradient(self, y_true, logits, probs):
        return _binary_crossentropy_gradient(y_true, logits, True, self.label_smoothing,
                                             self.axis, probs)

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


@registry.register("loss", "categorical_crossentropy")
class CategoricalCrossentropy(Loss):
    """Crossentropy between one-hot (or probability) targets and predictions (N, ..., C).

    Args:
        from_logits: y_pred holds logits rather than softmax probabilities.
        label_smoothing: s in [0, 1]; targets become y (1 - s) + s / C (same as PyTorch's
            CrossEntropyLoss(label_smoothing=s)).
        axis: the class axis (summed over: one entry per sample, or per step of (N, T, C)).
    """

    fused_activation = "softmax"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = int(axis)

    def reduced_axis(self, y_pred) -> int:
        return _class_axis(y_pred, self.axis)

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
    """Crossentropy with integer labels y_true (N, ...) or (N, ..., 1) and predictions
    (N, ..., C): one entry per label.

    Args:
        from_logits: y_pred holds logits rather than softmax probabilities.
        ignore_class: a label value to skip (padding): a mask of the entries, as Keras (and
            PyTorch's ignore_index); its entries give 0 and do not count in the
            "sum_over_batch_size" denominator. Joined with a given `mask` by AND.
        axis: y_pred's class axis (the last by default).
    """

    fused_activation = "softmax"
    sparse_labels = True

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction="sum_over_batch_size", axis: int = -1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.axis = int(axis)

    def reduced_axis(self, y_pred) -> int:
        return _class_axis(y_pred, self.axis)

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits,
                                               self.ignore_class, self.axis)

    def call_gradient(self, y_true, y_pred):
        return _sparse_categorical_crossentropy_gradient(y_true, y_pred, self.from_logits,
                                                         self.ignore_class, self.axis)

    def _entry_mask(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        return _sparse_labels(y_true, _class_axis_last(y_pred, self.axis), self.ignore_class)[1]

    def _logit_losses(self, y_true, logits):
        return sparse_categorical_crossentropy(y_true, logits, True, self.ignore_class,
                                               self.axis)

    def _logit_gradient(self, y_true, logits, probs):
        probs = _class_axis_last(probs, self.axis)
        return _sparse_categorical_crossentropy_gradient(y_true, logits, True, self.ignore_class,
                                                         self.axis, probs)

    def fused_value_and_gradient(self, y_true, logits, probs, sample_weight=None, mask=None):
        """As `Loss.fused_value_and_gradient`; for logits (N, C) without ignore_class (with
        or without a mask (N,)), the training step's common case, from one label check and
        one log-sum-exp:

            l_n = log Σ_j exp(z_nj - m_n) - (z_{n,y_n} - m_n),  m_n = max_j z_nj
            dl_n/dz_n = p_n - onehot(y_n)

        The same numbers as the general path (tested), which checks the labels twice and
        builds log p for every class; this runs every step, so the calls saved count.
        """
        xp = namespace(logits)
        if self.ignore_class is not None or xp.ndim(logits) != 2 or self.axis not in (-1, 1):
            return super().fused_value_and_gradient(y_true, logits, probs, sample_weight,
                                                    mask)
        y_true, logits, probs = self._fused_inputs(y_true, logits, probs)
        labels, _ = _sparse_labels(y_true, logits)
        rows = xp.arange(logits.shape[0])
        shifted = logits - logits.max(axis=1, keepdims=True)              # (N, C), <= 0
        losses = xp.log(xp.exp(shifted).sum(axis=1)) - shifted[rows, labels]  # (N,)
        scale = self._scale(y_true, logits, sample_weight, mask, losses.shape)
        grad = probs.copy()
        grad[rows, labels] -= 1                                           # p - onehot(y)
        grad *= self._expand(scale, logits)
        return self._reduce(losses, scale), grad

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}
