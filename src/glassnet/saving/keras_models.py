"""Sequential and Functional models in Keras 3's config form, both ways, and their layer order.

Keras 3.15 writes a Sequential as its list of layers (an InputLayer first), and a Functional
as its layers, each with the calls that made its outputs ("inbound_nodes"), every call a
{"args": [tensor or [tensors]], "kwargs": {}} where a tensor names the layer call that made it:
{"class_name": "__keras_tensor__", "config": {"shape", "dtype",
"keras_history": [layer name, node index, tensor index]}}.

An op on Keras tensors (`x + y`, `ops.softmax(h)`) is an entry of "layers" too, with the
op's class and its constant arguments (keras_ops.py); glassnet reads it as an OpLayer. Ops
hold no weights and are not among Keras' `model.layers`.

The order of `model.layers` matters beyond the config: the weights file names each layer's
group after its class, numbered in that order ("layers/dense", "layers/dense_1"), so two
layers of one class trade weights if the order is off. Reading takes the order from the
file's config (Keras writes `model.layers` in that order); writing computes it as Keras'
`map_graph` will when it loads the file (`Functional.layers`): layers by decreasing depth from
the output, ties broken by the order a depth-first walk from the outputs first meets them.

Masks: glassnet carries a padding mask (Embedding's `mask_zero`, Masking) through
Sequential and Functional models as Keras does: every layer that supports masking passes it
on, the RNNs, GlobalAveragePooling1D and BatchNormalization use it. One Keras layer uses a
mask that glassnet's does not: Softmax (it adds a large negative number where the mask is
False); `check_masks` refuses a model where a mask reaches one, instead of computing
something else.
"""

from __future__ import annotations

from typing import Any

from glassnet import registry
from glassnet.naming import snake_case
from glassnet.saving.keras_layers import (
    layer_from_keras,
    layer_to_keras,
    variable_groups,
)
from glassnet.saving.keras_ops import is_keras_op, op_from_keras, op_to_keras
from glassnet.saving.keras_values import (
    KerasConfigError,
    KerasExportError,
    check_object,
    dtype_from_keras,
    dtype_to_keras,
    keras_object,
)

MODELS = ("Sequential", "Functional")
_KERAS_TENSOR = "__keras_tensor__"
# Errors a glassnet constructor or from_config raises on values it refuses.
_BUILD_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError,
                 ArithmeticError, RecursionError)


# ----- Keras -> glassnet --------------------------------------------------------------------
def model_from_keras(spec, where: str):
    """(model, layers in Keras' order) for a Keras model spec; the model is built.

    Raises:
        KerasConfigError naming `where`: a class, option or connection glassnet lacks.
    """
    class_name, config = check_object(spec, "model", where)
    if class_name not in MODELS:
        raise KerasConfigError(f"{where}: model class {class_name!r} is not supported: "
                               f"glassnet reads Sequential and Functional models (a subclassed "
                               f"model needs its Python code, which is never imported)")
    for key in ("name", "trainable"):
        config.setdefault(key, None)
    if not isinstance(config.get("layers"), list) or not config["layers"]:
        raise KerasConfigError(f"{where}: {class_name} config: 'layers' must be a non-empty "
                               f"list")
    where = f"{where}: {class_name} {config['name']!r}"
    if class_name == "Sequential":
        return _sequential_from_keras(config, where)
    return _functional_from_keras(config, where)


def _build(what: str, where: str, make):
    try:
        return make()
    except KerasConfigError:
        raise
    except _BUILD_ERRORS as error:
        raise KerasConfigError(f"{where}: cannot build {what}: {error}") from error
    except MemoryError as error:
        raise KerasConfigError(f"{where}: {what} does not fit in memory: {error}") from error


def _layer(spec, where: str):
    """The glassnet layer of a Keras layer spec (unbuilt)."""
    glassnet_spec = layer_from_keras(spec, where)
    name = glassnet_spec["config"].get("name")
    return _build(f"layer {name!r} ({glassnet_spec['class_name']})", where,
                  lambda: registry.deserialize("layer", glassnet_spec))


def _model_dtype(config, where: str) -> str | None:
    dtype = config.get("dtype")
    return None if dtype is None else dtype_from_keras(dtype, where)


