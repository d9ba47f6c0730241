"""Intersection over union: per class, |true ∩ predicted| / |true ∪ predicted|.

The metric sums a weighted confusion matrix M over the epoch (M[i, j]: samples of true class
i predicted as j). For class c, TP = M[c, c] and the union is the row plus the column minus
TP, so IoU_c = M[c, c] / (Σ_j M[c, j] + Σ_i M[i, c] - M[c, c]). The result is the mean of
IoU_c over `target_class_ids`, classes never seen (union 0) left out.

Labels are integers by default; `sparse_y_true=False` / `sparse_y_pred=False` take one-hot
targets or class scores (argmax along `axis`). Entries with a label outside [0, C) or equal
to `ignore_class` count for nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import config, registry
from glassnet.backend import to_numpy
from glassnet.metrics.base import Metric


def _check_classes(num_classes, target_class_ids) -> list[int]:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"num_classes: expected an integer >= 1, got {num_classes!r}")
    ids = [int(c) for c in target_class_ids]
    if not ids or min(ids) < 0 or max(ids) >= num_classes:
        raise ValueError(f"target_class_ids: expected ids in [0, {num_classes}), got {ids}")
    return ids


@registry.register("metric")
class IoU(Metric):
    """Mean IoU over the classes `target_class_ids` (see the module docstring).

    Args:
        num_classes: C, the size of the confusion matrix.
        target_class_ids: the classes averaged.
        ignore_class: a label whose entries count for nothing (e.g. "void" pixels).
        sparse_y_true, sparse_y_pred: False for one-hot / score inputs (argmax on `axis`).
        axis: the class axis of non-sparse inputs.

    Shapes: labels of any shape (flattened), e.g. (N, H, W) for segmentation.
    """

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None,
                 dtype=None, ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name=name, dtype=dtype)
        self.target_class_ids = _check_classes(num_classes, target_class_ids)
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.reset_state()

    def reset_state(self) -> None:
        self.total_cm = np.zeros((self.num_classes, self.num_classes))

    def _labels(self, y_true, y_pred):
        y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        return y_true.reshape(-1).astype(np.int64), y_pred.reshape(-1).astype(np.int64)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred = self._labels(y_true, y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"y_true: expected {y_pred.size} labels like y_pred, "
                             f"got {y_true.size}")
        weights = np.ones(y_true.shape) if sample_weight is None \
            else np.broadcast_to(to_numpy(sample_weight).astype(np.float64).reshape(-1),
                                 y_true.shape)
        keep = (y_true >= 0) & (y_true < self.num_classes) \
            & (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            keep &= y_true != self.ignore_class
        flat = y_true[keep] * self.num_classes + y_pred[keep]
        counts = np.bincount(flat, weights=weights[keep], minlength=self.num_classes ** 2)
        self.total_cm = self.total_cm + counts.reshape(self.num_classes, self.num_classes)

    def result(self) -> float:
        true_positives = np.diag(self.total_cm)
        union = self.total_cm.sum(axis=0) + self.total_cm.sum(axis=1) - true_positives
        ids = self.target_class_ids
        true_positives, union = true_positives[ids], union[ids]
        eps = config.epsilon()
        valid = union != 0
        iou = np.where(valid, true_positives / (union + eps), 0.0)
        return float(iou.sum() / (valid.sum() + eps))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


@registry.register("metric")
class BinaryIoU(IoU):
    """IoU of two classes, predictions ŷ >= threshold being class 1.

    Args:
        target_class_ids: (0, 1) averages both classes; (1,) the foreground only.
        threshold: the score from which a prediction is class 1.
    """

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5,
                 name: str | None = None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        predicted = (to_numpy(y_pred) >= self.threshold).astype(np.int64)
        super().update_state(y_true, predicted, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype,
                "target_class_ids": self.target_class_ids, "threshold": self.threshold}


@registry.register("metric")
class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes."""

    def __init__(self, num_classes: int, name: str | None = None, dtype=None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config_ = super().get_config()
        del config_["target_class_ids"]
        return config_


@registry.register("metric")
class OneHotIoU(IoU):
    """IoU over `target_class_ids` for one-hot targets and class scores."""

    def __init__(self, num_classes: int, target_class_ids, name: str | None = None,
                 dtype=None, ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config_ = super().get_config()
        del config_["sparse_y_true"]
        return config_


@registry.register("metric")
class OneHotMeanIoU(MeanIoU):
    """IoU averaged over all classes, for one-hot targets and class scores."""

    def __init__(self, num_classes: int, name: str | None = None, dtype=None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        config_ = super().get_config()
        del config_["sparse_y_true"]
        return config_
