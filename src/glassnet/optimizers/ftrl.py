"""FTRL-Proximal: follow the regularized leader, as Keras 3."""

from __future__ import annotations

from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "ftrl")
class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., 2013), in the Keras 3 form. With p = -learning_rate_power,
    l1, l2, s the three regularization strengths and l2' = l2 + beta / (2 lr):

        n_new  = n + g^2
        z     <- z + g + 2 s w - (n_new^p - n^p) / lr * w
        w     <- (clip(z, -l1, l1) - z) / (n_new^p / lr + 2 l2')
        n     <- n_new

    so w is exactly 0 wherever |z| <= l1. `n` ("accumulator") starts at
    initial_accumulator_value, `z` ("linear") at 0. The learning rate must be > 0.

    Args:
        learning_rate: float or schedule, default 0.001.
        learning_rate_power: <= 0, default -0.5 (the n^-0.5 step size of the paper).
        initial_accumulator_value: >= 0, default 0.1.
        l1_regularization_strength, l2_regularization_strength: >= 0, default 0.
        l2_shrinkage_regularization_strength: >= 0, the magnitude penalty on the gradient
            (s above), default 0.
        beta: default 0.0, the beta of the paper's per-coordinate step size.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0,
                 l2_shrinkage_regularization_strength: float = 0.0, beta: float = 0.0,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "ftrl"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.learning_rate_power = checks.number("learning_rate_power", learning_rate_power)
        if self.learning_rate_power > 0:
            raise ValueError(
                f"learning_rate_power: expected a number <= 0, got {learning_rate_power!r}")
        self.initial_accumulator_value = checks.non_negative(
            "initial_accumulator_value", initial_accumulator_value)
        self.l1_regularization_strength = checks.non_negative(
            "l1_regularization_strength", l1_regularization_strength)
        self.l2_regularization_strength = checks.non_negative(
            "l2_regularization_strength", l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = checks.non_negative(
            "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)
        self.beta = checks.number("beta", beta)

    def slot_initial_values(self) -> dict[str, float]:
        return {"accumulator": self.initial_accumulator_value, "linear": 0.0}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        if learning_rate <= 0:
            raise ValueError(f"Ftrl: the learning rate must be > 0, got {learning_rate!r}")
        power = scalar(-self.learning_rate_power)
        l1 = scalar(self.l1_regularization_strength)
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        n, z = self.slot("accumulator", index), self.slot("linear", index)
        n_new = self.work(w)
        xp.square(g, out=n_new)
        n_new += n
        n_new_power = xp.power(n_new, power)                   # the one temporary
        xp.power(n, power, out=n)
        n -= n_new_power                                        # n^p - n_new^p
        n *= w
        n *= scalar(1 / learning_rate)
        z += n
        z += g
        if self.l2_shrinkage_regularization_strength:
            z += scalar(2 * self.l2_shrinkage_regularization_strength) * w
        n[...] = n_new                                          # n <- n_new
        n_new_power *= scalar(1 / learning_rate)
        n_new_power += scalar(2 * l2)                           # the quadratic term
        step = n_new                                            # n_new is saved in n
        xp.clip(z, -l1, l1, out=step)
        step -= z
        xp.divide(step, n_new_power, out=w)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength":
                    self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
