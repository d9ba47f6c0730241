"""Parameter: a weight array, the gradient of the loss with respect to it, its penalty.

Layers create them with `Layer.add_weight`; the optimizer reads `grad` and writes `value`.
A Parameter is an `autodiff.Variable`: in a `call()` it is used like an array (`x @ w + b`,
`ops.matmul(x, w)`), and the tape adds its gradient into `grad`.
"""

from __future__ import annotations

import numpy as np

from glassnet import checks
from glassnet.autodiff import TensorOperators, Variable
from glassnet.backend import namespace


class Parameter(Variable):
    """A trainable array and the gradient of the loss with respect to it.

    Attributes:
        value: the weight itself, shape `shape`.
        grad: dL/dvalue, same shape and dtype, accumulated by `backward` (allocated the
            first time a gradient is computed or read: inference holds none).
        regularizer: optional penalty added to the loss (kernels only, by convention).
        constraint: optional projection the optimizer applies to `value` after each update
            (`glassnet.constraints`; set by `Layer.add_weight(constraint=...)`).
    """

    constraint = None

    def __init__(self, value, name: str = "", trainable: bool = True, regularizer=None):
        self.value = value
        self._grad = None              # allocated when first needed: a model that only
        self._zero_pending = False     # predicts never holds gradients (as PyTorch's None)
        self.name = name
        self.trainable = trainable
        self.regularizer = regularizer

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def grad(self):
        """dL/dvalue (see `zero_grad` for when its zeros are written)."""
        if self._grad is None:
            self._grad = namespace(self.value).zeros_like(self.value)
            self._zero_pending = False
        elif self._zero_pending:
            self._grad.fill(0)
            self._zero_pending = False
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        self._grad = value
        self._zero_pending = False

    def add_gradient(self, grad) -> None:
        """grad += dL/dvalue from a tape's backward (written straight in after zero_grad)."""
        if self._grad is None:
            self._grad = np.array(grad, dtype=self.value.dtype)
        elif self._zero_pending:
            np.copyto(self._grad, grad)
        else:
            self._grad += grad
        self._zero_pending = False

    def zero_grad(self) -> None:
        """Make the gradient zero, lazily: the zeros are written when `grad` is next read.

        Why lazily: Dense's and Conv's weight gradients are one matrix product each, which
        `add_matmul` writes straight into the zeroed gradient; writing zeros first would be
        a pass over the whole array that the product then overwrites. Reading `grad` (to
        add to it with `+=`, or to look at it) writes the zeros first, so every other use
        sees exactly a zeroed array.
        """
        self._zero_pending = True

    def add_matmul(self, a, b) -> None:
        """grad += a @ b. Right after `zero_grad` the product is written straight into grad:
        the same result without zeros written first, a temporary array or a second pass."""
        if self._grad is None:
            self._grad = namespace(a).matmul(a, b).astype(self.value.dtype, copy=False)
        elif self._zero_pending:
            namespace(a).matmul(a, b, out=self._grad)
        else:
            self._grad += a @ b
        self._zero_pending = False

    def assign(self, value) -> None:
        """Overwrite the weight in place, checking shape and values (see
        `checks.weight_values`: no NaN or inf, no cast that changes a value) first."""
        self.value[...] = self.checked(value)

    def checked(self, value) -> np.ndarray:
        """`value` as an array that `assign` may store: right shape, values kept by the cast."""
        value = np.asarray(value.value if isinstance(value, TensorOperators) else value)
        if value.shape != self.value.shape:
            raise ValueError(
                f"weight {self.name!r}: expected shape {self.value.shape}, got {value.shape}"
            )
        return checks.weight_values(self.name, value, self.value.dtype)

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, shape={self.shape}, dtype={self.dtype})"
