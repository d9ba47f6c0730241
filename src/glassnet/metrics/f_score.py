"""F-scores: the weighted harmonic mean of precision and recall, per class.

For (N, C) one-hot (or multi-label) targets and scores, a class is predicted where its
score is above `threshold`, or, without a threshold, where it is the row's largest (and not
0). Per class c, with counts summed over the epoch (sample weights w):

    P_c = TP_c / (TP_c + FP_c + eps)      R_c = TP_c / (TP_c + FN_c + eps)
    F_β,c = (1 + β²) P_c R_c / (β² P_c + R_c + eps)

average: None (one score per class), "macro" (their mean), "weighted" (weighted by each
class's Σw y, its support), "micro" (counts pooled over classes first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import config, registry
from glassnet.backend import to_numpy
from glassnet.metrics.base import Metric, scalar_or_array

_AVERAGES = (None, "micro", "macro", "weighted")
_STATE = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


@registry.register("metric")
class FBetaScore(Metric):
    """F-beta score of (N, C) predictions (see the module docstring).

    Args:
        average: None, "micro", "macro" or "weighted".
        beta: > 0; recall counts beta times as much as precision.
        threshold: in (0, 1]; None predicts each row's largest score.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str = "fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError(f"average: expected one of {_AVERAGES}, got {average!r}")
        if not isinstance(beta, float) or beta <= 0:
            raise ValueError(f"beta: expected a float > 0, got {beta!r}")
        if threshold is not None and (not isinstance(threshold, float)
                                      or not 0 < threshold <= 1):
            raise ValueError(f"threshold: expected None or a float in (0, 1], "
                             f"got {threshold!r}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.true_positives = None

    def build_state(self, y_true_shape: tuple, y_pred_shape: tuple) -> None:
        """TP, FP, FN and support per class (C,), or pooled () for average="micro"."""
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(f"y_true, y_pred: expected shape (N, C), got {y_true_shape} "
                             f"and {y_pred_shape}")
        if self.true_positives is None:
            shape = () if self.average == "micro" else (y_pred_shape[1],)
            for name in _STATE:
                setattr(self, name, np.zeros(shape))

    def reset_state(self) -> None:
        if self.true_positives is not None:
            for name in _STATE:
                setattr(self, name, np.zeros_like(getattr(self, name)))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true = to_numpy(y_true).astype(np.float64)
        y_pred = to_numpy(y_pred).astype(np.float64)
        self.build_state(y_true.shape, y_pred.shape)
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weights = np.ones((len(y_true), 1)) if sample_weight is None \
            else to_numpy(sample_weight).astype(np.float64).reshape(-1, 1)
        axis = None if self.average == "micro" else 0

        def weighted_sum(values):
            return (values * weights).sum(axis=axis)

        self.true_positives = self.true_positives + weighted_sum(predicted * y_true)
        self.false_positives = self.false_positives + weighted_sum(predicted * (1 - y_true))
        self.false_negatives = self.false_negatives + weighted_sum((1 - predicted) * y_true)
        self.intermediate_weights = self.intermediate_weights + weighted_sum(y_true)

    def result(self):
        if self.true_positives is None:
            return 0.0
        eps = config.epsilon()
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + eps)
        recall = tp / (tp + self.false_negatives + eps)
        beta2 = self.beta ** 2
        score = (1 + beta2) * precision * recall / (beta2 * precision + recall + eps)
        if self.average == "weighted":
            support = self.intermediate_weights
            return float((score * support / (support.sum() + eps)).sum())
        if self.average is not None:
            return float(np.mean(score))
        return scalar_or_array(score)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


@registry.register("metric")
class F1Score(FBetaScore):
    """F1 score, the harmonic mean of precision and recall (FBetaScore with beta = 1).

    Args:
        average, threshold: as FBetaScore.
    """

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str = "f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config_ = super().get_config()
        del config_["beta"]
        return config_
