"""Op: one function of `glassnet.ops`, its VJP written beside it, and the registry of all ops.

An op is a NumPy forward that returns its output and what its VJP needs, and the VJP:

    @op("x")                                  # the arguments a gradient flows back to
    def tanh(x):
        y = np.tanh(x)
        return y, (y,)                        # (output, saved for the VJP)

    @tanh.vjp
    def tanh_vjp(dy, y):                      # dy = dL/doutput; the saved values follow
        return dy * (1 - y * y)               # dL/dx; one per input, a tuple for several

Calling the op is the one choke point (as Chainer's `FunctionNode.apply`): it unwraps the
Tensors and Variables among the arguments, runs the forward on plain arrays, and -- when a
tape records and an input requires a gradient -- appends a `Record` to the tape. A VJP
may return gradients of the output's broadcast shape (the tape sums them back) and None
for an input it has no gradient for. One that can skip costly gradients takes `needs`,
a flag per input (matmul skips dL/dx of a model's data).

An op made with `differentiable=False` (argmax, comparisons) returns only its output, and
nothing is recorded. Every op is in `REGISTRY`, which the tests walk: each differentiable
op's VJP is gradient-checked in float64, so a new op cannot skip the check.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from glassnet.autodiff.tape import Record, current
from glassnet.autodiff.tensor import Tensor, TensorOperators

# name -> Op, every op of glassnet.ops (walked by tests/autodiff/test_vjp.py)
REGISTRY: dict[str, Op] = {}

# What an op does when an argument is a symbolic tensor of the functional API (installed by
# glassnet.layers, which this package cannot import): make a graph node.
_SYMBOLIC: list = []


def install_symbolic_handler(handler) -> None:
    """`handler(op, args, kwargs)` runs an op given symbolic tensors (glassnet.layers')."""
    _SYMBOLIC[:] = [handler]


def _any_symbolic(args, kwargs) -> bool:
    for value in (*args, *kwargs.values()):
        if getattr(value, "_glassnet_symbolic", False):
            return True
        if isinstance(value, (list, tuple)) and any(
                getattr(v, "_glassnet_symbolic", False) for v in value):
            return True
    return False


def op(*inputs: str, differentiable: bool = True, name: str | None = None):
    """Decorator: make `forward` an Op whose gradient flows back to the arguments `inputs`
    (registered as `name`, by default the function's)."""

    def decorator(forward) -> Op:
        return Op(forward, inputs, differentiable, name)

    return decorator


class Op:
    """A registered op: `forward`, its `vjp`, and the arguments gradients flow back to."""

    def __init__(self, forward, inputs: tuple[str, ...], differentiable: bool = True,
                 name: str | None = None):
        functools.update_wrapper(self, forward)
        self.name = name or forward.__name__
        self.forward = forward
        self.inputs = tuple(inputs)
        self.differentiable = differentiable
        self.backward = None
        self.takes_needs = False
        parameters = list(inspect.signature(forward).parameters.values())
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self._positions = {p.name: i for i, p in enumerate(parameters) if p.kind in positional}
        self._varargs = next((p.name for p in parameters
                              if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
        unknown = [name for name in self.inputs
                   if name not in self._positions and name != self._varargs]
        if unknown:
            raise TypeError(f"op {self.name}: inputs {unknown} are not parameters")
        if self.name in REGISTRY:
            raise ValueError(f"op {self.name!r} is defined twice")
        REGISTRY[self.name] = self

    def vjp(self, backward):
        """Decorator: `backward(dy, *saved) -> gradients` is this op's VJP."""
        self.backward = backward
        self.takes_needs = "needs" in inspect.signature(backward).parameters
        return backward

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def __call__(self, *args, **kwargs):
        if _SYMBOLIC and _any_symbolic(args, kwargs):
            return _SYMBOLIC[0](self, args, kwargs)     # a node of a functional graph
        tape = current()
        slots = [_traced(self._argument(name, args, kwargs), tape) for name in self.inputs]
        traced = any(_is_traced(slot) for slot in slots)
        reader = _Reader(tape)
        args = [reader.read(a) for a in args]
        kwargs = {k: reader.read(v) for k, v in kwargs.items()}
        result = self.forward(*args, **kwargs)
        as_tensor = reader.seen or tape is not None
        if not self.differentiable:
            return _wrap(result, as_tensor)
        y, saved = result
        y = y if isinstance(y, np.ndarray) else np.asarray(y)
        if traced and y.dtype.kind in "fc":
            if self.backward is None:
                raise NotImplementedError(f"op {self.name} has no VJP (@{self.name}.vjp)")
            record = Record(self.name, self.backward, saved, tuple(slots), y,
                            self.takes_needs)
            tape.records.append(record)
            return Tensor(y, record, requires_grad=True, tape=tape.serial)
        return Tensor(y) if as_tensor else y

    def _argument(self, name: str, args: tuple, kwargs: dict):
        """The value given for input `name` (a tuple for the *args input), or None."""
        if name == self._varargs:
            return list(args[len(self._positions):])
        position = self._positions[name]
        if position < len(args):
            return args[position]
        return kwargs.get(name)


def _traced(value, tape):
    """The Tensor that carries `value`'s gradient on `tape` (a list of them for a list
    argument), or None for a constant."""
    if tape is None or not tape.recording:
        return None
    if isinstance(value, (list, tuple)):
        return [_traced(v, tape) for v in value]
    if isinstance(value, TensorOperators) and not isinstance(value, Tensor):
        value = value.read(tape)                  # a Variable: the tape's leaf for it
    return value if tape.owns(value) else None


def _is_traced(slot) -> bool:
    if isinstance(slot, list):
        return any(t is not None for t in slot)
    return slot is not None


class _Reader:
    """Unwraps an op's arguments: the arrays behind Tensors and Variables."""

    __slots__ = ("tape", "seen")

    def __init__(self, tape):
        self.tape = tape
        self.seen = False          # a Tensor or Variable was among the arguments

    def read(self, value):
        if isinstance(value, TensorOperators):
            self.seen = True
            return value.value
        if isinstance(value, (list, tuple)) and any(isinstance(v, TensorOperators)
                                                    for v in value):
            read = [self.read(v) for v in value]
            return tuple(read) if isinstance(value, tuple) else read   # x[(i, j)] stays basic
        return value


def _wrap(result, as_tensor: bool):
    """A non-differentiable op's output: Tensors inside a trace or for traced inputs."""
    if not as_tensor:
        return result
    if isinstance(result, tuple):
        return tuple(_wrap(r, True) for r in result)
    return Tensor(result if isinstance(result, np.ndarray) else np.asarray(result))
