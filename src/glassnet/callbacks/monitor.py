"""What several callbacks share: which way a monitored quantity improves, reading it from the
logs, the current learning rate (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
LearningRateScheduler), and the `save_freq` argument (ModelCheckpoint, BackupAndRestore).
"""

from __future__ import annotations

import warnings
from typing import Any

from glassnet import checks
from glassnet.callbacks.base import Logs

# Metric names for which higher is better; every other quantity (losses, errors) is minimized.
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2_score")


def resolve_mode(monitor: str, mode: str, owner: str) -> str:
    """'min' or 'max'. mode="auto": 'max' for accuracy-like names ("val_accuracy", "auc")."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode!r} is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "max" if any(marker in name for marker in _HIGHER_IS_BETTER) else "min"


def is_improvement(current: float, reference: float | None, mode: str, min_delta: float) -> bool:
    """current beats reference by more than min_delta >= 0.

    min: current < reference - min_delta;  max: current > reference + min_delta.
    No reference yet (None) counts as an improvement.
    """
    if reference is None:
        return True
    if mode == "min":
        return current < reference - min_delta
    return current > reference + min_delta


def current_learning_rate(model) -> float:
    """The optimizer's learning rate now, as a Python float."""
    return float(model.optimizer.learning_rate)


def monitor_value(logs: Logs | None, monitor: str, what: str) -> float | None:
    """logs[monitor], or None with a warning that lists the available entries."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(
            f"{what} conditioned on metric `{monitor}` which is not available. "
            f"Available metrics are: {','.join(logs)}",
            stacklevel=3,
        )
    return value


def save_frequency(owner: str, save_freq: Any) -> str | int:
    """'epoch', or N >= 1 (save after every N training batches), for `owner`'s save_freq."""
    if isinstance(save_freq, str) and save_freq == "epoch":
        return save_freq
    try:
        return checks.positive_integer(f"{owner}: save_freq", save_freq)
    except (TypeError, ValueError):
        raise ValueError(f"{owner}: save_freq must be 'epoch' or a positive int, got "
                         f"{save_freq!r}") from None


__all__ = ["current_learning_rate", "is_improvement", "monitor_value", "resolve_mode",
           "save_frequency"]
