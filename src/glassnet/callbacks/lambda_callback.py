"""LambdaCallback: a callback made of plain functions, one per hook."""

from __future__ import annotations

from collections.abc import Callable

from glassnet.callbacks.base import HOOKS, Callback
from glassnet.registry import register


@register("callback")
class LambdaCallback(Callback):
    """A callback made of plain functions.

    Args:
        on_epoch_begin, on_epoch_end: f(epoch, logs).
        on_train_batch_begin, on_train_batch_end: f(batch, logs).
        on_train_begin, on_train_end: f(logs).
        **kwargs: any other hook by name (on_test_begin=f(logs), on_predict_batch_end=
            f(batch, logs), ...).

    Example:
        >>> LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs: Callable):
        super().__init__()
        unknown = sorted(set(kwargs) - set(HOOKS))
        if unknown:
            raise TypeError(
                f"LambdaCallback: unknown hook(s) {unknown}; valid hooks: {', '.join(HOOKS)}"
            )
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)  # the instance attribute shadows the no-op method


__all__ = ["LambdaCallback"]
