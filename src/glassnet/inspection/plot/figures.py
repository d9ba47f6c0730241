"""What every figure shares: a new figure or the caller's axes, atomic saving, label checks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from glassnet.io import atomic_write

PathLike = str | os.PathLike
WRONG_COLOR = "tab:red"




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
