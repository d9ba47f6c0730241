"""The values inside Keras 3 layer configs and their glassnet forms, both ways.

Keras serializes an object as {"module", "class_name", "config", "registered_name"}; glassnet
as {"class_name", "config"} or a name. This module converts the kinds of values that appear
inside layer configs:

    dtype           {"class_name": "DTypePolicy", "config": {"name": "float32"}}  <->  "float32"
    activation      "relu" (a function name, default arguments)                  <->  "relu"
    initializer     {"module": "keras.initializers", "class_name": "GlorotUniform", ...}
    regularizer     {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": ..}}

Reading resolves every name in a fixed table or glassnet's registry, never by import: a
function or class named in a file (a lambda, a custom activation) is refused with a
`KerasConfigError` naming the layer and the value, as is anything glassnet would only
approximate (a mixed-precision policy, an activation it does not have).
"""

from __future__ import annotations

from typing import Any

from glassnet import activations, registry
from glassnet.saving.archive import ModelFileError


class KerasConfigError(ModelFileError):
    """A Keras file that glassnet cannot represent exactly (the message says what)."""


class KerasExportError(ValueError):
    """A glassnet model that a Keras file cannot represent exactly (the message says what)."""


# Keras activation functions glassnet computes the same way, by their Keras names (the
# function's defaults: leaky_relu 0.2, elu 1.0, gelu exact, softmax on the last axis).
# Keras' activation functions by name (all but threshold, whose arguments are required)
ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
               "softplus", "softmax", "silu", "swish", "relu6", "hard_sigmoid", "softsign",
               "log_softmax", "log_sigmoid", "exponential", "celu", "glu", "hard_shrink",
               "hard_silu", "hard_swish", "hard_tanh", "mish", "soft_shrink", "sparse_plus",
               "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink")
_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}
DTYPES = ("float32", "float64")
_POLICIES = ("DTypePolicy", "FloatDTypePolicy")
REGULARIZERS = ("L1", "L2", "L1L2", "OrthogonalRegularizer")
CONSTRAINTS = ("MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm")
# glassnet's class name -> Keras' where they differ.
_KERAS_INITIALIZER_NAMES = {"OrthogonalInitializer": "Orthogonal"}
_INITIALIZER_AXES = ("input_axes", "output_axes")   # Keras 3.15 variance-scaling extras


class Unused:
    """A Keras option with no effect on what glassnet computes here (reading accepts any
    value); `written` is the value saving writes."""

    def __init__(self, written):
        self.written = written


def keras_object(module: str, class_name: str, config: dict[str, Any],
                 registered_name: str | None = None) -> dict[str, Any]:
    """The dict Keras' serialize_keras_object writes for a built-in object."""
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": registered_name}


def check_object(spec, what: str, where: str) -> tuple[str, dict[str, Any]]:
    """(class_name, config) of a serialized Keras object, after checking its form."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise KerasConfigError(f"{where}: {what} must be a serialized Keras object with a "
                               f"'class_name', got {_short(spec)}")
    config = spec.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise KerasConfigError(f"{where}: {what} {spec['class_name']!r}: 'config' must be an "
                               f"object, got {_short(config)}")
    return spec["class_name"], config


def function_name(spec) -> str | None:
    """The name of a Keras built-in function serialized as {"module": "builtins",
    "class_name": "function", "config": "relu"} (Keras' form for `activation=relu` or
    `loss=losses.mean_squared_error`), else None. Only the name is used: it is looked up
    in glassnet's tables, and a module named in the file is never imported."""
    if (isinstance(spec, dict) and spec.get("class_name") == "function"
            and isinstance(spec.get("config"), str)
            and (spec.get("module") == "builtins" or str(spec.get("module")).startswith(
                "keras."))):
        return spec["config"]
    return None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ----- dtype --------------------------------------------------------------------------------
def dtype_from_keras(spec, where: str) -> str:
    """'float32' or 'float64' from a DTypePolicy dict (or a plain dtype name)."""
    name = spec
    if isinstance(spec, dict):
        class_name, config = check_object(spec, "dtype", where)
        if class_name not in _POLICIES:
            raise KerasConfigError(f"{where}: dtype policy {class_name!r} is not supported; "
                                   f"glassnet computes in one float dtype ({', '.join(DTYPES)})")
        name = config.get("name")
    if name not in DTYPES:
        raise KerasConfigError(f"{where}: dtype {name!r} is not supported; glassnet computes "
                               f"in {' or '.join(DTYPES)} (no mixed precision)")
    return name


def dtype_to_keras(name: str) -> dict[str, Any]:
    return keras_object("keras", "DTypePolicy", {"name": name})


