"""Divergences between a target and a predicted distribution: Kullback-Leibler and Poisson.

    KL(y || ŷ) = Σ_k y_k log(y_k / ŷ_k), y and ŷ clipped to [eps, 1]     (summed over k)
    Poisson    = mean_k ŷ_k - y_k log(ŷ_k + eps)                           (averaged over k)

with k the last axis: (N, K) -> (N,), (N, T, K) -> (N, T).

Poisson is the negative log-likelihood of counts y under rates ŷ, up to the constant
log y!. Each is a pure per-entry function, its derivative right under it, and a thin class.
"""

from __future__ import annotations

from glassnet import config, registry
from glassnet.backend import namespace
from glassnet.losses.base import Loss, _as_targets, _entry_axis, _entry_count, _mean_over


def _clip_unit(values):
    """clip(values, eps, 1) as Keras does, and the clip's derivative (1 inside, else 0)."""
    eps = values.dtype.type(config.epsilon())
    inside = (values >= eps) & (values <= 1)
    return namespace(values).clip(values, eps, 1), inside.astype(values.dtype)


def kl_divergence(y_true, y_pred):
    """l = Σ_k y_k log(y_k / ŷ_k) over the last axis, y and ŷ clipped to [eps, 1].
    (N, ..., C) -> (N, ...); y_pred (N,) gives one entry per sample."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _entry_axis(y_pred)
    y_true, _ = _clip_unit(y_true)
    y_pred, _ = _clip_unit(y_pred)
    elementwise = y_true * namespace(y_pred).log(y_true / y_pred)
    return elementwise if axis is None else elementwise.sum(axis=axis)


def _kl_divergence_gradient(y_true, y_pred):
    """dl/dŷ_k = -y_k / ŷ_k (both clipped) inside the clip, 0 outside."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    y_true, _ = _clip_unit(y_true)
    clipped, inside = _clip_unit(y_pred)
    return -inside * y_true / clipped


def poisson(y_true, y_pred):
    """l = mean_k ŷ_k - y_k log(ŷ_k + eps) over the last axis.  (N, ..., K) -> (N, ...)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    eps = y_pred.dtype.type(config.epsilon())
    elementwise = y_pred - y_true * namespace(y_pred).log(y_pred + eps)
    return _mean_over(elementwise, _entry_axis(y_pred))


def _poisson_gradient(y_true, y_pred):
    """dl/dŷ = (1 - y / (ŷ + eps)) / K."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    eps = y_pred.dtype.type(config.epsilon())
    return (1 - y_true / (y_pred + eps)) / _entry_count(y_pred, _entry_axis(y_pred))


@registry.register("loss", "kl_divergence", "kld", "KLD", "kullback_leibler_divergence")
class KLDivergence(Loss):
    """l = KL(y_true || y_pred) = Σ_k y log(y / ŷ), both clipped to [eps, 1] (PyTorch's
    KLDivLoss on log ŷ with reduction "sum" per sample)."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return kl_divergence(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _kl_divergence_gradient(y_true, y_pred)


@registry.register("loss", "poisson")
class Poisson(Loss):
    """l = mean_k ŷ - y log(ŷ + eps): counts y under predicted rates ŷ > 0 (PyTorch's
    PoissonNLLLoss(log_input=False) with its own eps)."""

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return poisson(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _poisson_gradient(y_true, y_pred)
