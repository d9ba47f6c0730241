"""`model.summary()`: the table Keras 3 prints, in plain text (no rich, no colours).

    Model: "functional"
    ┏━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━┓
    ┃ Layer (type)         ┃ Output Shape ┃ Param # ┃ Connected to            ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━┩
    │ a (InputLayer)       │ (None, 3)    │       0 │ -                       │
    ├──────────────────────┼──────────────┼─────────┼─────────────────────────┤
    │ add (Add)            │ (None, 3)    │       0 │ a[0][0], dense[0][0]    │
    └──────────────────────┴──────────────┴─────────┴─────────────────────────┘
     Total params: 12 (48.00 B)
     Trainable params: 12 (48.00 B)
     Non-trainable params: 0 (0.00 B)

What goes in it follows Keras' `print_summary`: a Sequential, a subclassed model and a
functional model that is a plain chain get three columns; any other functional model gets
"Connected to" (`name[node][tensor]` of every tensor each call of the layer read) and lists
its layers as Keras orders them (InputLayers first, then by decreasing depth). The totals
count each weight once, with its size in bytes; a built optimizer's variables add a line.
"""

from __future__ import annotations

import math
import re
import shutil
import textwrap

import numpy as np

from glassnet.layers.core import InputLayer


def print_summary(model, line_length=None, positions=None, print_fn=None,
                  expand_nested: bool = False, show_trainable: bool = False,
                  layer_range=None) -> None:
    """Print `model`'s table line by line with `print_fn` (default `print`)."""
    chain = not _is_graph(model)
    header = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else ["Connected to"])
    right = [False, False, True, False][:len(header)]            # Param # is right-aligned
    positions = positions or ([0.45, 0.80, 1.0] if chain else [0.3, 0.56, 0.74, 1.0])
    default = (88 if chain else 108) + (12 if show_trainable else 0)
    length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    if show_trainable:
        positions = [p * 0.9 for p in positions] + [1.0]
        header.append("Trainable")
        right.append(False)
    if len(positions) != len(header):
        raise ValueError(f"summary: positions must give {len(header)} column ends, got "
                         f"{list(positions)}")
    ends = [int(p * length) if p <= 1 else int(p) for p in positions]
    widths = [end - start - 3 for start, end in zip([0] + ends[:-1], ends)]  # "│ x " borders
    if min(widths) < 1:
        raise ValueError("Insufficient console width to print summary.")
    rows = []
    for layer in _range(_layers(model), layer_range):
        rows += _rows(model, layer, chain, show_trainable, expand_nested, 0)
    for text in [f'Model: "{model.name}"'] + _table(header, rows, widths, right) + _totals(model):
        (print_fn or print)(text)


