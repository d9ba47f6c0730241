"""The Loss base class: per-sample losses, sample weights, the reduction, the fused path.

Every loss is computed in two steps, as in Keras 3:

    l_n = call(y_true, y_pred)                      per-sample losses, shape (N,)
    L   = Σ_n w_n l_n / N                           reduction "sum_over_batch_size"

and `gradient` returns dL/dy_pred of the *reduced* scalar L (already divided by N and times
the sample weights w_n), with y_pred's shape and dtype, ready for the output layer's backward.

Also here: the input conversions and per-sample reductions every loss family shares.
"""

from __future__ import annotations

from typing import Any

from glassnet import checks, config
from glassnet.backend import namespace
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


def _per_sample_mean(values):
    """(N, ...) -> (N,): the mean over every non-batch axis."""
    if values.ndim == 1:
        return values  # one entry per sample already (the common case: skip the reduction)
    return values.reshape(values.shape[0], -1).mean(axis=1)


def _per_sample_count(array) -> int:
    """How many entries `_per_sample_mean` averages for each sample."""
    return array.size // array.shape[0] if array.shape[0] else 1


def _class_axis(y_pred, axis: int) -> int:
    """The class axis as a non-negative index; it must not be the batch axis."""
    if y_pred.ndim < 2:
        raise ValueError(f"y_pred: expected shape (N, ..., C), with a class axis, "
                         f"got {y_pred.shape}")
    if not -y_pred.ndim <= axis < y_pred.ndim or axis % y_pred.ndim == 0:
        raise ValueError(f"axis: expected a non-batch axis of y_pred {y_pred.shape}, got {axis}")
    return axis % y_pred.ndim


def _sample_weights(sample_weight, y_pred):
    """sample_weight as (N,) in y_pred's dtype (a scalar is broadcast), or None."""
    if sample_weight is None:
        return None
    xp = namespace(y_pred)
    n = y_pred.shape[0]
    weights = xp.asarray(sample_weight).astype(y_pred.dtype, copy=False)
    if weights.ndim == 0:
        return xp.full((n,), weights, dtype=y_pred.dtype)
    if weights.shape not in ((n,), (n, 1)):
        raise ValueError(f"sample_weight: expected shape ({n},) or ({n}, 1) for a batch of {n}, "
                         f"got {weights.shape}")
    return weights.reshape(n)


class Loss:
    """Base class: subclass it and implement `call` and `call_gradient` (or `gradient`).

    Args:
        name: the loss' name (default: the class name in snake_case).
        reduction: "sum_over_batch_size" (= "mean"): Σ w_n l_n / N; "sum": Σ w_n l_n;
            "mean_with_sample_weight": Σ w_n l_n / Σ w_n; "none" (or None): w_n l_n, (N,).
        dtype: float dtype the loss is computed in; None (the default) keeps y_pred's own
            dtype (Keras would use floatx: here float64 gradient checks stay float64).

    Subclass contract:
        call(y_true, y_pred) -> l, shape (N,)
        call_gradient(y_true, y_pred) -> dl_n/dy_pred, shape of y_pred (unweighted, unreduced)
    from which `__call__` and `gradient` apply the weights and the reduction.
    """

    # Name of the output activation whose backward this loss can fuse with (see below).
    fused_activation: str | None = None

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = checks.one_of("reduction", reduction, _REDUCTIONS)
        self.dtype = None if dtype is None else config.standardize_dtype(dtype)

    # -- to implement
    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__}.call(y_true, y_pred) -> (N,) losses")

    def call_gradient(self, y_true, y_pred):
        raise NotImplementedError(
            f"{type(self).__name__}: implement call_gradient(y_true, y_pred) -> dl_n/dy_pred "
            "(or override gradient) so that the loss can be trained")

    # -- reduction
    def _convert(self, y_true, y_pred):
        y_pred = _as_prediction(y_pred)
        if self.dtype is not None:
            y_pred = y_pred.astype(self.dtype, copy=False)
        return namespace(y_pred).asarray(y_true), y_pred

    def _valid_fraction(self, y_true, y_pred):
        """(N,) fraction of each sample's entries that count (ignore_class), or None for all."""
        return None

    def _sample_scale(self, y_true, y_pred, sample_weight):
        """c_n such that the reduced loss is Σ_n c_n l_n (and "none" returns c_n l_n)."""
        weights = _sample_weights(sample_weight, y_pred)
        numerator = 1.0 if weights is None else weights
        if self.reduction in ("sum", "none", None):
            return numerator
        valid = self._valid_fraction(y_true, y_pred)
        if self.reduction == "mean_with_sample_weight" and weights is not None:
            denominator = (weights if valid is None else weights * valid).sum()
        else:
            denominator = y_pred.shape[0] if valid is None else valid.sum()
        if denominator == 0:  # nothing to average (all ignored): 0, as Keras' divide_no_nan
            return numerator * 0.0
        return numerator / denominator

    def _reduce(self, losses, scale):
        weighted = losses * scale
        if self.reduction in ("none", None):
            return weighted
        return namespace(weighted).asarray(weighted.sum())

    @staticmethod
    def _expand(scale, like):
        """Per-sample scale (N,) reshaped to broadcast against y_pred (N, ...)."""
        if getattr(scale, "ndim", 0) == 0:
            return scale
        return scale.reshape(scale.shape + (1,) * (like.ndim - 1))

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The reduced loss: a 0-d array (or (N,) for reduction "none"), in y_pred's dtype."""
        y_true, y_pred = self._convert(y_true, y_pred)
        scale = self._sample_scale(y_true, y_pred, sample_weight)
        return self._reduce(self.call(y_true, y_pred), scale)

    def gradient(self, y_true, y_pred, sample_weight=None):
        """dL/dy_pred of the reduced loss L, y_pred's shape and dtype.

        For reduction "none" it is the derivative of Σ_n w_n l_n (each sample's own gradient).
        """
        y_true, y_pred = self._convert(y_true, y_pred)
        scale = self._sample_scale(y_true, y_pred, sample_weight)
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

    def fused_value_and_gradient(self, y_true, logits, probs, sample_weight=None):
        """(L, dL/dlogits) for this loss after `fused_activation`, computed from the logits.

        Args:
            y_true: targets as for `__call__`.
            logits: z, the output layer's pre-activation (N, ..., C).
            probs: activation(z), already computed by the forward pass (reused for dL/dz).
            sample_weight: (N,) or None.
        Returns:
            L computed stably from z (log-sum-exp / softplus form; no probability clipping),
            and dL/dz, z's shape and dtype: (p - y) w_n / N for softmax (one-hot y for sparse
            labels, label smoothing applied; p Σy - y for targets not summing to 1), and
            (p - y) w_n / (N M) for sigmoid (M outputs per sample).
        """
        if self.fused_activation is None:
            raise NotImplementedError(f"{type(self).__name__} has no fused output gradient")
        y_true, logits, probs = self._fused_inputs(y_true, logits, probs)
        scale = self._sample_scale(y_true, logits, sample_weight)
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
