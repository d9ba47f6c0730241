"""Metrics: Keras 3's `keras.metrics`, running values over an epoch (update_state / result /
reset_state), usable by name in `compile(metrics=[...])`.

    base.py           Metric, Mean, Sum, MeanMetricWrapper (the running sums)
    accuracy.py       Accuracy, Binary/Categorical/SparseCategorical, top-k accuracies
    regression.py     MSE, MAE, RMSE, MAPE, MSLE, CosineSimilarity, LogCoshError, R2Score
    probabilistic.py  the crossentropies, KLDivergence, Poisson (and the focal functions)
    hinge.py          Hinge, SquaredHinge, CategoricalHinge
    correlation.py    PearsonCorrelation, ConcordanceCorrelation
    confusion.py      TruePositives ... FalseNegatives, Precision, Recall, X-at-Y metrics
    auc.py            AUC (ROC and PR)
    f_score.py        F1Score, FBetaScore
    iou.py            IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU
    lookup.py         get / serialize / deserialize, "accuracy" chosen from the loss
    labels.py         as_labels, confusion_matrix (glassnet's own, for the figures)

    >>> import numpy as np
    >>> from glassnet import metrics
    >>> m = metrics.get("precision")
    >>> m.update_state(np.array([1, 0, 1, 1]), np.array([0.9, 0.8, 0.3, 0.7]))
    >>> round(m.result(), 4)
    0.6667
"""

from __future__ import annotations

from glassnet import registry
from glassnet.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from glassnet.metrics.auc import AUC
from glassnet.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from glassnet.metrics.confusion import (
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from glassnet.metrics.correlation import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from glassnet.metrics.f_score import F1Score, FBetaScore
from glassnet.metrics.hinge import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from glassnet.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from glassnet.metrics.labels import as_labels, confusion_matrix
from glassnet.metrics.lookup import deserialize, get, serialize
from glassnet.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from glassnet.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from glassnet.naming import snake_case

METRIC_CLASSES = (
    Mean, Sum, MeanMetricWrapper,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, R2Score,
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall,
    RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives,
    TruePositives, ConcordanceCorrelation, PearsonCorrelation, Hinge, SquaredHinge,
    CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    F1Score, FBetaScore, IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU,
)  # fmt: skip
"""Every metric class Keras 3 has in `keras.metrics` (the tests walk this tuple)."""

# Names as Keras resolves them: the class name, its snake_case form, and short aliases.
for _cls in METRIC_CLASSES:
    registry.register("metric", snake_case(_cls.__name__))(_cls)
for _alias, _cls in {"bce": BinaryCrossentropy, "mse": MeanSquaredError,
                     "mae": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
                     "msle": MeanSquaredLogarithmicError}.items():
    registry.register("metric", _alias, _alias.upper())(_cls)

__all__ = [cls.__name__ for cls in METRIC_CLASSES] + [
    "Metric", "accuracy", "as_labels", "binary_accuracy", "binary_crossentropy",
    "binary_focal_crossentropy", "categorical_accuracy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "categorical_hinge", "concordance_correlation",
    "confusion_matrix", "deserialize", "get", "hinge", "huber", "kl_divergence", "log_cosh",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "pearson_correlation", "poisson", "serialize",
    "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
]
