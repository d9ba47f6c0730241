"""Regression losses: mean squared error, mean absolute error, Huber.

Each is a pure per-sample function l_n (the mean over every non-batch axis), its derivative
right under it, and a thin Keras class that `Loss` weights and reduces.
"""

from __future__ import annotations

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.losses.base import Loss, _as_targets, _per_sample_count, _per_sample_mean


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


def huber(y_true, y_pred, delta: float = 1.0):
    """l_n = mean_j h(e_nj), e = y_pred - y_true,
    h(e) = e^2 / 2 where |e| <= delta, else delta (|e| - delta / 2).  (N, ...) -> (N,)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    xp = namespace(y_pred)
    delta = y_pred.dtype.type(checks.positive("delta", delta))
    error = y_pred - y_true
    abs_error = xp.abs(error)
    elementwise = xp.where(abs_error <= delta, 0.5 * error**2, delta * (abs_error - 0.5 * delta))
    return _per_sample_mean(elementwise)


def _huber_gradient(y_true, y_pred, delta: float = 1.0):
    """dh/de = e inside the quadratic zone, delta sign(e) outside: clip(e, -delta, delta) / M."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    delta = y_pred.dtype.type(checks.positive("delta", delta))
    return namespace(y_pred).clip(y_pred - y_true, -delta, delta) / _per_sample_count(y_pred)


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
        self.delta = checks.positive("delta", delta)

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def call_gradient(self, y_true, y_pred):
        return _huber_gradient(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}
