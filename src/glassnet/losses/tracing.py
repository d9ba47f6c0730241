"""The gradient of a loss written with `glassnet.ops`, from the tape.

A loss whose `call` is written with ops (a `Loss` subclass without `call_gradient`, or a
plain function wrapped by `LossFunctionWrapper`) needs no derivative of its own: `call` runs
on a tape with y_pred as the leaf, and the reduced loss L = Σ c l (c: the sample weights,
mask and divisor of each entry, from `Loss._scale`) is back-propagated by seeding each
entry l with its c:

    dL/dy_pred = J_l(y_pred)^T c
"""

from __future__ import annotations

import numpy as np

from glassnet import autodiff


def traced_losses(call, y_true, y_pred):
    """(entries l on a tape, the tape, y_pred's leaf): `call(y_true, leaf)` recorded."""
    with autodiff.trace() as tape:
        leaf = tape.watch(y_pred)
        losses = call(y_true, leaf)
    if not isinstance(losses, autodiff.Tensor):
        raise TypeError(
            f"the loss returned {type(losses).__name__}, not a tensor computed from y_pred "
            f"with glassnet.ops, so it has no gradient: write it with glassnet.ops functions "
            f"(ops.mean, ops.square, ops.where, ...), not NumPy's")
    return losses, tape, leaf


def gradient_from_tape(losses, tape, leaf, scale) -> np.ndarray:
    """dL/dy_pred for L = Σ scale * losses (`scale` broadcast to the entries' shape)."""
    seed = np.broadcast_to(np.asarray(scale, dtype=losses.value.dtype), losses.shape)
    tape.backward([(losses, seed)])
    return leaf.grad if leaf.grad is not None else np.zeros_like(leaf.value)


def same_rank(y_true, y_pred):
    """Keras' squeeze_or_expand_to_same_rank: a trailing axis of size 1 that only one of
    the two has is squeezed away (or added to a 1-D one)."""
    true_rank, pred_rank = np.ndim(y_true), np.ndim(y_pred)
    if true_rank == pred_rank + 1 and np.shape(y_true)[-1] == 1:
        y_true = y_true[..., 0] if pred_rank != 1 else y_true
        if pred_rank == 1:
            y_pred = y_pred[..., None]
    elif pred_rank == true_rank + 1 and np.shape(y_pred)[-1] == 1:
        if true_rank == 1:
            y_true = y_true[..., None]
        else:
            y_pred = y_pred[..., 0]
    return y_true, y_pred
