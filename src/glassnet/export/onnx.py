"""`model.export(path, format="onnx")`: a glassnet model as an ONNX file, for ONNX Runtime.

    model.export("digits.onnx", format="onnx")

    import onnxruntime
    session = onnxruntime.InferenceSession("digits.onnx")
    probabilities = session.run(None, {session.get_inputs()[0].name: x})[0]

The file holds the inference computation only (what `model.predict` computes: dropout off,
batch normalization on its moving statistics), with the weights as initializers. The batch
axis is dynamic, and so is any other axis the model leaves open (Input(shape=(None, 8)));
`input_signature` may fix or rename them. Inputs are named as the model's inputs (a
Sequential's is "input_layer"), the output as the model's output layer.

How: the model is walked as `predict` walks it -- a Sequential layer by layer, handing a
padding mask on as it does; a Functional model node by node in topological order, nested
models inline -- and each layer is written by the converter of its class (onnx_core.py,
onnx_convolution.py, onnx_convolution_variants.py, onnx_normalization.py,
onnx_recurrent.py, onnx_reshaping.py, onnx_preprocessing.py; ops on symbolic tensors:
onnx_ops.py). A layer class without a
converter (a user's own layer, or a subclass: its forward may differ) is refused by name.
The result passes `onnx.checker.check_model` before it is written.

With fusion on (`glassnet.config.set_fusion`, the default), a BatchNormalization right after
a Conv1D/Conv2D/Dense without activation is written folded into that layer, as predict runs
it: one Conv (or MatMul and Add) with kernel W s and bias (b - μ) s + β, no normalization
nodes (`glassnet.models.fusion.folded`; the rule is `fusion.foldable`). In a Functional graph
only where nothing but the normalization reads the layer's output.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import numpy as np

from glassnet import config, registry
from glassnet.export import (
    onnx_convolution,
    onnx_convolution_variants,
    onnx_core,
    onnx_normalization,
    onnx_ops,
    onnx_preprocessing,
    onnx_recurrent,
    onnx_reshaping,
)
from glassnet.export.onnx_graph import (
    DEFAULT_OPSET,
    MIN_OPSET,
    OnnxGraph,
    Tensor,
    require_onnx,
)
from glassnet.models import fusion

SEQUENTIAL_INPUT_NAME = "input_layer"   # Keras' name for the input a Sequential creates


# ----- the two kinds of model, also as layers of a larger model --------------------------------
def _sequential(graph, model, x, mask):
    """Each layer's output is the next one's input; a padding mask goes along (from an
    Embedding with mask_zero) to the next layer that supports masking, as Sequential does.
    A Conv/Dense and the BatchNormalization after it are written as one layer (`_folded`)."""
    layers, i = model.layers, 0
    while i < len(layers):
        layer = layers[i]
        following = layers[i + 1] if i + 1 < len(layers) else None
        mask = mask if layer.supports_masking else None
        if following is not None and _folds(layer, following, len(x.shape)):
            x, mask = _folded(graph, layer, following, x, mask)
            i += 2
        else:
            x, mask = graph.convert(layer, x, mask)
            i += 1
    return x.name, mask            # the output's mask, for a model nested in another


def _functional(graph, model, x, mask):
    """Every node of the graph after the nodes it reads; padding masks travel along the
    graph as the model carries them (a merge's inputs' masks combined). A BatchNormalization
    node folds the Conv/Dense node it reads when nothing else reads that (`_fold_pairs`)."""
    given = x if isinstance(x, list) else [x]
    values = {id(t): value for t, value in zip(model.inputs, given)}
    masks = {id(t): m for t, m in zip(model.inputs, mask if isinstance(mask, list)
                                       else [mask] * len(given))}
    nodes = _sorted_nodes(model.outputs, values)
    folds = _fold_pairs(nodes, model.outputs)             # {id(normalization node): linear}
    folded_away = {id(linear) for linear in folds.values()}
    for node in nodes:
        if id(node) in folds:                             # norm(linear(source)) as one layer
            linear = folds[id(node)]
            source = linear.inputs[0]
            values[id(node)], masks[id(node)] = _folded(
                graph, linear.layer, node.layer, values[id(source)], masks.get(id(source)))
        elif id(node) not in folded_away:                 # (else written with its norm)
            args = [values[id(t)] for t in node.inputs]
            in_masks = [masks.get(id(t)) for t in node.inputs]
            in_mask = (None if all(m is None for m in in_masks)
                       else in_masks if node.list_input else in_masks[0])
            values[id(node)], masks[id(node)] = graph.convert(
                node.layer, args if node.list_input else args[0], in_mask)
    output = model.outputs[0]
    return values[id(output)].name, masks.get(id(output))


def _sorted_nodes(outputs, known: dict) -> list:
    """The symbolic tensors between the inputs (`known`) and `outputs`, each after the tensors
    it reads: a depth-first walk with an explicit stack (no recursion limit)."""
    order, seen = [], set(known)
    stack = [(tensor, False) for tensor in reversed(outputs)]
    while stack:
        tensor, ready = stack.pop()
        if ready:
            order.append(tensor)
        elif id(tensor) not in seen:
            seen.add(id(tensor))
            stack.append((tensor, True))
            stack.extend((t, False) for t in reversed(tensor.inputs) if id(t) not in seen)
    return order


# ----- BatchNormalization folded into the Conv/Dense before it ----------------------------------
def _folds(linear, norm, rank: int) -> bool:
    """Whether norm(linear(x)) is written folded: fusion on, and the pair one predict folds
    (`fusion.foldable`; `rank`: of the linear layer's input, the same as its output's)."""
    return config.fusion() and fusion.foldable(linear, norm, rank)


def _folded(graph, linear, norm, x, mask):
    """norm(linear(x)) as the linear layer's nodes alone, its kernel and bias folded with the
    normalization's statistics, γ and β by `fusion.folded` (predict's numbers). Returns what
    converting the two layers in turn would: the output Tensor and mask."""
    y, mask = graph.convert(fusion.folded(linear, norm), x, mask)
    return y, mask if norm.supports_masking else None


def _fold_pairs(nodes, outputs) -> dict:
    """{id(normalization node): the linear node it folds} in a Functional graph, where the
    linear node's output is read by the normalization alone (no other node, no model output:
    those need the value before the normalization)."""
    readers = Counter(id(t) for node in nodes for t in node.inputs)
    readers.update(id(t) for t in outputs)
    return {id(node): node.inputs[0] for node in nodes
            if not node.list_input and len(node.inputs) == 1
            and readers[id(node.inputs[0])] == 1
            and _folds(node.inputs[0].layer, node.layer, len(node.shape))}


_MODEL_CONVERTERS = {"Sequential": _sequential, "Functional": _functional}


def converters() -> dict:
    """{class: converter} for every layer and model class glassnet can export."""
    table = {**onnx_core.CONVERTERS, **onnx_convolution.CONVERTERS,
             **onnx_normalization.CONVERTERS, **onnx_recurrent.CONVERTERS,
             **onnx_reshaping.CONVERTERS, **onnx_preprocessing.CONVERTERS,
             **onnx_convolution_variants.CONVERTERS, **onnx_ops.CONVERTERS}
    for name, convert in _MODEL_CONVERTERS.items():     # registered by the model modules
        cls = registry.table("layer").get(name)
        if cls is not None:
            table[cls] = convert
    return table


# ----- inputs and outputs ------------------------------------------------------------------------
def _model_kind(model) -> str:
    kinds = {cls: name for name in _MODEL_CONVERTERS
             if (cls := registry.table("layer").get(name)) is not None}
    kind = kinds.get(type(model))
    if kind is None:
        raise NotImplementedError(
            f"ONNX export: model {getattr(model, 'name', model)!r} is a "
            f"{type(model).__name__}; export writes Sequential and Functional models (a "
            f"subclass with its own forward has no graph to write)")
    return kind


def _declared_inputs(model, kind: str) -> list[tuple[str, Any, tuple]]:
    """(name, dtype, shape with the batch axis) of each model input, as the model declares."""
    if kind == "Functional":
        return [(t.layer.name, t.dtype, tuple(t.shape)) for t in model.inputs]
    if model.input_shape is None or not model.layers:
        raise ValueError(f"ONNX export: Sequential {model.name!r} is not built; give it an "
                         f"Input(shape=...) or call it on data first")
    return [(SEQUENTIAL_INPUT_NAME, model.dtype, tuple(model.input_shape))]


def _spec_name(spec) -> str | None:
    name = getattr(spec, "name", None)
    if name is None and getattr(spec, "layer", None) is not None:   # glassnet's Input(...)
        name = spec.layer.name
    return name


def _input_specs(model, kind: str, input_signature) -> list[tuple[str, Any, tuple]]:
    """The declared inputs, with a dynamic batch axis, overridden by `input_signature` (a
    list with one spec per input: `Input(...)` or any object with `shape`, and optionally
    `name` and `dtype`, such as a keras.InputSpec)."""
    declared = [(name, dtype, (None,) + shape[1:])
                for name, dtype, shape in _declared_inputs(model, kind)]
    if input_signature is None:
        return declared
    specs = list(input_signature) if isinstance(input_signature, (list, tuple)) \
        else [input_signature]
    if len(specs) != len(declared):
        raise ValueError(f"ONNX export: input_signature has {len(specs)} specs; the model has "
                         f"{len(declared)} inputs {[name for name, _, _ in declared]}")
    result = []
    for spec, (name, dtype, shape) in zip(specs, declared):
        given = getattr(spec, "shape", None)
        if given is None:
            raise TypeError(f"ONNX export: input_signature: expected specs with a `shape` "
                            f"(e.g. glassnet.Input(...)), got {spec!r}")
        given = tuple(None if d is None else int(d) for d in given)
        if len(given) != len(shape) or any(a is not None and b is not None and a != b
                                           for a, b in zip(given, shape)):
            raise ValueError(f"ONNX export: input_signature shape {given} does not fit input "
                             f"{name!r} of shape {shape}")
        result.append((_spec_name(spec) or name, getattr(spec, "dtype", None) or dtype, given))
    return result


def _output_name(model, kind: str) -> str:
    return (model.outputs[0].layer if kind == "Functional" else model.layers[-1]).name


def _check_opset(opset_version) -> int:
    onnx = require_onnx()
    newest = onnx.defs.onnx_opset_version()
    if opset_version is None:
        return DEFAULT_OPSET
    if (isinstance(opset_version, bool) or not isinstance(opset_version, (int, np.integer))
            or not MIN_OPSET <= opset_version <= newest):
        raise ValueError(f"ONNX export: opset_version must be an integer from {MIN_OPSET} to "
                         f"{newest} (this onnx package's newest), got {opset_version!r}")
    return int(opset_version)


# ----- the model --------------------------------------------------------------------------------
def to_onnx(model, input_signature=None, opset_version: int | None = None):
    """The model's inference graph as an `onnx.ModelProto` (checked, not written).

    Args:
        model: a built Sequential or Functional model.
        input_signature: optional, one spec per input to rename an input or fix a size:
            `[glassnet.Input(shape=(28, 28, 1), name="pixels")]`.
        opset_version: the ONNX opset, 17 or later (default 18).
    """
    onnx = require_onnx()
    opset = _check_opset(opset_version)
    table = converters()
    kind = _model_kind(model)
    output_names = getattr(model, "output_names", None) or []
    if len(output_names) > 1:
        raise ValueError(f"ONNX export: model {model.name!r} has {len(output_names)} outputs "
                         f"{output_names}; export supports models with one output for now")
    specs = _input_specs(model, kind, input_signature)
    graph = OnnxGraph(opset, model.dtype, table)
    inputs = [Tensor(graph.reserve(name), shape) for name, _, shape in specs]
    output_name = graph.reserve(_output_name(model, kind))
    output, _ = graph.convert(model, inputs if kind == "Functional" and len(inputs) > 1
                              else inputs[0])
    graph.nodes.append(onnx.helper.make_node("Identity", [output.name], [output_name],
                                             name=graph.fresh("output")))
    proto = graph.graph_proto(
        model.name,
        [graph.value_info(name, dtype, shape) for (_, dtype, shape), name
         in zip(specs, [t.name for t in inputs])],
        [graph.value_info(output_name, graph.float_dtype, output.shape)])
    opset_ids = [onnx.helper.make_opsetid("", opset)]
    model_proto = onnx.helper.make_model(proto, opset_imports=opset_ids,
                                         producer_name="glassnet")
    model_proto.ir_version = onnx.helper.find_min_ir_version_for(opset_ids)
    onnx.checker.check_model(model_proto, full_check=True)
    return model_proto


def export_onnx(model, filepath, verbose=None, input_signature=None,
                opset_version: int | None = None, **kwargs) -> None:
    """Write `model` to `filepath` as ONNX (`Model.export(..., format="onnx")`).

    Args as `to_onnx`; `verbose` (default True, as Keras) prints where the file went.
    """
    if kwargs:
        raise TypeError(f"export(format='onnx'): unexpected arguments {sorted(kwargs)}; "
                        f"known: verbose, input_signature, opset_version")
    proto = to_onnx(model, input_signature=input_signature, opset_version=opset_version)
    require_onnx().save(proto, os.fspath(filepath))
    if verbose is None or verbose:
        print(f"Saved artifact at '{os.fspath(filepath)}'.")


__all__ = ["converters", "export_onnx", "to_onnx"]
