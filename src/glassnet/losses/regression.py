"""Regression losses: squared, absolute, percentage, squared-log errors, Huber and log-cosh.

Each is a pure per-entry function (the mean over the last axis, as Keras: (N, K) -> (N,),
(N, T, K) -> (N, T); y_pred (N,) stays (N,)), its derivative right under it, and a thin
Keras class that `Loss` weights, masks and reduces.
"""

from __future__ import annotations

import math

from glassnet import checks, config, registry
from glassnet.backend import namespace
from glassnet.losses.base import Loss, _as_targets, _entry_axis, _entry_count, _mean_over


def mean_squared_error(y_true, y_pred):
    """l = mean_k (y_pred_k - y_true_k)^2 over the last axis.  (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return _mean_over((y_pred - y_true) ** 2, _entry_axis(y_pred))


def _mean_squared_error_gradient(y_true, y_pred):
    """dl/dy_pred = 2 (y_pred - y_true) / K, K values averaged per entry."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return (y_pred - y_true) * (2 / _entry_count(y_pred, _entry_axis(y_pred)))


def mean_absolute_error(y_true, y_pred):
    """l = mean_k |y_pred_k - y_true_k| over the last axis.  (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return _mean_over(namespace(y_pred).abs(y_pred - y_true), _entry_axis(y_pred))


def _mean_absolute_error_gradient(y_true, y_pred):
    """dl/dy_pred = sign(y_pred - y_true) / K (0 where they are equal, as in PyTorch)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return namespace(y_pred).sign(y_pred - y_true) / _entry_count(y_pred, _entry_axis(y_pred))


def huber(y_true, y_pred, delta: float = 1.0):
    """l = mean_k h(e_k) over the last axis, e = y_pred - y_true,
    h(e) = e^2 / 2 where |e| <= delta, else delta (|e| - delta / 2).  (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    xp = namespace(y_pred)
    delta = y_pred.dtype.type(checks.positive("delta", delta))
    error = y_pred - y_true
    abs_error = xp.abs(error)
    elementwise = xp.where(abs_error <= delta, 0.5 * error**2, delta * (abs_error - 0.5 * delta))
    return _mean_over(elementwise, _entry_axis(y_pred))


def _huber_gradient(y_true, y_pred, delta: float = 1.0):
    """dh/de = e inside the quadratic zone, delta sign(e) outside: clip(e, -delta, delta) / K."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    delta = y_pred.dtype.type(checks.positive("delta", delta))
    count = _entry_count(y_pred, _entry_axis(y_pred))
    return namespace(y_pred).clip(y_pred - y_true, -delta, delta) / count


def mean_absolute_percentage_error(y_true, y_pred):
    """l = 100 mean_k |y_true_k - y_pred_k| / max(|y_true_k|, eps).  (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    xp = namespace(y_pred)
    scale = xp.maximum(xp.abs(y_true), y_pred.dtype.type(config.epsilon()))
    return 100 * _mean_over(xp.abs(y_true - y_pred) / scale, _entry_axis(y_pred))


def _mean_absolute_percentage_error_gradient(y_true, y_pred):
    """dl/dy_pred = 100 sign(y_pred - y_true) / (max(|y_true|, eps) K)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    xp = namespace(y_pred)
    scale = xp.maximum(xp.abs(y_true), y_pred.dtype.type(config.epsilon()))
    count = _entry_count(y_pred, _entry_axis(y_pred))
    return 100 * xp.sign(y_pred - y_true) / (scale * count)


def _log1p_floored(values):
    """log(1 + max(values, eps)), Keras' floor keeping the log's argument above 1."""
    xp = namespace(values)
    return xp.log1p(xp.maximum(values, values.dtype.type(config.epsilon())))


def mean_squared_logarithmic_error(y_true, y_pred):
    """l = mean_k (log(1 + max(y_pred_k, eps)) - log(1 + max(y_true_k, eps)))^2.
    (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    error = _log1p_floored(y_pred) - _log1p_floored(y_true)
    return _mean_over(error * error, _entry_axis(y_pred))


def _mean_squared_logarithmic_error_gradient(y_true, y_pred):
    """dl/dy_pred = 2 (log(1 + ŷ) - log(1 + y)) / ((1 + ŷ) K) where ŷ > eps; 0 on the floor."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    eps = y_pred.dtype.type(config.epsilon())
    error = _log1p_floored(y_pred) - _log1p_floored(y_true)
    count = _entry_count(y_pred, _entry_axis(y_pred))
    return 2 * error * (y_pred > eps) / ((1 + namespace(y_pred).maximum(y_pred, eps)) * count)


def log_cosh(y_true, y_pred):
    """l = mean_k log cosh(e_k), e = y_pred - y_true, computed as e + softplus(-2e) - log 2
    (cosh overflows for |e| > 89 in float32; this form does not).  (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    error = y_pred - y_true
    softplus = namespace(y_pred).logaddexp(y_pred.dtype.type(0), -2 * error)   # log(1 + e^-2e)
    return _mean_over(error + softplus - y_pred.dtype.type(math.log(2.0)), _entry_axis(y_pred))


def _log_cosh_gradient(y_true, y_pred):
    """d log cosh(e) / de = tanh(e), divided by the K values averaged."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return namespace(y_pred).tanh(y_pred - y_true) / _entry_count(y_pred, _entry_axis(y_pred))


@registry.register("loss", "mean_squared_error", "mse", "MSE")
class MeanSquaredError(Loss):
    """Mean of squares of errors: l = mean_k (y_pred - y_true)^2 (PyTorch's MSELoss)."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _mean_squared_error_gradient(y_true, y_pred)


@registry.register("loss", "mean_absolute_error", "mae", "MAE")
class MeanAbsoluteError(Loss):
    """Mean of absolute errors: l = mean_k |y_pred - y_true| (PyTorch's L1Loss)."""

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
        self.delta = checks.positive("delta", delta)

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def call_gradient(self, y_true, y_pred):
        return _huber_gradient(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


@registry.register("loss", "mean_absolute_percentage_error", "mape", "MAPE")
class MeanAbsolutePercentageError(Loss):
    """l = 100 mean_k |y_true - y_pred| / max(|y_true|, eps): the error in percent of the
    target (targets near 0 give huge values: eps = config.epsilon() only avoids division
    by 0)."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return mean_absolute_percentage_error(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _mean_absolute_percentage_error_gradient(y_true, y_pred)


@registry.register("loss", "mean_squared_logarithmic_error", "msle", "MSLE")
class MeanSquaredLogarithmicError(Loss):
    """l = mean_k (log(1 + ŷ) - log(1 + y))^2, ŷ and y floored at eps: a relative error for
    positive targets spanning orders of magnitude."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return mean_squared_logarithmic_error(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _mean_squared_logarithmic_error_gradient(y_true, y_pred)


@registry.register("loss", "log_cosh", "logcosh")
class LogCosh(Loss):
    """l = mean_k log cosh(y_pred - y_true): about e^2 / 2 for small errors, |e| - log 2 for
    large ones (Huber-like, but smooth everywhere)."""

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return log_cosh(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _log_cosh_gradient(y_true, y_pred)
