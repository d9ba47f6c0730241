"""`clone_model`: the same architecture with new layers (and so new weights), as Keras 3.

    Sequential   each layer cloned in order, behind a copy of its Input (or of
                 `input_tensors`)
    Functional   the graph replayed on new Inputs (or `input_tensors`): every call of a
                 layer becomes a call of its clone, so a shared layer stays shared
    a subclass   `cls.from_config(model.get_config())`

A layer is cloned by `clone_function(layer)`, by default `cls.from_config(layer.get_config())`:
fresh weights from the layer's initializers. A compiled model's clone is compiled the same
way (a new optimizer, no state). `recursive=True` clones the models inside the model layer by
layer with the same `clone_function`; otherwise a nested model is one layer to clone.
"""

from __future__ import annotations

from glassnet.layers.core import InputLayer, SymbolicTensor
from glassnet.models.functional import Functional
from glassnet.models.sequential import Sequential


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive: bool = False, **kwargs):
    """A new model with `model`'s architecture and newly initialised weights.

    Args:
        model: a Sequential, Functional or subclassed Model.
        input_tensors: tensors from `Input(...)` to build the clone on (one for a
            Sequential; as many as the model has inputs for a Functional).
        clone_function: `layer -> new layer` (e.g. to keep some layers shared, return them
            as they are); default: `layer.__class__.from_config(layer.get_config())`.
        call_function: `(layer, *args) -> tensor`, to replace each call while the
            functional graph is replayed (e.g. to insert a layer after some).
        recursive: clone nested Sequential and Functional models layer by layer.

    Example:
        >>> twin = clone_model(model)
        >>> twin.get_config() == model.get_config()      # same layers and names
        True
    """
    cache = kwargs.pop("cache", None)
    if kwargs:
        raise ValueError(f"Unexpected keyword argument(s): {tuple(kwargs)}")
    if clone_function is not None and not callable(clone_function):
        raise ValueError(f"Expected `clone_function` argument to be a callable. Received: "
                         f"clone_function={clone_function!r}")
    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError("`call_function` argument is not supported with Sequential "
                             "models: their layers are listed, not called; use it with "
                             "Functional models")
        clone = _cached(clone_function, call_function, recursive, cache)
        return _sequential(model, clone, input_tensors)
    if isinstance(model, Functional):
        clone = _cached(clone_function, call_function, recursive, cache)
        return _functional(model, clone, input_tensors, call_function)
    if clone_function is not None or input_tensors is not None:
        raise ValueError(f"Arguments `clone_function` and `input_tensors` are only supported "
                         f"for Sequential models or Functional models. Received model of "
                         f"type '{type(model).__name__}'")
    if call_function is not None:
        raise ValueError(f"Argument `call_function` is only supported for Functional models. "
                         f"Received model of type '{type(model).__name__}'")
    return type(model).from_config(model.get_config())


def _cached(clone_function, call_function, recursive: bool, cache):
    """`clone_function` that clones each layer once (a shared layer stays shared) and, if
    `recursive`, nested models layer by layer."""
    cache = {} if cache is None else cache

    def clone(layer):
        if id(layer) not in cache:
            if recursive and isinstance(layer, Sequential):
                cache[id(layer)] = clone_model(layer, clone_function=clone_function,
                                               recursive=True, cache=cache)
            elif recursive and isinstance(layer, Functional):
                cache[id(layer)] = clone_model(layer, clone_function=clone_function,
                                               call_function=call_function,
                                               recursive=True, cache=cache)
            elif clone_function is None:
                cache[id(layer)] = type(layer).from_config(layer.get_config())
            else:
                cache[id(layer)] = clone_function(layer)
        return cache[id(layer)]

    return clone


def _sequential(model: Sequential, clone, input_tensors) -> Sequential:
    layers = [clone(layer) for layer in model.layers]
    first = model._layers[0] if model._layers else None
    if input_tensors is not None:
        if isinstance(input_tensors, (list, tuple)):
            if len(input_tensors) != 1:
                raise ValueError("Argument `input_tensors` must contain a single tensor.")
            input_tensors = input_tensors[0]
        _check_input_tensor(input_tensors, "input_tensors")
        if not isinstance(input_tensors.layer, InputLayer):   # a layer's output: its shape
            input_tensors = InputLayer(batch_shape=input_tensors.shape,
                                       dtype=input_tensors.dtype).output
        layers = [input_tensors] + layers
    elif isinstance(first, InputLayer):
        layers = [InputLayer.from_config(first.get_config())] + layers
    clone_ = Sequential(layers, name=model.name, trainable=model.trainable,
                        dtype=model.declared_dtype)
    if not clone_.built and model.built and model.input_shape is not None:
        clone_.maybe_build(model.input_shape)
    return _compiled_like(model, clone_)


def _functional(model: Functional, clone, input_tensors, call_function) -> Functional:
    if input_tensors is None:
        inputs = [InputLayer.from_config(t.layer.get_config()).output for t in model.inputs]
    else:
        inputs = list(input_tensors) if isinstance(input_tensors, (list, tuple)) \
            else [input_tensors]
        if len(inputs) != len(model.inputs):
            raise ValueError(f"`input_tensors` must have the same structure as model.input: "
                             f"{len(model.inputs)} tensor(s), got {len(inputs)}")
        for i, tensor in enumerate(inputs):
            _check_input_tensor(tensor, f"input_tensors[{i}]")
    tensors = {id(old): new for old, new in zip(model.inputs, inputs)}
    for node in model._nodes:
        args = [tensors[id(t)] for t in node.inputs]
        arg = args if node.list_input else args[0]
        layer = clone(node.layer)
        tensors[id(node)] = call_function(layer, arg) if call_function else layer(arg)
    outputs = [tensors[id(t)] for t in model.outputs]
    new = Functional(inputs if len(inputs) > 1 else inputs[0], outputs[0], name=model.name,
                     trainable=model.trainable)
    return _compiled_like(model, new)


def _check_input_tensor(tensor, argument: str) -> None:
    if not isinstance(tensor, SymbolicTensor):
        raise ValueError(f"Argument `{argument}` must be a symbolic tensor (from Input). "
                         f"Received invalid value: {argument}={tensor!r}")


def _compiled_like(model, clone):
    if model.compiled:
        clone.compile_from_config(model.get_compile_config())
    return clone


__all__ = ["clone_model"]
