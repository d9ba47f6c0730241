"""Metrics by name: `get("auc")`, `get("accuracy", loss=..., y_true=..., y_pred=...)`, and the
{"class_name", "config"} form saved models use.

A name resolves as in Keras 3: a class name ("AUC"), its snake_case form ("auc"), or a short
alias ("mse", "mape", "bce"); the metric then takes the name as given, so History keys read
as in Keras ("auc", "val_auc"). "accuracy" / "acc" pick the accuracy that fits the loss and
the shapes of a batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import losses, registry
from glassnet.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
)
from glassnet.metrics.base import MeanMetricWrapper, Metric


def _shape(array) -> tuple:
    return tuple(array.shape) if hasattr(array, "shape") else np.shape(array)


def _loss_kind(loss) -> str | None:
    """'binary', 'sparse' or 'categorical' for a crossentropy loss (instance or name)."""
    if isinstance(loss, (str, dict)):
        try:
            loss = losses.get(loss)
        except (ValueError, TypeError):
            return None
    kinds = {losses.BinaryCrossentropy: "binary",
             losses.SparseCategoricalCrossentropy: "sparse",
             losses.CategoricalCrossentropy: "categorical"}
    return next((kind for cls, kind in kinds.items() if isinstance(loss, cls)), None)


def _accuracy_for(loss=None, y_true=None, y_pred=None) -> Metric:
    """The metric "accuracy" stands for, as Keras 3 decides (trainers/compile_utils.py):

    - binary if y_pred has one unit (last dim 1), or if the loss is binary crossentropy (the
      Keras 2 rule, kept for multi-label outputs (N, K) trained with BCE);
    - sparse if y_true has one axis fewer than y_pred, or ends in 1 while y_pred does not;
    - categorical otherwise.
    Without shapes the crossentropy loss decides; without either, exact-match Accuracy.
    """
    kind = _loss_kind(loss)
    if y_pred is not None:
        pred_shape = _shape(y_pred)
        if pred_shape[-1] == 1 or kind == "binary":
            return BinaryAccuracy()
        if y_true is not None:
            true_shape = _shape(y_true)
            sparse = len(true_shape) < len(pred_shape) or (
                true_shape[-1] == 1 and pred_shape[-1] > 1)
            return SparseCategoricalAccuracy() if sparse else CategoricalAccuracy()
    metric_class = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
                    "categorical": CategoricalAccuracy}.get(kind, Accuracy)
    return metric_class()


def serialize(metric: Metric) -> dict[str, Any]:
    return registry.serialize(metric)


def deserialize(config_, custom_objects: dict[str, Any] | None = None) -> Metric:
    return registry.deserialize("metric", config_, custom_objects)


def get(identifier, loss=None, y_true=None, y_pred=None) -> Metric | None:
    """A Metric from an instance (as is), a name, a config dict, or a per-sample function.

    "accuracy" / "acc" become binary, sparse categorical or categorical accuracy from the
    loss and the shapes of a batch (see `_accuracy_for`); a metric made from a string keeps
    that string as its name, so that logs read "accuracy" / "val_accuracy". Given a batch
    (y_true, y_pred), the metric also makes the state the data's shape decides
    (`Metric.build_state`), so that backups and data-parallel steps see all of it.
    """
    metric = _make(identifier, loss, y_true, y_pred)
    if y_true is not None and y_pred is not None and hasattr(metric, "build_state"):
        metric.build_state(_shape(y_true), _shape(y_pred))
    return metric


def _make(identifier, loss, y_true, y_pred) -> Metric | None:
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            metric = _accuracy_for(loss, y_true, y_pred)
        else:
            metric = deserialize(identifier)
            if not isinstance(metric, Metric):   # a registered per-sample function
                metric = MeanMetricWrapper(metric, name=identifier)
        metric.name = identifier
        return metric
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):   # named after the function, as Keras' compile names it
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(f"metric: expected a Metric, a name, a config dict or a function, "
                    f"got {identifier!r}")
