"""The graph of a functional model: its nodes sorted, its layers in Keras' order, and the
checks a graph must pass before a model is built on it.

A node is the SymbolicTensor a layer call made (`layer`, the `inputs` it read); a graph is
the nodes between a model's Input tensors and its outputs.
"""

from __future__ import annotations

import collections

from glassnet.layers.base import Layer
from glassnet.layers.core import InputLayer, SymbolicTensor


def tensor_list(tensors, argument: str) -> list[SymbolicTensor]:
    items = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if not items or not all(isinstance(t, SymbolicTensor) for t in items):
        raise TypeError(f"Model: {argument} must be a symbolic tensor (from Input or a layer "
                        f"call) or a non-empty list of them, got "
                        f"{[type(t).__name__ for t in items] or type(tensors).__name__}")
    return items


def check_inputs(inputs: list[SymbolicTensor]) -> None:
    for i, tensor in enumerate(inputs):
        if tensor.inputs or not isinstance(tensor.layer, InputLayer):
            producer = getattr(tensor.layer, "name", None)
            raise ValueError(f"Model: inputs[{i}] must come from Input(...), got the output "
                             f"of layer {producer!r}")
    if len({id(t) for t in inputs}) != len(inputs):
        raise ValueError(f"Model: the same Input appears twice in inputs "
                         f"{[t.layer.name for t in inputs]}")


def sorted_nodes(inputs: list[SymbolicTensor],
                 outputs: list[SymbolicTensor]) -> list[SymbolicTensor]:
    """The tensors computed between `inputs` and `outputs`, each after every tensor it reads.

    Depth-first from the outputs with an explicit stack (no recursion limit); a tensor is
    appended once all its inputs are. Every path must end at one of `inputs`, and every
    input must be used.
    """
    input_ids = {id(t) for t in inputs}
    seen: set[int] = set()
    order: list[SymbolicTensor] = []
    stack = [(tensor, False) for tensor in reversed(outputs)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        if id(tensor) in input_ids:
            continue
        if not tensor.inputs:
            name = getattr(tensor.layer, "name", None)
            raise ValueError(f"Model: the outputs are not connected to the inputs "
                             f"{[t.layer.name for t in inputs]}: they depend on Input {name!r} "
                             f"(shape {tensor.shape}), which is not among them")
        stack.append((tensor, True))
        stack.extend((t, False) for t in reversed(tensor.inputs) if id(t) not in seen)
    unused = [t.layer.name for t in inputs if id(t) not in seen]
    if unused:
        raise ValueError(f"Model: inputs {unused} are not used to compute the outputs")
    return order


def keras_order(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> list[Layer]:
    """The layers of the graph from `inputs` to `outputs` in Keras 3's order (its `map_graph`):
    by depth, the longest path from the layer to an output, deepest first (so the Input
    layers lead), and at equal depth in the order a depth-first walk from the outputs first
    reaches them (each tensor's inputs in order).
    """
    input_ids = {id(t) for t in inputs}
    first_seen: dict[int, int] = {}          # id(layer) -> preorder index of the walk
    postorder: list[SymbolicTensor] = []
    seen: set[int] = set()
    stack = [(tensor, False) for tensor in reversed(outputs)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            postorder.append(tensor)
            continue
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        first_seen.setdefault(id(tensor.layer), len(first_seen))
        stack.append((tensor, True))
        if id(tensor) not in input_ids:
            stack.extend((t, False) for t in reversed(tensor.inputs) if id(t) not in seen)
    depth: dict[int, int] = {}               # id(tensor) -> its depth
    layer_depth: dict[int, int] = {}
    layers: dict[int, Layer] = {}
    for tensor in reversed(postorder):       # every reader of a tensor comes before it
        d = max(depth.setdefault(id(tensor), 0), layer_depth.get(id(tensor.layer), 0))
        depth[id(tensor)] = layer_depth[id(tensor.layer)] = d
        layers[id(tensor.layer)] = tensor.layer
        if id(tensor) in input_ids:
            continue
        for t in tensor.inputs:
            depth[id(t)] = max(depth.get(id(t), 0), d + 1)
    return sorted(layers.values(),
                  key=lambda layer: (-layer_depth[id(layer)], first_seen[id(layer)]))


def group_by_layer(nodes: list[SymbolicTensor]) -> tuple[list[Layer], dict[int, list]]:
    """The distinct layers in order of first use, and {id(layer): its nodes in order}."""
    layers, layer_nodes = [], {}
    for node in nodes:
        if id(node.layer) not in layer_nodes:
            layers.append(node.layer)
            layer_nodes[id(node.layer)] = []
        layer_nodes[id(node.layer)].append(node)
    return layers, layer_nodes


def check_nodes(nodes: list[SymbolicTensor]) -> None:
    for node in nodes:
        if isinstance(node.layer, InputLayer):
            raise ValueError(f"Model: InputLayer {node.layer.name!r} was called on a tensor; "
                             f"use the tensor Input(...) returns instead")
        if any(isinstance(d, (list, tuple)) for d in node.shape):
            raise ValueError(f"Model: layer {node.layer.name!r} returns several tensors "
                             f"(shapes {list(node.shape)}); a functional model supports "
                             f"layers with one output (e.g. no return_state=True)")


def check_unique_names(layers: list[Layer]) -> None:
    counts = collections.Counter(layer.name for layer in layers)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"Model: layer names must be unique within a model (configs refer to "
                         f"layers by name); these are used by several layers: {duplicates}")


__all__ = ["check_inputs", "check_nodes", "check_unique_names", "group_by_layer",
           "keras_order", "sorted_nodes", "tensor_list"]
