"""Tensor: an array seen by the tape, and the Python operators every traced value shares.

Inside a `call()` (see `glassnet.layers.traced`) every value a layer computes with
`glassnet.ops` is a `Tensor`: the NumPy array itself (`value`) and, when a tape records it,
the `Record` of the op that made it, which is how the backward pass finds its way back:

    x ─ matmul ─ h ─ add ─ z          h.record = Record(matmul, inputs=(x, W), saved=(x, W))
          W ┘      b ┘                z.record = Record(add, inputs=(h, b), ...)

A Tensor is immutable (ops make new ones), so what a record saved for its VJP stays what
the forward saw. Python's operators (`a + b`, `a @ b`, `-a`, `a[i]`, `a < b`) call the ops of
the same name; the ops package installs them (`install_operators`), since this module
cannot import it (ops depend on the tape, not the other way round).

NumPy functions cannot see the tape: `np.exp(t)` raises a TypeError that names the op to
use (`ops.exp`), and so does turning a traced Tensor into an array (`np.asarray(t)`).
`t.numpy()` is the explicit way out: a copy of the value, without gradient.
"""

from __future__ import annotations

import contextvars
import sys

import numpy as np

# Python operator -> the op that implements it, installed by glassnet.ops at import.
_OPERATORS: dict[str, object] = {}

# NumPy function names that have an op of another name (for the error message).
_NUMPY_ALIASES = {"absolute": "abs", "true_divide": "divide", "amax": "max", "amin": "min",
                  "concat": "concatenate", "asarray": "convert_to_tensor",
                  "array": "convert_to_tensor"}

# NumPy functions that only read metadata: answered from the value, as for an array.
_HARMLESS = {"shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj"}


# Where a traced value last left the tape through `.numpy()`: (filename, line), for the
# error a call() that returns a plain array gets.
_last_escape: contextvars.ContextVar[tuple[str, int] | None] = contextvars.ContextVar(
    "glassnet_last_escape", default=None)


def last_escape() -> tuple[str, int] | None:
    """(filename, line) of the last `.numpy()` on a traced tensor, or None."""
    return _last_escape.get()


def install_operators(table: dict[str, object]) -> None:
    """Called once by `glassnet.ops`: {"add": ops.add, "getitem": ..., ...}."""
    _OPERATORS.update(table)


def operator(name: str):
    """The op behind a Python operator (glassnet.ops must have been imported)."""
    try:
        return _OPERATORS[name]
    except KeyError:
        raise RuntimeError(f"operator {name!r} on a glassnet tensor needs glassnet.ops; "
                           f"import glassnet first") from None


def suggest_op(numpy_name: str) -> str:
    """'ops.exp' for 'exp': the op to use instead of a NumPy function, if there is one."""
    name = _NUMPY_ALIASES.get(numpy_name, numpy_name)
    if name in _OPERATORS.get("__names__", ()):
        return f"glassnet.ops.{name}"
    return "the glassnet.ops function that computes it"


