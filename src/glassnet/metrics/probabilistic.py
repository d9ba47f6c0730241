"""Probabilistic metrics: crossentropies, KL divergence and Poisson deviance, as running means.

The crossentropies are the losses' own functions (glassnet.losses), reported as a weighted
mean over samples; KL divergence and Poisson are defined here, with the focal
crossentropies Keras also lists under `keras.metrics`:

    KL(y || ŷ)  = Σ_k y_k log(y_k / ŷ_k), both clipped to [eps, 1]
    Poisson     = mean_k ŷ_k - y_k log(ŷ_k + eps)
    binary focal      = mean_k (1 - p_t)^γ bce_k,  p_t = y ŷ + (1 - y)(1 - ŷ)
    categorical focal = Σ_k -α (1 - ŷ_k)^γ y_k log ŷ_k
"""

from __future__ import annotations

from glassnet import config, losses, registry
from glassnet.activations import sigmoid, softmax
from glassnet.backend import namespace
from glassnet.metrics.base import MeanMetricWrapper, _float_values

binary_crossentropy = losses.binary_crossentropy
categorical_crossentropy = losses.categorical_crossentropy


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1):
    """-log p_y for integer labels y; the class axis of y_pred is `axis`.  -> (N, ...)."""
    y_pred = _float_values(y_pred)
    if axis not in (-1, y_pred.ndim - 1):
        y_pred = namespace(y_pred).moveaxis(y_pred, axis, -1)
    return losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits,
                                                  ignore_class=ignore_class)


def kl_divergence(y_true, y_pred):
    """Σ_k y_k log(y_k / ŷ_k) over the last axis, both clipped to [eps, 1].  -> (N, ...)."""
    y_pred = _float_values(y_pred)
    xp = namespace(y_pred)
    eps = y_pred.dtype.type(config.epsilon())
    y_true = xp.clip(xp.asarray(y_true).astype(y_pred.dtype), eps, 1)
    y_pred = xp.clip(y_pred, eps, 1)
    return (y_true * xp.log(y_true / y_pred)).sum(axis=-1)


def poisson(y_true, y_pred):
    """mean_k ŷ_k - y_k log(ŷ_k + eps): the Poisson negative log-likelihood up to a constant."""
    y_pred = _float_values(y_pred)
    xp = namespace(y_pred)
    y_true = xp.asarray(y_true).astype(y_pred.dtype)
    return (y_pred - y_true * xp.log(y_pred + y_pred.dtype.type(config.epsilon()))).mean(-1)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1):
    """mean over `axis` of (1 - p_t)^γ bce (times α y + (1 - α)(1 - y) when balancing)."""
    y_pred = _float_values(y_pred)
    xp = namespace(y_pred)
    y_true = xp.asarray(y_true).astype(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = sigmoid(y_pred)
    eps = y_pred.dtype.type(config.epsilon())
    p = xp.clip(y_pred, eps, 1 - eps)
    bce = -(y_true * xp.log(p) + (1 - y_true) * xp.log(1 - p))
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return focal.mean(axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1):
    """Σ over `axis` of -α (1 - p_k)^γ y_k log p_k, p normalised to sum to 1 and clipped."""
    y_pred = _float_values(y_pred)
    xp = namespace(y_pred)
    y_true = xp.asarray(y_true).astype(y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = softmax(y_pred, axis=axis)
    eps = y_pred.dtype.type(config.epsilon())
    p = xp.clip(y_pred / y_pred.sum(axis=axis, keepdims=True), eps, 1 - eps)
    return (alpha * (1 - p) ** gamma * -y_true * xp.log(p)).sum(axis=axis)


@registry.register("metric")
class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy between 0/1 (or soft) targets and probabilities (or logits).

    Args:
        from_logits: y_pred holds logits instead of probabilities.
        label_smoothing: targets move to y (1 - s) + s / 2.
    """

    def __init__(self, name: str = "binary_crossentropy", dtype=None,
                 from_logits: bool = False, label_smoothing: float = 0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing)
        self.from_logits, self.label_smoothing = from_logits, label_smoothing


@registry.register("metric")
class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy between one-hot (or soft) targets and class scores.

    Args:
        from_logits: y_pred holds logits instead of probabilities.
        label_smoothing: targets move to y (1 - s) + s / C.
        axis: the class axis.
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype=None,
                 from_logits: bool = False, label_smoothing: float = 0, axis: int = -1):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


@registry.register("metric")
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean crossentropy between integer labels and class scores.

    Args:
        from_logits: y_pred holds logits instead of probabilities.
        ignore_class: a label whose samples count for nothing (e.g. padding).
        axis: the class axis of y_pred.
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype=None,
                 from_logits: bool = False, ignore_class: int | None = None, axis: int = -1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis


@registry.register("metric")
class KLDivergence(MeanMetricWrapper):
    """Mean Kullback-Leibler divergence KL(y_true || y_pred) over samples."""

    def __init__(self, name: str = "kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


@registry.register("metric")
class Poisson(MeanMetricWrapper):
    """Mean Poisson deviance ŷ - y log ŷ over outputs and samples (counts, rates)."""

    def __init__(self, name: str = "poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)
