"""Adadelta: step sizes from running averages of squared gradients and updates, as Keras 3."""

from __future__ import annotations

from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), in the Keras 3 form:

        a_g <- rho * a_g + (1 - rho) * g^2
        d   = -sqrt(a_d + epsilon) / sqrt(a_g + epsilon) * g
        a_d <- rho * a_d + (1 - rho) * d^2
        w   <- w + lr * d

    Keras' default learning rate is 0.001 (the paper and torch use 1.0).

    Args:
        learning_rate: float or schedule, default 0.001.
        rho: decay of both running averages, in [0, 1).
        epsilon: > 0, added inside both square roots.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, rho: float = 0.95,
                 epsilon: float = 1e-7, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = "adadelta"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.rho = checks.in_range("rho", rho, 0.0, 1.0)
        self.epsilon = checks.positive("epsilon", epsilon)

    def slot_initial_values(self) -> dict[str, float]:
        return {"accumulated_grad": 0.0, "accumulated_delta_var": 0.0}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        rho, eps = scalar(self.rho), scalar(self.epsilon)
        a_g, a_d = self.slot("accumulated_grad", index), self.slot("accumulated_delta_var", index)
        step = self.work(w)
        a_g *= rho
        xp.square(g, out=step)
        step *= scalar(1 - self.rho)
        a_g += step                                             # a_g = rho a_g + (1-rho) g^2
        xp.add(a_g, eps, out=step)
        xp.divide(a_d + eps, step, out=step)
        xp.sqrt(step, out=step)
        step *= g                                               # -d = sqrt(..) / sqrt(..) g
        a_d *= rho
        a_d += scalar(1 - self.rho) * xp.square(step)           # a_d = rho a_d + (1-rho) d^2
        step *= scalar(learning_rate)
        w -= step                                               # w += lr d

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
