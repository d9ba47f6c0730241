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

One module a kind of figure: curves.py, regression.py, images.py, classification.py, and
health.py for the diagnostics report; figures.py holds what they share. Importing this
package imports matplotlib, so `import glassnet` does not import it (`glassnet.plot` loads on
first use).
"""

from glassnet.inspection.plot.classification import confusion_matrix, decision_boundary
from glassnet.inspection.plot.curves import compare_learning_curves, learning_curves
from glassnet.inspection.plot.figures import WRONG_COLOR, save
from glassnet.inspection.plot.health import health_figure
from glassnet.inspection.plot.images import image_grid
from glassnet.inspection.plot.regression import predicted_vs_actual

__all__ = [
    "WRONG_COLOR",
    "compare_learning_curves",
    "confusion_matrix",
    "decision_boundary",
    "health_figure",
    "image_grid",
    "learning_curves",
    "predicted_vs_actual",
    "save",
]
