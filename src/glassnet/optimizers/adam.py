"""Adam (with optional AMSGrad), in the Keras 3 form and its epsilon convention."""

from __future__ import annotations

import math
from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "adam")
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), in the Keras 3 form, with optional AMSGrad.

    At step t = iterations + 1:

        m <- m + (1 - beta_1) * (g - m)
        v <- v + (1 - beta_2) * (g^2 - v)
        amsgrad:  v_max <- max(v_max, v), used in place of v below
        alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w <- w - alpha * m / (sqrt(v) + epsilon)

    Epsilon convention: Keras adds epsilon to the *uncorrected* sqrt(v) ("epsilon hat" in
    the formula just before Section 2.1 of the paper). PyTorch instead computes
    lr / (1 - beta_1^t) * m / (sqrt(v / (1 - beta_2^t)) + eps), i.e. it adds eps to
    sqrt(v_hat). So Keras epsilon = torch eps * sqrt(1 - beta_2^t), a factor that changes
    with t: the two agree only when epsilon is negligible next to sqrt(v).

    Args:
        learning_rate: float or schedule, default 0.001.
        beta_1: decay of the first moment, in [0, 1).
        beta_2: decay of the second moment, in [0, 1).
        epsilon: > 0, added to sqrt(v) (see above).
        amsgrad: use the running maximum of v (Reddi et al., 2018).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "adam"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_1 = checks.in_range("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = checks.in_range("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = checks.positive("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def slot_initial_values(self) -> dict[str, float]:
        slots = {"momentum": 0.0, "velocity": 0.0}
        if self.amsgrad:
            slots["velocity_hat"] = 0.0
        return slots

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        t = self.iterations + 1
        alpha = learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        m, v = self.slot("momentum", index), self.slot("velocity", index)
        step = self.work(w)
        update_moments(m, v, g, self.beta_1, self.beta_2, step)
        if self.amsgrad:
            v_max = self.slot("velocity_hat", index)
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        xp.sqrt(v, out=step)
        step += scalar(self.epsilon)
        xp.divide(m, step, out=step)
        step *= scalar(alpha)
        w -= step                                               # w -= alpha m / (sqrt(v) + eps)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


def update_moments(m, v, g, beta_1: float, beta_2: float, scratch) -> None:
    """Adam's moment estimates, in place, with `scratch` (the weight's shape and dtype) as
    the one temporary (Adam, Nadam, Lamb):

        m += (1 - b1)(g - m)        v += (1 - b2)(g^2 - v)
    """
    xp, scalar = namespace(scratch), scratch.dtype.type
    xp.subtract(g, m, out=scratch)
    scratch *= scalar(1 - beta_1)
    m += scratch
    xp.square(g, out=scratch)
    scratch -= v
    scratch *= scalar(1 - beta_2)
    v += scratch
