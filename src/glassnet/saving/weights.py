"""A model's parameters as numbered arrays, and their checked assignment back into a model.

Both file formats, the `.glassnet` model file and the training-state backup, keep the weights
as an .npz with keys "0000", "0001", ... in `model.parameters()` order, and the optimizer's
state under `optimizer.get_state()`'s keys; this module holds those conventions. It touches a
model only through `parameters()`, `name` and `built` (no import of the model classes).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from glassnet.saving.archive import ModelFileError

WEIGHT_KEY = re.compile(r"[0-9]{4,}")                     # "0000", "0001", ...
STATE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[0-9]+)?")  # optimizer.get_state() keys


def weight_key(index: int) -> str:
    """The key of the `index`-th parameter: 3 -> "0003"."""
    return f"{index:04d}"


def weight_arrays(model) -> dict[str, Any]:
    """{"0000": value, "0001": value, ...} of every parameter of `model`, in order."""
    return {weight_key(i): p.value for i, p in enumerate(model.parameters())}


def ordered_weights(arrays: dict[str, np.ndarray], where: str) -> list[np.ndarray]:
    """The arrays "0000", "0001", ... as a list; any gap or stray key is an error."""
    expected = [weight_key(i) for i in range(len(arrays))]
    if sorted(arrays) != expected:
        raise ModelFileError(f"{where}: expected keys {expected[:3]}... numbered from 0000 "
                             f"without gaps, got {sorted(arrays)[:10]}")
    return [arrays[key] for key in expected]


def assign_weights(model, weights: list[np.ndarray], where: str) -> None:
    """Check count, shape and dtype of every array, then assign them all (a bad array
    leaves every weight of `model` as it was)."""
    params = model.parameters()
    if len(weights) != len(params):
        hint = "" if params or model.built else " (the model is not built yet: build it first)"
        raise ModelFileError(f"{where}: the model {model.name!r} has {len(params)} weight "
                             f"arrays {[p.name for p in params]}, the file holds "
                             f"{len(weights)}{hint}")
    for index, (param, value) in enumerate(zip(params, weights)):
        if value.shape != tuple(param.shape):
            raise ModelFileError(f"{where}: weight {param.name!r} (array {weight_key(index)}): "
                                 f"expected shape {tuple(param.shape)}, got {value.shape}")
        if not np.can_cast(value.dtype, param.dtype, "same_kind"):
            raise ModelFileError(f"{where}: weight {param.name!r} (array {weight_key(index)}): "
                                 f"expected dtype {param.dtype}, got {value.dtype}")
    for param, value in zip(params, weights):
        param.assign(value)


def assign_optimizer_state(model, state: dict[str, np.ndarray], where: str) -> None:
    """`model.optimizer.set_state(state)` over the trainable parameters; a state that does
    not fit them (count, shapes, keys) is a ModelFileError naming `where`."""
    try:
        model.optimizer.set_state(state, model.parameters(trainable_only=True))
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from error


__all__ = ["STATE_KEY", "WEIGHT_KEY", "assign_optimizer_state", "assign_weights",
           "ordered_weights", "weight_arrays", "weight_key"]
