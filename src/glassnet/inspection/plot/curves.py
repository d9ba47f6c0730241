"""Learning curves: one run's metrics per epoch, or several runs compared."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from glassnet.inspection.plot.figures import (
    PathLike,
    _finish,
)


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