class Operators:
    """Python's arithmetic operators as ops, for Tensor, Variable and the functional API's
    SymbolicTensor (`x + residual` makes a graph node there)."""

    __slots__ = ()
    __array_priority__ = 1000      # `ndarray + t` asks t first

    # -- arithmetic: each is the op of the same name
    def __add__(self, other):
        return operator("add")(self, other)

    def __radd__(self, other):
        return operator("add")(other, self)

    def __sub__(self, other):
        return operator("subtract")(self, other)

    def __rsub__(self, other):
        return operator("subtract")(other, self)

    def __mul__(self, other):
        return operator("multiply")(self, other)

    def __rmul__(self, other):
        return operator("multiply")(other, self)

    def __truediv__(self, other):
        return operator("divide")(self, other)

    def __rtruediv__(self, other):
        return operator("divide")(other, self)

    def __floordiv__(self, other):
        return operator("floor_divide")(self, other)

    def __rfloordiv__(self, other):
        return operator("floor_divide")(other, self)

    def __mod__(self, other):
        return operator("mod")(self, other)

    def __rmod__(self, other):
        return operator("mod")(other, self)

    def __pow__(self, other):
        return operator("power")(self, other)

    def __rpow__(self, other):
        return operator("power")(other, self)

    def __matmul__(self, other):
        return operator("matmul")(self, other)

    def __rmatmul__(self, other):
        return operator("matmul")(other, self)

    def __neg__(self):
        return operator("negative")(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return operator("abs")(self)

    # -- comparisons and logic (no gradient)
    def __lt__(self, other):
        return operator("less")(self, other)

    def __le__(self, other):
        return operator("less_equal")(self, other)

    def __gt__(self, other):
        return operator("greater")(self, other)

    def __ge__(self, other):
        return operator("greater_equal")(self, other)

    def __and__(self, other):
        return operator("logical_and")(self, other)

    def __rand__(self, other):
        return operator("logical_and")(other, self)

    def __or__(self, other):
        return operator("logical_or")(self, other)

    def __ror__(self, other):
        return operator("logical_or")(other, self)

    def __invert__(self):
        return operator("logical_not")(self)

    def __getitem__(self, key):
        return operator("get_item")(self, key)

    @property
    def T(self):  # noqa: N802 (NumPy's name)
        return operator("transpose")(self)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # `ndarray + t` lands here (NumPy asks the tensor): the operators are ops.
        name = {"true_divide": "divide", "absolute": "abs"}.get(ufunc.__name__, ufunc.__name__)
        if method == "__call__" and not kwargs and name in _UFUNC_OPERATORS:
            return operator(name)(*inputs)
        raise TypeError(
            f"np.{ufunc.__name__} was called on a glassnet tensor; NumPy functions cannot "
            f"be traced, so no gradient would flow through it. Use "
            f"{suggest_op(ufunc.__name__)} instead.")


class TensorOperators(Operators):
    """The operators, and what an array answers (shape, dtype, `numpy()`), for Tensor and
    Variable alike. A subclass provides `value` (the array) and `requires_grad`."""

    __slots__ = ()

    # -- what an array answers
    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    @property
    def ndim(self) -> int:
        return self.value.ndim

    @property
    def size(self) -> int:
        return self.value.size

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def numpy(self) -> np.ndarray:
        """A copy of the value as a NumPy array, without gradient (Keras' `.numpy()`)."""
        if self.requires_grad:
            caller = sys._getframe(1)
            _last_escape.set((caller.f_code.co_filename, caller.f_lineno))
        return np.array(self.value)

    # -- NumPy's hooks: its functions cannot be traced
    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise TypeError(
                "a traced tensor was converted to a NumPy array (np.asarray, np.array or "
                "a NumPy function), which cuts it off the tape: no gradient could flow "
                "through what comes next. Compute with glassnet.ops functions instead, or "
                "take `x.numpy()` (a copy, without gradient) if that is what you mean.")
        value = self.value if dtype is None else self.value.astype(dtype, copy=False)
        return np.array(value, copy=True) if copy else value

    def __array_function__(self, function, types, args, kwargs):
        if function.__name__ in _HARMLESS:
            plain = [a.value if isinstance(a, TensorOperators) else a for a in args]
            return function(*plain, **kwargs)
        raise TypeError(
            f"np.{function.__name__} was called on a glassnet tensor; NumPy functions "
            f"cannot be traced, so no gradient would flow through it. Use "
            f"{suggest_op(function.__name__)} instead.")


# The ufuncs that come from Python operators with an ndarray on the left.
_UFUNC_OPERATORS = {"add", "subtract", "multiply", "divide", "floor_divide", "mod", "power",
                    "matmul", "negative", "abs", "less", "less_equal", "greater",
                    "greater_equal", "logical_and", "logical_or", "logical_not"}


class Tensor(TensorOperators):
    """An array in a traced computation.

    Attributes:
        value: the NumPy array.
        record: the `Record` of the op that made it on a tape, or None (a leaf or a
            constant); `index` says which of the record's outputs it is.
        requires_grad: whether a gradient flows back through it (a float value on a tape).
        grad: after a backward pass, dL/dvalue of a leaf (a layer's input).
        mask: the padding mask Keras attaches to a layer's output (`_keras_mask`), or None.
    """

    __slots__ = ("value", "record", "requires_grad", "grad", "tape", "variable", "mask",
                 "index")

    def __init__(self, value, record=None, requires_grad: bool = False, tape=None,
                 index: int = 0):
        self.value = value
        self.record = record
        self.index = index          # which output of its record (a layer's tuple output)
        self.requires_grad = requires_grad
        self.tape = tape            # the tape whose backward reaches this tensor
        self.grad = None
        self.variable = None        # the Variable this leaf stands for, if any
        self.mask = None

    @property
    def _keras_mask(self):
        return self.mask

    def __getattr__(self, name: str):
        # only reached for a missing attribute: an array method (x.mean(), x.sum()) is an op
        if not name.startswith("_") and name in _OPERATORS.get("__names__", ()):
            raise AttributeError(
                f"a glassnet Tensor has no method {name}(): NumPy's array methods cannot be "
                f"traced; use glassnet.ops.{name}(x, ...) instead")
        raise AttributeError(f"'Tensor' object has no attribute {name!r}")

    def __repr__(self) -> str:
        made = f", op={self.record.op_name}" if self.record is not None else ""
        return (f"<glassnet Tensor shape={self.value.shape} dtype={self.value.dtype}{made}>\n"
                f"{self.value!r}")

    def __len__(self) -> int:
        return len(self.value)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __index__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    # Keras tensors compare elementwise; identity still hashes (sets, dict keys).
    def __eq__(self, other):
        return operator("equal")(self, other)

    def __ne__(self, other):
        return operator("not_equal")(self, other)

    __hash__ = object.__hash__
