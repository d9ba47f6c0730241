"""TerminateOnNaN: stop training at the first batch whose loss is NaN or infinite."""

from __future__ import annotations

import math

from glassnet.callbacks.base import Callback
from glassnet.registry import register


@register("callback")
class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite.

    Args:
        raise_error: raise RuntimeError at once instead of setting `model.stop_training`
            (which lets the other callbacks' `on_train_end` run).
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True


__all__ = ["TerminateOnNaN"]
