"""Layer configs of Keras 3.15 and of glassnet, translated both ways, one layer at a time.

Every glassnet layer that Keras has takes the same class name and, for the options both
have, the same config keys; what differs is how values are written (see keras_values.py)
and the options one side lacks:

- Keras-only options (`activity_regularizer`, `groups`, `rms_scaling`, quantization,
  ...): reading accepts them only at the value glassnet computes the same way, and refuses
  any other value with an error naming the layer and the option; writing gives them that
  value.
- glassnet-only entries with no effect on the numbers (`input_shape`, `use_cudnn`) are
  left out when writing.

Every built-in glassnet layer is in SUPPORTED or, with the reason, in NOT_IN_KERAS (a test
checks it); ops on symbolic tensors (OpLayer) are Keras' op entries (keras_ops.py). Weights
go in Keras' order and layout (`variable_groups`); Normalization's `count`, which Keras keeps
for old files, is written as 0 and ignored on reading. A user-defined layer is refused both
ways with an error that says to save the model as a .glassnet file.

A layer spec in Keras' form is {"module": "keras.layers", "class_name", "config",
"registered_name": None, "build_config": {"input_shape"}}; in glassnet's form
{"class_name", "config"} (what `glassnet.registry.deserialize` builds). Nothing is built
here: `layer_from_keras` returns the glassnet spec, `layer_to_keras` reads a built layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet import registry
from glassnet.saving.keras_values import (
    KerasConfigError,
    KerasExportError,
    Unused,
    activation_from_keras,
    activation_to_keras,
    check_object,
    constraint_from_keras,
    constraint_to_keras,
    dtype_from_keras,
    dtype_to_keras,
    initializer_from_keras,
    initializer_to_keras,
    keras_object,
    regularizer_from_keras,
    regularizer_to_keras,
)

_CONV_ONLY = {"groups": 1, "activity_regularizer": None}
_NO_ACTIVITY = {"activity_regularizer": None}
_LORA = {"lora_rank": None, "lora_alpha": Unused(None)}
# Keras class -> {Keras-only option: the value at which glassnet computes the same}
KERAS_ONLY: dict[str, dict[str, Any]] = {
    "InputLayer": {"sparse": False, "ragged": False, "optional": False},
    "Dense": {"quantization_config": None, **_LORA},
    "Conv1D": _CONV_ONLY,
    "Conv2D": _CONV_ONLY,
    "Conv3D": _CONV_ONLY,
    "Conv1DTranspose": _NO_ACTIVITY,
    "Conv2DTranspose": _NO_ACTIVITY,
    "DepthwiseConv2D": _NO_ACTIVITY,
    "SeparableConv2D": _NO_ACTIVITY,
    # synchronized: the statistics of all devices' batches; glassnet runs on one
    "BatchNormalization": {"synchronized": Unused(False), "renorm": False,
                           "renorm_clipping": None, "renorm_momentum": Unused(0.99)},
    "LayerNormalization": {"rms_scaling": False},
    "Embedding": {"activity_regularizer": None, "quantization_config": None, **_LORA},
    "SimpleRNN": _NO_ACTIVITY,
    "LSTM": _NO_ACTIVITY,
    "GRU": _NO_ACTIVITY,
}
_NOT_WRITTEN = {"lora_rank", "lora_alpha"}          # Keras writes them only when set
_GLASSNET_ONLY = {"input_shape", "use_cudnn"}       # no effect on the numbers; not written
# Keras classes whose constructor takes no `trainable` (nothing in them trains), and whose
# config holds the dtype's name rather than a DTypePolicy
_PLAIN_CONFIG = ("SpatialDropout1D", "SpatialDropout2D")
_ACTIVATION_KEYS = ("activation", "recurrent_activation")
_WRAPPED_KEYS = ("layer", "backward_layer")         # Bidirectional, TimeDistributed

# The layers both libraries have (glassnet's class names, which are Keras').
SUPPORTED = (
    "InputLayer", "Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout",
    "Flatten", "Reshape", "Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D",
    "AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "ZeroPadding2D", "UpSampling2D",
    "BatchNormalization", "LayerNormalization", "Embedding", "SimpleRNN", "LSTM", "GRU",
    "Bidirectional", "TimeDistributed", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Concatenate", "Dot",
    "Conv1DTranspose", "Conv2DTranspose", "Conv3D", "DepthwiseConv2D", "SeparableConv2D",
    "MaxPooling3D", "AveragePooling3D", "GlobalMaxPooling3D", "GlobalAveragePooling3D",
    "Cropping1D", "Cropping2D", "ZeroPadding1D", "UpSampling1D", "RepeatVector", "Permute",
    "Masking", "Identity", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "SpatialDropout1D", "SpatialDropout2D", "Rescaling", "CategoryEncoding", "Normalization",
)
RNN_LAYERS = ("SimpleRNN", "LSTM", "GRU")
# glassnet's built-in layer classes that are not layers of a Keras file, and why.
NOT_IN_KERAS = {
    "Sequential": "a model: written as the file's model (keras_models.py), not as a layer",
    "Functional": "a model: written as the file's model (keras_models.py), not as a layer",
    "Lambda": "its function is code: Keras writes its bytecode, which glassnet never loads "
              "or writes (no code runs from a file); save the model as .glassnet instead",
}
_GLASSNET_FILE = ("save the model as a .glassnet file instead (model.save('model.glassnet')), "
                  "which keeps a class registered with "
                  "glassnet.registry.register_serializable or passed to load_model's "
                  "custom_objects")


# ----- Keras -> glassnet --------------------------------------------------------------------
def layer_from_keras(spec, where: str) -> dict[str, Any]:
    """The glassnet spec {"class_name", "config"} of a Keras layer spec.

    Raises:
        KerasConfigError naming `where`, the layer and the option glassnet lacks.
    """
    class_name, config = check_object(spec, "layer", where)
    name = config.get("name")
    where = f"{where}: layer {name!r} ({class_name})"
    if class_name not in SUPPORTED:
        registered = spec.get("registered_name")
        if registered and registered != class_name:          # a user's class in Keras
            raise KerasConfigError(
                f"{where}: {registered!r} is a user-defined Keras class; glassnet never "
                f"imports code named in a file, and reads Keras' built-in layers only: write "
                f"the layer with glassnet's ops, and {_GLASSNET_FILE}")
        raise KerasConfigError(f"{where}: glassnet has no layer {class_name!r} (it reads "
                               f"{', '.join(SUPPORTED)}); a custom class is never imported")
    if class_name != "InputLayer" and spec.get("module") not in ("keras.layers", None):
        raise KerasConfigError(f"{where}: module {spec.get('module')!r} is not Keras' own "
                               f"(expected 'keras.layers')")
    converted = {}
    keras_only = KERAS_ONLY.get(class_name, {})
    for key, value in config.items():
        if key in keras_only:
            _check_keras_only(key, value, keras_only[key], where)
        elif key == "dtype":
            converted[key] = _input_dtype(value, where) if class_name == "InputLayer" else \
                dtype_from_keras(value, where)
        elif key in _ACTIVATION_KEYS:
            converted[key] = activation_from_keras(value, where, key)
        elif key == "activity_regularizer":
            _check_keras_only(key, value, None, where)
        elif key.endswith("_constraint"):
            converted[key] = constraint_from_keras(value, f"{where}: {key}")
        elif key.endswith("_initializer"):
            converted[key] = initializer_from_keras(value, f"{where}: {key}")
        elif key.endswith("_regularizer"):
            converted[key] = regularizer_from_keras(value, f"{where}: {key}")
        elif key in _WRAPPED_KEYS and class_name in ("Bidirectional", "TimeDistributed"):
            converted[key] = None if value is None else layer_from_keras(value, where)
        elif class_name == "Normalization" and key == "axis":
            converted[key] = _normalization_axis(value, spec.get("build_config"), where)
        else:
            converted[key] = value
    return {"class_name": class_name, "config": converted}


def _check_keras_only(key: str, value, expected, where: str) -> None:
    if isinstance(expected, Unused) or value == expected:
        return
    raise KerasConfigError(f"{where}: option {key}={value!r} is not supported by glassnet "
                           f"(only {key}={expected!r})")


def _normalization_axis(value, build_config, where: str) -> int:
    """Keras writes Normalization's axis as a list ([-1]); glassnet's takes the last axis,
    which the layer's input shape (its build_config) may also name by number."""
    axes = value if isinstance(value, list) else [value]
    shape = build_config.get("input_shape") if isinstance(build_config, dict) else None
    last = [len(shape) - 1] if isinstance(shape, list) else [-1]
    if axes not in ([-1], last):
        raise KerasConfigError(f"{where}: option axis={value!r} is not supported by glassnet "
                               f"(only the last axis, [-1])")
    return -1


