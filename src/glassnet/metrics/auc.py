"""AUC: the area under the ROC or precision-recall curve, from counts at fixed thresholds.

The metric keeps TP, FP, TN, FN at `num_thresholds` thresholds: -eps, 1/(n-1), ...,
(n-2)/(n-1), 1 + eps (so the first predicts everything positive and the last nothing).
The curve is the points (FPR, TPR) for ROC or (recall, precision) for PR, one a threshold,
and the area the Riemann sum between consecutive points, heights

    interpolation  (y_i + y_{i+1}) / 2     (trapezoids)
    minoring       min(y_i, y_{i+1})
    majoring       max(y_i, y_{i+1})

PR with interpolation integrates precision exactly under the assumption that TP and
P = TP + FP grow linearly between thresholds (Davis & Goadrich, 2006): on [A, B]

    ∫ precision d(recall) = slope (ΔTP + intercept log(P_B / P_A)) / (TP + FN),
    slope = ΔTP / ΔP, intercept = TP_B - slope P_B.

    >>> import numpy as np
    >>> from glassnet.metrics import AUC
    >>> m = AUC()
    >>> m.update_state(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    >>> round(m.result(), 2)
    0.75
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import config, registry
from glassnet.activations import sigmoid
from glassnet.backend import to_numpy
from glassnet.metrics.base import Metric, divide_no_nan
from glassnet.metrics.confusion import _KINDS, confusion_counts

_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATIONS = ("interpolation", "minoring", "majoring")


@registry.register("metric")
class AUC(Metric):
    """Area under the ROC curve (default) or the precision-recall curve.

    Args:
        num_thresholds: how many thresholds discretise the curve (> 1; default 200).
        curve: "ROC" or "PR".
        summation_method: "interpolation", "minoring" or "majoring" (see the module).
        thresholds: explicit inner thresholds in [0, 1] instead of evenly spaced ones
            (-eps and 1 + eps are added at the ends).
        multi_label: for (N, L) outputs, one curve per label and the mean of their areas
            (weighted by `label_weights`); else all labels are pooled into one curve.
        num_labels: L, to make the state before the first batch (multi_label only).
        label_weights: (L,) non-negative weights of the labels.
        from_logits: y_pred holds logits; a sigmoid turns them into probabilities.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype=None, thresholds=None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights=None,
                 from_logits: bool = False):
        super().__init__(name=name, dtype=dtype)
        if str(curve).lower() not in _CURVES:
            raise ValueError(f"curve: expected 'ROC' or 'PR', got {curve!r}")
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f"summation_method: expected one of {_SUMMATIONS}, "
                             f"got {summation_method!r}")
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"num_thresholds: expected an integer > 1, "
                                 f"got {num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        eps = config.epsilon()
        self.thresholds = [0.0 - eps, *inner, 1.0 + eps]
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self.multi_label = multi_label
        self.num_labels = num_labels
        if num_labels and not multi_label:
            raise ValueError("num_labels: only used with multi_label=True")
        self.label_weights = None if label_weights is None \
            else np.asarray(label_weights, dtype=np.float64)
        self.from_logits = from_logits
        self.true_positives = None
        if not multi_label or num_labels:
            self._build(num_labels)

    def _build(self, num_labels: int | None) -> None:
        shape = (self.num_thresholds, num_labels) if self.multi_label else (self.num_thresholds,)
        for kind in _KINDS:
            setattr(self, kind, np.zeros(shape))

    def build_state(self, y_true_shape: tuple, y_pred_shape: tuple) -> None:
        """With multi_label, the counts of each of the L labels of y_pred (N, L)."""
        if self.multi_label and len(y_pred_shape) != 2:
            raise ValueError(f"y_pred: expected shape (N, L) with multi_label=True, "
                             f"got {tuple(y_pred_shape)}")
        if self.true_positives is None:
            self._build(y_pred_shape[1])

    def reset_state(self) -> None:
        if self.true_positives is not None:
            for kind in _KINDS:
                setattr(self, kind, np.zeros_like(getattr(self, kind)))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = to_numpy(y_pred)
        self.build_state(np.shape(y_true), y_pred.shape)
        if self.from_logits:
            y_pred = sigmoid(y_pred)
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight=sample_weight,
                                  multi_label=self.multi_label,
                                  label_weights=None if self.multi_label else self.label_weights)
        for kind in _KINDS:
            setattr(self, kind, getattr(self, kind) + counts[kind])

    def _interpolated_pr_auc(self) -> np.ndarray:
        """Per-interval areas under the PR curve, TP and P linear between thresholds."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        predicted = tp + fp                                          # P at each threshold
        d_tp = tp[:-1] - tp[1:]
        d_p = predicted[:-1] - predicted[1:]
        slope = divide_no_nan(d_tp, np.maximum(d_p, 0))
        intercept = tp[1:] - slope * predicted[1:]
        both = (predicted[:-1] > 0) & (predicted[1:] > 0)
        ratio = np.where(both, divide_no_nan(predicted[:-1], np.maximum(predicted[1:], 0)), 1.0)
        return divide_no_nan(slope * (d_tp + intercept * np.log(ratio)),
                             np.maximum(tp[1:] + fn[1:], 0))

    def _riemann_terms(self) -> np.ndarray:
        tp, fp, tn, fn = (getattr(self, kind) for kind in _KINDS)
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        heights = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
                   "majoring": np.maximum(y[:-1], y[1:])}[self.summation_method]
        return (x[:-1] - x[1:]) * heights

    def result(self) -> float:
        if self.true_positives is None:
            return 0.0
        if self.curve == "PR" and self.summation_method == "interpolation":
            terms = self._interpolated_pr_auc()
        else:
            terms = self._riemann_terms()
        if not self.multi_label:
            return float(terms.sum())
        by_label = terms.sum(axis=0)
        if self.label_weights is None:
            return float(by_label.mean())
        return float(divide_no_nan((by_label * self.label_weights).sum(),
                                   self.label_weights.sum()))

    def get_config(self) -> dict[str, Any]:
        config_ = {**super().get_config(), "num_thresholds": self.num_thresholds,
                   "curve": self.curve, "summation_method": self.summation_method,
                   "multi_label": self.multi_label, "num_labels": self.num_labels,
                   "label_weights": None if self.label_weights is None
                   else self.label_weights.tolist(),
                   "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config_["thresholds"] = self.thresholds[1:-1]
        return config_
