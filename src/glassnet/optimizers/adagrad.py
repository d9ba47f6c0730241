"""Adagrad: per-weight rates shrinking with the sum of squared gradients (Keras 3 formulas)."""

from __future__ import annotations

from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "adagrad")
class Adagrad(Optimizer):
    """Per-weight rates that shrink with the sum of squared gradients (Duchi et al., 2011).

        s <- s + g^2                       (s starts at initial_accumulator_value)
        w <- w - lr * g / sqrt(s + epsilon)

    Keras adds epsilon inside the square root; torch.optim.Adagrad adds it outside
    (sqrt(s) + eps). They agree when epsilon is negligible next to s.

    Args:
        learning_rate: float or schedule, default 0.001.
        initial_accumulator_value: starting value of s, >= 0.
        epsilon: > 0.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001,
                 initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.initial_accumulator_value = checks.non_negative("initial_accumulator_value",
                                                       initial_accumulator_value)
        self.epsilon = checks.positive("epsilon", epsilon)

    def slot_initial_values(self) -> dict[str, float]:
        return {"accumulator": self.initial_accumulator_value}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        s, step = self.slot("accumulator", index), self.work(w)
        xp.square(g, out=step)
        s += step                                               # s = s + g^2
        xp.add(s, scalar(self.epsilon), out=step)
        xp.sqrt(step, out=step)
        xp.divide(g, step, out=step)
        step *= scalar(learning_rate)
        w -= step                                               # w -= lr g / sqrt(s + eps)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}
