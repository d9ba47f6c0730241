"""The health report's figure (`glassnet.diagnostics.plot`): one bar chart per quantity."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from glassnet.inspection.plot.figures import save


def health_figure(report, title: str | None = None, path=None,
                  healthy_ratio: float = 1e-3) -> Figure:
    """Bar charts per layer: gradient norm, update/weight ratio, dead ReLU, saturation.

    Args:
        report: one report, or {label: report} (e.g. "initial", "trained") for grouped bars.
        title: figure title; default names the model.
        path: optional file to write (atomically, format from the suffix).
        healthy_ratio: where the update/weight chart draws its reference line.

    Returns:
        A matplotlib Figure with four axes, one per quantity.
    """
    reports = dict(report) if isinstance(report, Mapping) else {"": report}
    first = next(iter(reports.values()))
    names = [row.name for row in first.layers]
    quantities = [("gradient norm ||dL/dW||", lambda row: row.gradient_norm, True),
                  ("update / weight  ||ΔW|| / ||W||", lambda row: row.update_ratio, True),
                  ("dead ReLU units (fraction)", lambda row: row.dead_fraction, False),
                  ("saturated sigmoid/tanh outputs (fraction)",
                   lambda row: row.saturated_fraction, False)]
    figure = Figure(figsize=(max(9.0, 1.1 * len(names) * len(reports) + 4), 7.0))
    axes = figure.subplots(2, 2).ravel()
    width = 0.8 / len(reports)
    for ax, (label, value_of, log) in zip(axes, quantities):
        drawn = False
        for offset, (series, rep) in enumerate(reports.items()):
            by_name = {row.name: row for row in rep.layers}
            values = np.array([_or_nan(value_of(by_name[name])) if name in by_name else np.nan
                               for name in names], dtype=float)
            positions = np.arange(len(names)) + (offset - (len(reports) - 1) / 2) * width
            bars = ax.bar(positions, values, width=width, label=series or None)
            if not log:   # a fraction of 0 is a measurement, not a missing bar: print it
                ax.bar_label(bars, labels=["" if math.isnan(v) else f"{v:.0%}" for v in values],
                             fontsize=7)
            drawn = drawn or bool(np.isfinite(values).any())
        ax.set_title(label, fontsize=10)
        ax.set_xticks(np.arange(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_xlim(-0.5, len(names) - 0.5)
        if not drawn:
            ax.text(0.5, 0.5, "no layer of this kind", ha="center", va="center",
                    transform=ax.transAxes, color="gray")
        elif log and all(_positive_or_missing(value_of(row)) for rep in reports.values()
                         for row in rep.layers):
            ax.set_yscale("log")
        if not log:
            ax.set_ylim(0, 1.1)
        if label.startswith("update") and drawn:
            ax.axhline(healthy_ratio, color="gray", linestyle="--", linewidth=1,
                       label="1e-3 (rule of thumb)")
        if drawn and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    figure.suptitle(title or f"Diagnostics of {first.model!r} on a batch of {first.batch_size}")
    figure.tight_layout()
    if path is not None:
        save(figure, path)
    return figure


def _or_nan(value) -> float:
    return math.nan if value is None else float(value)


def _positive_or_missing(value) -> bool:
    return value is None or not math.isfinite(value) or value > 0
