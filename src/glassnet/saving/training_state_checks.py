"""What a `fit` could have written: every field of a backup, checked before anything is restored.

A backup (`training_state.py`) is read from disk, so it is untrusted like any file. Its
state.json and arrays.npz are checked in two steps, each refusal a `ModelFileError` naming the
file and the field (`state.json: targets.shape: ...`):

1. `check_state` (when the file is read, knowing nothing of the model): the exact set of
   keys, and each field's type and range: epoch and step integers >= 0, history values
   numbers, metric totals finite numbers under attribute names (never `__class__`), a
   targets dtype among NumPy's numeric ones and a shape of a few non-negative integers,
   generator states of the right form, no array in arrays.npz that the state does not name.
2. `check_against_fit` (when a fit resumes, before anything is restored): the same fields
   against this fit and this model: the epoch within `epochs`, the step within an epoch,
   history epochs before the current one, positions only for generators and within the run,
   the targets shape against the batch size and the model's output, each generator's state
   tried on a fresh generator of the same kind, then the weights and the optimizer state
   (`weights.check_weights`, `weights.check_optimizer_state`).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from glassnet.random import global_generator
from glassnet.saving.archive import ModelFileError, few
from glassnet.saving.weights import check_optimizer_state, check_weights

STATE_KEYS = {"format", "format_version", "saved_at", "epoch", "step", "num_batches",
              "positions", "history", "targets", "rng", "metrics"}
SOURCES = ("train", "validation")
MAX_TARGET_DIMS = 32               # NumPy's own limit on array dimensions is 64
MAX_TARGET_VALUES = 2**24          # values in one batch of y, when nothing tighter is known
MAX_OUTPUTS = 1000                 # entries of targets: one per output of the model
LEGACY_KEYS = 624                  # MT19937's state: 624 32-bit words
_ATTRIBUTE = re.compile(r"(?!__)[A-Za-z_][A-Za-z0-9_]*")  # a plain attribute name, no dunder


def _fail(where: str, field: str, problem: str):
    raise ModelFileError(f"{where}: {field}: {problem}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _keys(where: str, field: str, value, required: set, optional: frozenset = frozenset()):
    if not isinstance(value, dict):
        _fail(where, field, f"expected an object, got {type(value).__name__}")
    missing, extra = sorted(required - value.keys()), sorted(value.keys() - required - optional)
    if missing or extra:
        _fail(where, field, f"missing keys {few(missing)}, unexpected keys {few(extra)}")


def _integer(where: str, field: str, value, low: int = 0, high: int | None = None,
             null: bool = False) -> None:
    if value is None and null:
        return
    if not _is_int(value) or value < low or (high is not None and value > high):
        span = f"in [{low}, {high}]" if high is not None else f">= {low}"
        _fail(where, field, f"{field.rsplit('.', 1)[-1]!r} must be an integer {span}"
              f"{' or null' if null else ''}, got {value!r:.80}")


# ----- 1. the file alone ---------------------------------------------------------------------
def check_state(state: dict[str, Any], arrays: dict[str, np.ndarray], where: str) -> None:
    """Keys, types and ranges of state.json, and the arrays it names (see the module)."""
    json_where, arrays_where = f"{where}: state.json", f"{where}: arrays.npz"
    _keys(json_where, "state", state, STATE_KEYS)
    if not isinstance(state["saved_at"], str):
        _fail(json_where, "'saved_at'", f"expected a string, got {state['saved_at']!r:.80}")
    _integer(json_where, "epoch", state["epoch"])
    _integer(json_where, "step", state["step"])
    _integer(json_where, "num_batches", state["num_batches"], null=True)
    _keys(json_where, "positions", state["positions"], set(SOURCES))
    for name in SOURCES:
        _integer(json_where, f"positions.{name}", state["positions"][name], null=True)
    _check_history(state["history"], json_where)
    _check_targets(state["targets"], json_where)
    _check_rng(state["rng"], json_where)
    _check_metrics(state["metrics"], state["step"], json_where)
    _check_arrays(state, arrays, arrays_where)


def _check_history(history, where: str) -> None:
    if not (isinstance(history, dict) and set(history) == {"history", "epoch"}
            and isinstance(history["history"], dict) and isinstance(history["epoch"], list)):
        _fail(where, "'history'", "'history' must be {'history': {name: [...]}, 'epoch': [...]}")
    epochs = history["epoch"]
    if not all(_is_int(e) and e >= 0 for e in epochs) or any(
            a >= b for a, b in zip(epochs, epochs[1:])):
        _fail(where, "history.epoch", f"expected increasing integers >= 0, got "
                                      f"{few(epochs)}")
    for name, values in history["history"].items():
        if not isinstance(values, list) or not all(
                _is_number(v) or (isinstance(v, list) and all(_is_number(u) for u in v))
                for v in values):
            _fail(where, f"history.history[{name[:80]!r}]", "expected a list of numbers "
                                                            "(or of lists of numbers)")
        if len(values) > len(epochs):
            _fail(where, f"history.history[{name[:80]!r}]", f"{len(values)} values for "
                                                             f"{len(epochs)} epochs")


def _check_targets(targets, where: str) -> None:
    if isinstance(targets, list):    # several outputs: one entry (or null) per output
        if len(targets) > MAX_OUTPUTS:
            _fail(where, "targets", f"{len(targets)} entries, more than {MAX_OUTPUTS}")
        for entry in targets:
            if isinstance(entry, list):
                _fail(where, "targets", "expected {'shape', 'dtype'} or null per output")
            _check_targets(entry, where)
        return
    if targets is None:
        return
    _keys(where, "targets", targets, {"shape", "dtype"})
    shape, dtype = targets["shape"], targets["dtype"]
    if not (isinstance(shape, list) and 1 <= len(shape) <= MAX_TARGET_DIMS
            and all(_is_int(d) and d >= 0 for d in shape)):
        _fail(where, "targets.shape", f"expected 1 to {MAX_TARGET_DIMS} integers >= 0, got "
                                      f"{shape!r:.80}")
    if math.prod(shape) > MAX_TARGET_VALUES:
        _fail(where, "targets.shape", f"{shape} is {math.prod(shape):,} values, more than "
                                      f"{MAX_TARGET_VALUES:,}")
    try:
        kind = np.dtype(dtype).kind if isinstance(dtype, str) and len(dtype) <= 16 else None
    except (TypeError, ValueError, SyntaxError, RecursionError):
        kind = None
    if kind is None or kind not in "biuf":
        _fail(where, "targets.dtype", f"expected a NumPy numeric dtype, got {dtype!r:.80}")


def _check_rng(rng, where: str) -> None:
    _keys(where, "rng", rng, {"global", "layers", "legacy"})
    if not isinstance(rng["global"], dict):
        _fail(where, "rng.global", f"expected a generator state, got {rng['global']!r:.80}")
    if not (isinstance(rng["layers"], list) and all(isinstance(s, dict) for s in rng["layers"])):
        _fail(where, "rng.layers", f"expected a list of generator states, got "
                                   f"{rng['layers']!r:.80}")
    legacy = rng["legacy"]
    if legacy is None:
        return
    _keys(where, "rng.legacy", legacy, {"name", "pos", "has_gauss", "cached_gaussian"})
    if legacy["name"] != "MT19937":
        _fail(where, "rng.legacy.name", f"expected 'MT19937', got {legacy['name']!r:.80}")
    _integer(where, "rng.legacy.pos", legacy["pos"], 0, LEGACY_KEYS)
    _integer(where, "rng.legacy.has_gauss", legacy["has_gauss"], 0, 1)
    cached = legacy["cached_gaussian"]
    if not _is_number(cached) or not math.isfinite(cached):
        _fail(where, "rng.legacy.cached_gaussian", f"expected a finite number, got {cached!r}")


def _check_metrics(metrics, step: int, where: str) -> None:
    if metrics is None and step == 0:
        return
    if not isinstance(metrics, list) or step == 0:
        _fail(where, "'metrics'", "'metrics' must be null at step 0, else a list of "
                                  "{'name', 'scalars': {...}, 'arrays': [...]}")
    for index, metric in enumerate(metrics):
        field = f"metrics[{index}]"
        _keys(where, field, metric, {"name", "scalars", "arrays"})
        if not isinstance(metric["name"], str):
            _fail(where, f"{field}.name", f"expected a string, got {metric['name']!r:.80}")
        scalars, arrays = metric["scalars"], metric["arrays"]
        if not isinstance(scalars, dict):
            _fail(where, f"{field}.scalars", "expected an object")
        for name, value in scalars.items():
            if not _ATTRIBUTE.fullmatch(name):
                _fail(where, f"{field}.scalars", f"{name[:80]!r} is not a metric attribute")
            if not _is_number(value) or not math.isfinite(value):
                _fail(where, f"{field}.scalars.{name}", f"{value!r:.80}; expected a number it "
                                                        "already has (finite)")
        if not (isinstance(arrays, list) and all(isinstance(a, str) and _ATTRIBUTE.fullmatch(a)
                                                 for a in arrays)):
            _fail(where, f"{field}.arrays", f"expected attribute names, got {arrays!r:.80}")


def _check_arrays(state, arrays: dict[str, np.ndarray], where: str) -> None:
    """arrays.npz holds what the state names, nothing else, each of the right form."""
    expected = {"order"} & arrays.keys()
    for index, metric in enumerate(state["metrics"] or []):
        for name in metric["arrays"]:
            key = f"metric{index}_{name}"
            if key not in arrays:
                _fail(where, f"metrics[{index}].arrays", f"names {name!r}, but arrays.npz holds "
                                                         f"no {key!r}")
            if arrays[key].dtype.kind == "f" and not np.isfinite(arrays[key]).all():
                _fail(where, f"{key!r}", "non-finite values")
            expected.add(key)
    if state["rng"]["legacy"] is not None:
        keys = arrays.get("legacy_rng_keys")
        if keys is None or keys.dtype != np.uint32 or keys.shape != (LEGACY_KEYS,):
            found = "none" if keys is None else f"{keys.dtype} of shape {keys.shape}"
            _fail(where, "'legacy_rng_keys'", f"expected {LEGACY_KEYS} uint32, got {found}")
        expected.add("legacy_rng_keys")
    extra = sorted(arrays.keys() - expected)
    if extra:
        _fail(where, "arrays", f"unexpected {few(extra)}: no fit writes them")
    order = arrays.get("order")
    if order is not None and (order.dtype.kind not in "iu" or order.ndim != 1):
        _fail(where, "'order'", f"expected integers in one dimension, got {order.dtype} "
                                f"of shape {order.shape}")


# ----- 2. against this fit -------------------------------------------------------------------
def check_against_fit(model, progress, contents: dict[str, Any], generators: list,
                      epochs: int | None) -> None:
    """Every field of a backup (read and `check_state`-ed) against this fit and model."""
    state, arrays, where = contents["state"], contents["arrays"], contents["where"]
    json_where = f"{where}: state.json"
    hint = ("; this fit differs from the one that wrote it (delete the backup folder to "
            "start over)")
    num_batches = progress.num_batches
    if state["num_batches"] != num_batches:
        raise ModelFileError(f"{where}: the backup was written by a fit with "
                             f"{state['num_batches']} batches per epoch, this fit has "
                             f"{num_batches}{hint}")
    epoch, step = state["epoch"], state["step"]
    _integer(json_where, "epoch", epoch, 0, epochs)
    train_position = state["positions"]["train"]
    _integer(json_where, "step", step, 0, num_batches if num_batches is not None
             else train_position)
    history = state["history"]
    if history["epoch"] and history["epoch"][-1] >= epoch:
        _fail(json_where, "history.epoch", f"epoch {history['epoch'][-1]} recorded, but the "
                                           f"backup is of epoch {epoch}")
    for name, source in zip(SOURCES, (progress.train, progress.validation)):
        _check_position(state, name, source, json_where)
    _check_targets_fit(state["targets"], model, progress, json_where)
    _check_metrics_fit(state, arrays, model, json_where)
    _check_generators(state["rng"], generators, arrays, json_where, hint)
    order, size = arrays.get("order"), getattr(progress.train, "order_size", None)
    if order is not None and (order.shape != (size,)
                              or not np.array_equal(np.sort(order), np.arange(size))):
        raise ModelFileError(f"{where}: arrays.npz: 'order' is not a permutation of the {size} "
                             f"samples or batches of this fit (shape {order.shape}){hint}")
    check_weights(model, contents["weights"], f"{where}: weights.npz")
    optimizer = contents["optimizer"]
    check_optimizer_state(model, optimizer, f"{where}: optimizer.npz")
    iterations = optimizer.get("iterations", np.zeros((), np.int64))
    if iterations.size == 1 and iterations.dtype.kind in "iu" and int(iterations) < step:
        _fail(f"{where}: optimizer.npz", "iterations", f"{int(iterations)} optimizer steps, "
              f"but the backup is after {step} steps of this epoch")


def _check_position(state, name: str, source, where: str) -> None:
    """A position is a generator's count of batches taken: none for arrays or a PyDataset,
    and at most one epoch's batches per epoch started when the epochs have a length."""
    position = state["positions"][name]
    if position is None:
        return
    if not hasattr(source, "skip"):
        _fail(where, f"positions.{name}", f"{position!r}, but this fit's {name} data is not a "
                                          "generator")
    batches = getattr(source, "num_batches", None)
    if batches is not None:
        epochs_started = state["epoch"] + (name == "train")
        _integer(where, f"positions.{name}", position, 0, epochs_started * batches)


