"""Arrays that a training step's layers write into, kept from one step to the next.

A layer that allocates its result each step (Dense's x @ W, its dL/dx, ReLU's dL/dx) asks
`step_buffer` for the array instead and fills it with `out=`. Inside `fit`'s training
steps the same array comes back every step; anywhere else it is simply a new array.
"""

from __future__ import annotations

import contextvars
from typing import Any

import numpy as np

from glassnet.backend import namespace
from glassnet.context import setting

# The StepBuffers of the training step under way (see `step_buffer`), or None.
_step_buffers: contextvars.ContextVar[StepBuffers | None] = contextvars.ContextVar(
    "glassnet_step_buffers", default=None)


class StepBuffers:
    """Arrays a model's layers write their results into, one training step after another.

    Why: a step of a 784-256-128-10 MLP at batch 512 allocates and frees a dozen arrays of
    128-512 KiB. The allocator hands memory that large back to the kernel when it is freed,
    and every page of the next step's arrays is then faulted in and zeroed again: ~300
    page faults a step, a fifth of the step's time. Written into the same arrays every step,
    the memory stays mapped (and warm in cache).

    `fit` runs each step inside `reusing(buffers)`; `step_buffer` then hands each call of a
    layer the array that the same call got in the previous step. Calls are counted per
    owner and name within a step, so a layer used twice in one step (a shared layer) gets
    two arrays, never one array twice.
    """

    def __init__(self):
        self._arrays: dict[tuple, Any] = {}
        self._uses: dict[tuple, int] = {}

    def get(self, owner, name: str, shape: tuple, dtype, xp):
        key = (owner, name)
        use = self._uses.get(key, 0)
        self._uses[key] = use + 1
        array = self._arrays.get((owner, name, use))
        if (array is None or array.shape != shape or array.dtype != dtype
                or namespace(array) is not xp):
            array = self._arrays[(owner, name, use)] = xp.empty(shape, dtype=dtype)
        return array

    def reusing(self) -> setting:
        """One training step: layers inside get these buffers from `step_buffer`."""
        self._uses.clear()
        return setting(_step_buffers, self)

    def clear(self) -> None:
        """Let the arrays go (at the end of fit)."""
        self._arrays.clear()
        self._uses.clear()


def step_buffer(owner, name: str, shape: tuple, dtype, xp=np):
    """An uninitialised array of `shape` for `owner`'s result `name`, to be filled with `out=`.

    Inside a training step of `fit` it is the array this call of `owner` filled in the
    previous step (see `StepBuffers`): the result lives until the same call in the next
    step, which is as long as the step needs it. Anywhere else (predict, a direct call,
    a gradient check) it is a new array, as if the layer had allocated it itself.
    """
    buffers = _step_buffers.get()
    if buffers is None:
        return xp.empty(shape, dtype=dtype)
    return buffers.get(owner, name, tuple(shape), np.dtype(dtype), xp)
