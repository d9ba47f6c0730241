"""LossFunctionWrapper: a plain function `fn(y_true, y_pred) -> per-sample losses`, written
with `glassnet.ops`, as a Loss (Keras' `loss=my_function`).

    def smooth_l1(y_true, y_pred):
        d = ops.abs(y_true - y_pred)
        return ops.mean(ops.where(d < 1, 0.5 * d**2, d - 0.5), axis=-1)

    model.compile(optimizer="adam", loss=smooth_l1)     # wrapped by losses.get

The gradient comes from the tape (`losses.tracing`); the sample weights, masks and the
reduction are `Loss`'s. y_true arrives in y_pred's float dtype (labels too, as in Keras),
with a trailing axis of size 1 squeezed or added to match y_pred's rank.
"""

from __future__ import annotations

from typing import Any

from glassnet import registry
from glassnet.losses.base import Loss
from glassnet.losses.tracing import same_rank


@registry.register("loss")
class LossFunctionWrapper(Loss):
    """A Loss from a function `fn(y_true, y_pred, **kwargs)` written with glassnet.ops.

    Args:
        fn: the function; per-sample (or per-entry) losses (N, ...), or one scalar.
        reduction, name, dtype: as for `Loss` (name: the function's name by default).
        **kwargs: passed on to `fn`.

    A saved model names the function by its `__name__`; loading it needs the function in
    `custom_objects` (or registered with `registry.register_serializable(kind="loss")`).
    """

    def __init__(self, fn, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        dtype = y_pred.dtype
        y_true = y_true.astype(dtype, copy=False) if hasattr(y_true, "astype") else y_true
        y_true, y_pred = same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def reduced_axis(self, y_pred) -> int | None:
        """Unknown before the function runs: the entries' shape comes from its result."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", repr(self.fn)),
                **self._fn_kwargs}

    @classmethod
    def from_config(cls, config_: dict[str, Any], custom_objects=None) -> LossFunctionWrapper:
        config_ = dict(config_)
        fn = registry.lookup("loss", config_.pop("fn"), custom_objects)
        return cls(fn, **config_)