def _sequential_from_keras(config, where: str):
    layers = [_layer(spec, where) for spec in config["layers"]]
    sequential = registry.lookup("layer", "Sequential")
    shape = config.get("build_input_shape")

    def make():
        model = sequential(layers=layers, name=config["name"], dtype=_model_dtype(config, where),
                           trainable=config["trainable"] is not False)
        if not model.built and isinstance(shape, list):
            model.maybe_build(tuple(shape))
        return model

    model = _build("the model", where, make)
    check_masks(_sequential_calls(model.layers), where)
    return model, model.layers


def _functional_from_keras(config, where: str):
    layers, names = [], []
    for spec in config["layers"]:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise KerasConfigError(f"{where}: each layer needs a 'name', got "
                                   f"{str(spec)[:80]}")
        if is_keras_op(spec):                    # `x + y` on Keras tensors: keras_ops.py
            glassnet_spec, references = op_from_keras(spec, where, _tensor_reference)
            _build(f"op {spec['name']!r}", where,
                   lambda spec=glassnet_spec: registry.deserialize("layer", spec))
            layers.append({**glassnet_spec, "name": spec["name"],
                           "inbound_nodes": [references] if references else []})
            names.append(spec["name"])
            continue
        glassnet_spec = layer_from_keras(spec, where)
        if glassnet_spec["config"].get("name") != spec["name"]:
            raise KerasConfigError(f"{where}: layer {spec['name']!r} has the name "
                                   f"{glassnet_spec['config'].get('name')!r} in its config")
        _build(f"layer {spec['name']!r} ({glassnet_spec['class_name']})", where,
               lambda spec=glassnet_spec: registry.deserialize("layer", spec))  # its own errors
        nodes = spec.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise KerasConfigError(f"{where}: layer {spec['name']!r}: 'inbound_nodes' must be "
                                   f"a list")
        layers.append({**glassnet_spec, "name": spec["name"],
                       "inbound_nodes": [_node(node, spec["name"], where) for node in nodes]})
        names.append(spec["name"])
    glassnet_config = {"name": config["name"], "trainable": config["trainable"] is not False,
                       "layers": layers,
                       "input_layers": _references(config.get("input_layers"), where),
                       "output_layers": _references(config.get("output_layers"), where),
                       "dtype": _model_dtype(config, where)}
    functional = registry.lookup("layer", "Functional")
    model = _build("the model", where, lambda: functional.from_config(glassnet_config))
    by_name = {layer.name: layer for layer in model.layers}
    by_name.update({tensor.layer.name: tensor.layer for tensor in model.inputs})
    ordered = [by_name[name] for name in names if name in by_name]
    if len(ordered) != len(names):
        unused = sorted(set(names) - set(by_name))
        raise KerasConfigError(f"{where}: layers {unused} are not connected to the outputs")
    check_masks(graph_calls(model), where)
    return model, ordered


def _node(node, layer: str, where: str) -> list[list]:
    """One call {"args", "kwargs"} as glassnet's list of [layer, node index, 0] references."""
    where = f"{where}: layer {layer!r}: inbound node"
    if not isinstance(node, dict) or not isinstance(node.get("args"), list):
        raise KerasConfigError(f"{where}: expected {{'args': [...], 'kwargs': {{...}}}} (the "
                               f"Keras 3 form), got {str(node)[:80]}")
    kwargs = node.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise KerasConfigError(f"{where}: 'kwargs' must be an object")
    for key, value in kwargs.items():
        # A recorded `training` has no effect: Keras' fit and predict pass their own.
        if key == "training" and value in (None, True, False):
            continue
        if key != "mask" or value is not None:
            raise KerasConfigError(f"{where}: call argument {key}={str(value)[:60]} is not "
                                   f"supported by glassnet (a layer call takes its input "
                                   f"alone, and the mask its input carries)")
    if len(node["args"]) != 1:
        raise KerasConfigError(f"{where}: a call with {len(node['args'])} positional "
                               f"arguments; glassnet layers take one input (or one list)")
    (inputs,) = node["args"]
    tensors = inputs if isinstance(inputs, list) else [inputs]
    return [_tensor_reference(tensor, where) for tensor in tensors]


