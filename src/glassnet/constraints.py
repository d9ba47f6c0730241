"""Weight constraints: projections applied to a weight after every optimizer step (Keras 3
names, arguments and formulas).

A constraint is a function W -> W' of the same shape. The optimizer calls it on each weight
that has one, right after that weight's update (`Optimizer.apply`), and writes the result
back in place: training then moves on the constrained set. Norms are taken along `axis`
(0 for a Dense kernel (n_in, n_out): one norm per output unit's column; [0, 1, 2] for a
Conv2D kernel (kh, kw, c_in, c_out): one per filter):

    MaxNorm     W * clip(n, 0, max_value) / (eps + n)
    MinMaxNorm  W * (rate clip(n, min_value, max_value) + (1 - rate) n) / (eps + n)
    UnitNorm    W / (eps + n)
    NonNeg      max(W, 0)

with n = sqrt(sum W^2 along axis) and eps = `config.epsilon()` (1e-7), as Keras.

    >>> import numpy as np
    >>> from glassnet import constraints
    >>> W = np.array([[3.0, 0.1], [4.0, 0.0]])          # column norms 5 and 0.1
    >>> np.round(constraints.MaxNorm(1.0)(W), 4)
    array([[0.6, 0.1],
           [0.8, 0. ]])

    layers.Dense(64, kernel_constraint=constraints.MaxNorm(3.0))
    layers.Dense(64, kernel_constraint="non_neg")
"""

from __future__ import annotations

from typing import Any

from glassnet import config, registry
from glassnet.backend import namespace


class Constraint:
    """Base class: `__call__(W)` returns the projected weight (the base class: W itself).

    A subclass overrides `__call__`, and `get_config` when it has arguments, so that
    `from_config` (and saving) can rebuild it.
    """

    def __call__(self, w):
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config_: dict[str, Any]) -> Constraint:
        return cls(**config_)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _axis(value, argument: str):
    """An int or a list of ints (kept as given for get_config)."""
    if isinstance(value, bool) or not (
            isinstance(value, int)
            or (isinstance(value, (list, tuple)) and value
                and all(isinstance(a, int) and not isinstance(a, bool) for a in value))):
        raise TypeError(f"{argument}: expected an int or a list of ints, got {value!r}")
    return list(value) if isinstance(value, tuple) else value


def _norms(w, axis):
    """sqrt(sum w^2 along axis), kept as axes of length 1 so it broadcasts against w."""
    xp = namespace(w)
    axes = tuple(axis) if isinstance(axis, list) else axis
    return xp.sqrt(xp.sum(w * w, axis=axes, keepdims=True))


@registry.register("constraint", "max_norm")
class MaxNorm(Constraint):
    """Scale each slice along `axis` whose norm exceeds `max_value` back to that norm.

    Args:
        max_value: the largest norm allowed (default 2).
        axis: the axis (or list of axes) the norms are taken over (default 0).
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = _axis(axis, "MaxNorm: axis")

    def __call__(self, w):
        n = _norms(w, self.axis)
        desired = namespace(w).clip(n, 0, self.max_value)
        return w * (desired / (config.epsilon() + n))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


@registry.register("constraint", "min_max_norm")
class MinMaxNorm(Constraint):
    """Move each slice's norm n towards [min_value, max_value]: the new norm is
    rate * clip(n, min_value, max_value) + (1 - rate) * n (rate 1: strictly inside).

    Args:
        min_value, max_value: the interval of norms (defaults 0 and 1).
        rate: how far to move in one step, in [0, 1] (default 1).
        axis: the axis (or list of axes) the norms are taken over (default 0).
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        if min_value > max_value:
            raise ValueError(f"MinMaxNorm: min_value ({min_value!r}) must not exceed "
                             f"max_value ({max_value!r})")
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = _axis(axis, "MinMaxNorm: axis")

    def __call__(self, w):
        n = _norms(w, self.axis)
        desired = self.rate * namespace(w).clip(n, self.min_value, self.max_value)
        desired += (1 - self.rate) * n
        return w * (desired / (config.epsilon() + n))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


@registry.register("constraint", "non_neg")
class NonNeg(Constraint):
    """max(W, 0): negative entries become 0."""

    def __call__(self, w):
        return namespace(w).maximum(w, 0)


@registry.register("constraint", "unit_norm")
class UnitNorm(Constraint):
    """Divide each slice along `axis` by its norm (plus epsilon).

    Args:
        axis: the axis (or list of axes) the norms are taken over (default 0).
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis, "UnitNorm: axis")

    def __call__(self, w):
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


registry.register("constraint", "constraint")(Constraint)

# Keras' lower-case names for the classes.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    """{'class_name': ..., 'config': ...}, as Keras writes it in a layer's config (None for
    None). A plain function is applied like a Constraint but cannot be saved."""
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint):
        raise TypeError(f"constraint {constraint!r}: only a glassnet.constraints.Constraint "
                        f"can be saved (subclass it and register it with "
                        f"glassnet.registry.register_serializable(kind='constraint'))")
    return registry.serialize(constraint)


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Constraint:
    """A constraint from a name or a {'class_name', 'config'} dict (`serialize`'s inverse)."""
    return registry.deserialize("constraint", config, custom_objects)


def get(identifier) -> Constraint | None:
    """None, a Constraint or any callable (returned as is), a class (made with its defaults),
    a name ("max_norm", "NonNeg") or a config dict."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"constraint: expected None, a Constraint, a name or a config dict, "
                    f"got {type(identifier).__name__} {identifier!r}")


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "deserialize", "get",
           "max_norm", "min_max_norm", "non_neg", "serialize", "unit_norm"]
