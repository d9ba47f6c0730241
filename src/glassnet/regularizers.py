"""Weight penalties added to the loss: L1, L2, both, and orthogonality (Keras 3 names,
factors and formulas).

A regularizer is a function of a weight W and its derivative, side by side:

    penalty = R(W)              a scalar, added to the training loss
    dR/dW   = R.gradient(W)     W's shape and dtype, added to W.grad

Keras' L2 penalty is l2 Σ W² (no 1/2). The cost term λ / (2m) Σ θ² of the classic
course notes (m examples, the data term averaged over m) is therefore `L2(l2=λ / (2m))`;
its gradient 2 l2 W = (λ / m) W is the familiar weight-decay term.

    >>> import numpy as np
    >>> from glassnet import regularizers
    >>> W = np.array([[1.0, -2.0], [0.0, 3.0]])
    >>> round(float(regularizers.L1L2(l1=0.1, l2=0.01)(W)), 6)    # 0.1 * 6 + 0.01 * 14
    0.74
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet import registry
from glassnet.backend import namespace


def _check_factor(value, name: str) -> float:
    """A penalty factor: a finite float >= 0 (Keras' validate_float_arg)."""
    try:
        value = float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected a float >= 0, got {value!r}") from error
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite float >= 0, got {value!r}")
    return value


class Regularizer:
    """Base class: `__call__(W) -> scalar penalty`, `gradient(W) -> dpenalty/dW`."""

    def __call__(self, W):
        raise NotImplementedError(f"{type(self).__name__}.__call__(W) -> scalar penalty")

    def gradient(self, W):
        raise NotImplementedError(f"{type(self).__name__}.gradient(W) -> dpenalty/dW")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _l1_penalty(W, l1: float):
    """l1 Σ |W|, in W's dtype."""
    return W.dtype.type(l1) * namespace(W).abs(W).sum()


def _l1_gradient(W, l1: float):
    """l1 sign(W): the subgradient 0 is taken at W = 0."""
    return W.dtype.type(l1) * namespace(W).sign(W)


def _l2_penalty(W, l2: float):
    """l2 Σ W², in W's dtype."""
    return W.dtype.type(l2) * (W * W).sum()


def _l2_gradient(W, l2: float):
    """2 l2 W."""
    return W.dtype.type(2 * l2) * W


@registry.register("regularizer")
class L1L2(Regularizer):
    """R(W) = l1 Σ |W| + l2 Σ W².

    Args:
        l1: L1 factor (default 0.0, as Keras' class; the string "l1_l2" gives 0.01 each).
        l2: L2 factor (default 0.0).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _check_factor(l1, "l1")
        self.l2 = _check_factor(l2, "l2")

    def __call__(self, W):
        return _l1_penalty(W, self.l1) + _l2_penalty(W, self.l2)

    def gradient(self, W):
        return _l1_gradient(W, self.l1) + _l2_gradient(W, self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


@registry.register("regularizer", "l1")
class L1(Regularizer):
    """R(W) = l1 Σ |W|; dR/dW = l1 sign(W) (0 at W = 0). Drives small weights to exactly 0."""

    def __init__(self, l1: float = 0.01):
        self.l1 = _check_factor(l1, "l1")

    def __call__(self, W):
        return _l1_penalty(W, self.l1)

    def gradient(self, W):
        return _l1_gradient(W, self.l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


@registry.register("regularizer", "l2")
class L2(Regularizer):
    """R(W) = l2 Σ W²; dR/dW = 2 l2 W (weight decay). l2 = λ / (2m) gives λ / (2m) Σ θ²."""

    def __init__(self, l2: float = 0.01):
        self.l2 = _check_factor(l2, "l2")

    def __call__(self, W):
        return _l2_penalty(W, self.l2)

    def gradient(self, W):
        return _l2_gradient(W, self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


_MAX_INVERSE_NORM = 1e7          # Keras' normalize: x · min(1/‖x‖, 1/epsilon), epsilon 1e-7


@registry.register("regularizer", "orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """Penalizes rows (or columns) of a 2-D kernel that are not orthogonal to each other.

    With U the rows of W scaled to unit norm (u_i = w_i · min(1/‖w_i‖, 1e7)) and P = U Uᵀ
    their cosines, over the n (n - 1) / 2 pairs i < j:

        R(W)  = factor · ½ Σ_{i≠j} |P_ij| / (n (n - 1) / 2)       = factor · mean_{i<j} |P_ij|
        dR/dU = 2 G U,  G = factor · ½ sign(P) (1 - I) / pairs    (P symmetric)
        dR/dw_i = (dR/du_i - u_i (u_i · dR/du_i)) / ‖w_i‖         (norm bound not reached)

    Args:
        factor: the penalty's weight, >= 0.
        mode: "rows" (each row a vector) or "columns" (each column).
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _check_factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of '
                             f'{{"rows", "columns"}}. Received: mode={mode}')
        self.mode = mode

    def _units(self, W):
        """(U, scale): the vectors as rows, scaled to unit norm, and each one's scale."""
        if W.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={W.shape}")
        xp = namespace(W)
        V = W if self.mode == "rows" else W.T                    # (n, d)
        with np.errstate(divide="ignore"):       # a zero row: scale 1e7, as Keras
            scale = xp.minimum(1 / xp.sqrt((V * V).sum(axis=1, keepdims=True)),
                               W.dtype.type(_MAX_INVERSE_NORM))  # (n, 1)
        return V * scale, scale

    def _pairs(self, n: int) -> float:
        return n * (n - 1) / 2

    def __call__(self, W):
        U, _ = self._units(W)
        P = U @ U.T                                               # (n, n) cosines
        off = abs(P).sum() - abs(P.diagonal()).sum()
        return W.dtype.type(self.factor * 0.5 * off / self._pairs(len(U)))

    def gradient(self, W):
        xp = namespace(W)
        U, scale = self._units(W)
        P = U @ U.T
        G = xp.sign(P) * (self.factor * 0.5 / self._pairs(len(U)))
        xp.fill_diagonal(G, 0)
        dU = 2 * (G @ U)                                          # (n, d)
        along = (U * dU).sum(axis=1, keepdims=True)
        bounded = scale >= _MAX_INVERSE_NORM
        dV = xp.where(bounded, dU * scale, (dU - U * along) * scale)
        return (dV if self.mode == "rows" else dV.T).astype(W.dtype, copy=False)

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


# Keras 3's lower-case names are its classes (`l1_l2()`: no penalty, as `L1L2()`; the
# string "l1_l2" gives 0.01 each, see `get`).
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer


def serialize(regularizer: Regularizer) -> dict[str, Any]:
    return registry.serialize(regularizer)


def deserialize(config, custom_objects: dict[str, Any] | None = None) -> Regularizer:
    return registry.deserialize("regularizer", config, custom_objects)


def get(identifier) -> Regularizer | None:
    """None, a Regularizer (returned as is), "l1", "l2", "l1_l2" (0.01 each), a class name
    ("L1L2": class defaults), or a {'class_name', 'config'} dict."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if identifier == "l1_l2":               # tf.keras' string default; Keras 3 refuses it
        return L1L2(l1=0.01, l2=0.01)
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    raise TypeError(f"regularizer: expected None, a Regularizer, a name or a config dict, "
                    f"got {identifier!r}")