def _tensor_reference(tensor, where: str) -> list:
    if not isinstance(tensor, dict) or tensor.get("class_name") != _KERAS_TENSOR:
        raise KerasConfigError(f"{where}: expected a Keras tensor, got {str(tensor)[:80]}")
    history = (tensor.get("config") or {}).get("keras_history")
    return _reference(history, where)


def _reference(ref, where: str) -> list:
    if (not isinstance(ref, list) or len(ref) != 3 or not isinstance(ref[0], str)
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ref[1:])):
        raise KerasConfigError(f"{where}: expected [layer name, node index, tensor index], got "
                               f"{str(ref)[:80]}")
    return list(ref)


def _references(refs, where: str) -> list[list] | dict[str, list]:
    """input_layers / output_layers: one reference (Keras' form for one), a list of them, or
    an object of them by name (dict inputs or outputs)."""
    if isinstance(refs, dict) and refs and all(isinstance(k, str) for k in refs):
        return {key: _reference(ref, where) for key, ref in refs.items()}
    if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
        return [_reference(refs, where)]
    if not isinstance(refs, list) or not refs:
        raise KerasConfigError(f"{where}: input_layers and output_layers must name tensors")
    return [_reference(ref, where) for ref in refs]


# ----- glassnet -> Keras --------------------------------------------------------------------
def model_to_keras(model) -> tuple[dict[str, Any], list]:
    """(Keras spec of the model, without compile_config; its layers in Keras' order).

    Raises:
        KerasExportError: the model, a layer or an option has no Keras equivalent.
    """
    class_name = type(model).__name__
    if class_name not in MODELS or registry.table("layer").get(class_name) is not type(model):
        raise KerasExportError(f"model {model.name!r} ({class_name}): only Sequential and "
                               f"Functional models can be written as Keras files")
    if not model.built:
        raise KerasExportError(f"model {model.name!r} is not built (no input shape, no "
                               f"weights): call it on data or build it before saving")
    for layer in model.layers:
        if type(layer).__name__ in MODELS:
            raise KerasExportError(f"model {model.name!r}: nested model {layer.name!r} is not "
                                   f"supported in Keras files written by glassnet")
    if class_name == "Sequential":
        return _sequential_to_keras(model)
    return _functional_to_keras(model)


def _sequential_to_keras(model):
    check_masks(_sequential_calls(model.layers), f"model {model.name!r}", KerasExportError)
    shape = list(model.input_shape)
    names = {layer.name for layer in model.layers}
    input_name = next(n for n in ("input_layer", *(f"input_layer_{i}" for i in range(1, 99)))
                      if n not in names)
    input_spec = keras_object("keras.layers", "InputLayer",
                              {"batch_shape": shape, "dtype": model.dtype, "sparse": False,
                               "ragged": False, "name": input_name, "optional": False})
    config = {"name": model.name, "trainable": model.trainable,
              "dtype": dtype_to_keras(model.dtype),
              "layers": [input_spec] + [layer_to_keras(layer) for layer in model.layers],
              "build_input_shape": shape}
    spec = keras_object("keras", "Sequential", config)
    spec["build_config"] = {"input_shape": shape}
    return spec, model.layers


def _functional_to_keras(model):
    where = f"model {model.name!r}"
    check_masks(graph_calls(model), where, KerasExportError)
    tensors = _sorted_tensors(model.outputs)
    layers = model.layers                   # Keras' order, InputLayers first
    node_of: dict[int, list] = {}            # id(tensor) -> [layer name, node index, 0]
    calls: dict[int, list] = {id(layer): [] for layer in layers}
    op_specs: dict[int, dict] = {}           # id(OpLayer) -> its Keras spec
    for tensor in tensors:
        calls_of_layer = calls[id(tensor.layer)]
        node_of[id(tensor)] = [tensor.layer.name, len(calls_of_layer) if tensor.inputs else 0, 0]
        if tensor.inputs:
            args = [_keras_tensor(t, node_of[id(t)]) for t in tensor.inputs]
            if _is_op(tensor.layer):
                op_specs[id(tensor.layer)], node = op_to_keras(tensor.layer, args)
                calls_of_layer.append(node)
            else:
                calls_of_layer.append({"args": [args if tensor.list_input else args[0]],
                                       "kwargs": {}})
    specs = [{**(op_specs[id(layer)] if _is_op(layer) else layer_to_keras(layer)),
              "name": layer.name, "inbound_nodes": calls[id(layer)]} for layer in layers]
    inputs = [node_of[id(t)] for t in model.inputs]
    outputs = [node_of[id(t)] for t in model.outputs]
    config = {"name": model.name, "trainable": model.trainable, "layers": specs,
              "input_layers": (dict(zip(model.input_names, inputs)) if model.inputs_by_name
                               else inputs[0] if len(inputs) == 1 else inputs),
              "output_layers": (dict(zip(model.output_names, outputs)) if model.outputs_by_name
                                else outputs[0] if len(outputs) == 1 else outputs)}
    spec = keras_object("keras.src.models.functional", "Functional", config, "Functional")
    spec["build_config"] = {"input_shape": None}
    return spec, layers