def _input_dtype(name, where: str):
    """An Input's dtype: a float dtype stays; integer ids (for an Embedding) are fed as
    floats, which glassnet's Embedding reads as ids, so the layer gets glassnet's default."""
    if name in ("float32", "float64"):
        return name
    try:
        kind = np.dtype(name).kind
    except (TypeError, ValueError):
        kind = None
    if kind in ("i", "u", "b"):
        return None
    raise KerasConfigError(f"{where}: dtype {name!r} is not supported by glassnet")


# ----- glassnet -> Keras --------------------------------------------------------------------
def layer_to_keras(layer, where: str = "") -> dict[str, Any]:
    """The Keras spec of a glassnet layer, with a build_config when the layer is built.

    Raises:
        KerasExportError naming the layer: a class or an option Keras lacks.
    """
    class_name = type(layer).__name__
    where = f"{where}layer {layer.name!r} ({class_name})"
    if class_name not in SUPPORTED or registry.table("layer").get(class_name) is not type(layer):
        if not type(layer).__module__.startswith("glassnet."):
            raise KerasExportError(
                f"{where}: a user-defined layer class cannot go into a .keras file (Keras "
                f"would need a Keras class of that name to load it); {_GLASSNET_FILE}")
        reason = NOT_IN_KERAS.get(class_name, "")
        raise KerasExportError(f"{where}: Keras has no equivalent of this class"
                               f"{' (' + reason + ')' if reason else ''}; Keras files hold "
                               f"{', '.join(SUPPORTED)}")
    config: dict[str, Any] = {}
    for key, value in layer.get_config().items():
        if key in _GLASSNET_ONLY or (key == "trainable" and class_name in _PLAIN_CONFIG):
            continue
        if key == "dtype":
            config[key] = (value if class_name in ("InputLayer", *_PLAIN_CONFIG)
                           else dtype_to_keras(value))
        elif key in _ACTIVATION_KEYS:
            config[key] = activation_to_keras(value, where, key)
        elif key.endswith("_initializer"):
            config[key] = initializer_to_keras(value, f"{where}: {key}")
        elif key.endswith("_regularizer"):
            config[key] = regularizer_to_keras(value, f"{where}: {key}")
        elif key.endswith("_constraint"):
            config[key] = constraint_to_keras(value, f"{where}: {key}")
        elif key in _WRAPPED_KEYS and class_name in ("Bidirectional", "TimeDistributed"):
            config[key] = layer_to_keras(_wrapped(layer, key), f"{where}: ")
        else:
            config[key] = _plain(value)
    for key, value in KERAS_ONLY.get(class_name, {}).items():
        if key not in _NOT_WRITTEN:
            config.setdefault(key, value.written if isinstance(value, Unused) else value)
    if class_name == "Normalization":
        config.update(_normalization_config(layer))
    spec = keras_object("keras.layers", class_name, config)
    if layer.built and class_name != "InputLayer":
        spec["build_config"] = {"input_shape": _plain(layer.input_shape)}
    return spec


