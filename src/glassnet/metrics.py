"""Metrics: running averages over an epoch, Keras-style (update_state / result / reset_state).

A metric keeps two running sums, total = Σ w v and count = Σ w, over the batches of an
epoch, and `result()` is total / count. The values v (is this prediction right? its squared
error?) come from a plain function such as `categorical_accuracy`, one per sample for
(N, C) outputs and one per step for sequences (N, T, C), computed in the input's dtype; the
two sums are Python floats (float64), so that a long epoch of float32 batches does not lose
precision. A mask of the values' shape (padding steps) leaves entries out, as in Keras:
`update_state(y_true, y_pred, sample_weight, mask=m)`.

    >>> import numpy as np
    >>> from glassnet import metrics
    >>> m = metrics.SparseCategoricalAccuracy()
    >>> m.update_state(np.array([2, 1]), np.array([[0.1, 0.6, 0.3], [0.05, 0.95, 0.0]]))
    >>> m.result()
    0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import autodiff, config, initializers, losses, registry
from glassnet.backend import namespace, to_numpy
from glassnet.naming import snake_case


def _float_values(values, like=None):
    """values as a float array: their own float dtype, like's float dtype, or floatx."""
    xp = namespace(values)
    values = xp.asarray(values)
    if np.issubdtype(values.dtype, np.floating):
        return values
    dtype = like.dtype if like is not None and np.issubdtype(like.dtype, np.floating) else None
    return values.astype(dtype or config.floatx())


def _match_rank(y_true, y_pred):
    """y_true reshaped to y_pred's shape when they differ only by a trailing axis of size 1."""
    xp = namespace(y_pred)
    y_true, y_pred = xp.asarray(y_true), xp.asarray(y_pred)
    if y_true.shape + (1,) == y_pred.shape or y_true.shape == y_pred.shape + (1,):
        y_true = y_true.reshape(y_pred.shape)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true: expected the shape of y_pred {y_pred.shape}, got {y_true.shape}")
    return y_true, y_pred


def _per_sample(matches, like):
    """Match indicators (N, ..., K) -> per-sample fractions (N, ...): mean over the last axis
    for 2-D and higher inputs; (N,) inputs are already per sample."""
    matches = matches.astype(like.dtype if np.issubdtype(like.dtype, np.floating)
                             else config.floatx())
    return matches.mean(axis=-1) if matches.ndim > 1 else matches


