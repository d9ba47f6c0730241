"""Figures for training runs and predictions: learning curves, digit grids, confusion matrices.

Every function returns a `matplotlib.figure.Figure` and, given `path`, also writes it to disk
(atomically: a temp file in the same folder, then `os.replace`). Figures are built with
`matplotlib.figure.Figure` directly instead of `pyplot`, so no global figure list grows while a
demo draws dozens of figures, no GUI backend is ever started (it works on a headless machine
without selecting Agg), and `plt.show()` is never called. In a Jupyter notebook a returned
figure displays as the cell's value; to draw into your own window or layout, pass `ax=` (from
`fig, ax = plt.subplots()`) to the functions that draw on a single axes.

    >>> from glassnet import plot
    >>> history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6]}
    >>> fig = plot.learning_curves(history, path="figures/loss.png")

Label arguments (`labels_true`, `y_true`, `y`, ...) accept integer class labels (N,),
one-hot or probability rows (N, C) (reduced with argmax), or binary probabilities (N,) or (N, 1)
(thresholded at 0.5).
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from glassnet import config, metrics
from glassnet.backend import to_numpy
from glassnet.io import atomic_write

__all__ = [
    "compare_learning_curves",
    "confusion_matrix",
    "decision_boundary",
    "image_grid",
    "learning_curves",
    "predicted_vs_actual",
    "save",
]

PathLike = str | os.PathLike
WRONG_COLOR = "tab:red"


# ----------------------------------------------------------------------------------------------
# Shared helpers: figures, saving, labels
# ----------------------------------------------------------------------------------------------


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes, bool]:
    """The figure to draw on: the caller's `ax`, or a new one-axes figure (owned=True)."""
    if ax is not None:
        return ax.figure, ax, False
    figure = Figure(figsize=figsize)
    return figure, figure.add_subplot(), True


def _finish(figure: Figure, path: PathLike | None, owned: bool = True) -> Figure:
    """tight_layout on figures we created (never rearrange a caller's figure), then save."""
    if owned:
        figure.tight_layout()
    if path is not None:
        save(figure, path)
    return figure


