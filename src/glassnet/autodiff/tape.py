"""The tape: the ops of one traced computation in the order they ran, and backward over them.

    with autodiff.trace() as tape:          # ops on Tensors record here
        x = tape.watch(x_array)              # a leaf whose gradient we want
        y = ops.tanh(x @ W)                  # two Records: matmul, tanh
    tape.backward([(y, dy)])                 # x.grad = dL/dx; W.grad += dL/dW

Backward walks the records in reverse order of their forward -- every record comes after
the records that made its inputs, so the reverse is a valid order for the chain rule -- and
hands each one the gradient that reached its output:

    for record in reversed(records):
        grads = record.vjp(record.grad)      # one per input, written beside the op
        for input, g in zip(record.inputs, grads):
            input's gradient += g            # summed over every use (multivariable chain rule)

Gradients are added as new arrays (`a + b`, never `+=`): a VJP may hand back the very array
it received (add's dx1 = dy), and it may reach two inputs.

An op's VJP returns gradients of its *output's* shape for broadcast inputs; `fit_gradient`
sums them back to each input's shape (the derivative of broadcasting is a sum), and casts
them to its dtype, so that every VJP can stay the plain formula.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools

import numpy as np

from glassnet.autodiff.tensor import Tensor
from glassnet.context import setting

_current: contextvars.ContextVar[Tape | None] = contextvars.ContextVar(
    "glassnet_tape", default=None)
_serials = itertools.count(1)


_added_loss_seed: contextvars.ContextVar[float] = contextvars.ContextVar(
    "glassnet_added_loss_seed", default=1.0)


def added_loss_scale(factor: float) -> setting:
    """Within it, backward seeds each `add_loss` term with `factor` instead of 1 (data
    parallelism: a rank's share of the global batch, as its dL/dy_pred is scaled)."""
    return setting(_added_loss_seed, float(factor))


def current() -> Tape | None:
    """The tape of the innermost `trace()`, or None outside any."""
    return _current.get()


@contextlib.contextmanager
def trace(recording: bool = True):
    """Run the block on a new tape: ops on Tensors inside return Tensors; with `recording`,
    those with an input that requires a gradient are recorded for `Tape.backward`."""
    tape = Tape(recording)
    token = _current.set(tape)
    try:
        yield tape
    finally:
        _current.reset(token)


@contextlib.contextmanager
def pause():
    """Ops inside see no tape at all (a layer's own NumPy forward, a metric's update)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


class Record:
    """One op on the tape.

    Attributes:
        op_name: what ran (an op's name, or "layer 'dense'" for a layer called in a call()).
        vjp: (dy, *saved[, needs=...]) -> the gradient of each input (one, or a tuple).
        saved: what the VJP needs from the forward (kept only while recording).
        inputs: per differentiable argument, its Tensor, None (a constant), or for an
            argument that is a list (concatenate's `xs`) a list of those.
        grad: the gradient reaching the output during backward (None: none yet); for a
            record with several outputs (a layer whose call() returns a tuple), a list
            with one entry per output (`Tensor.index`).
        always: run the VJP even when no gradient reaches the output (a layer whose
            `add_loss` terms are differentiated by its own backward).
    """

    __slots__ = ("op_name", "vjp", "saved", "inputs", "takes_needs", "grad", "always",
                 "shape", "dtype", "multi")

    def __init__(self, op_name: str, vjp, saved: tuple, inputs: tuple, output,
                 takes_needs: bool = False, always: bool = False):
        self.op_name = op_name
        self.vjp = vjp
        self.saved = saved
        self.inputs = inputs
        self.takes_needs = takes_needs
        self.grad = None
        self.always = always
        self.multi = isinstance(output, (list, tuple))
        if self.multi:
            self.shape, self.dtype = [o.shape for o in output], [o.dtype for o in output]
        else:
            self.shape, self.dtype = output.shape, output.dtype

    def upstream(self):
        """The gradient reaching the output(s), zeros where none did; None if none at all
        (and the VJP need not run)."""
        if self.grad is None:
            if not self.always:
                return None
            if not self.multi:
                return np.zeros(self.shape, self.dtype)
        if not self.multi:
            return self.grad
        grads = self.grad or [None] * len(self.shape)
        return [np.zeros(shape, dtype) if g is None else g
                for g, shape, dtype in zip(grads, self.shape, self.dtype)]

    def run(self, dy) -> tuple:
        """The gradients of the inputs for dL/doutput = dy, one entry per argument."""
        if self.takes_needs:
            needs = tuple([_needs(t) for t in slot] if isinstance(slot, list) else _needs(slot)
                          for slot in self.inputs)
            grads = self.vjp(dy, *self.saved, needs=needs)
        else:
            grads = self.vjp(dy, *self.saved)
        if len(self.inputs) == 1:
            return (grads,)
        if not isinstance(grads, tuple) or len(grads) != len(self.inputs):
            raise TypeError(f"the VJP of {self.op_name} returned {type(grads).__name__}; "
                            f"expected a tuple of {len(self.inputs)} gradients, one per input")
        return grads


def _needs(tensor) -> bool:
    return tensor is not None and tensor.requires_grad


class Tape:
    """The records of one traced computation (see the module docstring).

    Attributes:
        recording: False for a trace that only computes (inference): nothing is recorded
            and nothing requires a gradient, but ops still return Tensors.
        records: the Records in the order their ops ran.
        added_losses: scalars handed to `Layer.add_loss` during this trace, whose gradient
            (1) the backward pass seeds along with the output's.
    """

    def __init__(self, recording: bool = True):
        self.recording = recording
        self.serial = next(_serials)
        self.records: list[Record] = []
        self.added_losses: list = []
        self._watched: list[Tensor] = []
        self._variables: dict[int, tuple] = {}      # id(variable) -> (variable, its leaf)

    # -- leaves
    def watch(self, value, requires_grad: bool = True) -> Tensor:
        """A leaf Tensor for an array whose gradient is wanted (a layer's input): after
        backward its `grad` holds dL/dvalue (None if no gradient reached it)."""
        value = np.asarray(value)
        wanted = requires_grad and self.recording and value.dtype.kind == "f"
        leaf = Tensor(value, requires_grad=wanted, tape=self.serial if wanted else None)
        if wanted:
            self._watched.append(leaf)
        return leaf

    def variable_leaf(self, variable) -> Tensor:
        """The one leaf of this tape that stands for `variable` (a layer weight): every use
        of the weight reads it, so their gradients add up before reaching `variable.grad`."""
        entry = self._variables.get(id(variable))
        if entry is None:
            leaf = Tensor(variable.value, requires_grad=True, tape=self.serial)
            leaf.variable = variable
            entry = self._variables[id(variable)] = (variable, leaf)
        return entry[1]

    def owns(self, tensor) -> bool:
        """Whether `tensor` requires a gradient on this tape (not another's, not a constant)."""
        return isinstance(tensor, Tensor) and tensor.requires_grad \
            and tensor.tape == self.serial

    # -- backward
    def backward(self, seeds) -> None:
        """Back-propagate: `seeds` is [(tensor, dL/dtensor), ...] (the outputs' gradients).

        Afterwards each watched leaf's `grad` holds its gradient, and each weight read on
        the tape has had its gradient added to `variable.grad` (`add_gradient`). May run
        again after the same forward (each run starts from zero).
        """
        for leaf in self._watched:
            leaf.grad = None
        for _, leaf in self._variables.values():
            leaf.grad = None
        for record in self.records:
            record.grad = None
        for tensor, dy in seeds:
            self._accumulate(tensor, dy)
        seed = _added_loss_seed.get()
        for loss in self.added_losses:
            self._accumulate(loss, np.full_like(loss.value, seed))
        for record in reversed(self.records):
            dy = record.upstream()
            if dy is None:
                continue
            record.grad = None
            for slot, grad in zip(record.inputs, record.run(dy)):
                if isinstance(slot, list):
                    for tensor, part in zip(slot, grad):
                        self._accumulate(tensor, part, record)
                else:
                    self._accumulate(slot, grad, record)
        for variable, leaf in self._variables.values():
            if leaf.grad is not None:
                variable.add_gradient(leaf.grad)

    def _accumulate(self, tensor, grad, record: Record | None = None) -> None:
        if grad is None or not self.owns(tensor):
            return
        grad = fit_gradient(grad, tensor.value, record)
        holder = tensor.record if tensor.record is not None else tensor
        if holder is tensor.record and holder.multi:
            if holder.grad is None:
                holder.grad = [None] * len(holder.shape)
            old = holder.grad[tensor.index]
            holder.grad[tensor.index] = grad if old is None else old + grad
            return
        holder.grad = grad if holder.grad is None else holder.grad + grad


def fit_gradient(grad, like: np.ndarray, record: Record | None = None) -> np.ndarray:
    """`grad` summed over the axes that broadcasting added or stretched, to `like`'s shape,
    in `like`'s dtype: d(broadcast x)/dx is a sum over the copies."""
    grad = np.asarray(grad)
    if grad.shape != like.shape:
        extra = grad.ndim - like.ndim
        if extra > 0:
            grad = grad.sum(axis=tuple(range(extra)))
        stretched = tuple(axis for axis, (n, m) in enumerate(zip(like.shape, grad.shape))
                          if n == 1 and m != 1)
        if stretched:
            grad = grad.sum(axis=stretched, keepdims=True)
        if grad.shape != like.shape:
            where = f" of {record.op_name}" if record is not None else ""
            raise ValueError(f"the VJP{where} returned a gradient of shape {grad.shape} for "
                             f"an input of shape {like.shape}")
    if grad.dtype != like.dtype:
        grad = grad.astype(like.dtype)
    return grad
