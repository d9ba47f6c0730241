"""Tabular data preparation: splitting, one-hot labels, and feature scaling.

    >>> x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, seed=0)
    >>> scaler = StandardScaler().fit(x_train)
    >>> x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    >>> y_train = to_categorical(y_train, num_classes=10)

`train_test_split` and the scalers follow scikit-learn (same arguments, same results, the
random draws aside); `to_categorical` follows Keras. Fit a scaler on the training split only,
so that no statistic of the test data leaks into training.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet import config
from glassnet.random import make_generator
from glassnet.registry import register

# ----------------------------------------------------------------------------- splitting


def train_test_split(
    *arrays,
    test_size: float | int | None = None,
    train_size: float | int | None = None,
    shuffle: bool = True,
    stratify=None,
    seed: int | None = None,
) -> list:
    """Split arrays into random train and test subsets (scikit-learn's `train_test_split`).

    Sizes: a float is a fraction of the n rows, an int a count. `n_test = ceil(test_size * n)`,
    `n_train = floor(train_size * n)`; a missing one is the rest; both missing: test_size 0.25.

    With `stratify=labels`, each class keeps its proportion in both parts: class c with
    n_c rows gives about n_c * n_test / n test rows (largest remainders get the leftover
    rows, ties drawn at random; scikit-learn's rule, so the per-class counts match it).

    Args:
        *arrays: arrays (or lists) with the same first dimension n.
        test_size, train_size: see above.
        shuffle: False takes the first n_train rows for train and the next n_test for test.
        stratify: class labels (n,) to stratify by, or None. Needs shuffle=True.
        seed: seed for the shuffle; None draws from glassnet's global generator.

    Returns:
        `[a_train, a_test, b_train, b_test, ...]`, two entries per input, in input order.
    """
    if not arrays:
        raise ValueError("train_test_split: expected at least one array")
    arrays = [a if hasattr(a, "shape") else np.asarray(a) for a in arrays]
    n = len(arrays[0])
    for index, array in enumerate(arrays):
        if len(array) != n:
            raise ValueError(
                f"train_test_split: arrays must have the same length; array 0 has {n} rows, "
                f"array {index} has {len(array)}"
            )
    n_train, n_test = _split_sizes(n, test_size, train_size)
    if not shuffle:
        if stratify is not None:
            raise ValueError("train_test_split: stratify needs shuffle=True")
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    elif stratify is None:
        order = make_generator(seed).permutation(n)
        train, test = order[n_test:n_test + n_train], order[:n_test]
    else:
        stratify = np.asarray(stratify)
        if len(stratify) != n:
            raise ValueError(f"stratify: expected {n} labels (one per row), got {len(stratify)}")
        train, test = _stratified_indices(stratify, n_train, n_test, seed)
    return [part for array in arrays for part in (array[train], array[test])]


def _split_sizes(n: int, test_size, train_size) -> tuple[int, int]:
    """(n_train, n_test) from the fractions or counts, with scikit-learn's rounding."""
    if test_size is None and train_size is None:
        test_size = 0.25
    n_test = _count(test_size, n, "test_size", math.ceil)
    n_train = _count(train_size, n, "train_size", math.floor)
    if n_test is None:
        n_test = n - n_train
    if n_train is None:
        n_train = n - n_test
    if n_train + n_test > n:
        raise ValueError(
            f"train_test_split: train_size + test_size = {n_train} + {n_test} rows, "
            f"more than the {n} rows given"
        )
    if n_train == 0:
        raise ValueError(f"train_test_split: with {n} rows and these sizes the train set is empty")
    return n_train, n_test


def _count(size, n: int, name: str, rounding) -> int | None:
    if size is None:
        return None
    if isinstance(size, (float, np.floating)):
        if not 0.0 < size < 1.0:
            raise ValueError(f"{name}: expected a fraction in (0, 1) or a row count, got {size}")
        return int(rounding(size * n))
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if not 0 < size < n:
            raise ValueError(f"{name}: expected a row count in [1, {n - 1}], got {size}")
        return int(size)
    raise TypeError(f"{name}: expected a float fraction or an int count, got {size!r}")


def _stratified_indices(labels: np.ndarray, n_train: int, n_test: int, seed):
    """Train and test row indices holding each class in proportion (StratifiedShuffleSplit)."""
    if labels.ndim == 2:  # one-hot labels: stratify by the class index
        labels = labels.argmax(axis=1)
    classes, y = np.unique(labels, return_inverse=True)
    class_counts = np.bincount(y)
    if class_counts.min() < 2:
        raise ValueError(
            f"stratify: class {classes[class_counts.argmin()].item()!r} has only 1 row; "
            "every class needs at least 2 to appear in both parts"
        )
    if n_train < len(classes) or n_test < len(classes):
        raise ValueError(
            f"stratify: train ({n_train}) and test ({n_test}) must each have at least one "
            f"row per class ({len(classes)} classes)"
        )
    rng = make_generator(seed)
    train_counts = _apportion(class_counts, n_train, rng)
    test_counts = _apportion(class_counts - train_counts, n_test, rng)
    train, test = [], []
    for c in range(len(classes)):
        rows = rng.permutation(np.flatnonzero(y == c))
        train.append(rows[:train_counts[c]])
        test.append(rows[train_counts[c]:train_counts[c] + test_counts[c]])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _apportion(counts: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Split n_draws over classes in proportion to counts (largest remainder, random ties)."""
    exact = counts / counts.sum() * n_draws
    result = np.floor(exact).astype(np.int64)
    remainder = exact - result
    left = n_draws - int(result.sum())
    for value in np.unique(remainder)[::-1]:  # largest remainders first
        if left == 0:
            break
        tied = np.flatnonzero(remainder == value)
        chosen = rng.choice(tied, size=min(left, len(tied)), replace=False)
        result[chosen] += 1
        left -= len(chosen)
    return result


# ----------------------------------------------------------------------------- labels


def to_categorical(
    x: np.ndarray, num_classes: int | None = None, dtype: str = "float32"
) -> np.ndarray:
    """One-hot encode integer class labels (Keras `to_categorical`).

    out[..., k] = 1 if x == k else 0. A trailing axis of size 1 is dropped first, so labels
    of shape (n,) or (n, 1) both give (n, num_classes).

    Args:
        x: integer labels 0..num_classes-1 (ints, or floats with integer values).
        num_classes: number of classes; None means max(x) + 1.
        dtype: dtype of the result.

    Returns:
        An array of shape x.shape + (num_classes,) (trailing 1 dropped).
    """
    labels = np.asarray(x)
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise ValueError("to_categorical: expected integer class labels, got non-integer floats")
    if labels.dtype.kind not in "iufb":
        raise TypeError(f"to_categorical: expected integer class labels, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    shape = labels.shape[:-1] if labels.ndim > 1 and labels.shape[-1] == 1 else labels.shape
    labels = labels.reshape(-1)
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical: cannot infer num_classes from empty labels")
        num_classes = int(labels.max()) + 1
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"to_categorical: labels must lie in [0, {num_classes - 1}] for "
            f"num_classes={num_classes}, got values from {labels.min()} to {labels.max()}"
        )
    out = np.zeros((labels.size, num_classes), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out.reshape(*shape, num_classes)


# ----------------------------------------------------------------------------- scalers


class _Scaler:
    """fit / transform / inverse_transform plumbing shared by the scalers.

    A subclass sets `_state` (names of the fitted arrays), implements `_fit(x64)` (statistics
    in float64 from a float64 copy) and `_forward(x)` / `_inverse(x)` in x's dtype.
    """

    _state: tuple[str, ...] = ()

    def fit(self, x: np.ndarray, y=None) -> _Scaler:
        """Learn the statistics of x (n, d), column by column; returns self."""
        x = self._check_input(x, fitting=True)
        if not np.isfinite(x).all():
            raise ValueError(f"{type(self).__name__}.fit: x contains NaN or infinity")
        self._fit(x.astype(np.float64))  # statistics in float64 for accuracy; once per fit
        self.n_features_in_ = x.shape[1]
        self.n_samples_seen_ = x.shape[0]
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale x (n, d) with the fitted statistics; float32 in, float32 out."""
        return self._forward(self._check_input(x))

    def fit_transform(self, x: np.ndarray, y=None) -> np.ndarray:
        return self.fit(x).transform(x)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo `transform`: back to the original units."""
        return self._inverse(self._check_input(x))

    def _check_input(self, x, fitting: bool = False) -> np.ndarray:
        name = type(self).__name__
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected numeric x, got dtype {x.dtype}")
        if x.dtype.kind != "f":
            x = x.astype(config.floatx())
        if x.ndim != 2:
            raise ValueError(f"{name}: expected x of shape (n_samples, n_features), got {x.shape}")
        if fitting:
            if x.shape[0] == 0:
                raise ValueError(f"{name}.fit: x has no rows")
            return x
        if not hasattr(self, "n_features_in_"):
            raise ValueError(f"This {name} is not fitted yet; call fit(x) first")
        if x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{name}: x has {x.shape[1]} features, but the scaler was fitted on "
                f"{self.n_features_in_}"
            )
        return x

    def _cast(self, name: str, x: np.ndarray) -> np.ndarray:
        return getattr(self, name).astype(x.dtype, copy=False)  # stay in x's dtype

    def _params(self) -> dict[str, Any]:
        return {}

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments plus the fitted arrays (None before fit), for saving."""
        fitted = {name: getattr(self, name, None) for name in self._state}
        fitted["n_features_in_"] = getattr(self, "n_features_in_", None)
        fitted["n_samples_seen_"] = getattr(self, "n_samples_seen_", None)
        return {**self._params(), **fitted}

    @classmethod
    def from_config(cls, config_: dict[str, Any]):
        """A scaler rebuilt from `get_config()` output, fitted if the config was."""
        config_ = dict(config_)
        fitted = {name: config_.pop(name, None) for name in cls._state}
        n_features = config_.pop("n_features_in_", None)
        n_samples = config_.pop("n_samples_seen_", None)
        scaler = cls(**config_)
        if n_features is not None:
            for name, value in fitted.items():
                setattr(scaler, name, None if value is None else np.asarray(value, np.float64))
            scaler.n_features_in_, scaler.n_samples_seen_ = int(n_features), int(n_samples)
        return scaler

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self._params().items())
        return f"{type(self).__name__}({args})"


@register("preprocessing")
class StandardScaler(_Scaler):
    """Standardize each feature: z = (x - mean) / std (scikit-learn's StandardScaler).

    std is the population standard deviation (ddof=0); a constant feature gets scale 1, so
    it maps to 0 instead of dividing by zero.

    Fitted attributes (float64, shape (d,)): mean_, var_, scale_ (= std, or 1 where std=0);
    n_features_in_, n_samples_seen_. With with_std=False, var_ and scale_ are None.
    """

    _state = ("mean_", "var_", "scale_")

    def __init__(self, with_mean: bool = True, with_std: bool = True):
        self.with_mean = bool(with_mean)
        self.with_std = bool(with_std)

    def _params(self):
        return {"with_mean": self.with_mean, "with_std": self.with_std}

    def _fit(self, x):
        self.mean_ = x.mean(axis=0)  # kept even when unused, as in scikit-learn
        self.var_ = x.var(axis=0) if self.with_std else None
        self.scale_ = _nonzero(np.sqrt(self.var_)) if self.with_std else None

    def _forward(self, x):
        if self.with_mean:
            x = x - self._cast("mean_", x)
        if self.with_std:
            x = x / self._cast("scale_", x)
        return x

    def _inverse(self, x):
        if self.with_std:
            x = x * self._cast("scale_", x)
        if self.with_mean:
            x = x + self._cast("mean_", x)
        return x


@register("preprocessing")
class MinMaxScaler(_Scaler):
    """Rescale each feature to feature_range = (a, b) (scikit-learn's MinMaxScaler).

        x' = x * scale_ + min_,  scale_ = (b - a) / (max - min),  min_ = a - min * scale_

    so the training minimum maps to a and the maximum to b. A constant feature gets
    range 1 (maps to a). With clip=True, transformed values are clipped into [a, b].

    Fitted attributes (float64, shape (d,)): data_min_, data_max_, data_range_, scale_, min_.
    """

    _state = ("data_min_", "data_max_", "data_range_", "scale_", "min_")

    def __init__(self, feature_range: tuple[float, float] = (0, 1), clip: bool = False):
        low, high = feature_range
        if not low < high:
            raise ValueError(
                f"feature_range: expected (min, max) with min < max, got {tuple(feature_range)}"
            )
        self.feature_range = (low, high)
        self.clip = bool(clip)

    def _params(self):
        return {"feature_range": self.feature_range, "clip": self.clip}

    def _fit(self, x):
        low, high = self.feature_range
        self.data_min_ = x.min(axis=0)
        self.data_max_ = x.max(axis=0)
        self.data_range_ = self.data_max_ - self.data_min_
        self.scale_ = (high - low) / _nonzero(self.data_range_)
        self.min_ = low - self.data_min_ * self.scale_

    def _forward(self, x):
        x = x * self._cast("scale_", x) + self._cast("min_", x)
        if self.clip:
            x = np.clip(x, *self.feature_range)  # Python-float bounds keep x's dtype
        return x

    def _inverse(self, x):
        return (x - self._cast("min_", x)) / self._cast("scale_", x)


def _nonzero(scale: np.ndarray) -> np.ndarray:
    """Replace (near-)zero scales by 1, as scikit-learn does, so constant features stay finite."""
    tiny = 10 * np.finfo(scale.dtype).eps
    return np.where(scale < tiny, 1.0, scale)


__all__ = ["MinMaxScaler", "StandardScaler", "to_categorical", "train_test_split"]
