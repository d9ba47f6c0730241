"""Activation functions: y = f(x) elementwise (softmax: along an axis), and their derivatives.

Each activation comes twice, with Keras 3 names and signatures:

- a plain function, `relu(x)`, `softmax(x, axis=-1)`, ... -- pure, nothing cached;
- a class, `ReLU()`, `Softmax(axis=-1)`, ... that a layer holds. Its `forward(x)` keeps what
  `backward(dy)` needs (usually just a reference to the output y), and `backward` returns
  dL/dx = f'(x) * dL/dy. Where the derivative can be written through the output it is
  (sigmoid: y(1 - y), tanh: 1 - y^2, relu: [y > 0]), so nothing else is stored.

    >>> import numpy as np
    >>> from glassnet import activations
    >>> act = activations.get("sigmoid")       # always a new object: each layer owns its cache
    >>> y = act.forward(np.array([-1.0, 0.0, 2.0]))
    >>> act.backward(np.ones(3))               # y * (1 - y)
    array([0.19661193, 0.25      , 0.10499359])

Numerics: outputs keep the input's float dtype (float32 in, float32 out: constants are Python
floats, which NumPy 2 does not let upcast an array). Nothing overflows for finite inputs:
exponentials only ever see non-positive arguments (exp(-|x|), x - max(x)), and where such an
exp underflows to 0 -- the correct rounded answer -- the underflow flag is silenced locally,
so the functions also run under `np.errstate(all="raise")`.

Layout: `functions.py` holds the plain functions (and erf), `classes.py` the classes with
their derivatives, `extended.py` both for the rest of Keras' list (mish, glu, sparsemax,
...), `traced.py` the wrapper that gives any other function of glassnet.ops its derivative
from the tape (`Dense(3, activation=ops.relu6)`), this file the look-up by name
and (de)serialisation.
"""

from __future__ import annotations

from typing import Any

from glassnet import autodiff, registry
from glassnet.activations.classes import (
    ELU,
    GELU,
    SELU,
    ActivationFunction,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from glassnet.activations.extended import (
    CELU,
    EXTENDED_CLASSES,
    EXTENDED_FUNCTIONS,
    GLU,
    HardShrink,
    HardSiLU,
    HardTanh,
    Mish,
    SoftShrink,
    Sparsemax,
    SparsePlus,
    SparseSigmoid,
    Squareplus,
    TanhShrink,
    Threshold,
    celu,
    glu,
    hard_shrink,
    hard_silu,
    hard_swish,
    hard_tanh,
    mish,
    soft_shrink,
    sparse_plus,
    sparse_sigmoid,
    sparsemax,
    squareplus,
    tanh_shrink,
    threshold,
)
from glassnet.activations.functions import (
    elu,
    erf,
    erfc,
    gelu,
    leaky_relu,
    linear,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    swish,
    tanh,
)
from glassnet.activations.traced import (
    OP_ACTIVATION_CLASSES,
    OP_ACTIVATIONS,
    OpActivation,
    TracedActivation,
)

__all__ = [
    "ELU", "GELU", "SELU", "ActivationFunction", "LeakyReLU", "Linear", "OpActivation", "ReLU",
    "SiLU", "Sigmoid", "Softmax", "Softplus", "Tanh", "TracedActivation", "deserialize", "elu",
    "erf", "erfc", "gelu", "get", "leaky_relu", "linear", "relu", "selu", "serialize",
    "sigmoid", "silu", "softmax", "softplus", "swish", "tanh",
    "CELU", "GLU", "HardShrink", "HardSiLU", "HardTanh", "Mish", "SoftShrink", "SparsePlus",
    "SparseSigmoid", "Sparsemax", "Squareplus", "TanhShrink", "Threshold", "celu", "glu",
    "hard_shrink", "hard_silu", "hard_swish", "hard_tanh", "mish", "soft_shrink",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink", "threshold",
]


# ----- look-up and serialisation ---------------------------------------------------------
_BUILT_IN = {cls.name: cls for cls in (Linear, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, GELU,
                                       Softplus, Softmax, SiLU, *EXTENDED_CLASSES,
                                       *OP_ACTIVATION_CLASSES)}
# The plain functions are accepted too (`Dense(3, activation=activations.relu)`), as the
# class with default arguments: their derivatives are known.
_FUNCTIONS = {linear: Linear, sigmoid: Sigmoid, tanh: Tanh, relu: ReLU, leaky_relu: LeakyReLU,
              elu: ELU, selu: SELU, gelu: GELU, softplus: Softplus, softmax: Softmax,
              silu: SiLU, **EXTENDED_FUNCTIONS}



def get(identifier) -> ActivationFunction:
    """A new ActivationFunction from a name, a config dict, an instance (copied) or None.

    Always a fresh object, because each layer caches its own forward values on it.

        >>> get("elu"), get(None), get({"class_name": "LeakyReLU",
        ...                             "config": {"negative_slope": 0.1}})
        (ELU(alpha=1.0), Linear(), LeakyReLU(negative_slope=0.1))
    """
    if identifier is None:
        return Linear()
    if isinstance(identifier, ActivationFunction):
        return type(identifier).from_config(identifier.get_config())
    if isinstance(identifier, type) and issubclass(identifier, ActivationFunction):
        return identifier()
    if isinstance(identifier, (str, dict)):
        activation = registry.deserialize("activation", identifier)
        if not isinstance(activation, ActivationFunction):
            raise TypeError(f"activation {identifier!r}: registered entry is not an "
                            f"ActivationFunction, got {activation!r}")
        return activation
    if isinstance(identifier, TracedActivation):
        return TracedActivation(identifier.function)
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    for cls in OP_ACTIVATION_CLASSES:       # activations.relu6 (the op): saved by its name
        if identifier is autodiff.REGISTRY.get(cls.op_name):
            return cls()
    if callable(identifier):               # any function of glassnet.ops, as Keras takes
        return TracedActivation(identifier)
    raise TypeError(f"activation: expected None, a name, a dict or an ActivationFunction, "
                    f"got {type(identifier).__name__} {identifier!r}")


def serialize(activation) -> str | dict[str, Any]:
    """The Keras name ("relu") for a built-in with default arguments, else a config dict."""
    activation = activation if isinstance(activation, ActivationFunction) else get(activation)
    cls = type(activation)
    if _BUILT_IN.get(activation.name) is cls and activation.get_config() == _defaults(cls):
        return activation.name
    return registry.serialize(activation)


def _defaults(cls) -> dict[str, Any] | None:
    """The config of `cls()`, or None when its arguments are required (threshold)."""
    try:
        return cls().get_config()
    except TypeError:
        return None


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> ActivationFunction:
    """The inverse of `serialize` (custom classes may be passed in `custom_objects`)."""
    return registry.deserialize("activation", config, custom_objects)


def __getattr__(name: str):
    """`activations.relu6`, `hard_sigmoid`, ...: the glassnet.ops op of the name (ops import
    this package, so the op is looked up when first used)."""
    if name in OP_ACTIVATIONS:
        return autodiff.REGISTRY[OP_ACTIVATIONS[name]]
    raise AttributeError(f"module 'glassnet.activations' has no attribute {name!r}")
