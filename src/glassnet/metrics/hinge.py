"""Hinge metrics: the margin losses of support vector machines, as running means.

Targets are -1/+1; 0/1 targets are mapped to -1/+1 first (when every target is 0 or 1):

    hinge           mean_k max(1 - y_k ŷ_k, 0)
    squared hinge   mean_k max(1 - y_k ŷ_k, 0)^2
    categorical     max(max_k (1 - y_k) ŷ_k - Σ_k y_k ŷ_k + 1, 0)   (one-hot y)
"""

from __future__ import annotations

from glassnet import registry
from glassnet.backend import namespace
from glassnet.metrics.base import MeanMetricWrapper, _float_values


def _signed_targets(y_true, y_pred):
    """y_true in y_pred's dtype, 0/1 targets mapped to -1/+1."""
    xp = namespace(y_pred)
    y_true = xp.asarray(y_true).astype(y_pred.dtype)
    if bool(((y_true == 0) | (y_true == 1)).all()):
        y_true = 2 * y_true - 1
    return y_true


def hinge(y_true, y_pred):
    """mean_k max(1 - y_k ŷ_k, 0) over the last axis, y in {-1, +1} (or 0/1).  -> (N, ...)."""
    y_pred = _float_values(y_pred)
    y_true = _signed_targets(y_true, y_pred)
    return namespace(y_pred).maximum(1 - y_true * y_pred, 0).mean(axis=-1)


def squared_hinge(y_true, y_pred):
    """mean_k max(1 - y_k ŷ_k, 0)^2 over the last axis.  -> (N, ...)."""
    y_pred = _float_values(y_pred)
    y_true = _signed_targets(y_true, y_pred)
    return (namespace(y_pred).maximum(1 - y_true * y_pred, 0) ** 2).mean(axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(best wrong score - true score + 1, 0) for one-hot y_true.  (N, C) -> (N,)."""
    y_pred = _float_values(y_pred)
    xp = namespace(y_pred)
    y_true = xp.asarray(y_true).astype(y_pred.dtype)
    positive = (y_true * y_pred).sum(axis=-1)
    negative = ((1 - y_true) * y_pred).max(axis=-1)
    return xp.maximum(negative - positive + 1, 0)


@registry.register("metric")
class Hinge(MeanMetricWrapper):
    """Mean hinge loss max(1 - y ŷ, 0) over outputs and samples."""

    def __init__(self, name: str = "hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


@registry.register("metric")
class SquaredHinge(MeanMetricWrapper):
    """Mean squared hinge loss max(1 - y ŷ, 0)^2 over outputs and samples."""

    def __init__(self, name: str = "squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


@registry.register("metric")
class CategoricalHinge(MeanMetricWrapper):
    """Mean categorical hinge loss over samples (one-hot targets)."""

    def __init__(self, name: str = "categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
