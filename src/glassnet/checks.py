"""Argument checks shared by every constructor: one home, one meaning, one message style.

Each check returns the cleaned value or raises with the argument's name, what was expected
and what came instead:

    >>> positive("learning_rate", 0.0)
    ValueError: learning_rate: expected a finite number > 0, got 0.0

`name` is what the user wrote (prefix it with the owner, "Adam: beta_1", where that helps).
Booleans are not numbers here (True is an int in Python, and never meant as 1.0).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np


def number(name: str, value, *, finite: bool = True) -> float:
    """A real number (not a bool, not nan); with `finite`, not +-inf either."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    result = float(value)
    if math.isnan(result) or (finite and math.isinf(result)):
        what = "a finite number" if finite else "a number"
        raise ValueError(f"{name}: expected {what}, got {value!r}")
    return result


def non_negative(name: str, value) -> float:
    """A finite number >= 0."""
    result = number(name, value)
    if result < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return result


def positive(name: str, value) -> float:
    """A finite number > 0."""
    result = number(name, value)
    if result <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return result


def in_range(name: str, value, low: float, high: float, *, include_high: bool = False) -> float:
    """A number in [low, high) (or [low, high] with `include_high`)."""
    result = number(name, value)
    inside = low <= result <= high if include_high else low <= result < high
    if not inside:
        interval = f"[{low}, {high}]" if include_high else f"[{low}, {high})"
        raise ValueError(f"{name}: expected a number in {interval}, got {value!r}")
    return result


def integer(name: str, value, *, minimum: int | None = None) -> int:
    """A Python or NumPy integer (not a bool, not a float), at least `minimum` if given."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_integer(name: str, value) -> int:
    """An integer >= 1 (units, filters, steps)."""
    return integer(name, value, minimum=1)


def optional(check, name: str, value, *args, **kwargs):
    """None stays None; anything else goes through `check`."""
    return None if value is None else check(name, value, *args, **kwargs)


def one_of(name: str, value, choices) -> str:
    """One of a fixed set of strings."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")
    return value


def weight_values(name: str, value, dtype) -> np.ndarray:
    """`value` as an array to be stored in a weight of `dtype` (see `weight_problem`).

    Raises:
        ValueError: "weight 'dense/kernel': ..." naming the weight and the offending value.
    """
    array = np.asarray(value)
    problem = weight_problem(array, dtype)
    if problem is not None:
        raise ValueError(f"weight {name!r}: {problem}")
    return array


def weight_problem(array: np.ndarray, dtype) -> str | None:
    """Why storing `array` in a weight of `dtype` would change the model's meaning rather
    than round it, or None: NaN or inf; a float that the cast overflows (1e300 into float32,
    1e5 into float16); an integer beyond the float's exact range (|v| > 2**24 for float32:
    2**62 or a large uint64 would become another number); an integer outside an integer
    weight's range; complex, text or object values. Rounding float64 to float32 (or float16)
    is allowed, as in Keras. Two passes (min, max) over the array, no temporary copy."""
    target = np.dtype(dtype)
    if array.dtype.kind not in "biuf" or target.kind not in "biuf":
        return (f"cannot store {array.dtype} values in a {target} weight (complex, text and "
                "objects are refused)")
    if array.size == 0 or array.dtype.kind == "b":
        return None
    if array.dtype.kind == "f":
        low, high = np.min(array), np.max(array)     # NaN propagates to both
        if not (np.isfinite(low) and np.isfinite(high)):
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            return f"{bad} non-finite value{'s' * (bad != 1)} (NaN or inf)"
        if target.kind != "f":
            return f"cannot store {array.dtype} values in a {target} weight"
        with np.errstate(over="ignore"):
            extremes = np.array([low, high]).astype(target)
        if not np.isfinite(extremes).all():
            worst = high if abs(high) >= abs(low) else low
            return f"{float(worst)!r} overflows {target} (largest {float(np.finfo(target).max):g})"
        return None
    low, high = int(np.min(array)), int(np.max(array))
    if target.kind == "f":
        bound = 2 ** (np.finfo(target).nmant + 1)    # every integer up to this is exact
        limits, what = (-bound, bound), f"is not exact in {target} (|integers| <= {bound:,})"
    else:
        info = np.iinfo(target)
        limits, what = (int(info.min), int(info.max)), f"does not fit {target}"
    for extreme in (high, low):
        if not limits[0] <= extreme <= limits[1]:
            return f"integer {extreme} {what}"
    return None