def _normalization_config(layer) -> dict[str, Any]:
    """Keras' axis list, and the statistics in the config when they were given as arguments
    (else they are weights, as after `adapt`)."""
    given = layer.statistics_in_config
    return {"axis": [layer.axis],
            "mean": layer.mean.value.tolist() if given else None,
            "variance": layer.variance.value.tolist() if given else None}


def _wrapped(layer, key: str):
    """The inner layer object a wrapper's config entry describes."""
    if type(layer).__name__ == "TimeDistributed":
        return layer.layer
    return layer.forward_layer if key == "layer" else layer.backward_layer


def _plain(value):
    """Tuples as lists (JSON's form, and what Keras writes), recursively."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


# ----- the variables of a layer, in Keras' places -------------------------------------------
class KerasOnlyVariable:
    """A scalar variable Keras keeps and glassnet does not use (Normalization's `count`, kept
    by Keras for old files): written as 0, and whatever a file holds there is ignored."""

    shape = ()

    def __init__(self, name: str):
        self.name = name
        self.value = np.zeros((), dtype=np.int64)


def variable_groups(layer, path: str) -> list[tuple[str, str, list]]:
    """[(h5 path, name, [Parameter, ...]), ...]: where Keras keeps each of the layer's
    variables. An RNN keeps its weights in its cell ("<path>/cell"); Bidirectional in its
    two RNNs ("<path>/forward_layer", "<path>/backward_layer"); TimeDistributed in the
    layer it wraps ("<path>/layer"). Parameters are in Keras' variable order."""
    class_name = type(layer).__name__
    if class_name in RNN_LAYERS:
        cell = f"{class_name.lower() if class_name != 'SimpleRNN' else 'simple_rnn'}_cell"
        return [(path, layer.name, []), (f"{path}/cell", cell, layer.parameters())]
    if class_name == "Bidirectional":
        return ([(path, layer.name, [])]
                + variable_groups(layer.forward_layer, f"{path}/forward_layer")
                + variable_groups(layer.backward_layer, f"{path}/backward_layer"))
    if class_name == "TimeDistributed":
        return [(path, layer.name, [])] + variable_groups(layer.layer, f"{path}/layer")
    if class_name == "Normalization":
        if layer.statistics_in_config:
            return [(path, layer.name, [])]      # in the config (see _normalization_config)
        return [(path, layer.name, [layer.mean, layer.variance, KerasOnlyVariable("count")])]
    return [(path, layer.name, layer.parameters())]


__all__ = ["KERAS_ONLY", "KerasOnlyVariable", "NOT_IN_KERAS", "RNN_LAYERS", "SUPPORTED",
           "layer_from_keras", "layer_to_keras", "variable_groups"]
