"""Hinge metrics: the margin losses of support vector machines, as running means.

The per-sample functions are the losses' (glassnet.losses.hinge), one formula for both.

Targets are -1/+1; 0/1 targets are mapped to -1/+1 first (when every target is 0 or 1):

    hinge           mean_k max(1 - y_k ŷ_k, 0)
    squared hinge   mean_k max(1 - y_k ŷ_k, 0)^2
    categorical     max(max_k (1 - y_k) ŷ_k - Σ_k y_k ŷ_k + 1, 0)   (one-hot y)
"""

from __future__ import annotations

from glassnet import registry
from glassnet.losses import categorical_hinge, hinge, squared_hinge
from glassnet.metrics.base import MeanMetricWrapper

__all__ = ["CategoricalHinge", "Hinge", "SquaredHinge", "categorical_hinge", "hinge",
           "squared_hinge"]


@registry.register("metric")
class Hinge(MeanMetricWrapper):
    """Mean hinge loss max(1 - y ŷ, 0) over outputs and samples."""

    def __init__(self, name: str = "hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


@registry.register("metric")
class SquaredHinge(MeanMetricWrapper):
    """Mean squared hinge loss max(1 - y ŷ, 0)^2 over outputs and samples."""

    def __init__(self, name: str = "squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


@registry.register("metric")
class CategoricalHinge(MeanMetricWrapper):
    """Mean categorical hinge loss over samples (one-hot targets)."""

    def __init__(self, name: str = "categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