def _is_op(layer) -> bool:
    return type(layer) is registry.table("layer").get("OpLayer")


def _keras_tensor(tensor, reference: list) -> dict[str, Any]:
    return {"class_name": _KERAS_TENSOR,
            "config": {"shape": list(tensor.shape), "dtype": tensor.dtype,
                       "keras_history": reference}}


# ----- Keras' tensor order ------------------------------------------------------------------
def _sorted_tensors(outputs) -> list:
    """Every tensor the outputs depend on (the Input tensors included), each after the ones
    it reads: the order of Keras' `_build_map` (a depth-first walk from the outputs)."""
    finished: set[int] = set()
    order = []
    stack = [(tensor, False) for tensor in reversed(list(outputs))]
    while stack:                        # an explicit stack: the same order as the recursion
        tensor, expanded = stack.pop()
        if expanded:
            finished.add(id(tensor))
            order.append(tensor)
            continue
        if id(tensor) in finished:
            continue
        stack.append((tensor, True))
        stack.extend((t, False) for t in reversed(tensor.inputs))
    return order


# ----- where the weights go -----------------------------------------------------------------
def model_variable_groups(model, layers) -> list[tuple[str, str, list]]:
    """[(h5 path, name, [Parameter, ...]), ...] for the model and each of `layers` (in
    Keras' order): "layers/<class in snake_case>", numbered _1, _2 ... per name."""
    groups = [("", model.name, [])]
    used: dict[str, int] = {}
    for layer in layers:
        if _is_op(layer):                        # Keras' ops are not layers: no weights
            continue
        key = snake_case(type(layer).__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        groups += variable_groups(layer, f"layers/{key}")
    return groups


# ----- masks --------------------------------------------------------------------------------
def _sequential_calls(layers) -> list[tuple[Any, list[int]]]:
    """A Sequential as (layer, [indices of the calls it reads])."""
    return [(layer, [i - 1] if i else []) for i, layer in enumerate(layers)]


def graph_calls(model) -> list[tuple[Any, list[int]]]:
    """A Functional's calls as (layer, [indices of the calls it reads])."""
    tensors = _sorted_tensors(model.outputs)
    index = {id(t): i for i, t in enumerate(tensors)}
    return [(t.layer, [index[id(p)] for p in t.inputs]) for t in tensors]


def check_masks(calls, where: str, error: type[Exception] = KerasConfigError) -> None:
    """Follow the padding masks through the calls as both libraries carry them, and refuse
    a model where one reaches a Softmax layer (see the top), with `error`
    (KerasConfigError reading a file, KerasExportError writing one)."""
    masked: list[bool] = []
    for layer, sources in calls:
        class_name = type(layer).__name__
        incoming = any(masked[i] for i in sources)
        if incoming and class_name == "Softmax":
            raise error(f"{where}: layer {layer.name!r} (Softmax) receives a padding mask, "
                        f"which Keras' Softmax applies and glassnet's does not")
        producer = ((class_name == "Embedding" and layer.mask_zero)
                    or class_name == "Masking")
        masked.append(producer or (incoming and _passes_mask(layer)))


def _passes_mask(layer) -> bool:
    """Whether a masked input gives a masked output (the layer's own compute_mask)."""
    outputs = layer.compute_mask(None, True)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return any(mask is not None for mask in outputs)


__all__ = ["MODELS", "check_masks", "graph_calls", "model_from_keras",
           "model_to_keras", "model_variable_groups"]
