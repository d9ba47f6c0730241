"""Overlap losses for image segmentation: Dice and Tversky.

With the sums S over `axis` (every axis, the batch included, by default, as Keras),
I = S(y ŷ) the soft intersection:

    dice      l = 1 - 2 I / (S(y) + S(ŷ) + eps)
    tversky   l = 1 - I / (I + α S((1 - ŷ) y) + β S(ŷ (1 - y)) + eps)

(Keras' argument names: α weighs the missed mass (1 - ŷ) y, β the extra mass ŷ (1 - y);
α = β = 1/2 gives the Dice loss.) Both are a ratio l = 1 - A / D, with derivative
dl/dŷ = -(dA D - A dD) / D^2. Each is a pure function, its derivative right under it, a class.

axis=None gives one number for the whole batch; sample weights (N,) then scale it as Keras
does (l Σw / N for "sum_over_batch_size", l w for "none"), and a mask has nothing to mask.
"""

from __future__ import annotations

import numpy as np

from glassnet import checks, config, registry
from glassnet.backend import namespace
from glassnet.losses.base import Loss, _as_targets, _entry_weights


def _axes(y_pred, axis) -> tuple[int, ...]:
    """`axis` (None: all, an int or a sequence of ints) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(y_pred.ndim))
    axes = (int(axis),) if np.ndim(axis) == 0 else tuple(int(a) for a in axis)
    if any(not -y_pred.ndim <= a < y_pred.ndim for a in axes):
        raise ValueError(f"axis: expected axes of y_pred {y_pred.shape}, got {axis}")
    return tuple(sorted({a % y_pred.ndim for a in axes}))


def _overlap_terms(y_true, y_pred, axis):
    """(y, ŷ, the summed axes) with y in ŷ's dtype and shape."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    return y_true, y_pred, _axes(y_pred, axis)


def dice(y_true, y_pred, axis=None):
    """l = 1 - 2 S(y ŷ) / (S(y) + S(ŷ) + eps), sums over `axis` (None: all axes, one number).
    (N, ...) -> y_pred's shape without `axis`."""
    y_true, y_pred, axes = _overlap_terms(y_true, y_pred, axis)
    eps = y_pred.dtype.type(config.epsilon())
    intersection = (y_true * y_pred).sum(axis=axes)
    return 1 - 2 * intersection / (y_true.sum(axis=axes) + y_pred.sum(axis=axes) + eps)


def _dice_gradient(y_true, y_pred, axis=None):
    """A = 2 I, D = S(y) + S(ŷ) + eps: dA/dŷ = 2 y, dD/dŷ = 1, so dl/dŷ = -(2 y D - 2 I) / D^2."""
    y_true, y_pred, axes = _overlap_terms(y_true, y_pred, axis)
    eps = y_pred.dtype.type(config.epsilon())
    intersection = (y_true * y_pred).sum(axis=axes, keepdims=True)
    denominator = y_true.sum(axis=axes, keepdims=True) + y_pred.sum(axis=axes, keepdims=True) \
        + eps
    return -2 * (y_true * denominator - intersection) / denominator**2


def _tversky_denominator(y_true, y_pred, axes, alpha, beta, keepdims=False):
    """(I, D): I = S(y ŷ), D = I + α S((1 - ŷ) y) + β S(ŷ (1 - y)) + eps."""
    eps = y_pred.dtype.type(config.epsilon())
    intersection = (y_true * y_pred).sum(axis=axes, keepdims=keepdims)
    missed = ((1 - y_pred) * y_true).sum(axis=axes, keepdims=keepdims)
    extra = (y_pred * (1 - y_true)).sum(axis=axes, keepdims=keepdims)
    return intersection, intersection + alpha * missed + beta * extra + eps


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """l = 1 - I / (I + α S((1 - ŷ) y) + β S(ŷ (1 - y)) + eps), sums over `axis`."""
    y_true, y_pred, axes = _overlap_terms(y_true, y_pred, axis)
    intersection, denominator = _tversky_denominator(y_true, y_pred, axes, alpha, beta)
    return 1 - intersection / denominator


