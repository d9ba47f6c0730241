"""Confusion-matrix metrics: counts of true/false positives/negatives at thresholds.

Every prediction is compared with each threshold t: predicted positive when ŷ > t. Against
the 0/1 target that gives, per threshold, the weighted counts

    TP = Σ w [y ∧ ŷ > t]   FP = Σ w [¬y ∧ ŷ > t]   TN = Σ w [¬y ∧ ŷ <= t]   FN = Σ w [y ∧ ŷ <= t]

over every entry of y_pred (a (N, K) output is flattened: each label is one prediction;
a per-sample weight covers all of its labels). `top_k` keeps only each row's k highest
scores as candidates, `class_id` looks at one column only. Precision = TP / (TP + FP),
recall = TP / (TP + FN) (0 where nothing was counted). The "X at Y" metrics sweep
`num_thresholds` evenly spaced thresholds in [0, 1] and report the best X among the
thresholds where Y reaches its target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import registry
from glassnet.backend import to_numpy
from glassnet.metrics.base import Metric, divide_no_nan, scalar_or_array

_KINDS = ("true_positives", "false_positives", "true_negatives", "false_negatives")


def _filter_top_k(y_pred: np.ndarray, k: int) -> np.ndarray:
    """y_pred with all but each row's k largest entries set to -inf (never positive)."""
    order = np.argsort(-y_pred, axis=-1, kind="stable")[..., :k]
    kept = np.full_like(y_pred, -np.inf)
    np.put_along_axis(kept, order, np.take_along_axis(y_pred, order, axis=-1), axis=-1)
    return kept