def save(figure: Figure, path: PathLike, dpi: int = 100) -> Path:
    """Write `figure` to `path` atomically; the format comes from the suffix (default PNG).

    The image goes to a temp file in the destination folder, then `os.replace` moves it over
    `path`, so a reader never sees a half-written file. Missing parent folders are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_format = path.suffix.lstrip(".").lower() or "png"
    with atomic_write(path) as file:
        figure.savefig(file, format=image_format, dpi=dpi)
    return path


def _check_same_length(first: np.ndarray, second: np.ndarray, names: tuple[str, str]) -> None:
    if len(first) != len(second):
        raise ValueError(
            f"{names[1]}: expected {len(first)} entries to match {names[0]}, got {len(second)}"
        )


def _check_class_names(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    """Display names for classes 0..num_classes-1 (the numbers themselves by default)."""
    if class_names is None:
        return [str(index) for index in range(num_classes)]
    names = [str(name) for name in class_names]
    if len(names) < num_classes:
        raise ValueError(
            f"class_names: expected at least {num_classes} names (labels go up to "
            f"{num_classes - 1}), got {len(names)}"
        )
    return names


# ----------------------------------------------------------------------------------------------
# Learning curves
# ----------------------------------------------------------------------------------------------


def _history_dict(history: Any, name: str = "history") -> dict[str, list[float]]:
    """The `{metric: [per-epoch values]}` dict of a History object or of a plain dict."""
    logs = history.history if hasattr(history, "history") else history
    if not isinstance(logs, Mapping):
        raise TypeError(
            f"{name}: expected a History (with a .history dict) or a dict, got "
            f"{type(history).__name__}"
        )
    if not logs:
        raise ValueError(f"{name}: the history is empty (no metrics were recorded)")
    return {str(key): [float(value) for value in values] for key, values in logs.items()}


def _base_metrics(logs: Mapping[str, list[float]]) -> list[str]:
    """Metric names without the 'val_' prefix, 'loss' first, then in recording order."""
    names: list[str] = []
    for key in logs:
        base = key.removeprefix("val_")
        if base not in names:
            names.append(base)
    if "loss" in names:
        names.remove("loss")
        names.insert(0, "loss")
    return names


def _select_metrics(logs: Mapping[str, list[float]], metrics: Sequence[str] | None) -> list[str]:
    available = _base_metrics(logs)
    if metrics is None:
        return available
    chosen = [metrics] if isinstance(metrics, str) else list(metrics)
    unknown = [name for name in chosen if name not in available]
    if unknown or not chosen:
        raise ValueError(f"metrics: expected names among {available}, got {chosen}")
    return chosen


def _plot_curve(ax: Axes, values: list[float], **style: Any) -> None:
    """One per-epoch curve; epochs count from 1 as Keras prints them."""
    epochs = np.arange(1, len(values) + 1)
    ax.plot(epochs, values, marker="o" if len(values) <= 20 else None, markersize=3, **style)


def _style_metric_axes(ax: Axes, metric: str, log_scale: bool) -> None:
    ax.set_xlabel("Epoch")
    ax.set_ylabel(metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()


def learning_curves(
    history: Any,
    metrics: Sequence[str] | None = None,
    title: str | None = None,
    log_loss: bool = False,
    path: PathLike | None = None,
) -> Figure:
    """Training and validation curves, one subplot per metric ('loss' first).

    Args:
        history: a `History` (as returned by `model.fit`) or its `.history` dict,
            `{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`; keys starting
            with "val_" are drawn as the validation curve of the metric they prefix.
        metrics: base names to draw (default: every recorded metric).
        title: figure title.
        log_loss: draw the loss on a log scale (useful when it falls by decades).
        path: where to save the figure (PNG by default).

    Returns:
        The figure: one axes per metric, x axis "Epoch" counted from 1.
    """
    logs = _history_dict(history)
    names = _select_metrics(logs, metrics)
    figure = Figure(figsize=(4.5 * len(names), 3.6))
    for index, metric in enumerate(names):
        ax = figure.add_subplot(1, len(names), index + 1)
        if metric in logs:
            _plot_curve(ax, logs[metric], label="train", color="tab:blue")
        if f"val_{metric}" in logs:
            _plot_curve(ax, logs[f"val_{metric}"], label="validation", color="tab:orange")
        ax.set_title(metric)
        _style_metric_axes(ax, metric, log_scale=log_loss and metric == "loss")
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def compare_learning_curves(
    histories: Mapping[str, Any],
    metric: str | Sequence[str] = "loss",
    title: str | None = None,
    log_scale: bool = False,
    validation_label: str = "validation",
    ax: Axes | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Several runs on one figure: one colour per run, train solid, validation dashed.

    Args:
        histories: `{run name: History or history dict}`, e.g.
            `{"seed recipe": h1, "modern recipe": h2}`.
        metric: base metric name ("loss", "accuracy"), or a list of names for one subplot each.
        title: figure title.
        log_scale: log scale on the y axis.
        validation_label: how the "val_" curves are named in the legend (e.g. "test" when the
            validation data passed to `fit` was the test set).
        ax: draw into this axes (a single metric only).
        path: where to save the figure.

    Returns:
        The figure, one axes per metric.
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories: expected a non-empty dict {run name: history}")
    runs = {run: _history_dict(logs, f"histories[{run!r}]") for run, logs in histories.items()}
    names = [metric] if isinstance(metric, str) else list(metric)
    if not names:
        raise ValueError("metric: expected a metric name or a non-empty list of names")
    if ax is not None and len(names) != 1:
        raise ValueError(f"ax: can only draw a single metric into one axes, got metric={names}")
    for name in names:
        if not any(name in logs or f"val_{name}" in logs for logs in runs.values()):
            available = sorted({base for logs in runs.values() for base in _base_metrics(logs)})
            raise ValueError(f"metric: expected names among {available}, got {name!r}")

    if ax is None:
        figure, owned = Figure(figsize=(5.5 * len(names), 4.0)), True
        axes = [figure.add_subplot(1, len(names), index + 1) for index in range(len(names))]
    else:
        figure, owned, axes = ax.figure, False, [ax]
    for ax_metric, name in zip(axes, names):
        _draw_runs(ax_metric, runs, name, validation_label)
        ax_metric.set_title(name if len(names) > 1 or not title else title)
        _style_metric_axes(ax_metric, name, log_scale)
    if title and len(names) > 1:
        figure.suptitle(title)
    return _finish(figure, path, owned)


def _draw_runs(
    ax: Axes, runs: Mapping[str, Mapping[str, list[float]]], metric: str, validation_label: str
) -> None:
    """Each run in its own colour (the default cycle), train solid and validation dashed."""
    for index, (run, logs) in enumerate(runs.items()):
        color = f"C{index % 10}"
        if metric in logs:
            _plot_curve(ax, logs[metric], label=f"{run} (train)", color=color)
        if f"val_{metric}" in logs:
            label = f"{run} ({validation_label})"
            _plot_curve(ax, logs[f"val_{metric}"], label=label, color=color, linestyle="--")


# ----------------------------------------------------------------------------------------------
# Regression
# ----------------------------------------------------------------------------------------------


def _r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination R^2 = 1 - sum (y - y_hat)^2 / sum (y - mean y)^2."""
    residual = float(np.sum((y_true - y_pred) ** 2))
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    return 1.0 - residual / total if total > 0 else float("nan")


