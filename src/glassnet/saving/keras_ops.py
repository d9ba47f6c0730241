"""Ops on symbolic tensors (glassnet's OpLayer) as Keras 3 writes them in a Functional model.

Keras 3.15 keeps `x + y`, `ops.softmax(h, axis=-1)` or `h[:, 0]` on KerasTensors as an
operation of its own in the model's "layers" list: the op's class in `keras.src.ops.<module>`,
a config with its name and its constructor's arguments, and one inbound node with the call's
arguments (tensors and constants) in order:

    {"module": "keras.src.ops.nn", "class_name": "Softmax", "registered_name": "Softmax",
     "config": {"name": "softmax", "axis": -1}, "name": "softmax",
     "inbound_nodes": [{"args": [<keras tensor>], "kwargs": {}}]}

glassnet's OpLayer records the same call as the op's name with its arguments, the tensors
as {"__tensor__": k}. The op functions of both libraries take the same parameters; which of
them Keras' op class takes in its constructor and which in its call is the table below (the
rest are constructor arguments). Constants are translated between the two encodings: slices,
Ellipsis, arrays ({"class_name": "__numpy__"}), and tuples, which Keras writes as lists.
"""

from __future__ import annotations

import inspect
from typing import Any

from glassnet import autodiff
from glassnet.saving.keras_values import KerasConfigError, KerasExportError, keras_object

# (module in keras.src.ops, the parameters Keras' op class takes in its call): ops
_CALLS = {
    ("core", ("indices", "values")): "scatter",
    ("core", ("inputs", "indices", "updates")): "scatter_update",
    ("core", ("x",)): "cast",
    ("math", ("x",)): "erf logsumexp rsqrt",
    ("nn", ("inputs",)): "average_pool max_pool multi_hot",
    ("nn", ("inputs", "kernel")): "conv conv_transpose depthwise_conv",
    ("nn", ("x",)): "elu gelu hard_sigmoid leaky_relu log_sigmoid log_softmax one_hot relu "
                    "relu6 sigmoid silu softmax softplus softsign",
    ("numpy", ("condition", "x1", "x2")): "where",
    ("numpy", ("fill_value",)): "full",
    ("numpy", ("start", "stop")): "linspace",
    ("numpy", ("start", "stop", "step")): "arange",
    ("numpy", ("x",)): "abs all any arccos arcsin arcsinh arctan arctanh argmax argmin argsort "
                       "broadcast_to ceil clip cos cosh count_nonzero cumsum exp exp2 "
                       "expand_dims expm1 flip floor isfinite isinf isnan log log10 log1p log2 "
                       "logical_not max mean min nan_to_num negative nonzero ones_like prod "
                       "reciprocal repeat reshape roll round sign sin sinh sqrt square squeeze "
                       "stack sum tan tanh tile transpose tril triu trunc var zeros_like",
    ("numpy", ("x", "constant_values")): "pad",
    ("numpy", ("x", "fill_value")): "full_like",
    ("numpy", ("x", "indices")): "take take_along_axis",
    ("numpy", ("x", "key")): "get_item",
    ("numpy", ("x1", "x2")): "add arctan2 divide divide_no_nan equal floor_divide greater "
                             "greater_equal hypot less less_equal logaddexp logical_and "
                             "logical_or logical_xor matmul maximum minimum mod multiply "
                             "not_equal power subtract",
    ("numpy", ("x1", "x2", "rtol", "atol")): "isclose",
    ("numpy", ("xs",)): "concatenate",
}
# glassnet op -> (Keras module, call parameters)
OPS: dict[str, tuple[str, tuple[str, ...]]] = {
    op: (module, call) for (module, call), ops in _CALLS.items() for op in ops.split()}
# Keras op classes -> glassnet's op where the name is not the op's in CamelCase
_KERAS_ALIASES = {"TrueDivide": "divide", "Absolute": "abs"}
_MODULE = "keras.src.ops."
_KERAS_TENSOR = "__keras_tensor__"


def keras_class(op: str) -> str:
    return "".join(part.capitalize() for part in op.split("_"))


_FROM_KERAS = {keras_class(op): op for op in OPS} | _KERAS_ALIASES


def is_keras_op(spec) -> bool:
    """Whether a layer entry of a Keras Functional config is an op (not a layer)."""
    return isinstance(spec, dict) and str(spec.get("module", "")).startswith(_MODULE)


