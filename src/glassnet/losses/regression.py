"""Regression losses: mean squared error, mean absolute error, Huber.

Each is a pure per-entry function (the mean over the last axis, as Keras: (N, K) -> (N,),
(N, T, K) -> (N, T); y_pred (N,) stays (N,)), its derivative right under it, and a thin
Keras class that `Loss` weights, masks and reduces.
"""

from __future__ import annotations

from glassnet import checks, registry
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
