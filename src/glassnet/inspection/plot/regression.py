"""Regression: predictions against the true values, with R²."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from glassnet.backend import to_numpy
from glassnet.inspection.plot.figures import (
    PathLike,
    _check_same_length,
    _figure_and_axes,
    _finish,
)


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
