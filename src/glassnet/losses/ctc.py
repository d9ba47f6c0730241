"""CTC, connectionist temporal classification (Graves et al., 2006,
https://www.cs.toronto.edu/~graves/icml_2006.pdf): the loss of a label sequence under
per-step class scores, summed over every alignment.

y_true holds label sequences (N, L), integers in [1, C), padded at the end with 0; y_pred
logits (N, T, C), class 0 the blank (Keras' mask_index=0). With p = softmax(y_pred) per step
and the extended sequence l' = (blank, l_1, blank, l_2, ..., blank) of length S = 2 L + 1,
the forward variables (log space, one time step at a time, log-sum-exp throughout) are

    α_0(0) = log p_0(blank), α_0(1) = log p_0(l_1)
    α_t(s) = logsumexp(α_{t-1}(s), α_{t-1}(s-1), α_{t-1}(s-2) if l'_s != blank, l'_{s-2})
             + log p_t(l'_s)

and l = -log P(l | x) = -logsumexp(α_{T-1}(S-1), α_{T-1}(S-2)), one entry per sample (N,).
The backward variables β_t(s) (paths from state s at t to the end, without step t's
emission) give the occupancy γ_t(s) = exp(α_t(s) + β_t(s) - log P) and

    dl/dz_{t,k} = p_{t,k} - Σ_{s: l'_s = k} γ_t(s)

A sequence no alignment of T steps can produce has l = inf (as PyTorch's ctc_loss), and a
zero gradient.
"""

from __future__ import annotations

import numpy as np

from glassnet import numerics, registry
from glassnet.backend import namespace
from glassnet.losses.base import Loss, _as_prediction

BLANK = 0


def _logsumexp(*arrays):
    """Elementwise log Σ exp over the arrays, -inf where all are -inf (no nan)."""
    xp = namespace(arrays[0])
    stacked = xp.stack(arrays)
    top = stacked.max(axis=0)
    safe = xp.where(xp.isfinite(top), top, 0)
    with np.errstate(divide="ignore"):
        return xp.log(xp.exp(stacked - safe).sum(axis=0)) + safe


def _shift(values, steps: int):
    """values moved `steps` states right along the last axis, -inf shifted in."""
    xp = namespace(values)
    shifted = xp.full_like(values, -np.inf)
    shifted[..., steps:] = values[..., :-steps]
    return shifted


def _ctc_lattice(y_true, y_pred):
    """(α, β, log P, extended labels l', log-softmax of y_pred); α, β (N, T, S) in log space."""
    y_pred = _as_prediction(y_pred)
    xp = namespace(y_pred)
    if y_pred.ndim != 3:
        raise ValueError(f"y_pred: expected logits of shape (N, T, C), got {y_pred.shape}")
    labels = xp.asarray(y_true)
    if labels.ndim != 2 or labels.shape[0] != y_pred.shape[0]:
        raise ValueError(f"y_true: expected label sequences of shape ({y_pred.shape[0]}, L), "
                         f"got {labels.shape}")
    labels = labels.astype(np.int64)
    num, steps, classes = y_pred.shape
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"y_true: labels must be in [0, {classes}) for y_pred {y_pred.shape}, "
                         f"got values from {labels.min()} to {labels.max()}")
    lengths = (labels != BLANK).sum(axis=1)                              # (N,)
    states = 2 * labels.shape[1] + 1
    extended = xp.full((num, states), BLANK, dtype=np.int64)
    extended[:, 1::2] = labels                                           # (N, S)
    valid = xp.arange(states) < (2 * lengths + 1)[:, None]               # (N, S)
    skip = xp.zeros((num, states), dtype=bool)                           # s-2 -> s allowed
    skip[:, 2:] = (extended[:, 2:] != BLANK) & (extended[:, 2:] != extended[:, :-2])

    log_p = numerics.log_softmax(y_pred, -1)                             # (N, T, C)
    emit = xp.take_along_axis(log_p, xp.broadcast_to(extended[:, None, :], (num, steps,
                                                                            states)), 2)
    emit = xp.where(valid[:, None, :], emit, -np.inf)                    # (N, T, S)
    alpha = xp.full((num, steps, states), -np.inf, dtype=log_p.dtype)
    alpha[:, 0, :2] = emit[:, 0, :2]
    for t in range(1, steps):
        previous = alpha[:, t - 1]
        two_back = xp.where(skip, _shift(previous, 2), -np.inf)
        alpha[:, t] = _logsumexp(previous, _shift(previous, 1), two_back) + emit[:, t]

    rows = xp.arange(num)
    last, before = 2 * lengths, xp.maximum(2 * lengths - 1, 0)
    beta = xp.full_like(alpha, -np.inf)
    beta[rows, -1, last] = 0.0
    beta[rows, -1, before] = xp.where(lengths > 0, 0.0, beta[rows, -1, before])
    skip_from = xp.zeros_like(skip)                                      # s -> s+2 allowed
    skip_from[:, :-2] = skip[:, 2:]
    for t in range(steps - 2, -1, -1):
        ahead = beta[:, t + 1] + emit[:, t + 1]                          # (N, S)
        two_ahead = xp.full_like(ahead, -np.inf)
        two_ahead[:, :-2] = ahead[:, 2:]
        one_ahead = xp.full_like(ahead, -np.inf)
        one_ahead[:, :-1] = ahead[:, 1:]
        beta[:, t] = _logsumexp(ahead, one_ahead, xp.where(skip_from, two_ahead, -np.inf))
    final = alpha[rows, -1]
    log_likelihood = _logsumexp(final[rows, last],
                                xp.where(lengths > 0, final[rows, before], -np.inf))
    return alpha, beta, log_likelihood, extended, log_p


def ctc(y_true, y_pred):
    """l = -log P(y_true | y_pred), summed over alignments.  (N, L), (N, T, C) -> (N,)."""
    log_likelihood = _ctc_lattice(y_true, y_pred)[2]
    return -log_likelihood


def _ctc_gradient(y_true, y_pred):
    """dl/dz_{t,k} = p_{t,k} - Σ_{s: l'_s = k} γ_t(s), 0 for an impossible sequence."""
    alpha, beta, log_likelihood, extended, log_p = _ctc_lattice(y_true, y_pred)
    xp = namespace(log_p)
    possible = xp.isfinite(log_likelihood)
    safe = xp.where(possible, log_likelihood, 0)
    occupancy = xp.exp(alpha + beta - safe[:, None, None])               # (N, T, S)
    classes = log_p.shape[-1]
    to_class = (extended[:, :, None] == xp.arange(classes)).astype(log_p.dtype)  # (N, S, C)
    grad = xp.exp(log_p) - occupancy @ to_class                          # (N, T, C)
    return grad * possible[:, None, None]


@registry.register("loss", "ctc")
class CTC(Loss):
    """CTC loss of label sequences y_true (N, L) (0-padded at the end; 0 is the blank) under
    per-step logits y_pred (N, T, C): one value a sequence, every alignment counted."""

    sparse_labels = True

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def entry_shape(self, y_pred) -> tuple:
        return tuple(y_pred.shape[:1])

    def _expand(self, scale, y_pred):
        if getattr(scale, "ndim", 0) == 0:
            return scale
        return namespace(y_pred).reshape(scale, scale.shape + (1, 1))

    def call(self, y_true, y_pred):
        return ctc(y_true, y_pred)

    def call_gradient(self, y_true, y_pred):
        return _ctc_gradient(y_true, y_pred)