# --------------------------------------------------------------------------- per-sample functions


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


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where argmax(y_pred) equals the integer label.  y_true (N,) or (N, 1), y_pred (N, C)."""
    xp = namespace(y_pred)
    y_true, y_pred = xp.asarray(y_true), xp.asarray(y_pred)
    batch_shape = y_pred.shape[:-1]
    if y_true.shape == batch_shape + (1,):
        y_true = y_true.reshape(batch_shape)
    if y_true.shape != batch_shape:
        raise ValueError(f"y_true: expected labels of shape {batch_shape} or "
                         f"{batch_shape + (1,)} for y_pred {y_pred.shape}, got {y_true.shape}")
    return _float_values(y_true == y_pred.argmax(axis=-1), y_pred)


# --------------------------------------------------------------------------- stateful metrics


class Metric:
    """Base class: `update_state` accumulates a batch, `result()` reads the running value.

    Args:
        name: shown in logs and History (default: the class name in snake_case).
        dtype: float dtype of the per-batch computation (default: the inputs' own).

    A subclass, as in Keras, makes its state in `__init__` with `add_variable` and updates
    it in `update_state` with `glassnet.ops` and `variable.assign_add(...)`; `result()`
    returns the value and the default `reset_state` puts every variable back to its initial
    value (the base class does not call it from `__init__`, as Keras' does not):

        class TruePositives(Metric):
            def __init__(self, name="tp", **kwargs):
                super().__init__(name=name, **kwargs)
                self.count = self.add_variable(shape=(), initializer="zeros", name="count")
            def update_state(self, y_true, y_pred, sample_weight=None):
                hits = ops.logical_and(y_true > 0.5, y_pred > 0.5)
                self.count.assign_add(ops.sum(ops.cast(hits, "float32")))
            def result(self):
                return self.count
    """

    def __init__(self, name: str | None = None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = None if dtype is None else config.standardize_dtype(dtype)
        self._variables: list = []

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        raise NotImplementedError(f"{type(self).__name__}.update_state")

    def result(self) -> float:
        raise NotImplementedError(f"{type(self).__name__}.result")

    def reset_state(self) -> None:
        """Put every variable made by `add_variable` back to its initial value."""
        for variable, initial in self.__dict__.get("_variables", []):
            variable.assign(initial)

    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name: str | None = None) -> autodiff.Variable:
        """A state variable of the metric (Keras' add_variable): a non-trainable array of
        `shape`, filled by `initializer` ("zeros", "ones", or an initializer)."""
        dtype = config.standardize_dtype(dtype or self.dtype)
        value = np.asarray(initializers.get(initializer)(tuple(shape), dtype=dtype), dtype)
        variable = autodiff.Variable(value, name=name or f"variable_{len(self._variables)}",
                                     trainable=False)
        self.__dict__.setdefault("_variables", []).append((variable, value.copy()))
        return variable

    @property
    def variables(self) -> list:
        """The state variables made by `add_variable`, in creation order."""
        return [variable for variable, _ in self.__dict__.get("_variables", [])]

    def __call__(self, *args, **kwargs) -> float:
        """Update with one batch and return the running result (as Keras' Metric.__call__)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Metric:
        return cls(**config_)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _sample_weights(sample_weight, values):
    """sample_weight as an array broadcastable to values: scalar, (N,) or (N, 1) -> (N,);
    weights of the values' own shape (N, T, ...) are kept as they are."""
    weights = namespace(values).asarray(sample_weight).astype(values.dtype, copy=False)
    if weights.ndim == 0:
        return weights
    n = values.shape[0] if values.ndim else None
    if n is not None and values.ndim > 1 and weights.shape == values.shape:
        return weights
    if n is None or weights.shape not in ((n,), (n, 1)):
        raise ValueError(f"sample_weight: expected a scalar or shape ({n},) or ({n}, 1) for "
                         f"values of shape {values.shape}, got {weights.shape}")
    return weights.reshape(n)


def _masked_weights(sample_weight, mask, values):
    """Weights of the values' shape: the sample weights (one per sample, broadcast over its
    entries as Keras does, or of the values' shape) times the 0/1 mask."""
    xp = namespace(values)
    mask = xp.asarray(mask)
    if mask.shape != values.shape:
        raise ValueError(f"mask: expected the shape of the metric's values {values.shape} "
                         f"(y_pred's shape without the class axis), got {mask.shape}")
    mask = (mask if mask.dtype == bool else mask != 0).astype(values.dtype)
    if sample_weight is None:
        return mask
    weights = _sample_weights(sample_weight, values)
    if 0 < weights.ndim < values.ndim:
        weights = weights.reshape(weights.shape + (1,) * (values.ndim - 1))
    return weights * mask


@registry.register("metric", "mean")
class Mean(Metric):
    """Weighted running mean: result = Σ w v / Σ w over every value seen since the reset.

    `update_state(values, sample_weight=None)`: values is a scalar or per-sample (N, ...)
    (trailing axes are averaged per sample, as Keras does); a scalar weight counts a scalar
    value that many times (the model adds each batch's loss with weight = batch size).
    Weights of the values' own shape (N, T, ...) -- a mask -- are averaged per sample with
    them, as Keras: total += Σ_n mean_t w v, count += Σ_n mean_t w.
    """

    def __init__(self, name: str | None = None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        if (self.dtype is None and type(values) is float
                and type(sample_weight) in (int, float)):
            # The model's loss tracker, every step: one Python float counted `sample_weight`
            # times (the batch size). Same sums as the array path below, without the arrays.
            self.total += values * sample_weight
            self.count += float(sample_weight)
            return
        values = _float_values(values)
        if self.dtype is not None:
            values = values.astype(self.dtype, copy=False)
        if sample_weight is not None and values.ndim > 1:
            weights = _sample_weights(sample_weight, values)
            if weights.ndim > 1:  # one weight per entry: reduce both per sample (Keras)
                axes = tuple(range(1, values.ndim))
                self.total += float((values * weights).mean(axis=axes).sum())
                self.count += float(weights.mean(axis=axes).sum())
                return
        if values.ndim > 1:
            values = values.reshape(values.shape[0], -1).mean(axis=1)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += float(values.size)
            return
        weights = _sample_weights(sample_weight, values)
        self.total += float((values * weights).sum())
        self.count += float(namespace(values).broadcast_to(weights, values.shape).sum())

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """Mean of a function fn(y_true, y_pred, **kwargs) -> values (N,) or (N, T, ...) over all
    samples (per-sample means of the values first, as Keras)."""

    def __init__(self, fn, name: str | None = None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None, mask=None) -> None:
        """Add one batch.

        Args:
            y_true, y_pred: the batch's targets and predictions.
            sample_weight: a scalar, (N,), (N, 1) or the values' shape; None for ones.
            mask: None, or boolean (0/1) of the values' shape, e.g. (N, T) for sequence
                outputs (N, T, C): False entries count for nothing. With weights w (N,), the
                batch adds Σ_n mean_t w_n m_nt v_nt to the total and Σ_n mean_t w_n m_nt to
                the count, as Keras: one batch gives the mean of v where m is True.
        """
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            values = _float_values(values)
            if self.dtype is not None:
                values = values.astype(self.dtype, copy=False)
            sample_weight = _masked_weights(sample_weight, mask, values)
        super().update_state(values, sample_weight)


@registry.register("metric")
class Accuracy(MeanMetricWrapper):
    """How often y_pred equals y_true exactly (for labels; see `get` for "accuracy")."""

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


@registry.register("metric", "binary_accuracy")
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

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


@registry.register("metric", "categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches argmax of one-hot targets."""

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@registry.register("metric", "sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches integer labels."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@registry.register("metric", "mean_squared_error", "mse")
class MeanSquaredError(MeanMetricWrapper):
    """Mean of (y_pred - y_true)^2 over outputs and samples (sklearn's mean_squared_error)."""

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


@registry.register("metric", "mean_absolute_error", "mae")
class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of |y_pred - y_true| over outputs and samples."""

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


# --------------------------------------------------------------------------- get


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
    that string as its name, so that logs read "accuracy" / "val_accuracy".
    """
    if identifier is None or isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            metric = _accuracy_for(loss, y_true, y_pred)
        else:
            metric = deserialize(identifier)
        metric.name = identifier
        return metric
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metric: expected a Metric, a name, a config dict or a function, "
                    f"got {identifier!r}")


# --------------------------------------------------------------------------- confusion matrix


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
