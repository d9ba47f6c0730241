"""RMSprop: the gradient divided by a running RMS of recent gradients (Keras 3 formulas)."""

from __future__ import annotations

from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "rmsprop")
class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square of recent gradients (Hinton, 2012).

        v <- rho * v + (1 - rho) * g^2
        centered:  a <- rho * a + (1 - rho) * g;  denominator = v - a^2 + epsilon
        else:      denominator = v + epsilon
        step = lr * g / sqrt(denominator)
        momentum > 0:  m <- momentum * m + step;  w <- w - m
        else:          w <- w - step

    Keras adds epsilon *inside* the square root; torch.optim.RMSprop adds it outside
    (sqrt(v) + eps). The two agree when epsilon is negligible next to v.

    Args:
        learning_rate: float or schedule, default 0.001.
        rho: decay of the running averages, in [0, 1).
        momentum: in [0, 1].
        epsilon: > 0.
        centered: normalise by the estimated variance instead of the second moment.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    def __init__(self, learning_rate: float | Schedule = 0.001, rho: float = 0.9,
                 momentum: float = 0.0, epsilon: float = 1e-7, centered: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = "rmsprop"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.rho = checks.in_range("rho", rho, 0.0, 1.0)
        self.momentum = checks.in_range("momentum", momentum, 0.0, 1.0, include_high=True)
        self.epsilon = checks.positive("epsilon", epsilon)
        self.centered = bool(centered)

    def slot_initial_values(self) -> dict[str, float]:
        slots = {"velocity": 0.0}
        if self.momentum > 0:
            slots["momentum"] = 0.0
        if self.centered:
            slots["average_gradient"] = 0.0
        return slots

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        rho, step = scalar(self.rho), self.work(w)
        v = self.slot("velocity", index)
        v *= rho
        xp.square(g, out=step)
        step *= scalar(1 - self.rho)
        v += step                                               # v = rho v + (1 - rho) g^2
        if self.centered:
            a = self.slot("average_gradient", index)
            a *= rho
            xp.multiply(g, scalar(1 - self.rho), out=step)
            a += step                                           # a = rho a + (1 - rho) g
            xp.square(a, out=step)
            xp.subtract(v, step, out=step)                      # v - a^2
            step += scalar(self.epsilon)
        else:
            xp.add(v, scalar(self.epsilon), out=step)
        xp.sqrt(step, out=step)
        xp.divide(g, step, out=step)
        step *= scalar(learning_rate)                           # lr g / sqrt(denominator)
        if self.momentum > 0:
            m = self.slot("momentum", index)
            m *= scalar(self.momentum)
            m += step
            w -= m
        else:
            w -= step

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