def _check_targets_fit(targets, model, progress, where: str) -> None:
    """One batch of y: at most batch_size rows, at most as many values a row as the output."""
    if isinstance(targets, list):
        shapes = getattr(model, "output_shape", None)
        if not isinstance(shapes, list) or len(shapes) != len(targets):
            _fail(where, "targets", f"{len(targets)} entries; the model has "
                                    f"{len(shapes) if isinstance(shapes, list) else 1} "
                                    f"outputs: compile it as before")
        for entry, shape in zip(targets, shapes):
            _check_targets_fit(entry, _OneOutput(shape), progress, where)
        return
    if targets is None:
        return
    shape = targets["shape"]
    batch = getattr(progress.train, "batch_size", None)
    if _is_int(batch) and shape[0] > batch:
        _fail(where, "targets.shape", f"{shape}: more rows than this fit's batches of {batch}")
    output = tuple(getattr(model, "output_shape", None) or ())[1:]
    if output and all(_is_int(d) for d in output) and math.prod(shape[1:]) > math.prod(output):
        _fail(where, "targets.shape", f"{shape} does not fit the model's output "
                                      f"{(None, *output)}")


def _check_metrics_fit(state, arrays, model, where: str) -> None:
    """The running metrics against the model's: the same names, and only numbers and arrays
    each metric already has (what `training_state.load_metric_state` will set)."""
    saved = state["metrics"]
    objects = None if saved is None else _metric_objects(model, state["targets"])
    if objects is None:
        return
    names = [metric.name for metric in objects]
    if [m["name"] for m in saved] != names:
        _fail(where, "metrics", f"the backup holds metrics {few([m['name'] for m in saved])}, "
                                f"the model has {few(names)}: compile it as before")
    for index, (metric, metric_state) in enumerate(zip(objects, saved)):
        for name in metric_state["scalars"]:
            current = getattr(metric, name, None)
            if not _is_number(current):
                _fail(where, f"metrics[{index}].scalars", f"{name[:80]!r}: metric "
                                                          f"{metric.name!r} has no such number; "
                                                          "expected a number it already has")
        for name in metric_state["arrays"]:
            current = getattr(metric, name, None)
            if not isinstance(current, np.ndarray) or \
                    current.shape != arrays[f"metric{index}_{name}"].shape:
                _fail(where, f"metrics[{index}].arrays", f"{name!r} does not match metric "
                                                         f"{metric.name!r}'s array")


