"""Learning-rate schedules: the learning rate as a function of the optimizer step.

An optimizer given a schedule instead of a float evaluates it at every step, at the number of
updates applied so far (0 for the first step), as Keras 3 does:

    >>> from glassnet import optimizers, schedules
    >>> lr = schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
    >>> opt = optimizers.SGD(learning_rate=lr)
    >>> opt.learning_rate                    # lr(opt.iterations) = lr(0)
    0.1

Schedules compute in Python floats (float64) and return a Python float; the optimizer casts it
to each weight's dtype. Their configs are the Keras ones, so `serialize` / `deserialize`
round-trip through `glassnet.registry` under the kind "learning_rate_schedule".
"""

from __future__ import annotations

import bisect
import math
from numbers import Integral
from typing import Any

from glassnet import checks, registry

KIND = "learning_rate_schedule"


class LearningRateSchedule:
    """Base class: subclasses implement `__call__(step) -> float` and `get_config()`.

    Example (a custom schedule, registered so that saved models using it load):

        @registry.register_serializable(kind="learning_rate_schedule")
        class InverseStep(LearningRateSchedule):
            def __init__(self, initial_learning_rate):
                self.initial_learning_rate = initial_learning_rate
            def __call__(self, step):
                return self.initial_learning_rate / (step + 1)
            def get_config(self):
                return {"initial_learning_rate": self.initial_learning_rate}
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step)")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


@registry.register(KIND)
class ExponentialDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate * decay_rate ** (step / decay_steps).

    With `staircase=True` the exponent is floor(step / decay_steps): the rate drops by a
    factor `decay_rate` every `decay_steps` steps (torch's StepLR; `decay_steps=1` without
    staircase is torch's ExponentialLR).

    Args:
        initial_learning_rate: lr at step 0, >= 0.
        decay_steps: steps over which the rate is multiplied by `decay_rate`, > 0.
        decay_rate: the factor, > 0 (< 1 decays, > 1 grows).
        staircase: decay in discrete jumps.
        name: kept in the config, as Keras.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay"):
        self.initial_learning_rate = checks.non_negative("initial_learning_rate",
                                                    initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.decay_rate = _positive("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step: int) -> float:
        exponent = _step("step", step) / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@registry.register(KIND)
class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] once step > boundaries[-1] (Keras: boundaries are inclusive).

    Args:
        boundaries: strictly increasing steps, length n.
        values: learning rates, length n + 1, each >= 0.
        name: kept in the config, as Keras.

    Example: boundaries=[100, 110], values=[1.0, 0.5, 0.1] gives 1.0 for steps 0..100,
    0.5 for 101..110 and 0.1 after.
    """

    def __init__(self, boundaries, values, name: str = "PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: len(boundaries) must be len(values) - 1, got "
                f"boundaries={boundaries} (length {len(boundaries)}) and values={values} "
                f"(length {len(values)})"
            )
        self.boundaries = [checks.number("boundaries", b) for b in boundaries]
        if any(low >= high for low, high in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(
                f"PiecewiseConstantDecay: boundaries must increase strictly, got {boundaries}"
            )
        self.values = [checks.non_negative("values", v) for v in values]
        self.name = name

    def __call__(self, step: int) -> float:
        # bisect_left counts the boundaries strictly below step: the index of the interval.
        return self.values[bisect.bisect_left(self.boundaries, _step("step", step))]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values),
                "name": self.name}


