"""The Loss base class: per-entry losses, sample weights and masks, the reduction, the fused path.

Every loss is computed in two steps, as in Keras 3:

    l = call(y_true, y_pred)            per-entry losses: y_pred (N, ..., C) -> l (N, ...)
    L = Σ w m l / Σ m                   reduction "sum_over_batch_size"

The loss function reduces only the class axis (the crossentropies, cosine: over `axis`) or
the last axis (MSE, MAE, Huber, BCE: a mean), so that (N, C) outputs give one entry per
sample, l (N,), and a sequence (N, T, C) one per step, l (N, T). A 1-D y_pred (N,) gives one
entry per sample, l (N,) (Keras would average the batch away; glassnet keeps the samples).
w are the sample weights, (N,) broadcast over a sample's entries (or of the entries' own
shape); m is a boolean mask of the entries' shape (padding steps; `ignore_class` is one
too, joined with a given mask by AND), and Σ m is the number of entries without a mask.

`gradient` returns dL/dy_pred of the *reduced* scalar L (weights, mask and divisor already
applied), with y_pred's shape and dtype, ready for the output layer's backward.

Also here: the input conversions and the entry axis every loss family shares.
"""

from __future__ import annotations

import math
from typing import Any

from glassnet import checks, config
from glassnet.backend import namespace
from glassnet.losses import tracing
from glassnet.naming import snake_case

_REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None)


# --------------------------------------------------------------------------- helpers


