"""call()-style layers: write the forward with `glassnet.ops`, get the backward from the tape.

A Layer (or Model) subclass that defines `call` instead of `forward`/`backward` is traced:

    class Linear(Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1], self.units), "random_normal")
        def call(self, inputs):
            return ops.matmul(inputs, self.w)

    forward(x)   = run call(x) on a tape: x becomes a leaf Tensor, every op records itself
                   (a built-in layer called inside is one record, its own backward the VJP)
    backward(dy) = the tape run in reverse from (output, dy), plus 1 for each `add_loss`
                   term; each weight's gradient lands in its `grad`, dL/dx is returned

So a traced layer is an ordinary layer to everything else: models call it through `apply`
and `backpropagate`, it may be called twice in a pass (each call keeps its own tape, see
`layers.calls`), and `gradcheck` checks it like any other. Keras' conventions hold: `call`
gets `training` and `mask` only when it names them, layers held in attributes are tracked
(their weights are the layer's), `compute_output_shape` is found by running `call` on a
batch of one when it is not written, and `get_config` records the constructor's arguments.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import json
import linecache

import numpy as np

from glassnet import autodiff
from glassnet.autodiff import Tensor, TensorOperators
from glassnet.layers import calls
from glassnet.layers.inference import inference_only, keeps_for_backward, require_forward_state

# The `training` of the call() being traced, inherited by the layers it calls.
_training: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "glassnet_call_training", default=None)


def current_training() -> bool | None:
    """The `training` flag of the enclosing call(), None outside any."""
    return _training.get()


class Positional(tuple):
    """Several positional inputs of one call: `layer(x, y)` for `call(self, x, y)`."""


@functools.cache
def call_signature(cls) -> tuple[bool, bool, int]:
    """(call takes `training`, call takes `mask`, how many positional inputs it takes)."""
    parameters = list(inspect.signature(cls.call).parameters.values())[1:]   # no self
    names = {p.name for p in parameters}
    positional = [p for p in parameters if p.default is inspect.Parameter.empty
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.name not in ("training", "mask")]
    return "training" in names, "mask" in names, max(len(positional), 1)


class CallState:
    """What one traced call keeps for its backward: the tape, its input leaves, its output."""

    __slots__ = ("tape", "inputs", "outputs")

    def __init__(self, tape, inputs, outputs):
        self.tape, self.inputs, self.outputs = tape, inputs, outputs


# ----- forward and backward -------------------------------------------------------------------
def forward(layer, x, training: bool = False, mask=None, kwargs=None):
    """Run `layer.call` on a tape; return the output's arrays (see the module docstring)."""
    recording = keeps_for_backward()
    takes_training, takes_mask, _ = call_signature(type(layer))
    arguments = dict(kwargs or {})
    if takes_training:
        arguments["training"] = bool(training)
    if takes_mask and mask is not None:
        arguments["mask"] = mask
    if calls.last_call(layer) == 0 or not recording:
        layer.__dict__["_losses"] = []           # the first call of a pass starts afresh
    escape = autodiff.last_escape()
    with calls.forward_pass(), autodiff.trace(recording) as tape, _calling(training):
        inputs = _map(lambda a: _watch(tape, a), x)
        if mask is not None and isinstance(inputs, Tensor):
            inputs.mask = mask
        layer.__dict__["_tape"] = tape
        try:
            outputs = (layer.call(*inputs, **arguments) if isinstance(inputs, Positional)
                       else layer.call(inputs, **arguments))
        finally:
            layer.__dict__["_tape"] = None
    outputs = _map(lambda item: _read_variable(tape, item), outputs)
    _check_outputs(layer, outputs, autodiff.last_escape() != escape)
    layer._call_state = CallState(tape, inputs, outputs) if recording else None
    first = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    layer.__dict__["_output_mask"] = getattr(first, "mask", None)
    values = _map(_value, outputs)
    if layer.output_shape is None and isinstance(values, np.ndarray):
        layer.output_shape = (None,) + values.shape[1:]
    return values