def _table(header: list, rows: list, widths: list, right: list) -> list[str]:
    """The boxed table, each cell wrapped to its column's width."""
    def line(left, fill, mid, end):
        return left + mid.join(fill * (w + 2) for w in widths) + end

    def cells(values, bar="│"):
        wrapped = [textwrap.wrap(v, w, break_on_hyphens=False) or [""]
                   for v, w in zip(values, widths)]
        height = max(len(lines) for lines in wrapped)
        for i in range(height):
            texts = [lines[i] if i < len(lines) else "" for lines in wrapped]
            yield bar + bar.join(f" {t.rjust(w) if r else t.ljust(w)} "
                                 for t, w, r in zip(texts, widths, right)) + bar

    out = [line("┏", "━", "┳", "┓"), *cells(header, "┃"), line("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        if i:
            out.append(line("├", "─", "┼", "┤"))
        out += cells(row)
    return out + [line("└", "─", "┴", "┘")]


def _totals(model) -> list[str]:
    """The counts and sizes under the table: each weight once; the optimizer's if built."""
    trainable = _unique(model.trainable_weights)
    frozen = _unique(model.non_trainable_weights)
    optimizer = _optimizer_variables(model)
    everything = trainable + frozen + optimizer
    out = [f" Total params: {_count(everything):,} ({_size(everything)})",
           f" Trainable params: {_count(trainable):,} ({_size(trainable)})",
           f" Non-trainable params: {_count(frozen):,} ({_size(frozen)})"]
    if optimizer:
        out.append(f" Optimizer params: {_count(optimizer):,} ({_size(optimizer)})")
    return out


def _is_graph(model) -> bool:
    """Whether a functional model is more than a chain: some layer reads several tensors,
    is called twice, or two calls read the same tensor (Keras' test, per depth)."""
    nodes = getattr(model, "_nodes", None)
    if nodes is None:
        return False
    if len(model.inputs) > 1:
        return True
    previous = model.inputs[0]
    for node in nodes:
        if len(node.inputs) != 1 or node.list_input or node.inputs[0] is not previous:
            return True
        previous = node
    return len({id(node.layer) for node in nodes}) != len(nodes)


def _layers(model) -> list:
    """The rows' layers: a Sequential's; a functional model's in Keras' order, its
    InputLayers first."""
    if not hasattr(model, "_nodes"):
        return [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    return model.layers                  # Keras' order, InputLayers first


def _range(layers: list, layer_range) -> list:
    """The layers from the first whose name starts layer_range[0] to the last matching [1]."""
    if layer_range is None:
        return layers
    if len(layer_range) != 2 or not all(isinstance(n, str) for n in layer_range):
        raise ValueError(f"layer_range must be a list or tuple of two layer names, got "
                         f"{layer_range!r}")
    starts = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    ends = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not starts or not ends:
        raise ValueError(f"layer_range {layer_range!r} matches no layer; layers are "
                         f"{[layer.name for layer in layers]}")
    return layers[starts[0]:ends[-1] + 1]


def _rows(model, layer, chain: bool, show_trainable: bool, expand: bool, depth: int) -> list:
    prefix = "   " * depth + "└ " if depth else ""
    if not layer.built:
        params = "0 (unbuilt)"
    else:
        params = f"{layer.count_params():,}"
    row = [f"{prefix}{layer.name} ({type(layer).__name__})", _shape(model, layer), params]
    if not chain:
        row.append(_connections(model, layer))
    if show_trainable:
        row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
    rows = [row]
    if expand and hasattr(layer, "layers"):
        for inner in layer.layers:
            rows += _rows(layer, inner, chain, show_trainable, expand, depth + 1)
    return rows


def _shape(model, layer) -> str:
    """The output shape of the layer's (last) call in this model, else its built shape."""
    if isinstance(layer, InputLayer):
        return _format(layer.batch_shape)
    nodes = getattr(model, "_layer_nodes", {}).get(id(layer))
    if nodes:
        return _format(nodes[-1].shape)
    return _format(layer.output_shape) if layer.built and layer.output_shape else "?"


def _format(shape) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_format(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ")"      # Keras writes (None) too


def _connections(model, layer) -> str:
    """`name[node][tensor]` of every tensor each of the layer's calls in the model read."""
    nodes = model._layer_nodes.get(id(layer), [])
    refs = [model._reference(t) for node in nodes for t in node.inputs]
    return ", ".join(f"{n}[{k}][{i}]" for n, k, i in refs) or "-"


def _unique(weights) -> list:
    return list({id(w): w for w in weights}.values())


def _optimizer_variables(model) -> list:
    """What Keras counts as the optimizer's variables once it is built: its step counter
    (4 bytes in Keras' count), its learning rate (float32, unless a schedule) and every
    slot buffer."""
    optimizer = getattr(model, "optimizer", None)
    if not getattr(model, "compiled", False) or not getattr(optimizer, "built", False):
        return []
    variables = [np.zeros((), np.int32)]
    if not isinstance(optimizer.get_config().get("learning_rate"), dict):   # a schedule
        variables.append(np.zeros((), np.float32))
    for name in optimizer.slot_initial_values():
        variables += [optimizer.slot(name, i) for i in range(len(model.trainable_weights))]
    return variables


def _count(weights) -> int:
    return int(sum(math.prod(np.shape(_value(w))) for w in weights))


def _size(weights) -> str:
    """Bytes of the weights, as Keras writes them: '92.00 B', '1.21 KB', ..."""
    size = float(sum(np.asarray(_value(w)).nbytes for w in weights))
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _value(weight):
    return getattr(weight, "value", weight)


__all__ = ["print_summary"]
