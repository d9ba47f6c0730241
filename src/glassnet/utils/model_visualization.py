"""plot_model: a model's layer graph as an image, Keras' `keras.utils.plot_model`.

Drawn with matplotlib (imported on first use), one box a layer, an arrow for every tensor
from one layer to the next, laid out by `model_graph` (ranks from the inputs down). Keras
draws through pydot and Graphviz; glassnet needs neither.

    >>> fig = plot_model(model, to_file="model.png", show_shapes=True)
"""

from __future__ import annotations

import os
from typing import Any

from glassnet.utils.model_graph import LayerNode, model_graph

_RANKDIRS = ("TB", "LR")


def _label(node: LayerNode, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
           show_layer_activations: bool, show_trainable: bool) -> str:
    """The text of a box: name and class, then the details asked for, one a line."""
    lines = [f"{node.name} ({node.class_name})" if show_layer_names else node.class_name]
    layer = node.layer
    if show_shapes:
        lines.append(f"Input shape: {_shape_text(getattr(layer, 'input_shape', None))}")
        lines.append(f"Output shape: {_shape_text(getattr(layer, 'output_shape', None))}")
    if show_dtype:
        lines.append(f"dtype: {getattr(layer, 'dtype', None) or '?'}")
    if show_layer_activations and layer is not None:
        activation = layer.get_config().get("activation")
        if isinstance(activation, str):
            lines.append(f"Activation: {activation}")
    if show_trainable and layer is not None:
        lines.append("Trainable" if layer.trainable else "Frozen")
    return "\n".join(lines)


def _shape_text(shape) -> str:
    return "?" if shape is None else str(shape)


def plot_model(model, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, **kwargs: Any):
    """Draw `model`'s layers and their connections to `to_file`; return the Figure.

    Args:
        model: a Sequential or functional model.
        to_file: the image file; the suffix picks the format (png, pdf, svg, jpg; PNG
            without a suffix, as Keras).
        show_shapes: each box lists the layer's input and output shapes.
        show_dtype: each box lists the layer's dtype.
        show_layer_names: "name (Class)" in each box; False: the class only.
        rankdir: "TB" draws from top to bottom, "LR" from left to right.
        expand_nested: accepted for Keras' signature; a nested model is drawn as one box.
        dpi: the image's resolution.
        show_layer_activations: the activation of layers that have one.
        show_trainable: "Trainable" or "Frozen" in each box.

    Returns:
        The `matplotlib.figure.Figure` (a notebook displays it); its texts are the boxes'.
    """
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir: expected one of {_RANKDIRS}, got {rankdir!r}")
    if kwargs:
        raise TypeError(f"plot_model: unexpected arguments {sorted(kwargs)}")
    from matplotlib.figure import Figure

    from glassnet.inspection.plot import save

    graph = model_graph(model)
    depth = max(node.rank for node in graph.nodes) + 1
    width = max(sum(1 for node in graph.nodes if node.rank == r) for r in range(depth))
    lines = 1 + 2 * show_shapes + show_dtype + show_layer_activations + show_trainable
    across, down = 3.6, 0.5 + 0.28 * lines           # inches a box takes, with its gaps
    if rankdir == "TB":
        figure = Figure(figsize=(max(3.0, width * across), max(1.5, depth * (down + 0.4))))
    else:
        figure = Figure(figsize=(max(3.0, depth * across), max(1.5, width * (down + 0.4))))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()

    def place(node: LayerNode) -> tuple[float, float]:
        return (node.position, -node.rank) if rankdir == "TB" else (node.rank, -node.position)

    boxes = {}
    for node in graph.layers:
        text = _label(node, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                      show_trainable)
        boxes[node.name] = axes.text(*place(node), text, ha="center", va="center", fontsize=9,
                                     bbox={"boxstyle": "round,pad=0.5", "facecolor": "#eef3fb",
                                           "edgecolor": "#4a6fa5"})
    for source, target in graph.edges:   # through the edge's waypoints, arrow at the end
        points = [source, *graph.routes[(source, target)], target]
        for start, end in zip(points, points[1:]):
            axes.annotate("", xy=place(graph.node(end)), xytext=place(graph.node(start)),
                          arrowprops={"arrowstyle": "-|>" if end == target else "-",
                                      "color": "#4a6fa5", "shrinkA": 2 * (start in boxes),
                                      "shrinkB": 2 * (end in boxes),
                                      "patchA": boxes[start].get_bbox_patch()
                                      if start in boxes else None,
                                      "patchB": boxes[end].get_bbox_patch()
                                      if end in boxes else None})
    xs = [place(node)[0] for node in graph.nodes]
    ys = [place(node)[1] for node in graph.nodes]
    axes.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    axes.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    save(figure, to_file, dpi=dpi)
    return figure
