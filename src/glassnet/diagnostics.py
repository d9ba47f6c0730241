"""`glassnet.diagnostics`: why training goes wrong, on one batch.

The health report (`report`, `plot`) lives in `glassnet.inspection.diagnostics`; the
divergence guard of every training step (`step_is_finite`, `DivergenceError`, `Site`,
`locate_nonfinite`) in `glassnet.training.guard` and `glassnet.training.locate`.

    >>> try:
    ...     model.fit(x, y, epochs=10)
    ... except diagnostics.DivergenceError as error:
    ...     print(error.site, error.hint)       # model.history holds the epochs before it
    >>> print(diagnostics.report(model, x_train[:256], y_train[:256]))
"""

from glassnet.inspection.diagnostics import (
    HEALTHY_UPDATE_RATIO,
    SATURATION_MARGIN,
    DiagnosticsReport,
    LayerDiagnostics,
    ParameterDiagnostics,
    plot,
    report,
)
from glassnet.training.guard import DivergenceError, Site, step_is_finite
from glassnet.training.locate import divergence_error, locate_nonfinite

__all__ = [
    "HEALTHY_UPDATE_RATIO", "SATURATION_MARGIN", "DiagnosticsReport", "DivergenceError",
    "LayerDiagnostics", "ParameterDiagnostics", "Site", "divergence_error", "locate_nonfinite",
    "plot", "report", "step_is_finite",
]
