"""Lamb: Adam with a layer-wise trust ratio, as Keras 3."""

from __future__ import annotations

import math
from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.adam import update_moments
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "lamb")
class Lamb(Optimizer):
    """LAMB (You et al., 2020), in the Keras 3 form. At step t = iterations + 1:

        m <- m + (1 - beta_1) * (g - m)
        v <- v + (1 - beta_2) * (g^2 - v)
        r = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon)
        ratio = ||w|| / ||r|| if both norms are > 0, else 1
        w <- w - lr * ratio * r

    The norms are over a whole parameter, so the update gets whole arrays
    (`elementwise = False`). As Keras, weight decay is the base class' decoupled decay,
    not the paper's term inside r.

    Args:
        learning_rate: float or schedule, default 0.001.
        beta_1: decay of the first moment, in [0, 1).
        beta_2: decay of the second moment, in [0, 1).
        epsilon: > 0, added to sqrt(v_hat).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    elementwise = False

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "lamb"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = checks.in_range("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = checks.in_range("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = checks.positive("epsilon", epsilon)

    def slot_initial_values(self) -> dict[str, float]:
        return {"momentum": 0.0, "velocity": 0.0}

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        t = self.iterations + 1
        m, v = self.slot("momentum", index), self.slot("velocity", index)
        step = self.work(w)
        update_moments(m, v, g, self.beta_1, self.beta_2, step)
        xp.multiply(v, scalar(1 / (1 - self.beta_2**t)), out=step)
        xp.sqrt(step, out=step)
        step += scalar(self.epsilon)
        xp.divide(m, step, out=step)
        step *= scalar(1 / (1 - self.beta_1**t))                # r
        w_norm, r_norm = _norm(w), _norm(step)
        ratio = w_norm / r_norm if w_norm > 0 and r_norm > 0 else 1.0
        step *= scalar(ratio * learning_rate)
        w -= step

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


def _norm(x) -> float:
    flat = x.reshape(-1)
    return math.sqrt(float(namespace(x).dot(flat, flat)))
