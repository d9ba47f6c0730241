"""Checks of what `fit`/`evaluate`/`predict` are given, before any work is done.

Every check raises ValueError/TypeError naming the argument and giving expected vs actual, so a
user never sees a NumPy traceback from inside a layer for a mistake in their data. Nothing here
knows a model: the model's shapes, dtype and loss come in as arguments (see `prepare.py`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from glassnet import checks, losses

_REJECTED_KINDS = {"O": "object", "U": "string", "S": "bytes", "c": "complex", "V": "void",
                   "M": "datetime", "m": "timedelta"}


def as_array(data, name: str, dtype: str | None = None) -> np.ndarray:
    """`data` as a non-empty numeric ndarray (cast to `dtype` if given), NaN/inf-free.

    A float `dtype` is any model's; an integer or bool one an Input's (ids for an Embedding):
    then float data must hold whole numbers, and every value must fit the integer dtype.
    """
    if data is None:
        raise ValueError(f"{name}: expected an array, got None")
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as error:  # ragged nested lists
        raise ValueError(f"{name}: could not be converted to an array ({error})") from None
    check_header(array, name)
    kind = array.dtype.kind
    if dtype is not None and np.dtype(dtype).kind in "iu" and array.dtype != dtype:
        _check_integral(array, name, np.dtype(dtype))
    if dtype is not None and array.dtype != dtype:
        with np.errstate(over="ignore"):  # 1e300 -> float32 is inf: check_finite says so
            array = array.astype(dtype)
    if kind == "f" or (dtype is not None and np.dtype(dtype).kind == "f"):
        check_finite(array, name)
    return array


def _check_integral(array: np.ndarray, name: str, dtype: np.dtype) -> None:
    """Data for an integer Input: whole numbers in the range of `dtype` (no silent cast)."""
    if array.dtype.kind == "f":
        check_finite(array, name)
        if not np.array_equal(array, np.floor(array)):
            raise ValueError(f"{name}: the model's Input takes {dtype.name}; got values that "
                             "are not whole numbers")
    if array.dtype.kind in "iuf" and array.size:
        low, high = array.min(), array.max()
        info = np.iinfo(dtype)
        if low < info.min or high > info.max:
            raise ValueError(f"{name}: the model's Input takes {dtype.name} "
                             f"[{info.min}, {info.max}]; got values in [{low}, {high}]")


def check_header(array: np.ndarray, name: str) -> None:
    """The checks that read no data: a numeric dtype, a batch axis, at least one sample."""
    kind = array.dtype.kind
    if kind in _REJECTED_KINDS:
        raise TypeError(f"{name}: expected numbers (bool, int or float), got dtype "
                        f"{array.dtype} ({_REJECTED_KINDS[kind]})")
    if array.ndim == 0:
        raise ValueError(f"{name}: expected an array with a batch axis, got a scalar")
    if array.shape[0] == 0:
        raise ValueError(f"{name}: is empty (shape {array.shape}); expected at least one sample")


_SMALL = 4096   # below this many numbers, np.isfinite(x).all() is the faster check


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise a ValueError naming the first NaN/inf of `array` (a float array), if any.

    Every `fit` reads all of x once for this, so it is kept to one fast pass: the row sums
    x @ 1, one multi-threaded BLAS product (a third of the time of a min and a max on
    MNIST's x, and no full-size boolean array as np.isfinite(x) would make). NaN and ±inf
    reach the sums, so finite sums prove every entry finite; a non-finite sum may also be
    an overflow of large finite entries, and then the exact test decides: NaN and ±inf
    reach the min or the max.
    """
    if array.dtype.kind != "f" or array.size == 0:
        return
    if array.size <= _SMALL:           # a few rows (predict of one sample): one direct test
        if np.isfinite(array).all():
            return
    elif array.dtype in (np.float32, np.float64) and array.flags.c_contiguous:
        rows = array.reshape(len(array) if array.ndim > 1 else 1, -1)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is handled below
            sums = rows @ np.ones(rows.shape[1], dtype=array.dtype)
        if np.isfinite(sums).all():
            return
    if not (np.isfinite(array.min()) and np.isfinite(array.max())):
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
    """An integer >= `minimum` (or None, with `allow_none`). Always a ValueError when not,
    a float included, as the arguments of `fit` have always been refused."""
    if value is None and allow_none:
        return None
    try:
        return checks.integer(name, value, minimum=minimum)
    except TypeError as error:
        raise ValueError(str(error)) from None


