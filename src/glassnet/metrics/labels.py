"""Labels from model outputs and the confusion matrix: what the figures of glassnet.inspection
count with (not part of Keras' metrics API).

    >>> import numpy as np
    >>> from glassnet.metrics import confusion_matrix
    >>> confusion_matrix(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]))
    array([[1, 0],
           [1, 1]])
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import to_numpy


def as_labels(y, name: str) -> np.ndarray:
    """Integer class labels (N,) from labels (N,), one-hot/probabilities (N, C) or p(1) (N, 1).

    Rows of several columns are reduced with argmax; a single column or a 1-D float array
    that is not all whole numbers is read as sigmoid probabilities and thresholded at 0.5.
    """
    y = to_numpy(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name}: expected shape (N,), (N, 1) or (N, C), got {y.shape}")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numeric labels, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        return (y > 0.5).astype(np.int64)
    labels = y.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"{name}: class labels must be >= 0, got {labels.min()}")
    return labels


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts M[i, j] of samples of true class i predicted as class j.  -> (C, C) int64.

    Args:
        y_true, y_pred: labels (N,) or (N, 1), or one-hot / probabilities (N, C) (argmax).
        num_classes: C; default the largest label seen + 1 (or the width of one-hot inputs).
    """
    true_labels, pred_labels = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if true_labels.shape != pred_labels.shape:
        raise ValueError(f"y_pred: expected {true_labels.shape[0]} samples like y_true, "
                         f"got {pred_labels.shape[0]}")
    if num_classes is None:
        widths = [np.shape(y)[1] for y in (y_true, y_pred)
                  if np.ndim(y) == 2 and np.shape(y)[1] > 1]
        largest = max(int(true_labels.max(initial=-1)), int(pred_labels.max(initial=-1)))
        num_classes = max([largest + 1, *widths])
    for labels, name in ((true_labels, "y_true"), (pred_labels, "y_pred")):
        bad = (labels < 0) | (labels >= num_classes)
        if bad.any():
            raise ValueError(f"{name}: label {int(labels[bad][0])} is outside [0, {num_classes})")
    flat = true_labels * num_classes + pred_labels
    counts = np.bincount(flat, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)
