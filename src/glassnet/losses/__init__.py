"""Losses: a pure per-entry function, its derivative right under it, and a thin Keras class.

Every loss is computed in two steps, as in Keras 3:

    l = call(y_true, y_pred)                per-entry losses, y_pred (N, ..., C) -> (N, ...)
    L = Σ w m l / Σ m                       reduction "sum_over_batch_size"

and `gradient` returns dL/dy_pred of the *reduced* scalar L (sample weights w, mask m and
divisor applied), with y_pred's shape and dtype, ready for the output layer's backward.

Per entry: the elementwise losses (MSE, MAE, MAPE, MSLE, Huber, log-cosh, BCE, binary
focal, Poisson, hinge, squared hinge) take the mean over the last axis, the class-axis
losses (the categorical ones, KL, cosine) reduce over the class axis, and nothing else:
(N, C) outputs give one entry per sample, a sequence (N, T, C) one per step (N, T), and
y_pred (N,) one per sample. A mask (N, T) leaves padding steps out of the sum and the
divisor: `loss(y_true, y_pred, sample_weight, mask=m)`. Dice and Tversky sum over their
`axis` (all axes by default: one value per batch); Circle and CTC give one entry per
sample.

    >>> import numpy as np
    >>> from glassnet import losses
    >>> loss = losses.get("categorical_crossentropy")
    >>> y_true = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> y_pred = np.array([[0.2, 0.8], [0.6, 0.4]])
    >>> round(float(loss(y_true, y_pred)), 6)       # (-log 0.8 - log 0.6) / 2
    0.366985

Layout: `base.py` the Loss class (weights, reductions, the fused output gradient),
`regression.py` MSE, MAE, MAPE, MSLE, Huber and log-cosh, `probabilistic.py` the
crossentropies, `focal.py` the focal and generalized crossentropies, `divergence.py` KL
divergence and Poisson, `hinge.py` the hinge losses, `similarity.py` cosine similarity,
`segmentation.py` Dice and Tversky, `wrapper.py` a plain function as a Loss, `tracing.py`
the gradient of a loss written with glassnet.ops, this file the look-up by name and
(de)serialisation, `circle.py` the Circle metric-learning loss, `ctc.py` the CTC loss of
label sequences.
"""

from __future__ import annotations

from typing import Any

from glassnet import registry
from glassnet.losses.base import Loss
from glassnet.losses.circle import Circle, circle
from glassnet.losses.ctc import CTC, ctc
from glassnet.losses.divergence import KLDivergence, Poisson, kl_divergence, poisson
from glassnet.losses.focal import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
)
from glassnet.losses.hinge import (
    CategoricalHinge,
    Hinge,
    SquaredHinge,
    categorical_hinge,
    hinge,
    squared_hinge,
)
from glassnet.losses.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    sparse_categorical_crossentropy,
)
from glassnet.losses.regression import (
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from glassnet.losses.segmentation import Dice, Tversky, dice, tversky
from glassnet.losses.similarity import CosineSimilarity, cosine_similarity
from glassnet.losses.wrapper import LossFunctionWrapper

LOSS_CLASSES = (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, CosineSimilarity,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy,
    KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge, Dice, Tversky, Circle, CTC,
)  # fmt: skip
"""Every loss class Keras 3.15 has (the tests walk this tuple)."""

# Each per-entry function and its class: `loss=losses.hinge` resolves to Hinge().
_FUNCTION_CLASSES = {
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    huber: Huber,
    log_cosh: LogCosh,
    cosine_similarity: CosineSimilarity,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    binary_focal_crossentropy: BinaryFocalCrossentropy,
    categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    categorical_generalized_cross_entropy: CategoricalGeneralizedCrossEntropy,
    kl_divergence: KLDivergence,
    poisson: Poisson,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    dice: Dice,
    tversky: Tversky,
    circle: Circle,
    ctc: CTC,
}

# Keras' short (legacy) names for the functions.
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

__all__ = [cls.__name__ for cls in LOSS_CLASSES] + [f.__name__ for f in _FUNCTION_CLASSES] + [
    "BCE", "KLD", "LOSS_CLASSES", "Loss", "LossFunctionWrapper", "MAE", "MAPE", "MSE", "MSLE",
    "bce", "deserialize", "get", "kld", "kullback_leibler_divergence", "logcosh", "mae",
    "mape", "mse", "msle", "serialize",
]


def serialize(loss: Loss) -> dict[str, Any]:
    return registry.serialize(loss)


def deserialize(config_, custom_objects: dict[str, Any] | None = None) -> Loss:
    return registry.deserialize("loss", config_, custom_objects)


def get(identifier) -> Loss | None:
    """A Loss from an instance (returned as is), a name ("mse", "categorical_crossentropy",
    "CategoricalCrossentropy"), a {'class_name', 'config'} dict, one of this module's
    functions, or a function of your own written with glassnet.ops (Keras' `loss=fn`),
    which a `LossFunctionWrapper` differentiates on the tape. None gives None.
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier) and identifier in _FUNCTION_CLASSES:
        return _FUNCTION_CLASSES[identifier]()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"loss: expected a Loss, a name or a config dict, got {identifier!r}")