def check_sample_weight(sample_weight, n: int, dtype: str,
                        name: str = "sample_weight") -> np.ndarray | None:
    if sample_weight is None:
        return None
    weights = as_array(sample_weight, name, dtype)
    if weights.ndim == 2 and weights.shape[1] == 1:
        weights = weights[:, 0]
    if weights.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},), got {weights.shape}")
    if (weights < 0).any():
        raise ValueError(f"{name}: expected non-negative weights, got "
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


def takes_sparse_labels(loss) -> bool:
    """Whether `loss` reads integer class labels (sparse categorical cross-entropy, the
    generalized crossentropy, a subclass) rather than targets shaped like the outputs."""
    return bool(getattr(loss, "sparse_labels", False))


def check_targets(y: np.ndarray, loss, output_shape: tuple | None, name: str = "y") -> None:
    """Loss-specific checks: sparse labels must be integers in range, one-hot widths match."""
    loss_name = type(loss).__name__
    classes = None if output_shape is None else output_shape[-1]
    sparse = takes_sparse_labels(loss)
    if isinstance(loss, (losses.Circle, losses.CTC)):
        return   # labels of their own shape: Circle's name groups, CTC's are sequences (n, L)
    if sparse:
        # one label per output position: (n,) or (n, 1) for (n, C) outputs, (n, T) or
        # (n, T, 1) for (n, T, C) outputs (a label per step), as Keras takes them
        positions = () if output_shape is None else tuple(output_shape[1:-1])
        if not _same_target_shape(y.shape[1:], positions):
            expected = ("(n,) or (n, 1)" if not positions else
                        f"(n, {', '.join(str(d) for d in positions)})")
            raise ValueError(f"{name}: {loss_name} expects integer labels of shape "
                             f"{expected}, got shape {y.shape}; use categorical_crossentropy "
                             "for one-hot targets")
        flat = y.reshape(-1)
        if flat.dtype.kind == "f" and not np.array_equal(flat, np.round(flat)):
            bad = flat[flat != np.round(flat)][0]
            raise ValueError(f"{name}: {loss_name} expects integer class labels, got {bad}")
        low, high = flat.min(), flat.max()
        if low < 0 or (classes is not None and high >= classes):
            bound = "" if classes is None else f" for a model with {classes} outputs"
            raise ValueError(f"{name}: labels must be in [0, {classes}){bound}; got values "
                             f"from {low} to {high}")
    elif (classes is not None and isinstance(loss, losses.CategoricalCrossentropy)
          and y.shape[-1] != classes):
        raise ValueError(f"{name}: {loss_name} expects one-hot targets of shape (n, {classes}), "
                         f"got {y.shape}; use sparse_categorical_crossentropy for integer labels")
    elif isinstance(loss, losses.BinaryCrossentropy) and ((y < 0) | (y > 1)).any():
        raise ValueError(f"{name}: {loss_name} expects targets in [0, 1], got values from "
                         f"{y.min()} to {y.max()}")
    # A loss written with ops (loss=my_function) reads targets its own way, as in Keras.
    if not sparse and output_shape is not None and not getattr(loss, "traced", False) \
            and not _same_target_shape(y.shape[1:], tuple(output_shape[1:])):
        # Else the loss itself refuses them, mid-training and naming "y_true".
        raise ValueError(f"{name}: expected targets of shape (n, "
                         f"{', '.join(str(d) for d in output_shape[1:])}) for this model's "
                         f"output {tuple(output_shape)}, got {y.shape}")


def _same_target_shape(target: tuple, output: tuple) -> bool:
    """Whether targets of per-sample shape `target` fit outputs of shape `output` as the
    losses take them: equal (None matches any size), or differing by a trailing axis of 1
    ((n,) targets for (n, 1) outputs, as Keras squeezes)."""
    if len(target) == len(output) + 1 and target[-1:] == (1,):
        target = target[:-1]
    elif len(output) == len(target) + 1 and output[-1:] == (1,):
        output = output[:-1]
    return len(target) == len(output) and all(o is None or o == t
                                              for t, o in zip(target, output))


def split_validation(arrays: list, validation_split: float) -> tuple[list, list]:
    """Keras semantics: the last `validation_split` fraction, taken before any shuffling."""
    validation_split = checks.in_range("validation_split", validation_split, 0, 1)
    n = len(arrays[0])
    n_val = n - int(math.floor(n * (1.0 - validation_split)))   # Keras' cut
    if validation_split and (n_val == 0 or n_val == n):
        raise ValueError(f"validation_split={validation_split} leaves {n - n_val} training and "
                         f"{n_val} validation samples out of {n}; both must be non-empty")
    cut = n - n_val
    train = [None if a is None else a[:cut] for a in arrays]
    val = [None if a is None else a[cut:] for a in arrays]
    return train, val

