"""SGD: gradient descent with optional (Nesterov) momentum, the Keras 3 formulas."""

from __future__ import annotations

from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "sgd")
class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum (Keras formulas).

        momentum == 0:   w <- w - lr * g
        momentum > 0:    v <- momentum * v - lr * g;  w <- w + v
        nesterov:        v <- momentum * v - lr * g;  w <- w + momentum * v - lr * g

    With a constant lr this is torch.optim.SGD, whose buffer b = momentum * b + g equals
    -v / lr; when lr changes between steps the two differ (Keras folds lr into v).

    Args:
        learning_rate: float or schedule, default 0.01.
        momentum: in [0, 1].
        nesterov: use Nesterov momentum.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = "SGD"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.momentum = checks.in_range("momentum", momentum, 0.0, 1.0, include_high=True)
        self.nesterov = bool(nesterov)

    def slot_initial_values(self) -> dict[str, float]:
        return {"momentum": 0.0} if self.momentum > 0 else {}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        step = self.work(w)
        xp.multiply(g, scalar(learning_rate), out=step)        # lr * g
        if self.momentum == 0:
            w -= step
            return
        v = self.slot("momentum", index)
        v *= scalar(self.momentum)
        v -= step                                               # v = momentum * v - lr * g
        if self.nesterov:
            w -= step
            xp.multiply(v, scalar(self.momentum), out=step)
            w += step                                           # w += momentum * v - lr * g
        else:
            w += v

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
