"""Accuracy metrics: how often a prediction is right, as a weighted mean over samples.

Each is a per-sample function (1 where right, 0 where wrong; several outputs per sample are
averaged) and a thin MeanMetricWrapper. Top-k accuracy counts a sample as right when its
true class is among the k highest scores.

    >>> import numpy as np
    >>> from glassnet.metrics import TopKCategoricalAccuracy
    >>> m = TopKCategoricalAccuracy(k=2)
    >>> m.update_state(np.eye(3)[[2, 0]], np.array([[0.1, 0.6, 0.3], [0.05, 0.75, 0.2]]))
    >>> m.result()
    0.5
"""

from __future__ import annotations

import numpy as np

from glassnet import config, registry
from glassnet.backend import namespace
from glassnet.metrics.base import MeanMetricWrapper, _float_values, _match_rank, _per_sample


def accuracy(y_true, y_pred):
    """1 where y_pred equals y_true exactly (e.g. labels against predicted labels), else 0."""
    y_true, y_pred = _match_rank(y_true, y_pred)
    return _per_sample(y_true == y_pred, y_pred)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """1 where (y_pred > threshold) equals the 0/1 target.  (N,) or (N, K) -> (N,)."""
    y_true, y_pred = _match_rank(y_true, y_pred)
    predicted = y_pred > y_pred.dtype.type(threshold)
    return _per_sample(y_true == predicted, y_pred)


def categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) equals argmax(y_true) (one-hot targets).  (N, C) -> (N,)."""
    y_true, y_pred = namespace(y_pred).asarray(y_true), namespace(y_pred).asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true: expected one-hot targets of shape {y_pred.shape}, "
                         f"got {y_true.shape}")
    matches = y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)
    return _float_values(matches, y_pred)


def _labels_for(y_true, y_pred):
    """Integer labels of y_pred's batch shape from labels (N, ...) or (N, ..., 1)."""
    y_true = namespace(y_pred).asarray(y_true)
    batch_shape = y_pred.shape[:-1]
    if y_true.shape == batch_shape + (1,):
        y_true = y_true.reshape(batch_shape)
    if y_true.shape != batch_shape:
        raise ValueError(f"y_true: expected labels of shape {batch_shape} or "
                         f"{batch_shape + (1,)} for y_pred {y_pred.shape}, got {y_true.shape}")
    return y_true


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) equals the integer label.  y_true (N,) or (N, 1), y_pred (N, C)."""
    y_pred = namespace(y_pred).asarray(y_pred)
    return _float_values(_labels_for(y_true, y_pred) == y_pred.argmax(axis=-1), y_pred)


def _in_top_k(labels, scores, k: int):
    """True where scores[..., label] is among the k largest of its row: fewer than k scores
    are strictly larger (ties with the k-th count as in)."""
    xp = namespace(scores)
    labels = labels.astype(np.int64)
    at_label = xp.take_along_axis(scores, labels[..., None], axis=-1)
    return (scores > at_label).sum(axis=-1) < k


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1 where argmax(y_true) (one-hot) is among the k largest scores.  (N, C) -> (N,)."""
    y_pred = _float_values(y_pred)
    y_true = namespace(y_pred).asarray(y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true: expected one-hot targets of shape {y_pred.shape}, "
                         f"got {y_true.shape}")
    return _in_top_k(y_true.argmax(axis=-1), y_pred, k).astype(config.floatx())


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5, from_sorted_ids=False):
    """1 where the integer label is among the k largest scores.  y_true (N,) or (N, 1).

    from_sorted_ids=True: y_pred holds class ids sorted by score, best first (N, >= k), and
    a sample is right when its label is one of the first k.
    """
    y_pred = namespace(y_pred).asarray(y_pred)
    xp = namespace(y_pred)
    y_true = xp.asarray(y_true)
    shape = y_true.shape
    if from_sorted_ids:
        labels = y_true.reshape(-1)
        hits = (labels[:, None] == y_pred.reshape(labels.shape[0], -1)[:, :k]).any(axis=1)
    else:
        hits = _in_top_k(_labels_for(y_true, y_pred), y_pred, k)
    return hits.reshape(shape).astype(config.floatx())


@registry.register("metric")
class Accuracy(MeanMetricWrapper):
    """How often y_pred equals y_true exactly (for labels; see `get` for "accuracy")."""

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


@registry.register("metric")
class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) matches 0/1 targets.

    Args:
        threshold: in (0, 1); a probability above it predicts class 1.
    """

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        threshold = float(threshold)
        if not 0 < threshold < 1:
            raise ValueError(f"threshold: expected a float in (0, 1), got {threshold}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


@registry.register("metric")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches argmax of one-hot targets."""

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@registry.register("metric")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k: expected an integer >= 1, got {k!r}")
    return int(k)


@registry.register("metric")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target's class is among the k highest scores.

    Args:
        k: how many of the highest scores count as a hit (Keras' default 5).
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=_check_k(k))
        self.k = k


@registry.register("metric")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the k highest scores.

    Args:
        k: how many of the highest scores count as a hit (Keras' default 5).
        from_sorted_ids: y_pred holds class ids sorted best first instead of scores.
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype=None, from_sorted_ids: bool = False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype,
                         k=_check_k(k), from_sorted_ids=bool(from_sorted_ids))
        self.k = k
        self.from_sorted_ids = from_sorted_ids
