"""Hinge losses: the margin losses of support vector machines.

Targets are -1/+1; 0/1 targets are mapped to -1/+1 first (when every target of the batch is
0 or 1, as Keras decides). With the margin m = 1 - y ŷ:

    hinge           l = mean_k max(m_k, 0)                   dl/dŷ_k = -y_k [m_k > 0] / K
    squared hinge   l = mean_k max(m_k, 0)^2                 dl/dŷ_k = -2 y_k max(m_k, 0) / K
    categorical     l = max(max_k (1 - y_k) ŷ_k - Σ_k y_k ŷ_k + 1, 0)    (one-hot y)

Each is a pure per-entry function (the last axis reduced: (N, K) -> (N,), (N, T, K) ->
(N, T); y_pred (N,) stays (N,)), its derivative right under it, and a thin Keras class.
"""

from __future__ import annotations

from glassnet import registry
from glassnet.backend import namespace
from glassnet.losses.base import (
    Loss,
    _as_targets,
    _class_axis,
    _entry_axis,
    _entry_count,
    _mean_over,
)


def _signed_targets(y_true, y_pred):
    """y_true in y_pred's dtype and shape, 0/1 targets mapped to -1/+1 (Keras'
    convert_binary_labels_to_hinge: only when *every* target is 0 or 1)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    if bool(((y_true == 0) | (y_true == 1)).all()):
        y_true = 2 * y_true - 1
    return y_true, y_pred


def hinge(y_true, y_pred):
    """l = mean_k max(1 - y_k ŷ_k, 0) over the last axis, y in {-1, +1} (or 0/1).
    (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _signed_targets(y_true, y_pred)
    margin = namespace(y_pred).maximum(1 - y_true * y_pred, 0)
    return _mean_over(margin, _entry_axis(y_pred))


def _hinge_gradient(y_true, y_pred):
    """dl/dŷ = -y / K where the margin 1 - y ŷ is positive, else 0."""
    y_true, y_pred = _signed_targets(y_true, y_pred)
    active = (1 - y_true * y_pred > 0).astype(y_pred.dtype)
    return -y_true * active / _entry_count(y_pred, _entry_axis(y_pred))


def squared_hinge(y_true, y_pred):
    """l = mean_k max(1 - y_k ŷ_k, 0)^2 over the last axis.  (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _signed_targets(y_true, y_pred)
    margin = namespace(y_pred).maximum(1 - y_true * y_pred, 0)
    return _mean_over(margin * margin, _entry_axis(y_pred))


def _squared_hinge_gradient(y_true, y_pred):
    """dl/dŷ = -2 y max(1 - y ŷ, 0) / K."""
    y_true, y_pred = _signed_targets(y_true, y_pred)
    margin = namespace(y_pred).maximum(1 - y_true * y_pred, 0)
    return -2 * y_true * margin / _entry_count(y_pred, _entry_axis(y_pred))


def categorical_hinge(y_true, y_pred):
    """l = max(neg - pos + 1, 0) with pos = Σ_k y_k ŷ_k (the true class' score for one-hot
    y) and neg = max_k (1 - y_k) ŷ_k (the best wrong score).  (N, ..., C) -> (N, ...)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, -1)
    positive = (y_true * y_pred).sum(axis=axis)
    negative = ((1 - y_true) * y_pred).max(axis=axis)
    return namespace(y_pred).maximum(negative - positive + 1, 0)


def _categorical_hinge_gradient(y_true, y_pred):
    """Where l > 0: dl/dŷ = (1 - y) onehot(argmax_k (1 - y_k) ŷ_k) - y; else 0.
    (The first maximum takes the whole subgradient at a tie, as an argmax does.)"""
    y_true, y_pred = _as_targets(y_true, y_pred)
    xp = namespace(y_pred)
    axis = _class_axis(y_pred, -1)
    wrong = (1 - y_true) * y_pred
    best = xp.argmax(wrong, axis=axis)[..., None]                         # (N, ..., 1)
    onehot = (xp.arange(y_pred.shape[axis]) == best).astype(y_pred.dtype)  # (N, ..., C)
    positive = (y_true * y_pred).sum(axis=axis)
    negative = xp.take_along_axis(wrong, best, axis=axis)[..., 0]
    active = (negative - positive + 1 > 0).astype(y_pred.dtype)[..., None]
    return active * (onehot * (1 - y_true) - y_true)


@registry.register("loss", "hinge")
class Hinge(Loss):
    """l = mean_k max(1 - y ŷ, 0), targets -1/+1 (0/1 are mapped to -1/+1)."""

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return hinge(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _hinge_gradient(y_true, y_pred)


@registry.register("loss", "squared_hinge")
class SquaredHinge(Loss):
    """l = mean_k max(1 - y ŷ, 0)^2, targets -1/+1 (0/1 are mapped to -1/+1)."""

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return squared_hinge(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _squared_hinge_gradient(y_true, y_pred)


@registry.register("loss", "categorical_hinge")
class CategoricalHinge(Loss):
    """l = max(best wrong score - true score + 1, 0) for one-hot targets (N, ..., C)."""

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def reduced_axis(self, y_pred) -> int:
        return _class_axis(y_pred, -1)

    def call(self, y_true, y_pred):
        return categorical_hinge(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _categorical_hinge_gradient(y_true, y_pred)
