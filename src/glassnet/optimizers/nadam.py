"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule, as Keras 3."""

from __future__ import annotations

from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.adam import update_moments
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "nadam")
class Nadam(Optimizer):
    """Nadam (Dozat, 2016), in the Keras 3 form.

    At step t = iterations + 1, with the momentum schedule mu_s = beta_1 (1 - 0.96^s / 2)
    and P_t = mu_1 mu_2 ... mu_t:

        m <- m + (1 - beta_1) * (g - m)
        v <- v + (1 - beta_2) * (g^2 - v)
        m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)
        v_hat = v / (1 - beta_2^t)
        w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)

    Keras keeps P_t in a variable; here it is recomputed from `iterations` (so it is not
    part of the saved state) in float64.

    Args:
        learning_rate: float or schedule, default 0.001.
        beta_1: decay of the first moment, in [0, 1).
        beta_2: decay of the second moment, in [0, 1).
        epsilon: > 0, added to sqrt(v_hat).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "nadam"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = checks.in_range("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = checks.in_range("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = checks.positive("epsilon", epsilon)
        self._u_product_cache = (0, 1.0)     # (t, P_t), P_0 = 1

    def slot_initial_values(self) -> dict[str, float]:
        return {"momentum": 0.0, "velocity": 0.0}

    def _mu(self, step: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**step)

    def u_product(self, t: int) -> float:
        """P_t = mu_1 ... mu_t (1 for t = 0; Keras' `_u_product` after t steps), from the
        cached P of an earlier step (one product per step in training)."""
        start, product = self._u_product_cache
        if start > t:
            start, product = 0, 1.0
        for step in range(start + 1, t + 1):
            product *= self._mu(step)
        self._u_product_cache = (t, product)
        return product

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        t = self.iterations + 1
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        product = self.u_product(t)
        m, v = self.slot("momentum", index), self.slot("velocity", index)
        step = self.work(w)
        update_moments(m, v, g, self.beta_1, self.beta_2, step)
        # The numerator a m + b g, then divided by sqrt(v_hat) + eps (one temporary).
        xp.multiply(m, scalar(learning_rate * mu_next / (1 - product * mu_next)), out=step)
        step += g * scalar(learning_rate * (1 - mu_t) / (1 - product))
        step /= xp.sqrt(v * scalar(1 / (1 - self.beta_2**t))) + scalar(self.epsilon)
        w -= step                                               # w -= lr m_hat / (...)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}
