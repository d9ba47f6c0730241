"""Reverse-mode automatic differentiation over `glassnet.ops`: write the forward, get the
backward.

    tensor.py     Tensor, an array on the tape, and the Python operators of traced values
    variable.py   Variable, an array that outlives a call (a weight); ops read it as a leaf
    tape.py       the tape of op records, and the backward pass over it
    op.py         @op: a forward with its VJP beside it, and REGISTRY of every op
    gradients.py  value_and_gradients(f, *arrays), for tests and plain functions

Each op's VJP is a few lines beside its forward (`glassnet.ops`), as a layer's backward sits
beside its forward; the tape only strings them together in reverse (Chainer's FunctionNode
and HIPS autograd are the models). A `call()`-style layer runs its `call` on a tape
(`glassnet.layers.traced`), and a built-in layer called there is one record whose VJP is
the layer's own backward.
"""

from glassnet.autodiff.gradients import value_and_gradients
from glassnet.autodiff.op import REGISTRY, Op, install_symbolic_handler, op
from glassnet.autodiff.tape import (
    Record,
    Tape,
    added_loss_scale,
    current,
    fit_gradient,
    pause,
    trace,
)
from glassnet.autodiff.tensor import (
    Operators,
    Tensor,
    TensorOperators,
    install_operators,
    last_escape,
    suggest_op,
)
from glassnet.autodiff.variable import Variable

__all__ = ["REGISTRY", "Op", "Operators", "Record", "Tape", "Tensor", "TensorOperators",
           "Variable", "added_loss_scale", "current", "fit_gradient", "install_operators",
           "install_symbolic_handler", "last_escape", "op", "pause", "suggest_op", "trace",
           "value_and_gradients"]
