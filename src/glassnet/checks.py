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
