"""Classification: the confusion matrix, and a 2-D model's decision regions."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from glassnet import config, metrics
from glassnet.backend import to_numpy
from glassnet.inspection.plot.figures import (
    PathLike,
    _check_class_names,
    _check_same_length,
    _figure_and_axes,
    _finish,
)

_NORMALIZE = {"true": 1, "pred": 0, "all": None}


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    class_names: Sequence[str] | None = None,
    normalize: str | None = None,
    title: str | None = None,
    cmap: str = "Blues",
    ax: Axes | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Heatmap of the confusion matrix with every cell annotated; rows true, columns predicted.

    C[i, j] counts samples of true class i predicted as class j (scikit-learn's layout), so
    the diagonal holds the right answers.

    Args:
        y_true: true classes, (N,) labels or (N, C) one-hot rows.
        y_pred: predictions, (N,) labels, (N, C) probabilities (argmax) or (N, 1) p(class 1).
        class_names: tick labels (default: the class numbers).
        normalize: None (counts), "true" (each row sums to 1: recall per class),
            "pred" (each column sums to 1: precision) or "all" (fractions of N).
        title: axes title (default "Confusion matrix").
        cmap: colour map of the heatmap.
        ax: draw into this axes instead of a new figure.
        path: where to save the figure.
    """
    if normalize not in (None, *_NORMALIZE):
        raise ValueError(f"normalize: expected one of {[None, *_NORMALIZE]}, got {normalize!r}")
    actual = metrics.as_labels(y_true, "y_true")
    predicted = metrics.as_labels(y_pred, "y_pred")
    _check_same_length(actual, predicted, ("y_true", "y_pred"))
    if actual.size == 0:
        raise ValueError("y_true: expected at least one sample, got an empty array")
    num_classes = int(max(actual.max(), predicted.max())) + 1
    if class_names is not None:
        num_classes = max(num_classes, len(class_names))
    names = _check_class_names(class_names, num_classes)
    matrix = to_numpy(metrics.confusion_matrix(actual, predicted, num_classes=num_classes))
    if normalize is not None:
        axis = _NORMALIZE[normalize]
        totals = matrix.sum() if axis is None else matrix.sum(axis=axis, keepdims=True)
        matrix = matrix / np.maximum(totals, 1)   # an empty row/column stays 0, not NaN

    size = 1.2 + 0.55 * num_classes
    figure, ax, owned = _figure_and_axes(ax, figsize=(size + 1.2, size))
    image = ax.imshow(matrix, cmap=cmap, interpolation="nearest")
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    _annotate_cells(ax, matrix, "d" if normalize is None else ".2f")
    ticks = np.arange(num_classes)
    rotation = 45 if max(len(name) for name in names) > 2 else 0
    align = "right" if rotation else "center"
    ax.set_xticks(ticks, names[:num_classes], rotation=rotation, ha=align)
    ax.set_yticks(ticks, names[:num_classes])
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title(title or "Confusion matrix")
    return _finish(figure, path, owned)


def _annotate_cells(ax: Axes, matrix: np.ndarray, number_format: str) -> None:
    """Write each value in its cell, white on dark cells so it stays readable."""
    threshold = matrix.max() / 2
    fontsize = 9 if len(matrix) <= 12 else 6
    for (row, col), value in np.ndenumerate(matrix):
        color = "white" if value > threshold else "black"
        ax.text(col, row, format(value, number_format), ha="center", va="center",
                color=color, fontsize=fontsize)


def _predict(model_or_fn: Any, grid: np.ndarray) -> np.ndarray:
    """model.predict(grid) (quiet, one batch, where it takes those options) or fn(grid)."""
    if hasattr(model_or_fn, "predict"):
        predict: Callable = model_or_fn.predict
        parameters = inspect.signature(predict).parameters
        options = {"verbose": 0, "batch_size": len(grid)}
        kwargs = {key: value for key, value in options.items() if key in parameters}
        return to_numpy(predict(grid, **kwargs))
    if callable(model_or_fn):
        return to_numpy(model_or_fn(grid))
    raise TypeError(
        "model_or_fn: expected a model with .predict or a callable, "
        f"got {type(model_or_fn).__name__}"
    )