def backward(layer, dy, input_gradient: bool = True):
    """dL/dy -> dL/dx through the tape of the call being back-propagated."""
    state = getattr(layer, "_call_state", None)
    require_forward_state(layer, state)
    outputs = state.outputs
    if isinstance(outputs, (list, tuple)):
        seeds = [(o, d) for o, d in zip(outputs, dy) if d is not None]
    else:
        seeds = [(outputs, dy)]
    leaves = [leaf for leaf in _leaves(state.inputs) if isinstance(leaf, Tensor)]
    wanted = [leaf.requires_grad for leaf in leaves]
    if not input_gradient:                       # nobody reads dL/dx: matmul skips it
        for leaf in leaves:
            leaf.requires_grad = False
    try:
        state.tape.backward(seeds)
    finally:
        for leaf, flag in zip(leaves, wanted):
            leaf.requires_grad = flag
    if not input_gradient:
        return None
    return _map(_gradient, state.inputs)


def _gradient(leaf):
    if not leaf.requires_grad:
        return None
    return leaf.grad if leaf.grad is not None else np.zeros_like(leaf.value)


@contextlib.contextmanager
def _calling(training):
    token = _training.set(bool(training))
    try:
        yield
    finally:
        _training.reset(token)


def _watch(tape, value):
    if isinstance(value, TensorOperators):
        value = value.value
    return tape.watch(value)


def _read_variable(tape, item):
    """A weight returned by call() as a tensor of its current value (as Keras)."""
    if isinstance(item, TensorOperators) and not isinstance(item, Tensor):
        read = item.read(tape)
        return read if isinstance(read, Tensor) else Tensor(np.array(read))
    return item


def _value(item):
    return item.value if isinstance(item, TensorOperators) else item


def _map(function, structure):
    """`function` applied to every array of a (nested) list, tuple or dict."""
    if isinstance(structure, Positional):
        return Positional(_map(function, s) for s in structure)
    if isinstance(structure, (list, tuple)):
        return type(structure)(_map(function, s) for s in structure)
    if isinstance(structure, dict):
        return {key: _map(function, value) for key, value in structure.items()}
    return function(structure)


def _leaves(structure) -> list:
    found = []
    _map(found.append, structure)
    return found


def _check_outputs(layer, outputs, escaped: bool) -> None:
    """An output that is a plain array was computed outside the tape: say where."""
    for item in _leaves(outputs):
        if isinstance(item, Tensor):
            continue
        if isinstance(item, (np.ndarray, np.generic, float, int)):
            where = _escape_hint() if escaped else ""
            raise TypeError(
                f"layer {layer.name!r} ({type(layer).__name__}): call() returned a NumPy "
                f"array, not a tensor computed with glassnet.ops, so no gradient can flow "
                f"back through it{where}. A NumPy function (np.exp, np.sum, ...) or "
                f"`.numpy()`/`.value` took the value off the tape: use the glassnet.ops "
                f"function of the same name (ops.exp, ops.sum, ...) on the tensors call() "
                f"receives.")
        if item is not None:
            raise TypeError(f"layer {layer.name!r} ({type(layer).__name__}): call() returned "
                            f"{type(item).__name__}; expected tensors (or a list of them)")


def _escape_hint() -> str:
    """' (it left the tape at file:line, `.numpy()`)' for the last escape seen, if any."""
    escape = autodiff.last_escape()
    if escape is None:
        return ""
    filename, line = escape
    code = linecache.getline(filename, line).strip()
    return f" (a traced value left the tape at {filename}:{line}: `{code}`)"


# ----- shapes ---------------------------------------------------------------------------------
def infer_output_shape(layer, input_shape):
    """The output shape, found by running call() on zeros of `input_shape` (a batch of one;
    nothing is kept for backward). Raises a ValueError saying how to declare it instead."""
    def zeros(shape):
        return np.zeros(tuple(1 if d is None else d for d in shape), layer.dtype)

    many = bool(input_shape) and all(isinstance(s, (list, tuple)) for s in input_shape)
    sample = [zeros(s) for s in input_shape] if many else zeros(input_shape)
    mask = None
    if call_signature(type(layer))[1] and not many:    # call wants a mask: none masked
        shape = np.shape(sample)
        mask = np.ones(shape[:-1] if len(shape) >= 3 else shape, bool)
    try:
        with inference_only(), autodiff.pause():
            y = forward(layer, sample, training=False, mask=mask)
    except Exception as error:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}): its output shape is unknown: "
            f"running call() on zeros of shape {input_shape} (to find it) failed with "
            f"{type(error).__name__}: {error}. Define compute_output_shape(input_shape) on "
            f"the layer, or build it with a shape its call() accepts.") from error
    batch = None if many else input_shape[0]
    if isinstance(y, (list, tuple)):
        return [(batch,) + tuple(np.shape(v))[1:] for v in y]
    return (batch,) + tuple(np.shape(y))[1:]


