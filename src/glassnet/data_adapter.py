"""Checking what `fit`/`evaluate`/`predict` are given, before any work is done, and batching it.

Every check raises ValueError/TypeError naming the argument and giving expected vs actual, so a
user never sees a NumPy traceback from inside a layer for a mistake in their data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

_REJECTED_KINDS = {"O": "object", "U": "string", "S": "bytes", "c": "complex", "V": "void",
                   "M": "datetime", "m": "timedelta"}


def as_array(data, name: str, dtype: str | None = None) -> np.ndarray:
    """`data` as a non-empty numeric ndarray (cast to float `dtype` if given), NaN/inf-free."""
    if data is None:
        raise ValueError(f"{name}: expected an array, got None")
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as error:  # ragged nested lists
        raise ValueError(f"{name}: could not be converted to an array ({error})") from None
    kind = array.dtype.kind
    if kind in _REJECTED_KINDS:
        raise TypeError(f"{name}: expected numbers (bool, int or float), got dtype "
                        f"{array.dtype} ({_REJECTED_KINDS[kind]})")
    if array.ndim == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, got a scalar")
    if array.shape[0] == 0:
        raise ValueError(f"{name}: is empty (shape {array.shape}); expected at least one sample")
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    if kind == "f" or (dtype is not None and np.dtype(dtype).kind == "f"):
        check_finite(array, name)
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        value = array[tuple(bad)]
        raise ValueError(f"{name}: contains {value} at index {tuple(int(i) for i in bad)}; "
                         f"expected only finite numbers (remove or impute NaN/inf first)")


def check_same_length(**arrays) -> int:
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"expected the same number of samples in each array, but {described}")
    return next(iter(lengths.values()))


def check_features(x: np.ndarray, expected_shape: tuple | None, name: str = "x") -> None:
    """x.shape[1:] must match the model's input shape (None matches any size)."""
    if expected_shape is None:
        return
    expected = tuple(expected_shape[1:])
    actual = x.shape[1:]
    if len(actual) != len(expected) or any(e is not None and e != a
                                            for e, a in zip(expected, actual)):
        raise ValueError(f"{name}: expected shape (n, {', '.join(str(e) for e in expected)}) "
                         f"for this model's input {tuple(expected_shape)}, got {x.shape}")


def check_int(value, name: str, minimum: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        wanted = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"{name}: expected {wanted}, got {value!r}")
    return int(value)


def check_sample_weight(sample_weight, n: int, dtype: str) -> np.ndarray | None:
    if sample_weight is None:
        return None
    weights = as_array(sample_weight, "sample_weight", dtype)
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.shape != (n,):
        raise ValueError(f"sample_weight: expected shape ({n},), got {weights.shape}")
    if (weights < 0).any():
        raise ValueError("sample_weight: expected non-negative weights, got "
                         f"{weights[weights < 0][0]} at index {int(np.argmax(weights < 0))}")
    return weights


def class_labels(y: np.ndarray) -> np.ndarray:
    """Integer class of each sample: argmax of one-hot rows, the value of (N,) or (N, 1) labels."""
    if y.ndim >= 2 and y.shape[-1] > 1:
        return y.argmax(axis=-1).reshape(len(y))
    return np.rint(y.reshape(len(y))).astype(np.int64)


def class_weight_to_sample_weight(class_weight: Mapping, y: np.ndarray, dtype: str) -> np.ndarray:
    """Keras' class_weight: each sample weighted by the weight of its class."""
    if not isinstance(class_weight, Mapping):
        raise TypeError(f"class_weight: expected a dict {{class index: weight}}, "
                        f"got {type(class_weight).__name__}")
    labels = class_labels(y)
    missing = sorted(set(np.unique(labels).tolist()) - set(int(k) for k in class_weight))
    if missing:
        raise ValueError(f"class_weight: no weight given for classes {missing}; "
                         f"got keys {sorted(class_weight)}")
    table = np.zeros(int(labels.max()) + 1, dtype=dtype)
    for key, weight in class_weight.items():
        if 0 <= int(key) < len(table):
            table[int(key)] = weight
    return table[labels]


def check_targets(y: np.ndarray, loss, output_shape: tuple | None) -> None:
    """Loss-specific checks: sparse labels must be integers in range, one-hot widths match."""
    name = type(loss).__name__
    classes = None if output_shape is None else output_shape[-1]
    if "Sparse" in name:
        if y.ndim >= 2 and y.shape[-1] != 1:
            raise ValueError(f"y: {name} expects integer labels of shape (n,) or (n, 1), got "
                             f"shape {y.shape}; use categorical_crossentropy for one-hot targets")
        flat = y.reshape(-1)
        if flat.dtype.kind == "f" and not np.array_equal(flat, np.round(flat)):
            bad = flat[flat != np.round(flat)][0]
            raise ValueError(f"y: {name} expects integer class labels, got {bad}")
        low, high = flat.min(), flat.max()
        if low < 0 or (classes is not None and high >= classes):
            bound = "" if classes is None else f" for a model with {classes} outputs"
            raise ValueError(f"y: labels must be in [0, {classes}){bound}; got values "
                             f"from {low} to {high}")
    elif classes is not None and "Categorical" in name and y.shape[-1] != classes:
        raise ValueError(f"y: {name} expects one-hot targets of shape (n, {classes}), got "
                         f"{y.shape}; use sparse_categorical_crossentropy for integer labels")
    elif "Binary" in name and ((y < 0) | (y > 1)).any():
        raise ValueError(f"y: {name} expects targets in [0, 1], got values from {y.min()} "
                         f"to {y.max()}")


def split_validation(arrays: list, validation_split: float) -> tuple[list, list]:
    """Keras semantics: the last `validation_split` fraction, taken before any shuffling."""
    if not 0.0 <= float(validation_split) < 1.0:
        raise ValueError(f"validation_split: expected a float in [0, 1), got {validation_split!r}")
    n = len(arrays[0])
    n_val = int(round(n * float(validation_split)))
    if validation_split and (n_val == 0 or n_val == n):
        raise ValueError(f"validation_split={validation_split} leaves {n - n_val} training and "
                         f"{n_val} validation samples out of {n}; both must be non-empty")
    cut = n - n_val
    train = [None if a is None else a[:cut] for a in arrays]
    val = [None if a is None else a[cut:] for a in arrays]
    return train, val


def batch_slices(n: int, batch_size: int | None) -> Iterator[slice]:
    """Contiguous batches; batch_size None means the whole data set in one batch."""
    size = n if batch_size is None else batch_size
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def num_batches(n: int, batch_size: int | None) -> int:
    return 1 if batch_size is None else -(-n // batch_size)
