"""Probabilistic metrics: crossentropies, KL divergence and Poisson deviance, as running means.

The per-sample functions are the losses' own (glassnet.losses), one formula for both,
reported as a weighted mean over samples; the focal crossentropies are the functions Keras
also lists under `keras.metrics`:

    KL(y || ŷ)  = Σ_k y_k log(y_k / ŷ_k), both clipped to [eps, 1]
    Poisson     = mean_k ŷ_k - y_k log(ŷ_k + eps)
    binary focal      = mean_k (1 - p_t)^γ bce_k,  p_t = y ŷ + (1 - y)(1 - ŷ)
    categorical focal = Σ_k -α (1 - ŷ_k)^γ y_k log ŷ_k
"""

from __future__ import annotations

from glassnet import losses, registry
from glassnet.metrics.base import MeanMetricWrapper

binary_crossentropy = losses.binary_crossentropy
categorical_crossentropy = losses.categorical_crossentropy
sparse_categorical_crossentropy = losses.sparse_categorical_crossentropy
kl_divergence = losses.kl_divergence
poisson = losses.poisson
binary_focal_crossentropy = losses.binary_focal_crossentropy
categorical_focal_crossentropy = losses.categorical_focal_crossentropy


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