def _as_prediction(y_pred):
    """y_pred as a float array (integers are cast to floatx), at least (N,)."""
    xp = namespace(y_pred)
    y_pred = xp.asarray(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(config.floatx())
    if y_pred.ndim == 0:
        raise ValueError("y_pred: expected a batch of shape (N, ...), got a scalar")
    return y_pred


def _as_targets(y_true, y_pred):
    """y_true cast to y_pred's dtype and shape; (N,) targets are accepted for (N, 1) outputs.

    Keras squeezes or expands a trailing axis of size 1 (`squeeze_or_expand_to_same_rank`);
    any other shape mismatch is an error rather than a silent broadcast.
    """
    y_pred = _as_prediction(y_pred)
    y_true = namespace(y_pred).asarray(y_true)
    if y_true.shape != y_pred.shape:
        if y_true.shape + (1,) != y_pred.shape and y_true.shape != y_pred.shape + (1,):
            raise ValueError(f"y_true: expected the shape of y_pred {y_pred.shape}, "
                             f"got {y_true.shape}")
        y_true = y_true.reshape(y_pred.shape)
    return y_true.astype(y_pred.dtype, copy=False), y_pred


def _entry_axis(y_pred, axis: int = -1) -> int | None:
    """The axis of y_pred a loss reduces to its entries, as a non-negative index (never the
    batch axis); None for y_pred (N,), where every sample is one entry."""
    if y_pred.ndim < 2:
        return None
    if not -y_pred.ndim <= axis < y_pred.ndim or axis % y_pred.ndim == 0:
        raise ValueError(f"axis: expected a non-batch axis of y_pred {y_pred.shape}, got {axis}")
    return axis % y_pred.ndim


def _class_axis(y_pred, axis: int) -> int:
    """The class axis as a non-negative index; y_pred must have one besides the batch axis."""
    if y_pred.ndim < 2:
        raise ValueError(f"y_pred: expected shape (N, ..., C), with a class axis, "
                         f"got {y_pred.shape}")
    return _entry_axis(y_pred, axis)


def _mean_over(values, axis: int | None):
    """values averaged over `axis` (from `_entry_axis`); as they are for axis None."""
    return values if axis is None else values.mean(axis=axis)


def _entry_count(y_pred, axis: int | None) -> int:
    """How many values `_mean_over` averages into each entry."""
    return 1 if axis is None else y_pred.shape[axis]


def _entry_weights(sample_weight, y_pred, shape: tuple):
    """sample_weight in y_pred's dtype, ready to broadcast against entries of `shape`.

    A scalar, (N,) or (N, 1) gives (N,) for entries (N,) and (N, 1, ...) for (N, T, ...)
    (one weight for all of a sample's entries); weights of the entries' own shape are kept.
    None stays None.
    """
    if sample_weight is None:
        return None
    xp = namespace(y_pred)
    n = shape[0]
    weights = xp.asarray(sample_weight).astype(y_pred.dtype, copy=False)
    if weights.ndim == 0:
        weights = xp.full((n,), weights, dtype=y_pred.dtype)
    elif weights.shape in ((n,), (n, 1)):
        weights = weights.reshape(n)
    elif tuple(weights.shape) == shape:
        return weights
    else:
        entries = "" if len(shape) == 1 else f" or the loss entries' {shape}"
        raise ValueError(f"sample_weight: expected shape ({n},) or ({n}, 1){entries} for a "
                         f"batch of {n}, got {weights.shape}")
    return weights.reshape((n,) + (1,) * (len(shape) - 1))


def _as_mask(mask, shape: tuple, xp):
    """A mask of the entries as a boolean array (nonzero = counts), checked against `shape`."""
    if mask is None:
        return None
    mask = xp.asarray(mask)
    if tuple(mask.shape) != shape:
        raise ValueError(f"mask: expected the shape of the loss entries {shape} (y_pred's "
                         f"shape without the reduced axis), got {mask.shape}")
    return mask if mask.dtype == bool else mask != 0


class Loss:
    """Base class: subclass it and implement `call` and `call_gradient` (or `gradient`).

    Args:
        name: the loss' name (default: the class name in snake_case).
        reduction: how the weighted entries w m l become the loss (as Keras 3):
            "sum_over_batch_size" (= "mean"): Σ w m l / Σ m, where Σ m is the number of
                entries without a mask, and 0 when the mask leaves none;
            "sum": Σ w m l;
            "mean_with_sample_weight": Σ w m l / Σ w m with sample weights; without a mask
                Keras divides by the weights as given, Σ_n w_n for (N,) weights (so a
                sequence's loss is summed over its steps); as "sum_over_batch_size" without
                sample weights;
            "none" (or None): w m l, the entries' shape.
        dtype: float dtype the loss is computed in; None (the default) keeps y_pred's own
            dtype (Keras would use floatx: here float64 gradient checks stay float64).

    Subclass contract:
        call(y_true, y_pred) -> l, per-entry losses: y_pred's shape without the axis
            `reduced_axis(y_pred)` (the last one by default), (N,) for y_pred (N,)
        call_gradient(y_true, y_pred) -> dl/dy_pred, y_pred's shape (each entry's own
            derivative, unweighted, unreduced)
    from which `__call__` and `gradient` apply the weights, the mask and the reduction.
    Or, as in Keras, only `call`, written with `glassnet.ops`: the gradient then comes
    from the tape (`losses.tracing`), for entries of any shape.
    """

    # Name of the output activation whose backward this loss can fuse with (see below).
    fused_activation: str | None = None
    # Whether y_true holds integer class labels, not targets of y_pred's shape (fit checks).
    sparse_labels: bool = False

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = checks.one_of("reduction", reduction, _REDUCTIONS)
        self.dtype = None if dtype is None else config.standardize_dtype(dtype)

    # -- to implement
    def call(self, y_true, y_pred):
        raise NotImplementedError(
            f"{type(self).__name__}.call(y_true, y_pred) -> per-entry losses (N, ...)")

    def call_gradient(self, y_true, y_pred):
        raise NotImplementedError(
            f"{type(self).__name__}: implement call_gradient(y_true, y_pred) -> dl/dy_pred "
            "(or override gradient) so that the loss can be trained")

    def reduced_axis(self, y_pred) -> int | None:
        """The axis of y_pred that `call` reduces (non-negative), None for y_pred (N,).

        The last axis here; the class-axis losses return their `axis`. Override it in a
        subclass whose `call` reduces another axis, so that `gradient` sees the same entries.
        """
        return _entry_axis(y_pred, -1)

    def entry_shape(self, y_pred) -> tuple:
        """The shape of the per-entry losses (and of a mask) for y_pred: (N, ...)."""
        axis = self.reduced_axis(y_pred)
        shape = tuple(y_pred.shape)
        return shape if axis is None else shape[:axis] + shape[axis + 1:]

    # -- reduction
    def _convert(self, y_true, y_pred):
        y_pred = _as_prediction(y_pred)
        if self.dtype is not None:
            y_pred = y_pred.astype(self.dtype, copy=False)
        return namespace(y_pred).asarray(y_true), y_pred

    def _entry_mask(self, y_true, y_pred):
        """The loss' own mask of its entries (SparseCategoricalCrossentropy's ignore_class),
        boolean of the entries' shape, or None when every entry counts."""
        return None

    def _weights_and_mask(self, y_true, y_pred, sample_weight, mask, shape: tuple):
        """(w, m) for entries of `shape`: the sample weights ready to broadcast (or None) and
        the mask in y_pred's dtype, the given one AND the loss' own (or None)."""
        if not shape:
            raise ValueError(f"{type(self).__name__}.call: expected per-entry losses of shape "
                             "(N, ...), got a scalar")
        weights = _entry_weights(sample_weight, y_pred, shape)
        mask = _as_mask(mask, shape, namespace(y_pred))
        own = self._entry_mask(y_true, y_pred)
        if own is not None:
            mask = own if mask is None else mask & own
        if mask is not None:
            mask = mask.astype(y_pred.dtype)
        return weights, mask

    def _denominator(self, weights, mask, shape: tuple):
        """What the reduction divides Σ w m l by; None for "sum" and "none"."""
        if self.reduction in ("sum", "none", None):
            return None
        if self.reduction == "mean_with_sample_weight" and weights is not None:
            return (weights if mask is None else weights * mask).sum()
        return math.prod(shape) if mask is None else mask.sum()

    def _scale(self, y_true, y_pred, sample_weight, mask, shape: tuple):
        """c, broadcastable to entries of `shape`, such that the reduced loss is Σ c l (and
        "none" returns c l): the weights, the mask and the reduction's divisor in one."""
        weights, mask = self._weights_and_mask(y_true, y_pred, sample_weight, mask, shape)
        numerator = 1.0 if weights is None else weights
        denominator = self._denominator(weights, mask, shape)
        if denominator is None:
            return numerator if mask is None else numerator * mask
        if denominator == 0:  # nothing to average (all masked): 0, as Keras' divide_no_nan
            scale = numerator * 0.0
        else:
            scale = numerator / denominator
        return scale if mask is None else scale * mask

    def divisor(self, y_true, y_pred, sample_weight=None, mask=None) -> float | None:
        """The number the reduction divides this batch's Σ w m l by (arguments as `__call__`):
        Σ m, the entries counted, for "sum_over_batch_size"; Σ w m for
        "mean_with_sample_weight" with weights; None for "sum" and "none".

        Data parallelism weighs each rank's loss and gradient with it: the loss of a batch
        split across ranks is then Σ_r divisor_r · L_r / Σ_r divisor_r, exactly the loss of
        the whole batch in one process, however unevenly the batch was split.
        """
        y_true, y_pred = self._convert(y_true, y_pred)
        shape = self.entry_shape(y_pred)
        weights, mask = self._weights_and_mask(y_true, y_pred, sample_weight, mask, shape)
        denominator = self._denominator(weights, mask, shape)
        return None if denominator is None else float(denominator)

    def _reduce(self, losses, scale):
        weighted = losses * scale
        if self.reduction in ("none", None):
            return weighted
        return namespace(weighted).asarray(weighted.sum())

    def _expand(self, scale, y_pred):
        """The entries' scale c put back on y_pred's rank: the reduced axis inserted."""
        axis = self.reduced_axis(y_pred)
        if getattr(scale, "ndim", 0) == 0 or axis is None:
            return scale
        return namespace(y_pred).expand_dims(scale, axis)

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None):
        """The reduced loss: a 0-d array (or the entries for reduction "none"), y_pred's dtype.

        Args:
            y_true: targets, y_pred's shape (labels for the sparse crossentropy).
            y_pred: predictions (N, ..., C).
            sample_weight: a scalar, (N,), (N, 1), or the entries' shape; None for ones.
            mask: boolean (or 0/1) of the entries' shape, `entry_shape(y_pred)`: False
                entries (padding) count for nothing, not even in the divisor.
        """
        y_true, y_pred = self._convert(y_true, y_pred)
        losses = self.call(y_true, y_pred)
        losses = getattr(losses, "value", losses)
        if getattr(losses, "ndim", 0) == 0 and self.traced and sample_weight is None \
                and mask is None:
            return namespace(y_pred).asarray(losses)          # already one number
        scale = self._scale(y_true, y_pred, sample_weight, mask, tuple(losses.shape))
        return self._reduce(losses, scale)

    @property
    def traced(self) -> bool:
        """Whether the gradient comes from the tape: `call` is written with glassnet.ops and
        neither `call_gradient` nor `gradient` is."""
        cls = type(self)
        return cls.call_gradient is Loss.call_gradient and cls.gradient is Loss.gradient

    def gradient(self, y_true, y_pred, sample_weight=None, mask=None):
        """dL/dy_pred of the reduced loss L, y_pred's shape and dtype (arguments as `__call__`).

        For reduction "none" it is the derivative of Σ w m l (each entry's own gradient).
        """
        y_true, y_pred = self._convert(y_true, y_pred)
        if self.traced:
            losses, tape, leaf = tracing.traced_losses(self.call, y_true, y_pred)
            if losses.ndim == 0 and sample_weight is None and mask is None:
                scale = 1.0
            else:
                scale = self._scale(y_true, y_pred, sample_weight, mask, tuple(losses.shape))
            return tracing.gradient_from_tape(losses, tape, leaf, scale)
        scale = self._scale(y_true, y_pred, sample_weight, mask, self.entry_shape(y_pred))
        return self.call_gradient(y_true, y_pred) * self._expand(scale, y_pred)

    # -- fused output gradient
    #
    # With p = softmax(z) and L = -Σ y log p, the chain rule through p is
    #     dL/dz = softmax'(z)^T (-y / p),
    # where -y / p overflows (p underflows to 0 for a confident wrong answer) and the Jacobian
    # product then cancels to the simple dL/dz = p - y (for targets that sum to 1). The same
    # happens for sigmoid + binary crossentropy: dL/dz = p - y (per entry). So for these two
    # pairs -- softmax + (sparse) categorical crossentropy, sigmoid + binary crossentropy --
    # the model skips the activation's backward and asks the loss for dL/dz directly: one
    # subtraction, exact, and finite for any logits. Any other pair goes through the chain.

    def _logit_losses(self, y_true, logits):
        raise NotImplementedError

    def _logit_gradient(self, y_true, logits, probs):
        raise NotImplementedError

    def _fused_inputs(self, y_true, logits, probs):
        """(y_true, logits, probs) converted as for `__call__`, probs checked against logits."""
        y_true, logits = self._convert(y_true, logits)
        probs = namespace(logits).asarray(probs).astype(logits.dtype, copy=False)
        if probs.shape != logits.shape:
            raise ValueError(f"probs: expected the shape of logits {logits.shape}, "
                             f"got {probs.shape}")
        return y_true, logits, probs

    def fused_value_and_gradient(self, y_true, logits, probs, sample_weight=None, mask=None):
        """(L, dL/dlogits) for this loss after `fused_activation`, computed from the logits.

        Args:
            y_true: targets as for `__call__`.
            logits: z, the output layer's pre-activation (N, ..., C).
            probs: activation(z), already computed by the forward pass (reused for dL/dz).
            sample_weight, mask: as for `__call__`.
        Returns:
            L computed stably from z (log-sum-exp / softplus form; no probability clipping),
            and dL/dz, z's shape and dtype: (p - y) c for softmax, c = w m / Σ m the scale
            of each entry (one-hot y for sparse labels, label smoothing applied; p Σy - y for
            targets not summing to 1), and (p - y) c / M for sigmoid (M values averaged per
            entry).
        """
        if self.fused_activation is None:
            raise NotImplementedError(f"{type(self).__name__} has no fused output gradient")
        y_true, logits, probs = self._fused_inputs(y_true, logits, probs)
        scale = self._scale(y_true, logits, sample_weight, mask, self.entry_shape(logits))
        value = self._reduce(self._logit_losses(y_true, logits), scale)
        return value, self._logit_gradient(y_true, logits, probs) * self._expand(scale, logits)

    # -- serialization
    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Loss:
        return cls(**config_)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"