# ----- tracking: the layers and weights held in attributes ------------------------------------
def tracked_layers(layer) -> list:
    """The layers held in `layer`'s attributes (directly, or in lists, tuples and dicts),
    in the order they were assigned, each once (as Keras tracks them)."""
    found, seen = [], {id(layer)}

    def visit(value, depth=0):
        if getattr(type(value), "_glassnet_layer", False):
            if id(value) not in seen:
                seen.add(id(value))
                found.append(value)
        elif isinstance(value, (list, tuple)) and depth < 3:
            for item in value:
                visit(item, depth + 1)
        elif isinstance(value, dict) and depth < 3:
            for item in value.values():
                visit(item, depth + 1)

    for name, value in vars(layer).items():
        if name not in _UNTRACKED:
            visit(value)
    return found


# Attributes of the layer machinery itself, never user layers.
_UNTRACKED = frozenset({"_call_record", "_call_state", "_tape", "_losses", "_parameters",
                        "_inbound_nodes", "_hooks", "_constructor_arguments", "_metrics",
                        "_loss_tracker", "optimizer", "loss", "history", "_fit_progress",
                        "_step_buffers"})


def tracked_parameters(layer, trainable_only: bool) -> list:
    """The layer's own weights, then those of its tracked layers, each once."""
    if not layer.built and getattr(layer, "_pending_build_shape", None) is not None:
        layer.maybe_build(tuple(layer._pending_build_shape))   # loaded from a config
    seen, params = set(), []
    own = [p for p in layer._parameters if not trainable_only or (p.trainable and
                                                                  layer.trainable)]
    groups = [own] + [sub.parameters(trainable_only=trainable_only)
                      for sub in tracked_layers(layer)]
    for group in groups:
        for param in group:
            if id(param) not in seen:
                seen.add(id(param))
                params.append(param)
    if trainable_only and not layer.trainable:
        return []
    return params


def added_losses(layer) -> list:
    """The `add_loss` terms of the last forward pass, of `layer` and every layer inside it."""
    found, seen, stack = [], set(), [layer]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        found += getattr(current, "__dict__", {}).get("_losses", [])
        stack.extend(getattr(current, "sublayers", list)())
    return found


# Whether any layer ever called add_loss: until then a training step looks for no terms.
_loss_terms_seen = [False]


def add_loss(layer, value) -> None:
    """`layer.add_loss(value)`: a term added to the training loss (summed if not a scalar)."""
    _loss_terms_seen[0] = True
    tape = layer.__dict__.get("_tape")
    if isinstance(value, TensorOperators) and tape is not None and tape.owns(value):
        tape.added_losses.append(value)          # backward seeds it with dL/dterm = 1
    layer.__dict__.setdefault("_losses", []).append(value)


def total_added_loss(layer) -> float:
    """Σ of every `add_loss` term of the last forward pass (0.0 without any)."""
    if not _loss_terms_seen[0]:
        return 0.0
    return float(sum(float(np.sum(_value(v))) for v in added_losses(layer)))


# ----- configs ---------------------------------------------------------------------------------
def constructor_config(layer) -> dict:
    """The arguments the layer was constructed with, by name (Keras' automatic config).

    Raises a NotImplementedError naming an argument that a JSON config cannot hold (a
    layer, an array), with what to do instead.
    """
    args, kwargs = layer.__dict__.get("_constructor_arguments", ((), {}))
    try:
        bound = inspect.signature(type(layer).__init__).bind(layer, *args, **kwargs)
    except TypeError:
        return {}
    config = {}
    for name, value in list(bound.arguments.items())[1:]:
        parameter = bound.signature.parameters[name]
        if parameter.kind is parameter.VAR_KEYWORD:
            config.update(value)
            continue
        if parameter.kind is parameter.VAR_POSITIONAL:
            continue
        config[name] = value
    for name, value in config.items():
        try:
            json.dumps(value)
        except TypeError:
            raise NotImplementedError(
                f"layer {layer.name!r} ({type(layer).__name__}): get_config cannot record "
                f"the constructor argument {name}={type(value).__name__}(...); override "
                f"get_config (and from_config) to describe it with plain values") from None
    return config


def accepted_arguments(cls, config: dict) -> dict:
    """`config` without the keys `cls.__init__` does not take (when it takes no **kwargs)."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return config
    names = {p.name for p in parameters}
    return {key: value for key, value in config.items() if key in names}
