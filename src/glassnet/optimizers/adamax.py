"""Adamax: Adam with the infinity norm in place of the second moment, as Keras 3."""

from __future__ import annotations

from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "adamax")
class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, Section 7), in the Keras 3 form.

    At step t = iterations + 1:

        m <- m + (1 - beta_1) * (g - m)
        u <- max(beta_2 * u, |g|)
        w <- w - lr * m / ((1 - beta_1^t) * (u + epsilon))

    Args:
        learning_rate: float or schedule, default 0.001.
        beta_1: decay of the first moment, in [0, 1).
        beta_2: decay of the infinity norm, in [0, 1).
        epsilon: > 0, added to u.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "adamax"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = checks.in_range("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = checks.in_range("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = checks.positive("epsilon", epsilon)

    def slot_initial_values(self) -> dict[str, float]:
        return {"momentum": 0.0, "norm": 0.0}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        t = self.iterations + 1
        m, u = self.slot("momentum", index), self.slot("norm", index)
        step = self.work(w)
        xp.subtract(g, m, out=step)
        step *= scalar(1 - self.beta_1)
        m += step                                               # m += (1 - b1)(g - m)
        u *= scalar(self.beta_2)
        xp.abs(g, out=step)
        xp.maximum(u, step, out=u)                              # u = max(b2 u, |g|)
        xp.add(u, scalar(self.epsilon), out=step)
        xp.divide(m, step, out=step)
        step *= scalar(learning_rate / (1 - self.beta_1**t))
        w -= step

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