def decision_boundary(
    model_or_fn: Any,
    x: Any,
    y: Any,
    resolution: int = 200,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    margin: float = 0.1,
    ax: Axes | None = None,
    path: PathLike | None = None,
) -> Figure:
    """What a classifier predicts over the plane, with the data points on top (2-D inputs).

    The model is evaluated on a resolution x resolution grid covering the data plus `margin`
    (a fraction of each feature's range) on every side. A single output, or two softmax
    outputs, is read as p(class 1) and shaded from blue (0) to red (1) with the p = 0.5
    boundary drawn in black; more outputs are reduced with argmax and each region is tinted
    with its class colour.

    Args:
        model_or_fn: an object with `predict(x)` (a glassnet/Keras model) or a callable;
            it receives float inputs of shape (resolution**2, 2) in `config.floatx()` and
            returns probabilities (M,), (M, 1) or (M, C).
        x: inputs, shape (N, 2).
        y: classes of the points, (N,) labels or (N, C) one-hot rows.
        resolution: grid points along each axis.
        feature_names: axis labels for the two features (default "x₁", "x₂").
        class_names: legend names of the classes (default "class 0", ...).
        title: axes title (default "Decision boundary").
        margin: extra room around the data, as a fraction of each feature's range.
        ax: draw into this axes instead of a new figure.
        path: where to save the figure.
    """
    points = to_numpy(x)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"x: expected 2-D inputs of shape (N, 2), got {points.shape}")
    labels = metrics.as_labels(y, "y")
    _check_same_length(points, labels, ("x", "y"))
    if len(points) == 0:
        raise ValueError("x: expected at least one point, got an empty array")
    if not (isinstance(resolution, int | np.integer) and resolution >= 2):
        raise ValueError(f"resolution: expected an integer >= 2, got {resolution!r}")
    if feature_names is not None and len(feature_names) != 2:
        raise ValueError(f"feature_names: expected 2 names, got {len(feature_names)}")

    grid_x0, grid_x1 = _grid(points, resolution, margin)
    grid = np.column_stack([grid_x0.ravel(), grid_x1.ravel()]).astype(config.floatx())
    outputs = _predict(model_or_fn, grid).astype(np.float64)
    outputs = outputs.reshape(len(grid), -1)   # (resolution**2, 1 or C)

    figure, ax, owned = _figure_and_axes(ax, figsize=(6.0, 4.8))
    num_classes = int(labels.max()) + 1
    if outputs.shape[1] <= 2:
        probability = outputs[:, -1].reshape(grid_x0.shape)   # p(class 1), either layout
        num_classes = max(num_classes, 2)
        filled = ax.contourf(grid_x0, grid_x1, probability, levels=np.linspace(0, 1, 21),
                             cmap="RdBu_r", alpha=0.6, extend="both")
        ax.contour(grid_x0, grid_x1, probability, levels=[0.5], colors="black", linewidths=1.2)
        figure.colorbar(filled, ax=ax, label="P(class 1)", ticks=np.linspace(0, 1, 6))
        colors = {0: "tab:blue", 1: "tab:red"}
    else:
        region = np.argmax(outputs, axis=1).reshape(grid_x0.shape)
        num_classes = max(num_classes, outputs.shape[1])
        _fill_regions(ax, grid_x0, grid_x1, region, num_classes)
        colors = {index: f"C{index % 10}" for index in range(num_classes)}
    names = _check_class_names(class_names, num_classes)
    if class_names is None:
        names = [f"class {name}" for name in names]
    for label in np.unique(labels):
        chosen = labels == label
        ax.scatter(points[chosen, 0], points[chosen, 1], s=18, edgecolors="black",
                   linewidths=0.5, color=colors.get(int(label), "0.5"), label=names[label])
    x_name, y_name = feature_names if feature_names is not None else ("x₁", "x₂")
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(title or "Decision boundary")
    ax.legend(loc="best", fontsize=8)
    return _finish(figure, path, owned)


def _grid(points: np.ndarray, resolution: int, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Two (resolution, resolution) coordinate arrays covering the points plus a margin."""
    low, high = points.min(axis=0).astype(np.float64), points.max(axis=0).astype(np.float64)
    span = np.where(high > low, high - low, 1.0)   # a constant feature still gets a width
    low, high = low - margin * span, high + margin * span
    axis0 = np.linspace(low[0], high[0], resolution)
    axis1 = np.linspace(low[1], high[1], resolution)
    return np.meshgrid(axis0, axis1)   # each (resolution, resolution), rows follow x₂


def _fill_regions(ax: Axes, grid_x0, grid_x1, region: np.ndarray, num_classes: int) -> None:
    """Tint each predicted-class region with that class's colour (levels between integers)."""
    from matplotlib.colors import ListedColormap

    colormap = ListedColormap([f"C{index % 10}" for index in range(num_classes)])
    levels = np.arange(num_classes + 1) - 0.5
    ax.contourf(grid_x0, grid_x1, region, levels=levels, cmap=colormap, alpha=0.3)
