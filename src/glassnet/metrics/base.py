"""The metric base classes: Metric, and the running sums Mean, Sum and MeanMetricWrapper.

A metric keeps running sums over the batches of an epoch and `result()` reads them. Mean keeps
two, total = Σ w v and count = Σ w, and returns total / count. The values v (is this
prediction right? its squared error?) come from a plain function such as
`categorical_accuracy`, one per sample for (N, C) outputs and one per step for sequences
(N, T, C), computed in the input's dtype; the sums are Python floats (float64), so that a
long epoch of float32 batches does not lose precision. A mask of the values' shape (padding
steps) leaves entries out, as in Keras: `update_state(y_true, y_pred, sample_weight, mask=m)`.

State lives in plain attributes (floats and NumPy arrays): the data-parallel step reads and
sums them across ranks (training/parallel_step.py).

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

from glassnet import autodiff, config, initializers, registry
from glassnet.backend import namespace
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


def same_rank(y_true, y_pred):
    """y_true and y_pred at the same rank, y_true in y_pred's float dtype (Keras'
    squeeze_or_expand_to_same_rank): a trailing axis of size 1 is dropped from the longer,
    else an axis is added to the shorter."""
    y_pred = _float_values(y_pred)
    y_true = namespace(y_pred).asarray(y_true).astype(y_pred.dtype, copy=False)
    if y_true.ndim == y_pred.ndim + 1:
        y_true = y_true[..., 0] if y_true.shape[-1] == 1 else y_true
        y_pred = y_pred if y_true.ndim == y_pred.ndim else y_pred[..., None]
    elif y_pred.ndim == y_true.ndim + 1:
        y_pred = y_pred[..., 0] if y_pred.shape[-1] == 1 else y_pred
        y_true = y_true if y_true.ndim == y_pred.ndim else y_true[..., None]
    return y_true, y_pred


def divide_no_nan(a, b):
    """a / b, and 0 where b is 0 (Keras' divide_no_nan)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def scalar_or_array(values):
    """A float for one value, else the array (a metric with several thresholds or classes)."""
    values = np.asarray(values, dtype=np.float64)
    return float(values) if values.ndim == 0 else values


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

    def build_state(self, y_true_shape: tuple, y_pred_shape: tuple) -> None:
        """Make the state whose shape depends on the data (F1Score: one count per class),
        from the shapes of a batch; nothing here. `update_state` calls it too."""

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
        super().__init__(name=name, dtype=dtype)
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

    def get_config(self) -> dict[str, Any]:
        """name, dtype and the function's keyword arguments (a subclass's own arguments)."""
        return {**super().get_config(), **self._fn_kwargs}


@registry.register("metric", "sum")
class Sum(Metric):
    """Weighted running sum: result = Σ w v over every value seen since the reset.

    `update_state(values, sample_weight=None)`: values (N, ...) are summed per sample over
    their trailing axes (Keras' Sum), each sample's sum times its weight.
    """

    def __init__(self, name: str = "sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def reset_state(self) -> None:
        self.total = 0.0

    def update_state(self, values, sample_weight=None) -> None:
        values = _float_values(values)
        if self.dtype is not None:
            values = values.astype(self.dtype, copy=False)
        if sample_weight is not None:
            weights = namespace(values).asarray(sample_weight).astype(values.dtype, copy=False)
            if 0 < weights.ndim < values.ndim:
                weights = weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
            values = values * weights
        self.total += float(values.sum())

    def result(self) -> float:
        return self.total
