"""Images: a grid of samples with their labels, wrong predictions marked."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from glassnet import metrics
from glassnet.backend import to_numpy
from glassnet.inspection.plot.figures import (
    WRONG_COLOR,
    PathLike,
    _check_class_names,
    _check_same_length,
    _finish,
)


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