def predicted_vs_actual(
    y_true: Any,
    y_pred: Any,
    title: str | None = None,
    ax: Axes | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Scatter of predictions against targets, the y = x line, and R^2 in the title.

    Points on the dashed line are perfect predictions; R^2 = 1 - SS_res / SS_tot.

    Args:
        y_true: targets, shape (N,) or (N, k); k > 1 outputs are pooled into one scatter.
        y_pred: predictions, same shape as `y_true` (or (N, 1) against (N,)).
        title: title text, followed by "(R² = ...)" (default "Predicted vs actual").
        ax: draw into this axes instead of a new figure.
        path: where to save the figure.
    """
    actual = to_numpy(y_true).astype(np.float64)
    predicted = to_numpy(y_pred).astype(np.float64)
    if actual.ndim == 0 or predicted.ndim == 0:
        shapes = f"{actual.shape} and {predicted.shape}"
        raise ValueError(f"y_true, y_pred: expected arrays of shape (N,), got {shapes}")
    _check_same_length(actual, predicted, ("y_true", "y_pred"))
    actual = actual.reshape(len(actual), -1)   # (N,) and (N, 1) both become (N, 1)
    predicted = predicted.reshape(len(predicted), -1)
    if actual.shape != predicted.shape:
        raise ValueError(f"y_pred: expected shape {actual.shape} (y_true), got {predicted.shape}")
    actual, predicted = actual.ravel(), predicted.ravel()
    if actual.size == 0:
        raise ValueError("y_true: expected at least one value, got an empty array")
    r2 = _r2_score(actual, predicted)

    figure, ax, owned = _figure_and_axes(ax, figsize=(4.8, 4.5))
    low = min(actual.min(), predicted.min())
    high = max(actual.max(), predicted.max())
    pad = 0.05 * (high - low) if high > low else 1.0
    limits = (low - pad, high + pad)
    ax.plot(limits, limits, linestyle="--", color="0.3", linewidth=1, label="y = x")
    ax.scatter(actual, predicted, s=12, alpha=0.6, color="tab:blue", label="predictions")
    ax.set_xlim(limits)
    ax.set_ylim(limits)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("Actual")
    ax.set_ylabel("Predicted")
    ax.set_title(f"{title or 'Predicted vs actual'} (R² = {r2:.3f})")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    return _finish(figure, path, owned)


# ----------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------


def _as_images(images: Any, shape: tuple[int, int] | None) -> np.ndarray:
    """Images (N, h, w) or (N, h, w, 3|4) from flat rows (N, h*w) or (N, h, w, 1)."""
    images = to_numpy(images)
    if images.ndim == 2:
        size = images.shape[1]
        if shape is None:
            side = math.isqrt(size)
            if side * side != size:
                raise ValueError(
                    f"images: flat rows of {size} pixels are not square; pass shape=(h, w)"
                )
            shape = (side, side)
        if math.prod(shape) != size:
            raise ValueError(f"shape: {tuple(shape)} does not hold {size} pixels per image")
        return images.reshape(len(images), *shape)
    if images.ndim == 4 and images.shape[-1] == 1:
        return images[..., 0]
    if images.ndim == 3 or (images.ndim == 4 and images.shape[-1] in (3, 4)):
        return images
    raise ValueError(
        f"images: expected shape (N, h*w), (N, h, w) or (N, h, w, 1|3|4), got {images.shape}"
    )


def _mark_wrong(ax: Axes) -> None:
    """A thick red frame around an image whose guess was wrong."""
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(WRONG_COLOR)
        spine.set_linewidth(2.5)


def image_grid(
    images: Any,
    labels_true: Any,
    labels_pred: Any = None,
    n: int | None = None,
    shape: tuple[int, int] | None = None,
    cols: int = 5,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    cmap: str = "gray_r",
    path: PathLike | None = None,
) -> Figure:
    """A grid of images titled "Actual: 5 / Guess: 5"; wrong guesses in red with a red frame.

    Args:
        images: (N, h, w), (N, h, w, 1|3|4), or flat rows (N, h*w) reshaped to a square
            (or to `shape`, e.g. (16, 16) for the semeion digits).
        labels_true: true classes, (N,) labels or (N, C) one-hot rows.
        labels_pred: predicted classes, labels or (N, C) probabilities (argmax); None shows
            only "Actual: ...".
        n: how many images to show, the first n (default: all, at most 25).
        shape: (h, w) of flat rows.
        cols: images per row.
        class_names: display names of the classes (default: the class numbers).
        title: figure title (default with predictions: "Right: 4  Wrong: 1  Accuracy: 80%",
            the tally the seed post prints).
        cmap: colour map of single-channel images ("gray_r": dark ink on white).
        path: where to save the figure.

    Returns:
        The figure, with one axes per image shown.
    """
    pictures = _as_images(images, shape)
    actual = metrics.as_labels(labels_true, "labels_true")
    _check_same_length(pictures, actual, ("images", "labels_true"))
    guessed = None
    if labels_pred is not None:
        guessed = metrics.as_labels(labels_pred, "labels_pred")
        _check_same_length(pictures, guessed, ("images", "labels_pred"))
    if n is None:
        n = min(len(pictures), 25)
    if not 1 <= n <= len(pictures):
        raise ValueError(f"n: expected 1 <= n <= {len(pictures)} (the number of images), got {n}")
    if cols < 1:
        raise ValueError(f"cols: expected a positive integer, got {cols}")
    top_label = int(max(actual.max(), guessed.max() if guessed is not None else 0))
    names = _check_class_names(class_names, top_label + 1)

    cols = min(cols, n)
    rows = math.ceil(n / cols)
    figure = Figure(figsize=(1.9 * cols, 2.1 * rows + (0.4 if guessed is not None else 0)))
    for index in range(n):
        ax = figure.add_subplot(rows, cols, index + 1)
        ax.imshow(pictures[index], cmap=cmap if pictures[index].ndim == 2 else None)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        text = f"Actual: {names[actual[index]]}"
        color = "black"
        if guessed is not None:
            text += f" / Guess: {names[guessed[index]]}"
            if guessed[index] != actual[index]:
                color = WRONG_COLOR
                _mark_wrong(ax)
        ax.set_title(text, fontsize=8, color=color)
    if title is None and guessed is not None:
        right = int(np.sum(actual[:n] == guessed[:n]))
        title = f"Right: {right}  Wrong: {n - right}  Accuracy: {100 * right / n:.0f}%"
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


# ----------------------------------------------------------------------------------------------
# Classification
# ----------------------------------------------------------------------------------------------


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
