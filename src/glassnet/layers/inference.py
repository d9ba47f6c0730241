"""Inference mode: whether layers keep what a backward pass needs.

`predict` runs its forward passes inside `inference_only()`, where a layer's `keep(...)`
returns None, so each intermediate array is freed as soon as the next layer has read it.
(`glassnet.layers.base` re-exports these names.)
"""

from __future__ import annotations

import contextvars

from glassnet.context import setting

# False inside `inference_only()`: layers keep nothing for a backward pass.
_keep_for_backward: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "glassnet_keep_for_backward", default=True)


def inference_only() -> setting:
    """Layers called inside keep nothing for a backward pass (as torch.inference_mode).

    A forward normally keeps what backward needs (a Dense its input, a ReLU its output), so
    every intermediate array of a batch stays alive until the layer's next call. `predict`
    runs inside this: each array is freed as soon as the next layer has read it, and
    convolutions work through their im2col rows a slice of the batch at a time. A backward
    after such a forward raises an error saying so.
    """
    return setting(_keep_for_backward, False)


def keeps_for_backward() -> bool:
    """False inside `inference_only()`."""
    return _keep_for_backward.get()


def require_forward_state(layer, state) -> None:
    """Raise a clear error when backward finds nothing kept by forward."""
    if state is None:
        raise RuntimeError(
            f"layer {layer.name!r} ({type(layer).__name__}): backward needs a forward pass "
            f"that kept its inputs; the last forward ran under inference_only() (as in "
            f"predict). Run forward again (training or not) before backward.")
