"""A model's parameters as numbered arrays, and their checked assignment back into a model.

Both file formats, the `.glassnet` model file and the training-state backup, keep the weights
as an .npz with keys "0000", "0001", ... in `model.parameters()` order, and the optimizer's
state under `optimizer.get_state()`'s keys; this module holds those conventions, the size an
.npz of them can have (checked before it is inflated), the checks of their .npy headers
(before any array is read) and of their values (no NaN, no cast that changes a value,
`checks.weight_problem`). It touches a model only through `parameters()`, `name`, `built`
and its optimizer's `slot_initial_values` and `set_state` (no import of the model classes).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from glassnet import checks
from glassnet.saving.archive import HeaderCheck, ModelFileError, few, npz_size_bound

WEIGHT_KEY = re.compile(r"[0-9]{4,}")                     # "0000", "0001", ...
STATE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[0-9]+)?")  # optimizer.get_state() keys
# Arrays per parameter an optimizer state may hold (glassnet's optimizers keep at most 3).
MAX_SLOTS = 4


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
                             f"without gaps, got {few(sorted(arrays))}")
    return [arrays[key] for key in expected]


# ----- sizes and headers, before anything is inflated or read --------------------------------
def _values(params) -> int:
    return sum(int(np.prod(p.shape)) for p in params)


def weights_size_bound(params) -> tuple[int, str]:
    """(the most bytes an .npz of these parameters' weights takes, what that is) for
    `archive.read_nested_npz`: 8 bytes a value (float64 or int64 arrays are allowed)."""
    values = _values(params)
    return (npz_size_bound(len(params), values),
            f"the {len(params)} weights of the model that config.json describes "
            f"({values:,} values)")


def optimizer_size_bound(params) -> tuple[int, str]:
    """As `weights_size_bound`, for an optimizer state of MAX_SLOTS arrays a parameter."""
    values = _values(params)
    return (npz_size_bound(MAX_SLOTS * len(params) + 2, MAX_SLOTS * values + 2),
            f"an optimizer state for its {len(params)} trainable weights (at most "
            f"{MAX_SLOTS} arrays of {values:,} values)")


def weights_count(model) -> tuple[int, str]:
    """(the most arrays a weights .npz for `model` holds, what that is), for `read_npz`."""
    count = len(model.parameters())
    hint = "" if count or model.built else ": it is not built yet, build it first"
    return count, f"the model {model.name!r} has {count} weight arrays{hint}"


def optimizer_count(model) -> tuple[int, str]:
    """As `weights_count`, for an optimizer state: MAX_SLOTS a trainable weight, and two."""
    count = MAX_SLOTS * len(model.parameters(trainable_only=True)) + 2
    return count, f"an optimizer state for the model {model.name!r} has at most {count} arrays"


def weight_header_check(model, where: str) -> HeaderCheck:
    """The check of a weights .npz for `model` from its .npy headers: the count of arrays
    (as `check_weights`), then each array's shape and dtype kind."""
    params = model.parameters()

    def check(headers: dict[str, tuple[tuple, np.dtype]]) -> None:
        if len(headers) != len(params):
            _wrong_count(params, len(headers), where, model)
        for key, (shape, dtype) in headers.items():
            index = int(key)
            if index >= len(params):
                ordered_weights(headers, where)            # a gap in the numbering
            _check_shape(params[index], f"weight {params[index].name!r} (array {key})", shape,
                         dtype, where)
    return check


def optimizer_header_check(params, where: str, slot_shape=None) -> HeaderCheck:
    """The check of an optimizer state .npz from its .npy headers: a slot "<name>/<index>"
    has the shape `slot_shape(name, value)` (the optimizer's `slot_shape`; by default its
    parameter's shape); "iterations" and "learning_rate" are scalars."""
    def check(headers: dict[str, tuple[tuple, np.dtype]]) -> None:
        for key, (shape, dtype) in headers.items():
            if "/" in key:
                name, index = key.rsplit("/", 1)
                index = int(index)
                if index >= len(params):
                    raise ModelFileError(f"{where}: {key}: the model has {len(params)} "
                                         "trainable weights")
                expected = None if slot_shape is None else slot_shape(name, params[index].value)
                _check_shape(params[index], f"{key} (parameter {params[index].name!r})", shape,
                             dtype, where, expected)
            elif key in ("iterations", "learning_rate") and shape != ():
                raise ModelFileError(f"{where}: {key}: expected a scalar, got shape {shape}")
    return check


def _wrong_count(params, held: int, where: str, model):
    hint = "" if params or model.built else " (the model is not built yet: build it first)"
    raise ModelFileError(f"{where}: the model {model.name!r} has {len(params)} weight arrays "
                         f"{few(p.name for p in params)}, the file holds {held}{hint}")


def _check_shape(param, what: str, shape: tuple, dtype: np.dtype, where: str,
                 expected: tuple | None = None) -> None:
    expected = tuple(param.shape) if expected is None else tuple(expected)
    if shape != expected:
        raise ModelFileError(f"{where}: {what}: expected shape {expected}, got {shape}")
    if not np.can_cast(dtype, param.dtype, "same_kind"):
        raise ModelFileError(f"{where}: {what}: expected dtype {param.dtype}, got {dtype}")


# ----- values, then assignment ---------------------------------------------------------------
def check_weights(model, weights: list[np.ndarray], where: str) -> None:
    """Count, shape, dtype and values of every array against `model`'s parameters."""
    params = model.parameters()
    if len(weights) != len(params):
        _wrong_count(params, len(weights), where, model)
    for index, (param, value) in enumerate(zip(params, weights)):
        what = f"weight {param.name!r} (array {weight_key(index)})"
        _check_shape(param, what, value.shape, value.dtype, where)
        problem = checks.weight_problem(value, param.dtype)
        if problem is not None:
            raise ModelFileError(f"{where}: {what}: {problem}")


def assign_weights(model, weights: list[np.ndarray], where: str) -> None:
    """Check every array (`check_weights`), then assign them all (a bad array leaves every
    weight of `model` as it was)."""
    check_weights(model, weights, where)
    for param, value in zip(model.parameters(), weights):
        param.value[...] = value


def check_optimizer_state(model, state: dict[str, np.ndarray], where: str) -> None:
    """Keys and values of an optimizer state against `model`'s trainable parameters: no key
    the optimizer does not keep, every slot when it has stepped, slot values that the
    parameters' dtypes keep (`checks.weight_problem`), a finite learning rate."""
    params = model.parameters(trainable_only=True)
    slots = [f"{name}/{index}" for name in model.optimizer.slot_initial_values()
             for index in range(len(params))]
    extra = sorted(set(state) - set(slots) - {"iterations", "learning_rate"})
    stepped = any("/" in key for key in state) or np.any(state.get("iterations", 0) != 0)
    missing = sorted(set(slots) - set(state)) if stepped else []
    if extra or missing:
        raise ModelFileError(f"{where}: optimizer {model.optimizer.name!r} state for "
                             f"{len(params)} parameters: missing keys {few(missing)}, "
                             f"unexpected keys {few(extra)}")
    for key in slots if stepped else ():
        param = params[int(key.rsplit("/", 1)[1])]
        problem = checks.weight_problem(state[key], param.dtype)
        if problem is not None:
            raise ModelFileError(f"{where}: {key} (parameter {param.name!r}): {problem}")
    if "learning_rate" in state:
        problem = checks.weight_problem(np.asarray(state["learning_rate"]), np.float64)
        if problem is not None:
            raise ModelFileError(f"{where}: learning_rate: {problem}")


def assign_optimizer_state(model, state: dict[str, np.ndarray], where: str) -> None:
    """`model.optimizer.set_state(state)` over the trainable parameters, once
    `check_optimizer_state` passed; a state that does not fit them is a ModelFileError
    naming `where`, and leaves the optimizer as it was."""
    check_optimizer_state(model, state, where)
    try:
        model.optimizer.set_state(state, model.parameters(trainable_only=True))
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from error


__all__ = ["MAX_SLOTS", "STATE_KEY", "WEIGHT_KEY", "assign_optimizer_state", "assign_weights",
           "check_optimizer_state", "check_weights", "optimizer_count", "optimizer_header_check",
           "optimizer_size_bound", "ordered_weights", "weight_arrays", "weight_header_check",
           "weight_key", "weights_count", "weights_size_bound"]
