"""Regression metrics: errors averaged over outputs and samples, and the R² score.

The per-sample functions are the losses' (glassnet.losses), reducing the last axis,
(N, K) -> (N,), as Keras' do:

    MAPE  100 mean_k |y - ŷ| / max(|y|, eps)
    MSLE  mean_k (log(1 + max(ŷ, eps)) - log(1 + max(y, eps)))^2
    logcosh(e) = e + softplus(-2e) - log 2          (log cosh without overflow)
    cosine = Σ_k y_k ŷ_k / (||y|| ||ŷ||)             (the metric is +cos; the loss is -cos)

R2Score keeps per-output sums over the epoch, Σw y, Σw y², Σw (y - ŷ)², Σw, and returns
1 - SS_res / SS_tot per output, averaged as asked.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from glassnet import losses, registry
from glassnet.backend import to_numpy
from glassnet.metrics.base import Mean, MeanMetricWrapper, Metric, same_rank

mean_squared_error = losses.mean_squared_error
mean_absolute_error = losses.mean_absolute_error
huber = losses.huber
mean_absolute_percentage_error = losses.mean_absolute_percentage_error
mean_squared_logarithmic_error = losses.mean_squared_logarithmic_error
log_cosh = losses.log_cosh


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """cos(y_true, y_pred) along axis, each vector divided by max(||v||, eps).  -> (N, ...)."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


@registry.register("metric")
class MeanSquaredError(MeanMetricWrapper):
    """Mean of (y_pred - y_true)^2 over outputs and samples (sklearn's mean_squared_error)."""

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


@registry.register("metric")
class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of |y_pred - y_true| over outputs and samples."""

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


@registry.register("metric")
class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean of 100 |y - ŷ| / |y| (|y| at least eps) over outputs and samples."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


@registry.register("metric")
class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean of (log(1 + ŷ) - log(1 + y))^2 over outputs and samples."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


@registry.register("metric")
class LogCoshError(MeanMetricWrapper):
    """Mean of log cosh(ŷ - y): about e²/2 for small errors, |e| - log 2 for large ones."""

    def __init__(self, name: str = "logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)


@registry.register("metric")
class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine of the angle between y_true and y_pred along `axis` (1 when aligned)."""

    def __init__(self, name: str = "cosine_similarity", dtype=None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis


@registry.register("metric")
class RootMeanSquaredError(Mean):
    """sqrt of the weighted mean of (y_pred - y_true)^2 over the epoch (not a mean of
    per-batch roots)."""

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = same_rank(y_true, y_pred)
        super().update_state((y_pred - y_true) ** 2, sample_weight)

    def result(self) -> float:
        return math.sqrt(super().result())


@registry.register("metric")
class R2Score(Metric):
    """Coefficient of determination R² = 1 - Σw (y - ŷ)² / Σw (y - ȳ)², per output.

    Args:
        class_aggregation: "uniform_average" (mean over outputs), "variance_weighted_average"
            (outputs weighted by their Σw (y - ȳ)²) or None (one score per output).
        num_regressors: p > 0 gives the adjusted R², 1 - (1 - R²)(n - 1) / (n - p - 1),
            n the number of values seen.

    Shapes: y_true, y_pred (N, K) (or (N,), read as K = 1).
    """

    def __init__(self, class_aggregation: str | None = "uniform_average",
                 num_regressors: int = 0, name: str = "r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError("class_aggregation: expected None, 'uniform_average' or "
                             f"'variance_weighted_average', got {class_aggregation!r}")
        if num_regressors < 0:
            raise ValueError(f"num_regressors: expected an integer >= 0, got {num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.reset_state()

    def reset_state(self) -> None:
        self.num_samples = 0.0
        for name in ("sum", "squared_sum", "total_mse", "count"):
            value = getattr(self, name, None)
            setattr(self, name, None if value is None else np.zeros_like(value))

    def build_state(self, y_true_shape: tuple, y_pred_shape: tuple) -> None:
        """The per-output sums, (K,) for y_pred (N, K) or (N,)."""
        if len(y_pred_shape) not in (1, 2):
            raise ValueError(f"y_pred: expected shape (N, K), got {tuple(y_pred_shape)}")
        if self.sum is None:
            outputs = y_pred_shape[1] if len(y_pred_shape) == 2 else 1
            for name in ("sum", "squared_sum", "total_mse", "count"):
                setattr(self, name, np.zeros(outputs))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = same_rank(to_numpy(y_true), to_numpy(y_pred))
        if y_pred.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        self.build_state(y_true.shape, y_pred.shape)
        weights = np.ones(1) if sample_weight is None else to_numpy(sample_weight)
        weights = np.broadcast_to(weights.reshape(-1, 1) if weights.ndim == 1 else weights,
                                  y_true.shape).astype(np.float64)
        self.sum = self.sum + (weights * y_true).sum(axis=0)
        self.squared_sum = self.squared_sum + (weights * y_true * y_true).sum(axis=0)
        self.total_mse = self.total_mse + (weights * (y_true - y_pred) ** 2).sum(axis=0)
        self.count = self.count + weights.sum(axis=0)
        self.num_samples += float(y_true.size)

    def result(self):
        if self.sum is None:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            total = self.squared_sum - self.sum * (self.sum / self.count)   # Σw (y - ȳ)²
            scores = 1 - self.total_mse / total
        scores = np.where(np.isinf(scores), 0.0, scores)
        if self.class_aggregation == "uniform_average":
            score = scores.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * scores).sum() / total.sum()
        else:
            return scores
        n, p = self.num_samples, self.num_regressors
        if p and p >= n - 1:
            warnings.warn(f"R2Score: num_regressors={p} needs more than {p + 1} values for "
                          f"the adjusted score, got {n:g}; returning the plain R²",
                          stacklevel=2)
        elif p:
            score = 1 - (1 - score) * (n - 1) / (n - p - 1)
        return float(score)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