# ----- Keras -> glassnet --------------------------------------------------------------------
def op_from_keras(spec, where: str, reference) -> tuple[dict[str, Any], list[list]]:
    """(glassnet OpLayer spec, the inbound node as [layer, node, 0] references) of a Keras
    op; `reference(tensor dict, where)` reads a Keras tensor's history."""
    class_name, name = spec.get("class_name"), spec.get("name")
    where = f"{where}: op {name!r} ({class_name})"
    op = _FROM_KERAS.get(class_name)
    if op is None or f"{_MODULE}{OPS[op][0]}" != spec.get("module"):
        raise KerasConfigError(f"{where}: glassnet has no op {spec.get('module')}."
                               f"{class_name} (it reads {len(OPS)} ops of keras.ops)")
    config = spec.get("config") or {}
    nodes = spec.get("inbound_nodes")
    if not isinstance(config, dict) or not isinstance(nodes, list) or len(nodes) != 1 \
            or not isinstance(nodes[0], dict):
        raise KerasConfigError(f"{where}: expected a config object and one inbound node")
    args, kwargs = nodes[0].get("args", []), nodes[0].get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise KerasConfigError(f"{where}: a node's args must be a list, its kwargs an object")
    references: list[list] = []

    def convert(value, as_tuple=False):
        if isinstance(value, list):
            items = [convert(v) for v in value]
            return {"__tuple__": items} if as_tuple else items
        if not isinstance(value, dict):
            return value
        kind, inner = value.get("class_name"), value.get("config") or {}
        if kind == _KERAS_TENSOR:
            references.append(reference(value, where))
            return {"__tensor__": len(references) - 1}
        if kind == "__slice__":
            return {"__slice__": [convert(inner.get(k)) for k in ("start", "stop", "step")]}
        if kind == "__ellipsis__":
            return {"__ellipsis__": True}
        if kind in ("__numpy__", "__tensor__"):
            return {"__array__": inner.get("value"), "dtype": str(inner.get("dtype"))}
        raise KerasConfigError(f"{where}: cannot read the argument {str(value)[:80]}")

    # Keras writes tuples as lists: a key (get_item) and constructor arguments (axes,
    # shapes) go back to tuples, which is what numpy reads them as.
    arguments = [convert(value, as_tuple=op == "get_item" and k == 1)
                 for k, value in enumerate(args)]
    keywords = {key: convert(value) for key, value in kwargs.items()}
    keywords |= {key: convert(value, as_tuple=True) for key, value in config.items()
                 if key != "name"}
    glassnet_spec = {"class_name": "OpLayer", "config": {
        "name": name, "op": op, "arguments": arguments, "keywords": keywords}}
    return glassnet_spec, references


# ----- glassnet -> Keras --------------------------------------------------------------------
def op_to_keras(layer, tensors: list[dict[str, Any]], where: str = ""
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the Keras spec of an OpLayer, its inbound node); `tensors` are the Keras tensor dicts
    of the node's inputs, in order."""
    where = f"{where}layer {layer.name!r} (OpLayer {layer.op!r})"
    if layer.op not in OPS:
        raise KerasExportError(f"{where}: Keras has no op class for {layer.op!r}")
    module, call = OPS[layer.op]
    try:
        bound = inspect.signature(autodiff.REGISTRY[layer.op]).bind(
            *layer.arguments, **layer.keywords)
    except TypeError as error:
        raise KerasExportError(f"{where}: {error}") from error
    bound.apply_defaults()

    def convert(value, in_call=True):
        if isinstance(value, list):
            return [convert(v, in_call) for v in value]
        if not isinstance(value, dict):
            return value
        if "__tensor__" in value:
            if not in_call:
                raise KerasExportError(f"{where}: a tensor as a constant argument, which "
                                       f"Keras' op class takes in its constructor")
            return tensors[value["__tensor__"]]
        if "__tuple__" in value:
            return [convert(v, in_call) for v in value["__tuple__"]]
        if "__slice__" in value:
            start, stop, step = (convert(v, in_call) for v in value["__slice__"])
            return {"class_name": "__slice__",
                    "config": {"start": start, "stop": stop, "step": step}}
        if "__ellipsis__" in value:
            return {"class_name": "__ellipsis__", "config": {}}
        if "__array__" in value:
            return {"class_name": "__numpy__",
                    "config": {"value": value["__array__"], "dtype": value["dtype"]}}
        raise KerasExportError(f"{where}: cannot write the argument {str(value)[:80]}")

    config = {"name": layer.name}
    config |= {key: convert(value, in_call=False) for key, value in bound.arguments.items()
               if key not in call}
    node = {"args": [convert(bound.arguments[key]) for key in call if key in bound.arguments],
            "kwargs": {}}
    class_name = keras_class(layer.op)
    return keras_object(f"{_MODULE}{module}", class_name, config, class_name), node


__all__ = ["OPS", "is_keras_op", "keras_class", "op_from_keras", "op_to_keras"]
