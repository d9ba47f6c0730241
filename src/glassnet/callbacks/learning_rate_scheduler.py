"""LearningRateScheduler: the learning rate of each epoch as a function of the epoch."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from glassnet.callbacks.base import Callback
from glassnet.callbacks.monitor import current_learning_rate
from glassnet.registry import register


@register("callback")
class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch: lr = schedule(epoch, lr).

    Args:
        schedule: a function (epoch: int 0-based, lr: float) -> float; a one-argument
            function schedule(epoch) is accepted too (Keras' older form).
        verbose: 1 prints the new rate each epoch.

    Example:
        >>> LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.9)
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        if _takes_two_arguments(self.schedule):
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {learning_rate!r}"
            )
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(learning_rate)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model)


def _takes_two_arguments(function: Callable) -> bool:
    """Whether function(epoch, lr) is a valid call (else it is called as function(epoch))."""
    try:
        inspect.signature(function).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:
        return True  # no signature to inspect (some builtins): assume the current form
    return True


__all__ = ["LearningRateScheduler"]