# ----- activations --------------------------------------------------------------------------
def activation_from_keras(spec, where: str, key: str = "activation") -> str:
    """A Keras activation (its function's name, or that name serialized as a function);
    `key` is the config entry that holds it, for messages."""
    name = spec
    if isinstance(spec, dict):
        name = function_name(spec)
        if name is None:
            raise KerasConfigError(f"{where}: {key} {_short(spec)} is not a Keras built-in "
                                   f"function; glassnet never loads code from a file")
    if name is None:
        return "linear"
    if name not in ACTIVATIONS:
        raise KerasConfigError(f"{where}: {key} {name!r} is not supported by glassnet "
                               f"(supported: {', '.join(ACTIVATIONS)})")
    return _ALIASES.get(name, name)


def activation_to_keras(spec, where: str, key: str = "activation") -> str:
    """A glassnet activation config as Keras' function name (default arguments only)."""
    name = activations.serialize(activations.get(spec))
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise KerasExportError(f"{where}: {key} {_short(name)} has no Keras equivalent: "
                               f"Keras' activation= takes a function with its default "
                               f"arguments ({', '.join(ACTIVATIONS)}); use an activation "
                               f"layer (ReLU, LeakyReLU, ELU, Softmax) for other arguments")
    return name


# ----- initializers -------------------------------------------------------------------------
def initializer_from_keras(spec, where: str) -> dict[str, Any] | str:
    """A glassnet initializer config from a Keras one (the class must exist in glassnet)."""
    if isinstance(spec, str):
        _lookup("initializer", spec, where)
        return spec
    class_name, config = check_object(spec, "initializer", where)
    config = dict(config)
    for key in _INITIALIZER_AXES:       # glassnet writes them only when they are set
        if key in config and config[key] is None:
            del config[key]
    _lookup("initializer", class_name, where)
    return {"class_name": class_name, "config": config}


def initializer_to_keras(spec, where: str) -> dict[str, Any]:
    """A glassnet initializer config (a name or a dict) as Keras writes one."""
    if isinstance(spec, str):
        cls = _lookup("initializer", spec, where)
        class_name, config = cls.__name__, cls().get_config()
    else:
        class_name, config = spec["class_name"], dict(spec.get("config") or {})
    class_name = _KERAS_INITIALIZER_NAMES.get(class_name, class_name)
    return keras_object("keras.initializers", class_name, config)


def _lookup(kind: str, name: str, where: str):
    try:
        return registry.lookup(kind, name)
    except (ValueError, TypeError) as error:
        raise KerasConfigError(f"{where}: {error}") from error


# ----- regularizers and constraints: {"class_name", "config"} both ways ---------------------
def _object_from_keras(spec, kind: str, supported, where: str) -> dict[str, Any] | None:
    """A Keras regularizer or constraint spec as glassnet's {"class_name", "config"}."""
    if spec is None:
        return None
    class_name, config = check_object(spec, kind, where)
    if class_name not in supported:
        raise KerasConfigError(f"{where}: {kind} {class_name!r} is not supported by "
                               f"glassnet (supported: {', '.join(supported)})")
    return {"class_name": class_name, "config": dict(config)}


def _object_to_keras(spec, kind: str, supported, module: str,
                     where: str) -> dict[str, Any] | None:
    """glassnet's {"class_name", "config"} as Keras' serialized object of `module`."""
    if spec is None:
        return None
    class_name = spec["class_name"] if isinstance(spec, dict) else None
    if class_name not in supported:
        raise KerasExportError(f"{where}: {kind} {_short(spec)} has no Keras equivalent "
                               f"(Keras has {', '.join(supported)})")
    return keras_object(module, class_name, dict(spec.get("config") or {}))


def regularizer_from_keras(spec, where: str) -> dict[str, Any] | None:
    return _object_from_keras(spec, "regularizer", REGULARIZERS, where)


def regularizer_to_keras(spec, where: str) -> dict[str, Any] | None:
    return _object_to_keras(spec, "regularizer", REGULARIZERS, "keras.regularizers", where)


def constraint_from_keras(spec, where: str) -> dict[str, Any] | None:
    return _object_from_keras(spec, "constraint", CONSTRAINTS, where)


def constraint_to_keras(spec, where: str) -> dict[str, Any] | None:
    return _object_to_keras(spec, "constraint", CONSTRAINTS, "keras.constraints", where)


__all__ = ["ACTIVATIONS", "CONSTRAINTS", "DTYPES", "KerasConfigError", "KerasExportError",
           "REGULARIZERS",
           "Unused", "activation_from_keras", "activation_to_keras", "check_object",
           "constraint_from_keras", "constraint_to_keras",
           "dtype_from_keras", "function_name", "dtype_to_keras", "initializer_from_keras",
           "initializer_to_keras", "keras_object", "regularizer_from_keras",
           "regularizer_to_keras"]
