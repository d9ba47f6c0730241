"""Crossentropies reweighted towards hard examples: the focal losses and generalized CE.

    binary focal       l = mean_k w_k (1 - p_t)^γ bce_k,  p_t = y p + (1 - y)(1 - p),
                       w = α y + (1 - α)(1 - y) with class balancing, else 1
    categorical focal  l = Σ_k -α (1 - q_k)^γ y_k log q_k,  q = p / Σ p clipped to [eps, 1 - eps]
    generalized CE     l = (1 - p_y^q) / q for an integer label y (Zhang & Sabuncu, 2018):
                       q -> 0 is the crossentropy, q = 1 the MAE, in between robust to noisy labels

(Lin et al., 2017, https://arxiv.org/abs/1708.02002.) From logits, p = sigmoid(z) or
softmax(z) first, and the crossentropy is then that of the clipped probabilities, as Keras
computes it. Each is a pure per-entry function, its derivative right under it, a thin class.
"""

from __future__ import annotations

from glassnet import checks, numerics, registry
from glassnet.backend import namespace
from glassnet.losses.base import (
    Loss,
    _as_prediction,
    _as_targets,
    _class_axis,
    _entry_axis,
    _entry_count,
    _mean_over,
)
from glassnet.losses.probabilistic import (
    _add_at_labels,
    _at_labels,
    _check_label_smoothing,
    _clip_probabilities,
    _smooth_binary,
    _smooth_categorical,
    _sparse_labels,
)


def _power_derivative(u, gamma: float):
    """d u^γ / du = γ u^(γ-1) for u >= 0, taken as 0 at u = 0 for γ != 1 (its limit for
    γ > 1; for γ < 1 the derivative is unbounded there) instead of inf or nan."""
    xp = namespace(u)
    if gamma == 1:
        return xp.ones_like(u)
    safe = xp.where(u > 0, u, 1)
    return xp.where(u > 0, gamma * safe ** (gamma - 1), 0)


# --------------------------------------------------------------------------- binary