def _same_rank(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras' squeeze_or_expand_to_same_rank on NumPy arrays."""
    if a.ndim == b.ndim + 1:
        return (a[..., 0], b) if a.shape[-1] == 1 else (a, b[..., None])
    if b.ndim == a.ndim + 1:
        return (a, b[..., 0]) if b.shape[-1] == 1 else (a[..., None], b)
    return a, b


def confusion_counts(y_true, y_pred, thresholds, top_k: int | None = None,
                     class_id: int | None = None, sample_weight=None,
                     multi_label: bool = False, label_weights=None) -> dict[str, np.ndarray]:
    """Weighted TP, FP, TN, FN counts at each threshold.

    Args:
        y_true: 0/1 (or boolean) targets of y_pred's shape (a trailing 1 may differ).
        y_pred: scores, (N,) or (N, L, ...).
        thresholds: (T,) values; an entry is positive when it is strictly above one.
        top_k, class_id: see the module docstring.
        sample_weight: scalar, (N,) (one per sample) or y_pred's shape.
        multi_label: keep the labels (last axis) apart: counts of shape (T, L).
        label_weights: (L,) weights of the labels when they are pooled.

    Returns:
        {"true_positives": (T,) or (T, L), ...} in float64.
    """
    y_pred = to_numpy(y_pred).astype(np.float64)
    y_true = to_numpy(y_true).astype(np.float64)
    y_pred, y_true = _same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true: expected the shape of y_pred {y_pred.shape}, "
                         f"got {y_true.shape}")
    weights = np.ones_like(y_pred)
    if sample_weight is not None:
        sample_weight = to_numpy(sample_weight).astype(np.float64)
        _, sample_weight = _same_rank(y_true, sample_weight[..., None])
        weights = np.broadcast_to(sample_weight, y_pred.shape)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(f"class_id: needs y_pred of shape (N, C), got {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
        weights = weights[..., class_id, None]
    if label_weights is not None and not multi_label:
        weights = weights * np.broadcast_to(np.asarray(label_weights, np.float64), y_pred.shape)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if multi_label:       # (N, L): each label its own counts, (T, L)
        return _counts_at(thresholds, y_true != 0, y_pred, weights)
    # every entry one prediction, pooled: (N·L, 1) -> counts (T,)
    y_true, y_pred, weights = (np.reshape(a, (-1, 1)) for a in (y_true, y_pred, weights))
    counts = _counts_at(thresholds, y_true != 0, y_pred, weights)
    return {kind: value[:, 0] for kind, value in counts.items()}


def _counts_at(thresholds: np.ndarray, label: np.ndarray, y_pred: np.ndarray,
               weights: np.ndarray) -> dict[str, np.ndarray]:
    """TP, FP, TN, FN at each threshold for label, y_pred, weights of shape (M, L), in
    O(M log T) rather than a (T, M, L) comparison.

    j = #{thresholds < ŷ} (searchsorted) says an entry is positive at thresholds 0..j-1
    (sorted order). Summing the weights of positives by j (a histogram of T + 1 bins per
    label), TP at threshold i is the weight of positives with j > i: a suffix sum.
    """
    order = np.argsort(thresholds, kind="stable")
    count, labels = len(thresholds), y_pred.shape[1]
    bins = np.searchsorted(thresholds[order], y_pred, side="left")        # (M, L) in 0..T
    flat = bins + (count + 1) * np.arange(labels)                          # a bin per label

    def above(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weight predicted positive, total weight) of the entries in mask, per threshold."""
        histogram = np.bincount(flat[mask], weights=weights[mask],
                                minlength=(count + 1) * labels).reshape(labels, count + 1)
        total = histogram.sum(axis=1, keepdims=True)
        positive = total - np.cumsum(histogram, axis=1)[:, :count]           # (L, T) sorted
        unsorted = np.empty_like(positive)
        unsorted[:, order] = positive
        return unsorted.T, total.T                                            # (T, L), (1, L)

    true_positives, positives = above(label)
    false_positives, negatives = above(~label)
    return {"true_positives": true_positives, "false_positives": false_positives,
            "true_negatives": negatives - false_positives,
            "false_negatives": positives - true_positives}


def _thresholds(thresholds, default: float) -> list[float]:
    """A list of thresholds in [0, 1] from None (the default), one float, or a sequence."""
    if thresholds is None:
        return [default]
    values = [float(thresholds)] if np.ndim(thresholds) == 0 else [float(t) for t in thresholds]
    if not values or any(not 0 <= t <= 1 for t in values if t != -np.inf):
        raise ValueError(f"thresholds: expected values in [0, 1], got {thresholds!r}")
    return values


class _ConfusionCount(Metric):
    """One weighted count (TP, FP, TN or FN) per threshold; a float for one threshold."""

    kind = ""

    def __init__(self, thresholds=None, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(thresholds, 0.5)
        self.reset_state()

    def reset_state(self) -> None:
        self.accumulator = np.zeros(len(self.thresholds))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight=sample_weight)
        self.accumulator = self.accumulator + counts[self.kind]

    def result(self):
        return scalar_or_array(self.accumulator[0] if len(self.thresholds) == 1
                               else self.accumulator)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


@registry.register("metric")
class TruePositives(_ConfusionCount):
    """Weighted count of positives predicted positive (ŷ > threshold, default 0.5)."""

    kind = "true_positives"


@registry.register("metric")
class FalsePositives(_ConfusionCount):
    """Weighted count of negatives predicted positive (ŷ > threshold, default 0.5)."""

    kind = "false_positives"


@registry.register("metric")
class TrueNegatives(_ConfusionCount):
    """Weighted count of negatives predicted negative (ŷ <= threshold, default 0.5)."""

    kind = "true_negatives"


@registry.register("metric")
class FalseNegatives(_ConfusionCount):
    """Weighted count of positives predicted negative (ŷ <= threshold, default 0.5)."""

    kind = "false_negatives"


class _PrecisionRecall(Metric):
    """TP and one error count at each threshold; see Precision and Recall."""

    error = ""

    def __init__(self, thresholds=None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        # with top_k and no thresholds every kept score counts as predicted positive
        self.thresholds = [-np.inf] if top_k and thresholds is None \
            else _thresholds(thresholds, 0.5)
        self.reset_state()

    def reset_state(self) -> None:
        self.true_positives = np.zeros(len(self.thresholds))
        setattr(self, self.error, np.zeros(len(self.thresholds)))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(y_true, y_pred, self.thresholds, top_k=self.top_k,
                                  class_id=self.class_id, sample_weight=sample_weight)
        self.true_positives = self.true_positives + counts["true_positives"]
        setattr(self, self.error, getattr(self, self.error) + counts[self.error])

    def result(self):
        value = divide_no_nan(self.true_positives,
                              self.true_positives + getattr(self, self.error))
        return scalar_or_array(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


@registry.register("metric")
class Precision(_PrecisionRecall):
    """TP / (TP + FP): of the predicted positives, how many are positive.

    Args:
        thresholds: a float or a list in [0, 1] (ŷ > t is positive); default 0.5, or every
            kept score with top_k. Several thresholds give one precision each.
        top_k: only each row's k highest scores can be positive.
        class_id: look at this column of (N, C) outputs only.
    """

    error = "false_positives"


@registry.register("metric")
class Recall(_PrecisionRecall):
    """TP / (TP + FN): of the positives, how many were predicted positive.

    Args: as Precision.
    """

    error = "false_negatives"


class _AtConstraint(Metric):
    """TP, FP, TN, FN at `num_thresholds` evenly spaced thresholds 0, 1/(n-1), ..., 1; the
    result is the largest `dependent` value over thresholds where `constrained` >= value."""

    def __init__(self, value: float, argument: str, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if not 0 <= value <= 1:
            raise ValueError(f"{argument}: expected a value in [0, 1], got {value}")
        if num_thresholds <= 0:
            raise ValueError(f"num_thresholds: expected an integer > 0, got {num_thresholds}")
        self.value, self.argument = value, argument
        self.num_thresholds, self.class_id = num_thresholds, class_id
        self.thresholds = [0.5] if num_thresholds == 1 \
            else list(np.linspace(0.0, 1.0, num_thresholds))
        self.reset_state()

    def reset_state(self) -> None:
        for kind in _KINDS:
            setattr(self, kind, np.zeros(len(self.thresholds)))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(y_true, y_pred, self.thresholds, class_id=self.class_id,
                                  sample_weight=sample_weight)
        for kind in _KINDS:
            setattr(self, kind, getattr(self, kind) + counts[kind])

    def _rates(self) -> dict[str, np.ndarray]:
        tp, fp, tn, fn = (getattr(self, kind) for kind in _KINDS)
        return {"sensitivity": divide_no_nan(tp, tp + fn), "recall": divide_no_nan(tp, tp + fn),
                "specificity": divide_no_nan(tn, tn + fp), "precision": divide_no_nan(tp, tp + fp)}

    def _best(self, dependent: str) -> float:
        rates = self._rates()
        feasible = rates[self.argument] >= self.value
        return float(np.max(np.where(feasible, rates[dependent], 0.0), initial=0.0))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), self.argument: self.value,
                "num_thresholds": self.num_thresholds, "class_id": self.class_id}


@registry.register("metric")
class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) among thresholds where specificity >= `specificity`."""

    def __init__(self, specificity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None, dtype=None):
        super().__init__(specificity, "specificity", num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self._best("sensitivity")


@registry.register("metric")
class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity among thresholds where sensitivity >= `sensitivity`."""

    def __init__(self, sensitivity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None, dtype=None):
        super().__init__(sensitivity, "sensitivity", num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self._best("specificity")


@registry.register("metric")
class PrecisionAtRecall(_AtConstraint):
    """The best precision among thresholds where recall >= `recall`."""

    def __init__(self, recall: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None, dtype=None):
        super().__init__(recall, "recall", num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self._best("precision")


@registry.register("metric")
class RecallAtPrecision(_AtConstraint):
    """The best recall among thresholds where precision >= `precision`."""

    def __init__(self, precision: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None, dtype=None):
        super().__init__(precision, "precision", num_thresholds, class_id, name, dtype)

    def result(self) -> float:
        return self._best("recall")
