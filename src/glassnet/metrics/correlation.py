"""Correlation metrics: per-sample correlation along an axis, as a running mean over samples.

For each sample (a row along `axis`), with means ȳ, ŷ̄ and population variances:

    Pearson       r  = mean((y - ȳ)(ŷ - ŷ̄)) / (σ_y σ_ŷ)
    concordance   ρc = 2 cov(y, ŷ) / (σ_y² + σ_ŷ² + (ȳ - ŷ̄)² + eps)   (Lin's CCC)
"""

from __future__ import annotations

from glassnet import config, registry
from glassnet.backend import namespace
from glassnet.metrics.base import MeanMetricWrapper, same_rank


def pearson_correlation(y_true, y_pred, axis: int = -1):
    """Pearson's r between y_true and y_pred along `axis`.  (N, K) -> (N,)."""
    y_true, y_pred = same_rank(y_true, y_pred)
    a = y_true - y_true.mean(axis=axis, keepdims=True)
    b = y_pred - y_pred.mean(axis=axis, keepdims=True)
    a = a / a.std(axis=axis, keepdims=True)
    b = b / b.std(axis=axis, keepdims=True)
    return (a * b).mean(axis=axis)


def concordance_correlation(y_true, y_pred, axis: int = -1):
    """Lin's concordance correlation between y_true and y_pred along `axis`.  (N, K) -> (N,)."""
    y_true, y_pred = same_rank(y_true, y_pred)
    xp = namespace(y_pred)
    true_mean = y_true.mean(axis=axis, keepdims=True)
    pred_mean = y_pred.mean(axis=axis, keepdims=True)
    covariance = ((y_true - true_mean) * (y_pred - pred_mean)).mean(axis=axis, keepdims=True)
    norm = (y_true.var(axis=axis, keepdims=True) + y_pred.var(axis=axis, keepdims=True)
            + xp.square(true_mean - pred_mean))
    eps = y_pred.dtype.type(config.epsilon())
    return (2 * covariance / (norm + eps)).mean(axis=axis)


@registry.register("metric")
class PearsonCorrelation(MeanMetricWrapper):
    """Mean over samples of Pearson's r along `axis` (1: perfectly linear, increasing)."""

    def __init__(self, name: str = "pearson_correlation", dtype=None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


@registry.register("metric")
class ConcordanceCorrelation(MeanMetricWrapper):
    """Mean over samples of Lin's concordance correlation along `axis` (1: y_pred = y_true)."""

    def __init__(self, name: str = "concordance_correlation", dtype=None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