def _metric_objects(model, targets) -> list | None:
    """The model's metrics (the loss's tracker first), or new ones made as the first batch
    makes them (from its compile config and the shape of a batch of y), or None."""
    built = list(model.metrics)
    if getattr(model, "compiled_outputs", None) is not None:  # checked when loaded
        return built if model.compiled_outputs.built else None
    specs = (model.get_compile_config() or {}).get("metrics") or []
    if len(built) == 1 + len(specs) or targets is None:
        return built if len(built) == 1 + len(specs) else None
    from glassnet import metrics

    shape = tuple(targets["shape"])
    output = tuple(getattr(model, "output_shape", None) or ())[1:]
    try:
        y_true = np.zeros(shape, targets["dtype"])
        y_pred = np.zeros(shape[:1] + output, model.dtype)
        return built + [metrics.get(spec, loss=model.loss, y_true=y_true, y_pred=y_pred)
                        for spec in specs]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _check_generators(rng, generators: list, arrays, where: str, hint: str) -> None:
    """Each saved state set on a fresh generator of the kind it will be restored into."""
    if len(rng["layers"]) != len(generators):
        raise ModelFileError(f"{where}: rng.layers: the backup holds {len(rng['layers'])} layer "
                             f"random generators, the model has {len(generators)}: a "
                             f"different model{hint}")
    pairs = [("rng.global", global_generator(), rng["global"])]
    pairs += [(f"rng.layers[{i}]", g, s) for i, (g, s) in enumerate(zip(generators,
                                                                        rng["layers"]))]
    for field, generator, saved in pairs:
        try:
            type(generator.bit_generator)().state = saved
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as error:
            _fail(where, field, f"invalid generator state: {error}")
    legacy = rng["legacy"]
    if legacy is not None:
        try:
            np.random.RandomState().set_state((legacy["name"], arrays["legacy_rng_keys"],
                                               legacy["pos"], legacy["has_gauss"],
                                               legacy["cached_gaussian"]))
        except (ValueError, TypeError, OverflowError) as error:
            _fail(where, "rng.legacy", f"invalid generator state: {error}")


__all__ = ["check_against_fit", "check_state"]


class _OneOutput:
    """Stands in for a model with one output of `output_shape` (one output of several)."""

    def __init__(self, output_shape):
        self.output_shape = output_shape