def _tversky_gradient(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """dI/dŷ = y, dD/dŷ = y - α y + β (1 - y): dl/dŷ = -(y D - I dD/dŷ) / D^2."""
    y_true, y_pred, axes = _overlap_terms(y_true, y_pred, axis)
    intersection, denominator = _tversky_denominator(y_true, y_pred, axes, alpha, beta, True)
    d_denominator = y_true * (1 - alpha) + beta * (1 - y_true)
    return -(y_true * denominator - intersection * d_denominator) / denominator**2


class _OverlapLoss(Loss):
    """What Dice and Tversky share: entries are y_pred without the summed axes, possibly
    none at all (axis=None), where the sample weights scale the one value as Keras does."""

    def __init__(self, axis, reduction, name, dtype):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if axis is not None:   # an int stays an int; a list (from JSON) becomes a tuple
            axis = int(axis) if np.ndim(axis) == 0 else tuple(int(a) for a in axis)
        self.axis = axis

    def entry_shape(self, y_pred) -> tuple:
        axes = _axes(y_pred, self.axis)
        return tuple(size for i, size in enumerate(y_pred.shape) if i not in axes)

    def _expand(self, scale, y_pred):
        if getattr(scale, "ndim", 0) == 0:
            return scale
        if not self.entry_shape(y_pred):   # one value: "none" gives l w, whose sum is l Σw
            return scale.sum()
        return namespace(y_pred).expand_dims(scale, _axes(y_pred, self.axis))

    def _scale(self, y_true, y_pred, sample_weight, mask, shape: tuple):
        if shape:
            return super()._scale(y_true, y_pred, sample_weight, mask, shape)
        if mask is not None:
            raise ValueError(f"mask: {type(self).__name__}(axis=None) reduces the whole batch "
                             "to one value, which has no entries to mask; give an axis")
        if sample_weight is None:
            return 1.0
        weights = _entry_weights(sample_weight, y_pred, (y_pred.shape[0],))    # (N,)
        if self.reduction in ("none", None):
            return weights                                   # Keras: l w, shape (N,)
        total = weights.sum()
        if self.reduction == "sum":
            return total
        if self.reduction == "mean_with_sample_weight":
            return total / total if total else total
        return total / weights.shape[0]                      # l Σw / N

    def divisor(self, y_true, y_pred, sample_weight=None, mask=None) -> float | None:
        """As `Loss.divisor`; 1 for axis=None (one value for the batch, not a sum over
        entries: splitting a batch across ranks changes it)."""
        if self.entry_shape(namespace(y_pred).asarray(y_pred)):
            return super().divisor(y_true, y_pred, sample_weight, mask)
        return None if self.reduction in ("sum", "none", None) else 1.0


@registry.register("loss", "dice")
class Dice(_OverlapLoss):
    """Dice loss 1 - 2 |y ∩ ŷ| / (|y| + |ŷ|) with soft counts (sums) over `axis`.

    Args:
        axis: the axes summed: None (all, the batch included: one value) or a tuple such as
            (1, 2, 3) for one value per image of y_pred (N, H, W, C).
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(axis, reduction, name, dtype)

    def call(self, y_true, y_pred):
        return dice(y_true, y_pred, self.axis)

    def call_gradient(self, y_true, y_pred):
        return _dice_gradient(y_true, y_pred, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@registry.register("loss", "tversky")
class Tversky(_OverlapLoss):
    """Tversky loss 1 - I / (I + α missed + β extra): Dice with the two kinds of error
    weighed apart (Salehi et al., 2017, https://arxiv.org/abs/1706.05721).

    Args:
        alpha: the weight of the missed mass S((1 - ŷ) y).
        beta: the weight of the extra mass S(ŷ (1 - y)).
        axis: the axes summed, as for `Dice`.
    """

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction="sum_over_batch_size",
                 name="tversky", axis=None, dtype=None):
        super().__init__(axis, reduction, name, dtype)
        self.alpha = checks.non_negative("alpha", alpha)
        self.beta = checks.non_negative("beta", beta)

    def call(self, y_true, y_pred):
        return tversky(y_true, y_pred, self.alpha, self.beta, self.axis)

    def call_gradient(self, y_true, y_pred):
        return _tversky_gradient(y_true, y_pred, self.alpha, self.beta, self.axis)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}
