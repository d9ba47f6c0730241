"""Adafactor: Adam-like steps with a factored second moment, as Keras 3."""

from __future__ import annotations

import math
from typing import Any

from glassnet import checks, registry
from glassnet.backend import namespace
from glassnet.optimizers.base import Optimizer, Schedule


@registry.register("optimizer", "adafactor")
class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018), in the Keras 3 form (no first moment).

    At step t = iterations + 1, with rms(x) = sqrt(mean(x^2)) over a whole parameter:

        rho   = min(lr, 1 / sqrt(t));   alpha = max(epsilon_2, rms(w)) * rho
        beta  = 1 - t^beta_2_decay;     G = g^2 + epsilon_1
        >= 2-D (the last two axes factored):
            r <- beta r + (1 - beta) mean(G, axis=-1)       (shape w.shape[:-1])
            c <- beta c + (1 - beta) mean(G, axis=-2)       (shape w.shape[:-2] + [last])
            v  = (r / mean(r, axis=-1))[..., None] * c[..., None, :]
        0-D, 1-D:  v <- beta v + (1 - beta) G   (r, c are unused zero scalars, as Keras)
        u = g / sqrt(v);  w <- w - alpha * u / max(1, rms(u) / clip_threshold)

    `relative_step` is kept for Keras compatibility; as in Keras, the step is
    min(lr, 1/sqrt(t)) either way. The rms makes the update need whole parameters
    (`elementwise = False`).

    Args:
        learning_rate: float or schedule, default 0.001.
        beta_2_decay: default -0.8, the decay exponent of beta.
        epsilon_1: default 1e-30, added to g^2.
        epsilon_2: default 1e-3, the least scale of a parameter.
        clip_threshold: default 1.0, the largest rms of an update.
        relative_step: default True (see above).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see `Optimizer`.
    """

    elementwise = False

    def __init__(self, learning_rate: float | Schedule = 0.001, beta_2_decay: float = -0.8,
                 epsilon_1: float = 1e-30, epsilon_2: float = 1e-3, clip_threshold: float = 1.0,
                 relative_step: bool = True, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = "adafactor"):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        self.beta_2_decay = checks.number("beta_2_decay", beta_2_decay)
        self.epsilon_1 = checks.non_negative("epsilon_1", epsilon_1)
        self.epsilon_2 = checks.non_negative("epsilon_2", epsilon_2)
        self.clip_threshold = checks.positive("clip_threshold", clip_threshold)
        self.relative_step = bool(relative_step)

    def slot_initial_values(self) -> dict[str, float]:
        return {"r": 0.0, "c": 0.0, "velocity": 0.0}

    @classmethod
    def slot_shape(cls, name: str, value) -> tuple:
        shape = tuple(value.shape)
        if name == "velocity":
            return shape
        if len(shape) < 2:
            return ()
        return shape[:-1] if name == "r" else shape[:-2] + shape[-1:]

    def update_step(self, index, w, g, learning_rate):
        xp, scalar = namespace(w), w.dtype.type
        t = self.iterations + 1
        rho = min(learning_rate, 1 / math.sqrt(t))
        alpha = max(self.epsilon_2, _rms(w)) * rho
        beta = scalar(1 - t**self.beta_2_decay)
        squares = xp.square(g)
        squares += scalar(self.epsilon_1)
        v = self.slot("velocity", index)
        if w.ndim >= 2:
            r, c = self.slot("r", index), self.slot("c", index)
            r *= beta
            r += (1 - beta) * xp.mean(squares, axis=-1)
            c *= beta
            c += (1 - beta) * xp.mean(squares, axis=-2)
            xp.multiply((r / xp.mean(r, axis=-1, keepdims=True))[..., None], c[..., None, :],
                        out=v)
        else:
            v *= beta
            squares *= 1 - beta
            v += squares
        update = squares                                        # G is no longer needed
        xp.sqrt(v, out=update)
        xp.divide(g, update, out=update)                        # u = g / sqrt(v)
        update *= scalar(alpha / max(1.0, _rms(update) / self.clip_threshold))
        w -= update

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay,
                "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}


def _rms(x) -> float:
    flat = x.reshape(-1)
    return math.sqrt(float(namespace(x).dot(flat, flat)) / max(flat.size, 1))
