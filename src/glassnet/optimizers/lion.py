"""Lion: sign of an interpolated momentum, as Keras 3."""

from __future__ import annotations

from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "lion")
class Lion(Optimizer):
    """Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"), as Keras 3:

        w <- w - lr * sign(beta_1 * m + (1 - beta_1) * g)
        m <- beta_2 * m + (1 - beta_2) * g

    Every element moves by exactly lr (or 0), so lr is usually 3-10 times smaller than
    Adam's.

    Args:
        learning_rate: float or schedule, default 0.001.
        beta_1: interpolation of the update, in (0, 1].
        beta_2: decay of the momentum, in [0, 1].
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.99, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = "lion"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = checks.in_range("beta_1", beta_1, 0.0, 1.0, include_high=True)
        if self.beta_1 == 0:
            raise ValueError(f"beta_1: expected a number in (0, 1], got {beta_1!r}")
        self.beta_2 = checks.in_range("beta_2", beta_2, 0.0, 1.0, include_high=True)

    def slot_initial_values(self) -> dict[str, float]:
        return {"momentum": 0.0}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        m = self.slot("momentum", index)
        step = self.work(w)
        xp.multiply(g, scalar(1 - self.beta_1), out=step)
        step += m * scalar(self.beta_1)
        xp.sign(step, out=step)
        step *= scalar(learning_rate)
        w -= step                                               # w -= lr sign(b1 m + (1-b1) g)
        m *= scalar(self.beta_2)
        xp.multiply(g, scalar(1 - self.beta_2), out=step)
        m += step                                               # m = b2 m + (1 - b2) g

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
