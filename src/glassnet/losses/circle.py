"""Circle loss (Sun et al., 2020, https://arxiv.org/abs/2002.10857) for metric learning.

y_true holds integer labels (N,), y_pred embeddings E (N, D), unit-norm as a
UnitNormalization layer leaves them; references R (M, D) with labels (M,) are E and y_true
unless given. With the cosine distances d_ij = max(1 - e_i·r_j, 0), the positives P (same
label, i != j unless remove_diagonal=False) and negatives Q (other labels), margin m:

    a_ij = -γ max(m + d_ij, 0) (m - d_ij)        for j in P_i   (pulls positives closer)
    b_ij =  γ max(1 + m - d_ij, 0) (1 - m - d_ij) for j in Q_i   (pushes negatives away)
    l_i  = softplus(logsumexp_{P_i} a_i + logsumexp_{Q_i} b_i)

A sample without positives (or without negatives) gives l_i = 0, and, as in Keras, counts
for nothing in the reduction: not even in "sum_over_batch_size"'s divisor.
"""

from __future__ import annotations

import numpy as np

from glassnet import numerics, registry
from glassnet.backend import namespace
from glassnet.losses.base import Loss, _as_prediction


def _masked_logsumexp(values, mask):
    """(logsumexp of each row over `mask`, -inf for an empty row; the softmax weights over
    the mask, 0 off it and in an empty row)."""
    xp = namespace(values)
    shifted = xp.where(mask, values, -np.inf)
    top = shifted.max(axis=1, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)
    exp = xp.where(mask, xp.exp(shifted - top), 0)
    total = exp.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        lse = (xp.log(total) + top)[:, 0]
    weights = exp / xp.where(total > 0, total, 1)
    return lse, weights


def _circle_terms(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal, gamma, margin):
    """Everything the value and the gradient share (see the module docstring)."""
    y_pred = _as_prediction(y_pred)
    xp = namespace(y_pred)
    if y_pred.ndim != 2:
        raise ValueError(f"y_pred: expected embeddings of shape (N, D), got {y_pred.shape}")
    labels = xp.asarray(y_true).reshape(-1).astype(np.int64)
    if labels.shape[0] != y_pred.shape[0]:
        raise ValueError(f"y_true: expected {y_pred.shape[0]} labels (N,) for y_pred "
                         f"{y_pred.shape}, got shape {xp.asarray(y_true).shape}")
    refs = y_pred if ref_embeddings is None else xp.asarray(ref_embeddings, dtype=y_pred.dtype)
    ref_labels = labels if ref_labels is None else xp.asarray(ref_labels).reshape(-1)
    similarity = y_pred @ refs.T                                          # (N, M)
    distance = xp.maximum(1 - similarity, 0)
    positive = labels[:, None] == ref_labels[None, :]                     # (N, M)
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~xp.eye(*positive.shape, dtype=bool)
    pos_weight = xp.maximum(margin + distance, 0)
    neg_weight = xp.maximum(1 + margin - distance, 0)
    p_lse, p_soft = _masked_logsumexp(-gamma * pos_weight * (margin - distance), positive)
    n_lse, n_soft = _masked_logsumexp(gamma * neg_weight * (1 - margin - distance), negative)
    logits = p_lse + n_lse                                                # (N,), may be -inf
    return (y_pred, refs, similarity, distance, positive, negative, pos_weight, neg_weight,
            p_soft, n_soft, logits)


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """l_i = softplus(logsumexp_{P_i} a_i + logsumexp_{Q_i} b_i).  (N, D) -> (N,)."""
    logits = _circle_terms(y_true, y_pred, ref_labels, ref_embeddings, remove_diagonal,
                           gamma, margin)[-1]
    xp = namespace(logits)
    return xp.logaddexp(logits.dtype.type(0), logits)                    # softplus


def _circle_gradient(y_true, y_pred, ref_labels=None, ref_embeddings=None,
                     remove_diagonal=True, gamma=80, margin=0.4, scale=1.0):
    """dL/dE of L = Σ_i c_i l_i (c = `scale`, (N,) or a scalar).

    dl_i/dd_ij = σ(p_i + n_i) [α_ij 2γ d_ij [m + d > 0] - β_ij 2γ (1 - d_ij) [1 + m - d > 0]]
    with α, β the softmax weights of the two log-sum-exps (a_ij = -γ (m² - d²) where
    m + d > 0, b_ij = γ ((1 - d)² - m²) where 1 + m - d > 0); dd/ds = -[s < 1]; and
    s = E R^T gives dE = H R (+ H^T E when R is E itself).
    """
    (y_pred, refs, similarity, distance, positive, negative, pos_weight, neg_weight,
     p_soft, n_soft, logits) = _circle_terms(y_true, y_pred, ref_labels, ref_embeddings,
                                             remove_diagonal, gamma, margin)
    d_logits = numerics.sigmoid(logits) * scale                           # (N,)
    d_pos = p_soft * 2 * gamma * distance * (pos_weight > 0)
    d_neg = -n_soft * 2 * gamma * (1 - distance) * (neg_weight > 0)
    d_distance = d_logits[:, None] * (d_pos + d_neg)                      # (N, M)
    d_similarity = -d_distance * (similarity < 1)
    grad = d_similarity @ refs                                            # (N, D)
    if ref_embeddings is None:
        grad = grad + d_similarity.T @ y_pred
    return grad


@registry.register("loss", "circle")
class Circle(Loss):
    """Circle loss between integer labels (N,) and unit-norm embeddings (N, D): pulls same-
    label pairs together and pushes others apart, each pair weighed by how far it is from
    its optimum.

    Args:
        gamma: the scale γ of the similarity scores.
        margin: the relaxation m: positives aim at distance below m, negatives above 1 - m.
        remove_diagonal: leave each sample out of its own positives.
    """

    sparse_labels = True

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.gamma = float(gamma)
        self.margin = float(margin)
        self.remove_diagonal = bool(remove_diagonal)

    def _arguments(self) -> dict:
        return {"remove_diagonal": self.remove_diagonal, "gamma": self.gamma,
                "margin": self.margin}

    def entry_shape(self, y_pred) -> tuple:
        return tuple(y_pred.shape[:1])

    def _expand(self, scale, y_pred):
        return scale

    def _entry_mask(self, y_true, y_pred):
        """Samples with a loss of 0 (no positives or no negatives) are left out, as Keras."""
        return self.call(y_true, y_pred) > 0

    def call(self, y_true, y_pred):
        return circle(y_true, y_pred, **self._arguments())

    def gradient(self, y_true, y_pred, sample_weight=None, mask=None):
        y_true, y_pred = self._convert(y_true, y_pred)
        scale = self._scale(y_true, y_pred, sample_weight, mask, self.entry_shape(y_pred))
        xp = namespace(y_pred)
        scale = xp.broadcast_to(xp.asarray(scale, dtype=y_pred.dtype), self.entry_shape(y_pred))
        return _circle_gradient(y_true, y_pred, scale=scale, **self._arguments())

    def get_config(self):
        return {**super().get_config(), **self._arguments()}
