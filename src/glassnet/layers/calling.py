"""What `layer(...)` does, by what it is called on.

    symbolic tensors (Input(...))  -> a node of a functional graph (`SymbolicTensor.call`)
    traced tensors (inside a call) -> the layer runs through `apply` on their arrays, and the
                                      call is ONE record on the tape, whose VJP is the
                                      layer's own `backpropagate(dy, call=k)`: a built-in
                                      layer keeps its fast backward, and a layer called
                                      twice back-propagates each call with its own state
    arrays                         -> build on first use, then `apply` (eager)

`training` not given inherits the enclosing call()'s (Keras' call context), else False;
`mask` not given is the one the traced input carries (Keras' `_keras_mask`). A second
positional tensor is an error for a layer whose call() does not take one: it used to be
read silently as `training`.
"""

from __future__ import annotations

import numpy as np

from glassnet import autodiff
from glassnet.autodiff import Record, Tensor, TensorOperators
from glassnet.layers import traced


def call_layer(layer, args: tuple, training, mask, kwargs: dict, eager):
    """`layer(*args, training=, mask=, **kwargs)`; `eager(x, training)` is the layer's own
    call on arrays (Layer's default, or the override of a layer with its own __call__)."""
    if not args:
        if "inputs" not in kwargs:
            raise TypeError(f"layer {layer.name!r}: called without inputs")
        args = (kwargs.pop("inputs"),)
    x, extra = args[0], args[1:]
    if extra:
        x, training = _positional(layer, x, extra, training)
    if _is_symbolic(x):
        return _symbolic(layer, x)
    if has_tensor(x):
        return record_call(layer, x, training, mask, kwargs)
    if training is None:
        training = traced.current_training() or False
    if mask is not None:
        kwargs["mask"] = mask
    return eager(x, bool(training), **kwargs)


def _positional(layer, x, extra: tuple, training):
    """The inputs and `training` from a call with several positional arguments."""
    takes = (traced.call_signature(type(layer))[2]
             if getattr(layer, "_call_style", False) else 1)
    if len(extra) + 1 <= takes:
        return traced.Positional((x, *extra)), training
    if len(extra) == 1 and isinstance(extra[0], (bool, np.bool_)) and training is None:
        return x, bool(extra[0])                 # layer(x, True): the old spelling of training
    what = "a tensor" if _is_array_like(extra[0]) else type(extra[0]).__name__
    raise TypeError(
        f"layer {layer.name!r} ({type(layer).__name__}) takes one input, but was called with "
        f"{1 + len(extra)} positional arguments (the second is {what}). Pass several inputs "
        f"as one list (e.g. Concatenate()([a, b])), and training= or mask= by keyword.")


def _is_array_like(value) -> bool:
    return isinstance(value, (np.ndarray, TensorOperators, list, tuple)) or \
        getattr(value, "_glassnet_symbolic", False)


def _is_symbolic(x) -> bool:
    if getattr(x, "_glassnet_symbolic", False):
        return True
    return isinstance(x, (list, tuple)) and any(getattr(t, "_glassnet_symbolic", False)
                                                for t in x)


def _symbolic(layer, x):
    if isinstance(x, (list, tuple)):
        first = next(t for t in x if getattr(t, "_glassnet_symbolic", False))
        return first.call(layer, list(x))
    return x.apply(layer)


def has_tensor(x) -> bool:
    if isinstance(x, TensorOperators):
        return True
    if isinstance(x, (list, tuple)):
        return any(has_tensor(item) for item in x)
    if isinstance(x, dict):
        return any(has_tensor(item) for item in x.values())
    return False


def input_shape(x):
    """The build shape of an input (None for the batch axis); a list for several inputs."""
    if isinstance(x, (list, tuple)) and not isinstance(x, np.ndarray):
        return [input_shape(item) for item in x]
    return (None,) + tuple(np.shape(x))[1:]


# ----- a layer called inside a call(): one record on the tape --------------------------------
def record_call(layer, x, training, mask, kwargs):
    """Run `layer` on the arrays of traced `x` and record the call as one tape record."""
    tape = autodiff.current()
    values = traced._map(_value, x)
    if training is None:
        training = traced.current_training() or False
    if mask is None:
        mask = _carried_mask(x)
    layer.maybe_build(input_shape(values))
    y = layer.apply(values, training=bool(training), mask=mask, **kwargs)
    number = layer.last_call
    many_out = isinstance(y, (list, tuple))
    outputs = [np.asarray(v) for v in y] if many_out else [y]
    inputs = traced._map(lambda item: item if _owned(tape, item) else None, x)
    many_in = isinstance(x, (list, tuple, dict))
    slot = list(traced._leaves(inputs)) if many_in else inputs
    losses = bool(layer.__dict__.get("_losses"))
    traced_input = any(item is not None for item in traced._leaves(inputs))
    recording = (tape is not None and tape.recording
                 and any(v.dtype.kind == "f" for v in outputs)
                 and (traced_input or layer.parameters(trainable_only=True) or losses))
    if not recording:
        made = [Tensor(v) for v in outputs]
    else:
        def layer_vjp(dy, needs):
            wanted = any(needs[0]) if many_in else needs[0]
            dx = layer.backpropagate(dy, input_gradient=bool(wanted), call=number)
            if not many_in:
                return dx
            return [None] * len(slot) if dx is None else traced._leaves(dx)

        record = Record(f"layer {layer.name!r}", layer_vjp, (), (slot,),
                        outputs if many_out else y, takes_needs=True, always=losses)
        tape.records.append(record)
        made = [Tensor(v, record, requires_grad=v.dtype.kind == "f", tape=tape.serial,
                       index=i) for i, v in enumerate(outputs)]
    masks = layer.compute_mask(values, mask)
    for i, tensor in enumerate(made):
        tensor.mask = masks[i] if many_out and isinstance(masks, (list, tuple)) else \
            (None if many_out else masks)
    return type(y)(made) if many_out else made[0]


def _value(item):
    return item.value if isinstance(item, TensorOperators) else item


def _owned(tape, item) -> bool:
    return tape is not None and isinstance(item, Tensor) and tape.owns(item)


def _carried_mask(x):
    if isinstance(x, Tensor):
        return x.mask
    if isinstance(x, (list, tuple)):
        masks = [item.mask if isinstance(item, Tensor) else None for item in x]
        return None if all(m is None for m in masks) else masks
    return None
