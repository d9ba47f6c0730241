"""Functional models: `Model(inputs, outputs)` over a graph of layers, as in Keras.

    x = Input(shape=(2,))
    h = Dense(32, activation="relu")(x)
    h = Add()([h, Dense(32)(h)])                 # a residual connection
    model = Model(x, Dense(3, activation="softmax")(h))

Each call of a layer on symbolic tensors recorded one node: (layer, input tensors, output
tensor). The model sorts the nodes so that every node comes after the nodes it reads, then

    forward:   for node in order:            value[node] = layer.forward(value[node.inputs])
    backward:  for node in reversed(order):  grad[t] += dL/dt for each input t of node

A tensor read by several layers gets the sum of their gradients (the multivariable chain
rule: L depends on t through every path). Both passes are loops over the sorted list, never
recursion, so a graph may be as deep as memory allows.

Shared layers: one layer object may be called at several places (a siamese network). Its
weights then appear once in `parameters()` and their gradients add up over its uses, since
backward accumulates with `+=`. A layer keeps what its backward needs on itself (`self._x`),
which its second call would overwrite; each call is numbered in the pass and the model hands
that number back to the node's backward, which swaps that call's state in
(`glassnet.layers.calls`). Padding masks travel along the graph as in Keras.

Several outputs: `Model(x, [a, b])` or `Model(x, {"a": a, "b": b})`; forward returns a
list (predict a list, or a dict for dict outputs, as Keras), and backward takes one dL/dy
per output (None for an output no loss reads), seeded where each output is made.

Limits: layers with one output each (no `return_state=True`).
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from glassnet.layers import calls
from glassnet.layers.base import Layer
from glassnet.layers.core import InputLayer, SymbolicTensor
from glassnet.models import fusion, graph
from glassnet.models.chain import backward_chain, forward_chain
from glassnet.models.model import Model
from glassnet.registry import deserialize, register, serialize
from glassnet.training.data import checks
from glassnet.training.data.groups import ArrayGroup


class MultiInputBatch(ArrayGroup):
    """The arrays of a multi-input model, indexed together along the batch axis (see
    `ArrayGroup`), in the order of `model.inputs`."""


@register("layer")
class Functional(Model):
    """A model over any directed acyclic graph of layers, from `inputs` to `outputs`.

    Build it with `glassnet.Model(inputs, outputs)`; the layers were built by the symbolic
    calls, so the model is built (shapes known, weights created) from the start.

    Args:
        inputs: a tensor from `Input(...)`, or a list of them (a multi-input model, trained
            with `fit([x1, x2], y)` or `fit({"name1": x1, "name2": x2}, y)`).
        outputs: the tensor to compute, a list of them, or a dict {name: tensor}. With
            several, compile takes a loss (and metrics) per output by position or by name:
            the output layer's name for a list, the key for a dict (as Keras names them).
        name: the model's name.

    Example:
        >>> a, b = Input(shape=(3,), name="a"), Input(shape=(4,), name="b")
        >>> y = Dense(1, activation="sigmoid")(Concatenate()([a, b]))
        >>> model = Model([a, b], y)
        >>> model.predict([np.ones((2, 3)), np.ones((2, 4))], verbose=0).shape
        (2, 1)
    """

    def __init__(self, inputs, outputs, name: str | None = None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        # dict inputs (and outputs) are kept in the order of their sorted keys, as Keras
        # flattens them; x may then be given as a dict by those keys
        self._input_keys = sorted(inputs) if isinstance(inputs, dict) else None
        self._inputs = graph.tensor_list([inputs[k] for k in self._input_keys]
                                    if isinstance(inputs, dict) else inputs, "inputs")
        self._output_keys = sorted(outputs) if isinstance(outputs, dict) else None
        self._outputs = graph.tensor_list([outputs[k] for k in self._output_keys]
                                     if isinstance(outputs, dict) else outputs, "outputs")
        graph.check_inputs(self._inputs)
        self._output_masks = [None] * len(self._outputs)
        self._fusable = None
        self._nodes = graph.sorted_nodes(self._inputs, self._outputs)
        if not self._nodes:
            raise ValueError("Model: the output is one of the inputs; outputs must be computed "
                             "from the inputs by at least one layer")
        self._layers, self._layer_nodes = graph.group_by_layer(self._nodes)
        self._keras_layers = None
        self._steps_run = None               # the fused chain the last forward ran, if any
        self._node_index = {id(node): k for nodes in self._layer_nodes.values()
                            for k, node in enumerate(nodes)}
        graph.check_nodes(self._nodes)
        graph.check_unique_names([t.layer for t in self._inputs] + self._layers)
        shapes = [tensor.shape for tensor in self._inputs]
        self.input_shape = shapes[0] if len(shapes) == 1 else shapes
        out_shapes = [tensor.shape for tensor in self._outputs]
        self.output_shape = out_shapes[0] if len(out_shapes) == 1 else out_shapes
        self.built = True

    # ----- structure --------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """Each layer once, InputLayers included, in Keras' order (`keras_order`): so
        `get_weights`/`set_weights` exchange weights with the same model built in Keras."""
        if self._keras_layers is None:
            self._keras_layers = graph.keras_order(self._inputs, self._outputs)
        return list(self._keras_layers)

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self._inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._outputs)

    @property
    def input(self):
        """The model's input tensor (the list, for several inputs), as Keras."""
        return self._inputs[0] if len(self._inputs) == 1 else list(self._inputs)

    @property
    def output(self):
        """The model's output tensor."""
        return self._outputs[0]

    @property
    def input_names(self) -> list[str]:
        """The keys x may be given by: the Input layers' names, or the keys of a dict of
        inputs."""
        if self._input_keys is not None:
            return list(self._input_keys)
        return [tensor.layer.name for tensor in self._inputs]

    @property
    def output_names(self) -> list[str]:
        """The names compile and the logs use for the outputs: the output layers' names, or
        the keys of a dict of outputs (sorted, as Keras orders them)."""
        if self._output_keys is not None:
            return list(self._output_keys)
        return [tensor.layer.name for tensor in self._outputs]

    @property
    def inputs_by_name(self) -> bool:
        """Whether the inputs were given as a dict (x is then matched by its keys)."""
        return self._input_keys is not None

    @property
    def outputs_by_name(self) -> bool:
        """Whether the outputs were given as a dict (predict then returns a dict)."""
        return self._output_keys is not None

    @property
    def output_layer(self) -> Layer:
        return self._outputs[0].layer

    @property
    def output_layers(self) -> list[Layer]:
        """The layer that makes each output, in the order of `output_names`."""
        return [tensor.layer for tensor in self._outputs]

    @property
    def output_masks(self) -> list:
        """The padding mask of each output of the last forward (None where none)."""
        return list(self._output_masks)

    def fusable_outputs(self) -> list[bool]:
        """Whether each output may take dL/dlogits (the fused softmax/sigmoid + cross-entropy
        gradient): only an output no other layer reads and that appears once, so that its
        whole gradient is the loss's, made by a layer called once (its activation keeps
        the logits of its last call only)."""
        if self._fusable is None:   # the graph does not change: worked out once
            read = {id(t) for node in self._nodes for t in node.inputs}
            counts = collections.Counter(id(t) for t in self._outputs)
            self._fusable = [id(t) not in read and counts[id(t)] == 1
                             and len(self._layer_nodes.get(id(t.layer), ())) == 1
                             for t in self._outputs]
        return list(self._fusable)

    def pack_outputs(self, values: list):
        """The outputs as Keras gives them: one array, a list, or a dict by output name."""
        if self._output_keys is not None:
            return dict(zip(self._output_keys, values))
        return values[0] if len(values) == 1 else list(values)

    def build(self, input_shape) -> None:
        """Nothing to do: the symbolic calls built every layer."""

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape` (a list of shapes for several inputs)."""
        given = list(input_shape) if len(self._inputs) > 1 else [input_shape]
        shapes = {id(t): tuple(shape) for t, shape in zip(self._inputs, given)}
        for node in self._nodes:
            args = [shapes[id(t)] for t in node.inputs]
            shapes[id(node)] = tuple(node.layer.compute_output_shape(
                args if node.list_input else args[0]))
        result = [shapes[id(t)] for t in self._outputs]
        return result[0] if len(result) == 1 else result

    # ----- the math ---------------------------------------------------------------------
    def __call__(self, x, training: bool = False):
        """On arrays: the outputs (`forward`); on symbolic tensors: a node of a larger graph."""
        items = x if isinstance(x, (list, tuple)) else [x]
        if any(getattr(t, "_glassnet_symbolic", False) for t in items):
            if len(self._outputs) > 1:
                raise ValueError(f"Model {self.name!r} has {len(self._outputs)} outputs; only a "
                                 f"model with one output can be called inside another model")
            return super().__call__(x, training=training)
        y = self.apply(x, training=training)
        return self.pack_outputs(y) if len(self._outputs) > 1 else y

    def forward(self, x, training: bool = False, mask=None):
        """Run every node in topological order; return the output array (a list of arrays,
        in the order of `output_names`, for several outputs).

        x: one array (N, ...) for a single-input model; else a list (or dict by input name)
        with one array per input, in the order of `inputs`. `mask`: padding masks of the
        inputs (one, or a list), for a model nested in another.

        Padding masks travel along the graph as in Keras: each node's layer gets the masks
        of its inputs (when its forward takes one) and gives its output's
        (`compute_mask`); the output's is `output_mask`. A shared layer's calls each keep
        their own state for backward (see `glassnet.layers.calls`).
        """
        steps = self._steps_run = fusion.fused_chain(self)  # a chain with fused groups:
        if steps is not None:                            # the plan, run as Sequential runs it
            y, self._calls_made, self._output_mask = forward_chain(
                steps, self._input_arrays(x)[0], training, _input_masks(mask, 1)[0])
            return y
        arrays = self._input_arrays(x)
        values = {id(t): array for t, array in zip(self._inputs, arrays)}
        masks = dict(zip((id(t) for t in self._inputs), _input_masks(mask, len(arrays))))
        calls_made = {}
        with calls.forward_pass():
            for node in self._nodes:
                args = [values[id(t)] for t in node.inputs]
                in_masks = [masks.get(id(t)) for t in node.inputs]
                arg = args if node.list_input else args[0]
                in_mask = (None if all(m is None for m in in_masks)
                           else in_masks if node.list_input else in_masks[0])
                values[id(node)] = node.layer.apply(arg, training=training, mask=in_mask)
                calls_made[id(node)] = node.layer.last_call
                masks[id(node)] = node.layer.compute_mask(arg, in_mask)
        output_masks = [masks.get(id(t)) for t in self._outputs]  # (N, T) each, or None
        # stored, not read back (a predict in another thread may run this at the same time)
        self._output_masks, self._calls_made, self._output_mask = (output_masks, calls_made,
                                                                   output_masks[0])
        if len(self._outputs) > 1:
            return [values[id(t)] for t in self._outputs]
        return values[id(self._outputs[0])]

    def _fusion_chain(self) -> list[Layer] | None:
        """The layers in order if the graph is a chain (the fusion pass plans over them)."""
        return fusion.graph_chain(self._nodes, self._inputs)

    def backward(self, dy, input_gradient: bool = True, from_preactivation: bool = False):
        """Backpropagate dL/dy through the nodes in reverse order; return dL/dx.

        `input_gradient=False` is accepted for the training step's sake (Sequential uses it
        to skip its first layer's dL/dx); here every input gradient is still computed.

        With `from_preactivation`, dy is dL/dlogits of the output layer (the fused softmax
        or sigmoid cross-entropy path), as in Sequential. Returns one array for a single-input
        model, else a list (None for an input no gradient reaches, e.g. Embedding ids).

        Several outputs: dy is a list, one dL/dy_i per output (None for an output no loss
        reads), and `from_preactivation` a list of flags, one per output (an output that
        takes dL/dlogits must be one of `fusable_outputs`).
        """
        if self._steps_run is not None:                  # forward ran the fused chain
            return backward_chain(self._steps_run, self._calls_made, dy, True,
                                  from_preactivation)
        if len(self._outputs) > 1:
            flags = (from_preactivation if isinstance(from_preactivation, (list, tuple))
                     else [from_preactivation] * len(self._outputs))
            grads, fused = {}, set()
            for tensor, d, flag in zip(self._outputs, dy, flags):
                if d is not None:
                    key = id(tensor)
                    grads[key] = d if key not in grads else grads[key] + d
                    if flag:
                        fused.add(key)
        else:
            grads = {id(self._outputs[0]): dy}
            fused = {id(self._outputs[0])} if from_preactivation else set()
        for node in reversed(self._nodes):
            grad = grads.pop(id(node), None)
            if grad is None:            # only non-differentiable paths lead on from here
                continue
            dx = node.layer.backpropagate(grad, preactivation=id(node) in fused,
                                          call=self._calls_made[id(node)])
            for tensor, d in zip(node.inputs, dx if node.list_input else [dx]):
                if d is None:
                    continue
                # `a + b`, not `+=`: d may be the very array another input got (Add)
                key = id(tensor)
                grads[key] = d if key not in grads else grads[key] + d
        dxs = [grads.get(id(t)) for t in self._inputs]
        return dxs[0] if len(dxs) == 1 else dxs

    # ----- data -------------------------------------------------------------------------
    def _input_arrays(self, x) -> list:
        """x as one array per input, in the order of `inputs` (no conversion)."""
        if isinstance(x, MultiInputBatch):
            return x.arrays
        if len(self._inputs) == 1 and not isinstance(x, dict):
            return [x]
        return self._split_inputs(x, "x")

    def _split_inputs(self, x, name: str) -> list:
        """A list, tuple or {input name: array} dict as a list in the order of `inputs`."""
        names = self.input_names
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            unexpected = sorted(set(x) - set(names))
            if missing or unexpected:
                raise ValueError(f"{name}: expected a dict with keys {names} (the input names), "
                                 f"missing {missing}, unexpected {unexpected}")
            return [x[n] for n in names]
        if not isinstance(x, (list, tuple)):
            raise ValueError(f"{name}: model {self.name!r} has {len(names)} inputs {names}; "
                             f"expected a list of {len(names)} arrays, got "
                             f"{type(x).__name__} of shape {np.shape(x)}")
        if len(x) != len(names):
            raise ValueError(f"{name}: model {self.name!r} has {len(names)} inputs {names}; "
                             f"expected a list of {len(names)} arrays, got {len(x)}")
        return list(x)

    @property
    def input_dtype(self) -> str:
        """The integer or bool dtype of the (first) Input, if it has one, else the float
        dtype (each input of several is given its own Input's dtype)."""
        return self._inputs[0].layer.data_dtype or self.dtype

    def prepare_inputs(self, x, name: str = "x"):
        """Check and convert the data of each input (a MultiInputBatch for several inputs)."""
        if len(self._inputs) == 1:
            return super().prepare_inputs(x, name)
        arrays = []
        for i, (tensor, array) in enumerate(zip(self._inputs, self._split_inputs(x, name))):
            label = f"{name}[{i}] (input {tensor.layer.name!r})"
            array = checks.as_array(array, label, tensor.layer.data_dtype or self.dtype)
            checks.check_features(array, tensor.shape, label)
            arrays.append(array)
        checks.check_same_length(**{f"{name}[{i}]": a for i, a in enumerate(arrays)})
        return MultiInputBatch(arrays)

    # ----- description ------------------------------------------------------------------
    def _reference(self, tensor: SymbolicTensor) -> list:
        """[layer name, node index, tensor index]: which call of which layer made `tensor`."""
        return [tensor.layer.name, self._node_index.get(id(tensor), 0), 0]

    # ----- (de)serialisation --------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Keras' functional config: every layer with the tensors each of its calls read.

        "inbound_nodes" holds one entry per call, a list of [layer name, node index, tensor
        index] references (a layer called on a list has several).
        """
        layers = []
        for layer in [t.layer for t in self._inputs] + self._layers:
            nodes = self._layer_nodes.get(id(layer), [])
            layers.append({**serialize(layer), "name": layer.name,
                           "inbound_nodes": [[self._reference(t) for t in node.inputs]
                                             for node in nodes]})
        config_ = {"name": self.name, "trainable": self.trainable, "layers": layers,
                   "input_layers": _references(self._input_keys, self._inputs, self._reference),
                   "output_layers": _references(self._output_keys, self._outputs,
                                                self._reference)}
        if self._dtype is not None:
            config_["dtype"] = self._dtype
        return config_

    @classmethod
    def from_config(cls, config_: dict[str, Any], custom_objects=None) -> Functional:
        """Rebuild the layers, then replay their calls in an order where inputs exist."""
        specs = config_.get("layers")
        if not isinstance(specs, list) or not specs:
            raise ValueError("Functional config: 'layers' must be a non-empty list")
        layers, tensors, calls = {}, {}, []
        for spec in specs:
            name, inbound = _check_layer_spec(spec)
            if name in layers:
                raise ValueError(f"Functional config: two layers are named {name!r}")
            layer = deserialize("layer", {"class_name": spec["class_name"],
                                          "config": spec.get("config") or {}}, custom_objects)
            layers[name] = layer
            if isinstance(layer, InputLayer):
                if inbound:
                    raise ValueError(f"Functional config: InputLayer {name!r} cannot have "
                                     f"inbound nodes")
                tensors[(name, 0)] = layer.output
            calls += [(name, k, refs) for k, refs in enumerate(inbound)]
        calls = [(name, k, [_reference_key(ref, layers, name) for ref in refs])
                 for name, k, refs in calls]          # once every layer name is known
        _replay_calls(calls, layers, tensors)

        def resolve(key: str):
            refs = config_.get(key)
            named = isinstance(refs, dict)
            if named and not all(isinstance(k, str) for k in refs):
                raise ValueError(f"Functional config: {key!r} keys must be strings")
            if not (named or isinstance(refs, list)) or not refs:
                raise ValueError(f"Functional config: {key!r} must be a non-empty list")
            found = [tensors.get(_reference_key(ref, layers, key))
                     for ref in (refs.values() if named else refs)]
            if any(t is None for t in found):
                raise ValueError(f"Functional config: {key} {refs} names a tensor no layer "
                                 f"produces")
            return dict(zip(refs, found)) if named else found

        return cls(resolve("input_layers"), resolve("output_layers"),
                   name=config_.get("name"), dtype=config_.get("dtype"),
                   trainable=config_.get("trainable", True))


# ----- building the graph -------------------------------------------------------------------
def _references(keys, tensors, reference):
    """Config references to `tensors`: a list, or a dict by key (dict inputs/outputs)."""
    if keys is None:
        return [reference(t) for t in tensors]
    return {key: reference(t) for key, t in zip(keys, tensors)}


def _input_masks(mask, count: int) -> list:
    """The masks given for the model's inputs, one per input (None where none)."""
    if mask is None:
        return [None] * count
    if count == 1:
        return [mask[0] if isinstance(mask, (list, tuple)) else mask]
    if not isinstance(mask, (list, tuple)) or len(mask) != count:
        raise ValueError(f"mask: expected a list of {count} masks (or None), one per input")
    return list(mask)


# ----- configs ------------------------------------------------------------------------
def _replay_calls(calls: list, layers: dict, tensors: dict) -> None:
    """Make each call (layer name, node index, input keys) once all its inputs exist.

    Kahn's algorithm: a call waits on a count of missing inputs, and each tensor made wakes
    the calls that read it, so the work is linear in the number of references whatever
    order the config lists them in. `tensors` maps (layer name, node index) to tensors.
    """
    readers: dict[tuple, list[int]] = {}
    missing = []
    for i, (_, _, keys) in enumerate(calls):
        absent = {key for key in keys if key not in tensors}
        missing.append(len(absent))
        for key in absent:
            readers.setdefault(key, []).append(i)
    ready = collections.deque(i for i, count in enumerate(missing) if count == 0)
    while ready:
        name, k, keys = calls[ready.popleft()]
        args = [tensors[key] for key in keys]
        tensors[(name, k)] = layers[name](args if len(args) > 1 else args[0])
        for i in readers.pop((name, k), []):
            missing[i] -= 1
            if missing[i] == 0:
                ready.append(i)
    stuck = sorted({calls[i][0] for i, count in enumerate(missing) if count > 0})
    if stuck:
        raise ValueError(f"Functional config: cannot connect layers {stuck[:10]}: they read "
                         f"tensors that no layer produces (or form a cycle)")


def _check_layer_spec(spec) -> tuple[str, list]:
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ValueError(f"Functional config: each layer must be a dict with 'class_name', "
                         f"'config', 'name' and 'inbound_nodes', got {spec!r}")
    name, inbound = spec.get("name"), spec.get("inbound_nodes", [])
    if not isinstance(name, str):
        raise ValueError(f"Functional config: layer 'name' must be a string, got {name!r}")
    if not isinstance(inbound, list) or not all(isinstance(refs, list) and refs
                                                for refs in inbound):
        raise ValueError(f"Functional config: layer {name!r}: 'inbound_nodes' must be a list "
                         f"of non-empty lists of [layer name, node index, tensor index]")
    return name, inbound


def _reference_key(ref, layers: dict, where: str) -> tuple[str, int]:
    """(layer name, node index) from a [name, node index, tensor index] reference."""
    if (not isinstance(ref, list) or len(ref) != 3 or not isinstance(ref[0], str)
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ref[1:])):
        raise ValueError(f"Functional config: {where}: expected a reference [layer name, node "
                         f"index, tensor index], got {ref!r}")
    if ref[0] not in layers:
        raise ValueError(f"Functional config: {where}: unknown layer {ref[0]!r}; layers are "
                         f"{sorted(layers)}")
    if ref[2] != 0:
        raise ValueError(f"Functional config: {where}: tensor index {ref[2]} in {ref!r}; "
                         f"layers with several outputs are not supported")
    return ref[0], ref[1]


__all__ = ["Functional", "MultiInputBatch"]
