"""`glassnet.plot`: figures for training runs and predictions (see `glassnet.inspection.plot`).

Importing it imports matplotlib; `import glassnet` alone does not (it loads this on first use).
"""

from glassnet import metrics  # noqa: F401  (what the figures count with)
from glassnet.inspection.plot import (
    WRONG_COLOR,
    compare_learning_curves,
    confusion_matrix,
    decision_boundary,
    image_grid,
    learning_curves,
    predicted_vs_actual,
    save,
)

__all__ = [
    "WRONG_COLOR",
    "compare_learning_curves",
    "confusion_matrix",
    "decision_boundary",
    "image_grid",
    "learning_curves",
    "predicted_vs_actual",
    "save",
]