def _binary_focal_terms(y_true, y_pred, apply_class_balancing, alpha, gamma, from_logits,
                        label_smoothing):
    """(y, p, clipped p, clip derivative, u = 1 - p_t, class weight w or 1, bce)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    y_true = _smooth_binary(y_true, _check_label_smoothing(label_smoothing))
    p = numerics.sigmoid(y_pred) if from_logits else y_pred
    clipped, inside = _clip_probabilities(p)
    xp = namespace(p)
    bce = -(y_true * xp.log(clipped) + (1 - y_true) * xp.log(1 - clipped))
    u = y_true * (1 - p) + (1 - y_true) * p                                # 1 - p_t
    weight = y_true * alpha + (1 - y_true) * (1 - alpha) if apply_class_balancing else 1.0
    return y_true, p, clipped, inside, u, weight, bce


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0,
                              from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1):
    """l = mean over `axis` of w (1 - p_t)^γ bce.  (N, ..., K) -> (N, ...).

    Args as `BinaryFocalCrossentropy`; y_pred (N,) gives one entry per sample.
    """
    y_true, p, _, _, u, weight, bce = _binary_focal_terms(
        y_true, y_pred, apply_class_balancing, alpha, gamma, from_logits, label_smoothing)
    return _mean_over(weight * u**gamma * bce, _entry_axis(p, axis))


def _binary_focal_crossentropy_gradient(y_true, y_pred, apply_class_balancing=False,
                                        alpha=0.25, gamma=2.0, from_logits=False,
                                        label_smoothing=0.0, axis=-1):
    """With du/dp = 1 - 2y and dbce/dp = (p - y) / (p (1 - p)) inside the clip (0 outside):

        dl/dp = w [γ u^(γ-1) (1 - 2y) bce + u^γ dbce/dp] / K
        dl/dz = dl/dp · p (1 - p) = w [γ u^(γ-1) (1 - 2y) bce p (1 - p) + u^γ (p - y)] / K

    the second written without the division, so it stays finite for saturated logits.
    """
    y_true, p, clipped, inside, u, weight, bce = _binary_focal_terms(
        y_true, y_pred, apply_class_balancing, alpha, gamma, from_logits, label_smoothing)
    count = _entry_count(p, _entry_axis(p, axis))
    focal = _power_derivative(u, gamma) * (1 - 2 * y_true) * bce
    if from_logits:
        grad = focal * p * (1 - p) + u**gamma * inside * (p - y_true)
    else:
        grad = focal + u**gamma * inside * (clipped - y_true) / (clipped * (1 - clipped))
    return weight * grad / count


# --------------------------------------------------------------------------- categorical


def _categorical_focal_terms(y_true, y_pred, from_logits, label_smoothing, axis):
    """(y, p, S = Σ p, q = p / S, clipped q, clip derivative, class axis)."""
    y_true, y_pred = _as_targets(y_true, y_pred)
    axis = _class_axis(y_pred, axis)
    y_true = _smooth_categorical(y_true, _check_label_smoothing(label_smoothing), axis)
    p = numerics.softmax(y_pred, axis) if from_logits else y_pred
    total = p.sum(axis=axis, keepdims=True)
    q = p / total
    clipped, inside = _clip_probabilities(q)
    return y_true, p, total, q, clipped, inside, axis


def categorical_focal_crossentropy(y_true, y_pred, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1):
    """l = Σ_k -α (1 - q_k)^γ y_k log q_k over the class axis.  (N, ..., C) -> (N, ...)."""
    y_true, _, _, _, clipped, _, axis = _categorical_focal_terms(
        y_true, y_pred, from_logits, label_smoothing, axis)
    log_q = namespace(clipped).log(clipped)
    return (-alpha * (1 - clipped) ** gamma * y_true * log_q).sum(axis=axis)


def _categorical_focal_crossentropy_gradient(y_true, y_pred, alpha=0.25, gamma=2.0,
                                             from_logits=False, label_smoothing=0.0, axis=-1):
    """g = dl/dq = α y [γ (1 - q)^(γ-1) log q - (1 - q)^γ / q] inside the clip, 0 outside;
    through the renormalisation q = p / S: h = dl/dp = (g - Σ_j g_j q_j) / S; and from
    logits through the softmax: dl/dz = p (h - Σ_j h_j p_j)."""
    y_true, p, total, q, clipped, inside, axis = _categorical_focal_terms(
        y_true, y_pred, from_logits, label_smoothing, axis)
    log_q = namespace(clipped).log(clipped)
    g = inside * alpha * y_true * (_power_derivative(1 - clipped, gamma) * log_q
                                   - (1 - clipped) ** gamma / clipped)
    h = (g - (g * q).sum(axis=axis, keepdims=True)) / total
    if from_logits:
        return p * (h - (h * p).sum(axis=axis, keepdims=True))
    return h


# --------------------------------------------------------------------------- generalized


def _check_q(q: float) -> float:
    """q in the open interval (0, 1), as Keras requires."""
    value = checks.number("q", q)
    if not 0 < value < 1:
        raise ValueError(f"q: expected a number in (0, 1), got {q!r}")
    return value


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """l = (1 - p_y^q) / q, p_y = y_pred at the integer label y (no clipping, as Keras).
    y_true (N, ...) or (N, ..., 1) labels, y_pred (N, ..., C) probabilities -> (N, ...)."""
    y_pred = _as_prediction(y_pred)
    labels, _ = _sparse_labels(y_true, y_pred)
    return (1 - _at_labels(y_pred, labels) ** q) / q


def _categorical_generalized_cross_entropy_gradient(y_true, y_pred, q):
    """dl/dp_y = -p_y^(q-1) at the label, 0 at the other classes."""
    y_pred = _as_prediction(y_pred)
    labels, _ = _sparse_labels(y_true, y_pred)
    grad = namespace(y_pred).zeros_like(y_pred)
    _add_at_labels(grad, labels, -_at_labels(y_pred, labels) ** (q - 1))
    return grad


# --------------------------------------------------------------------------- classes


@registry.register("loss", "binary_focal_crossentropy")
class BinaryFocalCrossentropy(Loss):
    """Binary crossentropy scaled by (1 - p_t)^γ: confident right answers count less.

    Args:
        apply_class_balancing: weigh positives by α and negatives by 1 - α.
        alpha: the positive class' weight, in [0, 1] (used only with class balancing).
        gamma: the focusing exponent γ >= 0 (0 gives the binary crossentropy).
        from_logits: y_pred holds logits rather than sigmoid probabilities.
        label_smoothing: s in [0, 1]; targets become y (1 - s) + s / 2.
        axis: the axis averaged into each entry.
    """

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = checks.in_range("alpha", alpha, 0.0, 1.0, include_high=True)
        self.gamma = checks.non_negative("gamma", gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = int(axis)

    def _arguments(self) -> dict:
        return {"apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}

    def reduced_axis(self, y_pred) -> int | None:
        return _entry_axis(y_pred, self.axis)

    def call(self, y_true, y_pred):
        return binary_focal_crossentropy(y_true, y_pred, **self._arguments())

    def call_gradient(self, y_true, y_pred):
        return _binary_focal_crossentropy_gradient(y_true, y_pred, **self._arguments())

    def get_config(self):
        return {**super().get_config(), **self._arguments()}


@registry.register("loss", "categorical_focal_crossentropy")
class CategoricalFocalCrossentropy(Loss):
    """Categorical crossentropy with each class' term scaled by α (1 - q)^γ.

    Args:
        alpha: the weight α of every class' term.
        gamma: the focusing exponent γ >= 0 (0 with α = 1 gives the crossentropy).
        from_logits: y_pred holds logits rather than softmax probabilities.
        label_smoothing: s in [0, 1]; targets become y (1 - s) + s / C.
        axis: the class axis.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = float(alpha)
        self.gamma = checks.non_negative("gamma", gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_label_smoothing(label_smoothing)
        self.axis = int(axis)

    def _arguments(self) -> dict:
        return {"alpha": self.alpha, "gamma": self.gamma, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}

    def reduced_axis(self, y_pred) -> int:
        return _class_axis(y_pred, self.axis)

    def call(self, y_true, y_pred):
        return categorical_focal_crossentropy(y_true, y_pred, **self._arguments())

    def call_gradient(self, y_true, y_pred):
        return _categorical_focal_crossentropy_gradient(y_true, y_pred, **self._arguments())

    def get_config(self):
        return {**super().get_config(), **self._arguments()}


@registry.register("loss", "categorical_generalized_cross_entropy")
class CategoricalGeneralizedCrossEntropy(Loss):
    """Generalized crossentropy (1 - p_y^q) / q for integer labels and probabilities
    (N, ..., C): between the crossentropy (q -> 0) and the MAE (q = 1), robust to noisy
    labels.

    Args:
        q: in (0, 1).
    """

    sparse_labels = True

    def __init__(self, q: float = 0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.q = _check_q(q)

    def call(self, y_true, y_pred):
        return categorical_generalized_cross_entropy(y_true, y_pred, self.q)

    def call_gradient(self, y_true, y_pred):
        return _categorical_generalized_cross_entropy_gradient(y_true, y_pred, self.q)

    def get_config(self):
        return {**super().get_config(), "q": self.q}
