"""The compile config (optimizer, loss, metrics) and the optimizer's variables, Keras <-> glassnet.

Keras 3.15 keeps the compile settings in config.json's "compile_config" and the optimizer's
state in the weights file's "optimizer/vars" group, as one list: iterations, the learning
rate (unless it is a schedule), then each slot for each trainable variable. The slots of one
`add_optimizer_variables` call are interleaved per variable:

    Adam       [m_0, v_0, m_1, v_1, ...] then, with amsgrad, [v_hat_0, v_hat_1, ...]
    RMSprop    [velocity_0, ...], then [momentum_0, ...], then [average_gradient_0, ...]
    SGD        [momentum_0, ...] (only with momentum);  Adagrad  [accumulator_0, ...]
    Adadelta, Adamax, Ftrl, Lamb, Lion, Adafactor: all their slots interleaved,
               [a_0, b_0, a_1, b_1, ...]
    Nadam      [m_0, v_0, m_1, v_1, ...] then its momentum product mu_1...mu_t, a scalar
               that glassnet recomputes from the step count (read, checked, not kept)

glassnet's `optimizer.get_state()` holds the same arrays as "<slot>/<index>", indexed by the
model's trainable parameters; Keras indexes by `model.trainable_variables`, which follows its
layer order. Both orders are known here, so each array lands on its own weight and `fit`
continues where the other library stopped.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from glassnet import losses, registry
from glassnet.saving.keras_values import (
    KerasConfigError,
    KerasExportError,
    Unused,
    check_object,
    function_name,
    keras_object,
)

OPTIMIZERS = ("SGD", "RMSprop", "Adagrad", "Adam", "AdamW", "Adadelta", "Adamax", "Ftrl",
              "Lamb", "Lion", "Adafactor", "Nadam")
# Those whose slots are all made by one `add_optimizer_variables` call in Keras (Adafactor's
# per variable: r, c, velocity).
_INTERLEAVED = ("Adadelta", "Adamax", "Ftrl", "Lamb", "Lion", "Adafactor")
_OPTIMIZER_ONLY = {"use_ema": False, "ema_momentum": Unused(0.99),
                   "ema_overwrite_frequency": None, "loss_scale_factor": None,
                   "gradient_accumulation_steps": None}
# Keras options of compile() that change nothing glassnet computes (speed, tracing).
_COMPILE_UNUSED = ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss")
_COMPILE_NONE = ("loss_weights", "weighted_metrics")
LOSSES = tuple(cls.__name__ for cls in losses.LOSS_CLASSES)   # every keras.losses class
METRICS = ("Mean", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError")
SCHEDULES = ("ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay", "CosineDecayRestarts",
             "InverseTimeDecay", "PolynomialDecay")


# ----- compile config: Keras -> glassnet ------------------------------------------------------
def compile_from_keras(config, where: str) -> dict[str, Any] | None:
    """glassnet's compile config {"optimizer", "loss", "metrics"}, or None (not compiled,
    or compiled without a loss: nothing to train)."""
    if not config:
        return None
    where = f"{where}: compile_config"
    if not isinstance(config, dict):
        raise KerasConfigError(f"{where}: must be an object, got {str(config)[:80]}")
    for key, value in config.items():
        if key in _COMPILE_NONE and value not in (None, [], {}) \
                and not _per_output(config.get("loss")):
            raise KerasConfigError(f"{where}: {key}={str(value)[:60]} is not supported by "
                                   f"glassnet (one output, unweighted metrics)")
        if key not in _COMPILE_NONE + _COMPILE_UNUSED + ("optimizer", "loss", "metrics"):
            raise KerasConfigError(f"{where}: option {key!r} is not supported by glassnet")
    if config.get("loss") is None:
        return None
    if _per_output(config["loss"]):
        return _outputs_from_keras(config, where)
    metrics = config.get("metrics") or []
    if not isinstance(metrics, list) or any(isinstance(m, list) or (
            isinstance(m, dict) and not _is_object(m)) for m in metrics):
        raise KerasConfigError(f"{where}: metrics {str(metrics)[:80]} must be a flat list "
                               f"(glassnet models have one output)")
    return {"optimizer": optimizer_from_keras(config.get("optimizer", "rmsprop"), where),
            "loss": _object_from_keras(config["loss"], "loss", LOSSES, where),
            "metrics": [_object_from_keras(m, "metric", METRICS, where) for m in metrics]}


def _per_output(loss) -> bool:
    """Whether a compile `loss` gives one loss per output (a list, or a dict by output name
    rather than one serialized loss)."""
    return isinstance(loss, list) or (isinstance(loss, dict) and not _is_object(loss))


def _outputs_from_keras(config: dict, where: str) -> dict[str, Any]:
    """The compile config of a model with several outputs: every loss and metric converted,
    the lists and dicts by output kept (see glassnet.training.outputs)."""
    def convert(structure, kind: str, names: tuple[str, ...], depth: int = 0):
        if structure is None:
            return None
        if isinstance(structure, list) or (isinstance(structure, dict)
                                           and not _is_object(structure)):
            if depth >= 2:
                raise KerasConfigError(f"{where}: {kind}s nested deeper than a list per "
                                       f"output: {str(structure)[:80]}")
            items = structure.items() if isinstance(structure, dict) else enumerate(structure)
            converted = {key: convert(value, kind, names, depth + 1) for key, value in items}
            return converted if isinstance(structure, dict) else list(converted.values())
        return _object_from_keras(structure, kind, names, where)

    weights = config.get("loss_weights")
    values = (weights.values() if isinstance(weights, dict)
              else weights if isinstance(weights, list) else [weights])
    if weights is not None and not (isinstance(weights, (list, dict)) and all(
            w is None or (isinstance(w, (int, float)) and not isinstance(w, bool))
            for w in values)):
        raise KerasConfigError(f"{where}: loss_weights {str(weights)[:80]} must be a list or "
                               f"an object of numbers")
    return {"optimizer": optimizer_from_keras(config.get("optimizer", "rmsprop"), where),
            "loss": convert(config["loss"], "loss", LOSSES, 1),
            "loss_weights": weights,
            "metrics": convert(config.get("metrics"), "metric", METRICS),
            "weighted_metrics": convert(config.get("weighted_metrics"), "metric", METRICS)}


def _is_object(value) -> bool:
    return isinstance(value, dict) and "class_name" in value


def _object_from_keras(spec, kind: str, names: tuple[str, ...], where: str):
    """A loss or metric: a name glassnet resolves, or {"class_name", "config"}. (Metric
    names are resolved once the loss is known: "accuracy" depends on it.)"""
    spec = function_name(spec) or spec           # a Keras function, by its name
    if isinstance(spec, str):
        if kind == "loss":
            _lookup(kind, spec, where)
        return spec
    class_name, config = check_object(spec, kind, where)
    if class_name not in names:
        raise KerasConfigError(f"{where}: {kind} {class_name!r} is not supported by glassnet "
                               f"(supported: {', '.join(names)})")
    return {"class_name": class_name, "config": dict(config)}


def _lookup(kind: str, name: str, where: str):
    try:
        return registry.lookup(kind, name)
    except (ValueError, TypeError) as error:
        raise KerasConfigError(f"{where}: {error}") from error


def optimizer_from_keras(spec, where: str):
    """glassnet's optimizer config from Keras' (a name or a serialized optimizer)."""
    if isinstance(spec, str):
        by_lower = {name.lower(): name for name in OPTIMIZERS}
        if spec.lower() not in by_lower:
            raise KerasConfigError(f"{where}: optimizer {spec!r} is not supported by glassnet "
                                   f"(supported: {', '.join(OPTIMIZERS)})")
        return {"class_name": by_lower[spec.lower()], "config": {}}
    class_name, config = check_object(spec, "optimizer", where)
    if class_name not in OPTIMIZERS:
        raise KerasConfigError(f"{where}: optimizer {class_name!r} is not supported by glassnet "
                               f"(supported: {', '.join(OPTIMIZERS)})")
    converted = {}
    for key, value in config.items():
        expected = _OPTIMIZER_ONLY.get(key, value)
        if not isinstance(expected, Unused) and value != expected:
            raise KerasConfigError(f"{where}: optimizer {class_name}: option {key}={value!r} "
                                   f"is not supported by glassnet (only {key}={expected!r})")
        if key not in _OPTIMIZER_ONLY:
            converted[key] = value
    if isinstance(converted.get("learning_rate"), dict):
        name, schedule = check_object(converted["learning_rate"], "schedule", where)
        if name not in SCHEDULES:
            raise KerasConfigError(f"{where}: learning rate schedule {name!r} is not "
                                   f"supported by glassnet (supported: {', '.join(SCHEDULES)})")
        converted["learning_rate"] = {"class_name": name, "config": dict(schedule)}
    return {"class_name": class_name, "config": converted}


# ----- compile config: glassnet -> Keras ------------------------------------------------------
def compile_to_keras(compile_config: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keras' compile_config from glassnet's `model.get_compile_config()`."""
    if compile_config is None:
        return None
    optimizer = compile_config["optimizer"]
    if optimizer["class_name"] not in OPTIMIZERS:
        raise KerasExportError(f"optimizer {optimizer['class_name']!r} has no Keras "
                               f"equivalent (Keras files hold {', '.join(OPTIMIZERS)})")
    config = dict(optimizer["config"])
    schedule = config.get("learning_rate")
    if isinstance(schedule, dict):
        if schedule["class_name"] not in SCHEDULES:
            raise KerasExportError(f"learning rate schedule {schedule['class_name']!r} has no "
                                   f"Keras equivalent")
        config["learning_rate"] = keras_object("keras.optimizers.schedules",
                                               schedule["class_name"], schedule["config"])
    for key, value in _OPTIMIZER_ONLY.items():
        config[key] = value.written if isinstance(value, Unused) else value
    optimizer = keras_object("keras.optimizers", optimizer["class_name"], config)
    if "loss_weights" in compile_config:          # several outputs: lists or dicts
        def convert(structure, kind: str, names: tuple[str, ...]):
            if isinstance(structure, dict) and "class_name" not in structure:
                return {key: convert(value, kind, names) for key, value in structure.items()}
            if isinstance(structure, list):
                return [convert(value, kind, names) for value in structure]
            return None if structure is None else _object_to_keras(structure, kind, names)

        return {"optimizer": optimizer,
                "loss": convert(compile_config["loss"], "loss", LOSSES),
                "loss_weights": compile_config["loss_weights"],
                "metrics": convert(compile_config["metrics"], "metric", METRICS),
                "weighted_metrics": convert(compile_config["weighted_metrics"], "metric",
                                            METRICS),
                "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}
    return {"optimizer": optimizer,
            "loss": _object_to_keras(compile_config["loss"], "loss", LOSSES),
            "loss_weights": None,
            "metrics": [_object_to_keras(m, "metric", METRICS)
                        for m in compile_config.get("metrics") or []],
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def _object_to_keras(spec, kind: str, names: tuple[str, ...]):
    if isinstance(spec, str):
        return spec
    if spec["class_name"] not in names:
        raise KerasExportError(f"{kind} {spec['class_name']!r} has no Keras equivalent "
                               f"(Keras files hold {', '.join(names)})")
    module = {"loss": "keras.losses", "metric": "keras.metrics"}[kind]
    return keras_object(module, spec["class_name"], dict(spec["config"]))


# ----- optimizer variables ----------------------------------------------------------------------
def slot_groups(optimizer) -> list[tuple[str, ...]]:
    """The optimizer's slots in Keras' variable order: each tuple is one
    `add_optimizer_variables` call, its slots interleaved per trainable variable."""
    slots = list(optimizer.slot_initial_values())
    if type(optimizer).__name__ in ("Adam", "AdamW", "Nadam"):
        first = tuple(s for s in ("momentum", "velocity") if s in slots)
        return [first] + [(s,) for s in slots if s not in first]
    if type(optimizer).__name__ in _INTERLEAVED:
        return [tuple(slots)]
    return [(s,) for s in slots]


def _scalar_count(optimizer) -> int:
    """iterations, and the learning rate unless it is a schedule (no Keras variable then)."""
    return 1 + (not isinstance(optimizer.get_config()["learning_rate"], dict))


def optimizer_arrays(optimizer, keras_params: list, params: list) -> list[np.ndarray]:
    """The optimizer's variables in Keras' order: `keras_params` are the trainable
    Parameters in Keras' order, `params` in glassnet's (the state's indices)."""
    state = optimizer.get_state()
    arrays = [np.asarray(state["iterations"], dtype=np.int64)]
    if "learning_rate" in state:
        arrays.append(np.asarray(state["learning_rate"], dtype=np.float32))
    if not optimizer.built:
        return arrays
    index = {id(p): i for i, p in enumerate(params)}
    for group in slot_groups(optimizer):
        for param in keras_params:
            arrays += [state[f"{slot}/{index[id(param)]}"] for slot in group]
    if _trailing_count(optimizer):             # in the dtype of the first weight, as Keras
        dtype = arrays[-1].dtype if keras_params else np.float32
        arrays.append(np.asarray(optimizer.u_product(optimizer.iterations), dtype=dtype))
    return arrays


def _trailing_count(optimizer) -> int:
    """Keras variables after the slots of a built optimizer: Nadam's momentum product."""
    return int(type(optimizer).__name__ == "Nadam")


def optimizer_state(optimizer, arrays: list[np.ndarray], keras_params: list, params: list,
                    where: str) -> dict[str, np.ndarray] | None:
    """glassnet's optimizer state from Keras' variables (the inverse of `optimizer_arrays`),
    or None, with a warning as Keras gives, when their count does not fit the model."""
    scalars = _scalar_count(optimizer)
    groups = slot_groups(optimizer)
    slots = sum(len(group) for group in groups) * len(keras_params)
    trailing = _trailing_count(optimizer)
    if len(arrays) not in (scalars, scalars + slots + trailing):
        warnings.warn(f"{where}: the optimizer has {len(arrays)} variables, "
                      f"{scalars + slots + trailing} expected for {len(keras_params)} "
                      "trainable weights; it starts afresh (as Keras does)", stacklevel=3)
        return None
    for array in arrays[:scalars]:
        if array.shape != ():
            raise KerasConfigError(f"{where}: optimizer iterations and learning rate must be "
                                   f"scalars, got shape {array.shape}")
    for array in arrays[scalars + slots:] if len(arrays) > scalars else ():
        if np.shape(array) != ():
            raise KerasConfigError(f"{where}: {type(optimizer).__name__}'s last variable must "
                                   f"be a scalar, got shape {np.shape(array)}")
    state = {"iterations": np.asarray(arrays[0]).astype(np.int64)}
    if scalars == 2:
        state["learning_rate"] = np.asarray(arrays[1], dtype=np.float64)
    if len(arrays) == scalars:
        return state
    index = {id(p): i for i, p in enumerate(params)}
    position = scalars
    for group in groups:
        for param in keras_params:
            for slot in group:
                state[f"{slot}/{index[id(param)]}"] = arrays[position]
                position += 1
    return state


__all__ = ["LOSSES", "METRICS", "OPTIMIZERS", "SCHEDULES", "compile_from_keras",
           "compile_to_keras", "optimizer_arrays", "optimizer_from_keras", "optimizer_state",
           "slot_groups"]
