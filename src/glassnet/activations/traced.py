"""An activation given as any function of glassnet.ops: its derivative comes from the tape.

Keras takes any callable as `activation=` (`Dense(3, activation=ops.relu6)`, or a function of
one's own written with `keras.ops`). The built-in activations carry their derivative beside
their forward (classes.py); for any other callable, `forward` runs it on a tape and
`backward` is the vector-Jacobian product of the ops it called.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import autodiff, registry
from glassnet.activations.classes import ActivationFunction


class TracedActivation(ActivationFunction):
    """y = function(x), dL/dx from the tape of the ops `function` calls.

    Args:
        function: a callable of one array written with `glassnet.ops` (NumPy functions raise
            on the tape's tensors, with the name of the op to use instead).

    Not saved: the function is code (see `get_config`).
    """

    def __init__(self, function):
        if not callable(function):
            raise TypeError(f"activation: expected a callable, got {function!r}")
        self.function = function
        self.name = getattr(function, "__name__", type(function).__name__)

    def __call__(self, x):
        return np.asarray(self.function(x))

    def forward(self, x, training: bool = False):
        with autodiff.trace() as tape:
            leaf = tape.watch(x)
            output = self.function(leaf)
        if not isinstance(output, autodiff.Tensor):
            raise TypeError(f"activation {self.name!r}: returned {type(output).__name__}, "
                            f"not a tensor computed from its input with glassnet.ops")
        self._tape, self._x, self._y = tape, leaf, output     # kept for backward
        return output.value

    def backward(self, dy):
        self._x.grad = None
        self._tape.backward([(self._y, dy)])
        dx = self._x.grad
        return np.zeros_like(self._x.value) if dx is None else dx

    def forget(self) -> None:
        self._tape = self._x = self._y = None

    def get_config(self) -> dict[str, Any]:
        raise TypeError(f"activation {self.name!r}: a Python function cannot be saved "
                        f"(glassnet files hold no code); subclass "
                        f"glassnet.activations.ActivationFunction and register it instead")


# Keras activations by name whose op (with its VJP) glassnet.ops has: `activation="relu6"`.
# Keras name -> op name in autodiff.REGISTRY (looked up when used: glassnet.ops imports
# this package).
OP_ACTIVATIONS = {"relu6": "relu6", "hard_sigmoid": "hard_sigmoid", "softsign": "softsign",
                  "log_softmax": "log_softmax", "log_sigmoid": "log_sigmoid",
                  "exponential": "exp"}


class OpActivation(TracedActivation):
    """A Keras activation named by a string, computed by the glassnet.ops op of that name on
    the tape; saved by its name (it has no arguments)."""

    op_name = ""

    def __init__(self):
        super().__init__(autodiff.REGISTRY[self.op_name])
        self.name = type(self).name

    def get_config(self) -> dict[str, Any]:
        return {}


def _op_activation(keras_name: str, op_name: str) -> type:
    class_name = "".join(part.capitalize() for part in keras_name.split("_"))
    cls = type(class_name, (OpActivation,), {"name": keras_name, "op_name": op_name,
                                              "__module__": __name__,
                                              "__doc__": f"Keras' {keras_name!r}: the op "
                                                         f"glassnet.ops.{op_name}."})
    return registry.register("activation", keras_name)(cls)


OP_ACTIVATION_CLASSES = [_op_activation(name, op) for name, op in OP_ACTIVATIONS.items()]

__all__ = ["OP_ACTIVATION_CLASSES", "OpActivation", "TracedActivation"]