@registry.register(KIND)
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then a half cosine from the peak down to alpha * peak.

    Without warmup (`warmup_target=None`), with s = min(step, decay_steps):

        lr(step) = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi s / decay_steps))
                                            + alpha)

    With warmup, the rate first rises linearly from `initial_learning_rate` to
    `warmup_target` over `warmup_steps` steps, then decays as above from `warmup_target`
    over the next `decay_steps` steps (step counted from the end of the warmup), and stays
    at alpha * warmup_target after. The first branch is torch's CosineAnnealingLR(T_max=
    decay_steps, eta_min=alpha * lr) for step <= decay_steps (torch goes back up after).

    Args:
        initial_learning_rate: lr at step 0, >= 0.
        decay_steps: length of the cosine, > 0.
        alpha: final rate as a fraction of the peak, in [0, 1].
        warmup_target: peak rate reached after the warmup, >= 0; None for no warmup.
        warmup_steps: length of the warmup, >= 0.
        name: kept in the config, as Keras (the 4th positional argument, as there).
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0):
        self.initial_learning_rate = checks.non_negative("initial_learning_rate",
                                                    initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.alpha = checks.in_range("CosineDecay: alpha", alpha, 0.0, 1.0, include_high=True)
        self.name = name
        self.warmup_target = checks.optional(checks.non_negative, "warmup_target", warmup_target)
        self.warmup_steps = _step("warmup_steps", warmup_steps)

    def __call__(self, step: int) -> float:
        step = _step("step", step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            rise = self.warmup_target - self.initial_learning_rate
            return rise * fraction + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def _decay(self, step: float, peak: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return peak * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


@registry.register(KIND)
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter, 2017), as Keras.

    Period i (i = 0, 1, ...) lasts first_decay_steps * t_mul**i steps and decays, as
    `CosineDecay`, from initial_learning_rate * m_mul**i down to alpha times that; then
    the rate jumps back up. With f = step / first_decay_steps, period i is the one with
    (t_mul**i - 1) / (t_mul - 1) <= f (f itself when t_mul = 1).

    The period comes from the floor of a logarithm, which rounding could put one period
    off at a step exactly on a restart; it is corrected against the period bounds.

    Args:
        initial_learning_rate: lr at step 0, >= 0.
        first_decay_steps: length of the first period, > 0.
        t_mul: factor of each period's length over the one before, > 0 (default 2.0).
        m_mul: factor of each period's peak over the one before, >= 0 (default 1.0).
        alpha: final rate of a period as a fraction of its peak, in [0, 1].
        name: kept in the config, as Keras.
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay"):
        self.initial_learning_rate = checks.non_negative("initial_learning_rate",
                                                    initial_learning_rate)
        self.first_decay_steps = _positive("first_decay_steps", first_decay_steps)
        self.t_mul = checks.positive("t_mul", t_mul)
        self.m_mul = checks.non_negative("m_mul", m_mul)
        self.alpha = checks.in_range("CosineDecayRestarts: alpha", alpha, 0.0, 1.0,
                                     include_high=True)
        self.name = name

    def __call__(self, step: int) -> float:
        fraction = _step("step", step) / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            restart = math.floor(math.log(1.0 - fraction * (1.0 - self.t_mul))
                                 / math.log(self.t_mul))
            # The logarithm may round across a restart: move to the period holding fraction.
            while (self.t_mul ** (restart + 1) - 1) / (self.t_mul - 1) <= fraction:
                restart += 1
            while restart > 0 and (self.t_mul**restart - 1) / (self.t_mul - 1) > fraction:
                restart -= 1
            start = (1.0 - self.t_mul**restart) / (1.0 - self.t_mul)
            fraction = (fraction - start) / self.t_mul**restart
        cosine = 0.5 * self.m_mul**restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


@registry.register(KIND)
class InverseTimeDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate / (1 + decay_rate * step / decay_steps).

    With `staircase=True`, step / decay_steps is floored.

    Args:
        initial_learning_rate: lr at step 0, >= 0.
        decay_steps: > 0.
        decay_rate: >= 0.
        staircase: decay in discrete jumps.
        name: kept in the config, as Keras.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay"):
        self.initial_learning_rate = checks.non_negative("initial_learning_rate",
                                                    initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.decay_rate = checks.non_negative("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step: int) -> float:
        fraction = _step("step", step) / self.decay_steps
        if self.staircase:
            fraction = math.floor(fraction)
        return self.initial_learning_rate / (1.0 + self.decay_rate * fraction)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@registry.register(KIND)
class PolynomialDecay(LearningRateSchedule):
    """From initial_learning_rate to end_learning_rate along (1 - step / decay_steps)**power:

        lr(step) = (initial - end) * (1 - s / decay_steps)**power + end

    with s = min(step, decay_steps): end_learning_rate after decay_steps. With `cycle=True`
    the decay restarts instead, over
    decay_steps * ceil(step / decay_steps) (so each restart is longer and starts lower).

    Args:
        initial_learning_rate: lr at step 0, >= 0.
        decay_steps: > 0.
        end_learning_rate: >= 0, default 0.0001.
        power: default 1.0 (linear).
        cycle: restart after decay_steps.
        name: kept in the config, as Keras.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int,
                 end_learning_rate: float = 0.0001, power: float = 1.0, cycle: bool = False,
                 name: str = "PolynomialDecay"):
        self.initial_learning_rate = checks.non_negative("initial_learning_rate",
                                                    initial_learning_rate)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.end_learning_rate = checks.non_negative("end_learning_rate", end_learning_rate)
        self.power = checks.number("power", power)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step: int) -> float:
        step = _step("step", step)
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps *= max(1, math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        rise = self.initial_learning_rate - self.end_learning_rate
        return rise * (1.0 - step / decay_steps) ** self.power + self.end_learning_rate

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """{'class_name': ..., 'config': ...} of a schedule, for saved optimizer configs."""
    return registry.serialize(schedule)


def deserialize(config: dict[str, Any] | str,
                custom_objects: dict[str, Any] | None = None) -> LearningRateSchedule:
    """A schedule from `serialize`'s dict (unknown class names list the valid ones)."""
    return registry.deserialize(KIND, config, custom_objects)


# ----- argument checks ------------------------------------------------------------------
def _positive(name: str, value) -> int | float:
    """`checks.positive`, but an integer stays an int, so that configs read as written."""
    number = checks.positive(name, value)
    return int(value) if isinstance(value, Integral) else number


def _step(name: str, value) -> int | float:
    """A step count (an int, or a NumPy integer / 0-d array such as `iterations`), >= 0."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    number = checks.non_negative(name, value)
    return int(value) if isinstance(value, Integral) else number
