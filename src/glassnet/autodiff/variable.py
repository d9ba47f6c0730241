"""Variable: an array that outlives a call (a weight, a metric's running total).

Ops read a Variable as an array; while a tape records, a trainable one is read through the
tape's leaf for it (`Tape.variable_leaf`), so its gradient reaches `add_gradient`.
`glassnet.layers.Parameter` is the Variable that layers make with `add_weight`; metrics make
plain ones with `add_variable`. Keras' names: `assign`, `assign_add`, `assign_sub`, `numpy()`,
and the Python operators (`w @ x`, `w + 1`), which are ops.
"""

from __future__ import annotations

import numpy as np

from glassnet.autodiff import tape as tape_module
from glassnet.autodiff.tensor import TensorOperators


def _plain(value):
    """The array behind a Tensor or Variable; anything else as it is."""
    return value.value if isinstance(value, TensorOperators) else value


class Variable(TensorOperators):
    """A named, mutable array; `trainable` ones receive gradients from a tape.

    Args:
        value: the initial array (kept as given: not copied).
        name: a name for messages and summaries.
        trainable: whether a recording tape differentiates reads of it.
    """

    def __init__(self, value, name: str = "", trainable: bool = True):
        self.value = value
        self.name = name
        self.trainable = trainable

    @property
    def requires_grad(self) -> bool:
        """True while a tape records and this variable is trainable."""
        tape = tape_module.current()
        return bool(self.trainable and tape is not None and tape.recording)

    def read(self, tape):
        """What an op reads: the tape's leaf for it while `tape` records (trainable only),
        else the array."""
        if tape is not None and tape.recording and self.trainable:
            return tape.variable_leaf(self)
        return self.value

    def add_gradient(self, grad) -> None:
        """Receive dL/dvalue from a backward pass; a plain Variable has no use for it."""

    def assign(self, value) -> None:
        """Overwrite the value in place (shape checked, cast to the variable's dtype)."""
        value = np.asarray(_plain(value))
        if value.shape != self.value.shape:
            raise ValueError(f"variable {self.name!r}: expected shape {self.value.shape}, "
                             f"got {value.shape}")
        self.value[...] = value

    def assign_add(self, delta) -> None:
        """value += delta, in place."""
        self.value[...] = self.value + np.asarray(_plain(delta))

    def assign_sub(self, delta) -> None:
        """value -= delta, in place."""
        self.value[...] = self.value - np.asarray(_plain(delta))

    def __array__(self, dtype=None, copy=None):
        value = self.value if dtype is None else self.value.astype(dtype, copy=False)
        return np.array(value, copy=True) if copy else value

    def __repr__(self) -> str:
        return f"<Variable {self.name!r} shape={self.value.shape} dtype={self.value.dtype}>"
