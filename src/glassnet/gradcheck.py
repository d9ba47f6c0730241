"""`glassnet.gradcheck`: is a layer's `backward` the derivative of its `forward`?
(See `glassnet.inspection.gradcheck`.)"""

from glassnet.inspection.gradcheck import (
    DEFAULT_TOLERANCE,
    GradcheckReport,
    GradientError,
    check_layer,
    check_loss,
    check_model,
    check_regularizer,
    numerical_gradient,
    relative_error,
    to_float64,
)

__all__ = [
    "DEFAULT_TOLERANCE", "GradcheckReport", "GradientError", "check_layer", "check_loss",
    "check_model", "check_regularizer", "numerical_gradient", "relative_error", "to_float64",
]
