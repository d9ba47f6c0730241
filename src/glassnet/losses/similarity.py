"""Similarity losses: cosine similarity (Keras' sign: -1 for aligned vectors).

A pure per-entry function (reducing the vector axis: (N, C) -> (N,), (N, T, C) -> (N, T)),
its derivative right under it, and a thin Keras class.
"""

from __future__ import annotations

from glassnet import config, registry
from glassnet.backend import namespace
from glassnet.losses.base import Loss, _as_targets, _class_axis


def _l2_normalize(x, axis: int):
    """x / max(||x||, eps) along axis (Keras' normalize), and that denominator."""
    xp = namespace(x)
    norm = xp.sqrt((x * x).sum(axis=axis, keepdims=True))
    return x / xp.maximum(norm, x.dtype.type(config.epsilon())), norm


def cosine_similarity(y_true, y_pred, axis: int = -1):
    """l = -cos(y_true, y_pred) = -Σ_c ŷ_true ŷ_pred, ŷ = y / ||y||, along `axis`.
    (N, ..., C) -> (N, ...).

    As in Keras the loss is the *negative* cosine, in [-1, 1] (-1 when aligned). The cosine
    distance 1 - cos used elsewhere is this loss plus 1: same gradient, shifted value.
    """
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    a, _ = _l2_normalize(y_true, axis)
    b, _ = _l2_normalize(y_pred, axis)
    return -(a * b).sum(axis=axis)


def _cosine_similarity_gradient(y_true, y_pred, axis=-1):
    """With n = max(||u||, eps), u = y_pred: dl/du = -(a - (a·û) û) / n where ||u|| > eps
    (the radial part is removed), -a / eps on the flat part where the norm is clamped."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    a, _ = _l2_normalize(y_true, axis)
    b, norm = _l2_normalize(y_pred, axis)
    eps = y_pred.dtype.type(config.epsilon())
    radial = (a * b).sum(axis=axis, keepdims=True) * b * (norm > eps)
    return -(a - radial) / namespace(y_pred).maximum(norm, eps)


@registry.register("loss", "cosine_similarity")
class CosineSimilarity(Loss):
    """l = -cos(y_true, y_pred) along `axis`: in [-1, 1], -1 for aligned vectors.

    The "cosine distance" 1 - cos is this loss + 1 (same gradient).
    """

    def __init__(self, axis: int = -1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = int(axis)

    def reduced_axis(self, y_pred) -> int:
        return _class_axis(y_pred, self.axis)

    def call(self, y_true, y_pred):
        return cosine_similarity(y_true, y_pred, self.axis)

    def call_gradient(self, y_true, y_pred):
        return _cosine_similarity_gradient(y_true, y_pred, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
