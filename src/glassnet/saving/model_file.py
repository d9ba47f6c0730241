"""The `.glassnet` model file: saving and loading models without pickle (JSON and arrays).

A `.glassnet` file is a zip archive (deflated) with exactly these members:

    metadata.json       {"format": "glassnet", "format_version": 1, "glassnet_version",
                         "saved_at", "class_name"}
    config.json         the model's {"class_name", "config"} (registry form) plus
                        "compile_config" (optimizer, loss, metrics; null if not compiled)
    model.weights.npz   one array per model parameter, keys "0000", "0001", ... in
                        `model.parameters()` order
    optimizer.npz       `optimizer.get_state()`, only once the optimizer has taken a step

Loading treats the file as untrusted input. Nothing in it is imported, evaluated or
unpickled: class names are resolved in glassnet's registry (plus `custom_objects`), arrays are
read with `allow_pickle=False` after their .npy headers are checked (numeric dtype, and a
shape that matches the bytes present), and every size is capped before anything is
decompressed (the .npz members must be stored, so ratios cannot multiply; a JSON key given
twice is refused; `archive.py` holds these checks). The model is rebuilt from config.json
first, so the weights member's declared size and each array's header are compared with the
weights that model has before anything is inflated, and every value is checked (no NaN, no
cast that changes it) before any is assigned. A forged or malicious file fails with a
`ModelFileError` naming the file and the problem instead of exhausting memory, running code
or loading a model that predicts garbage. The model classes are imported inside the
functions that build or check a model, so that reading files (`archive.py`,
`training_state.py`) never loads them.

    >>> model.save("mnist.glassnet")
    >>> model = glassnet.load_model("mnist.glassnet")
    >>> model.save_weights("mnist.weights.npz")      # arrays only; load into the same model
"""

from __future__ import annotations

import datetime
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet import registry
from glassnet.io import atomic_write
from glassnet.layers.base import weight_budget
from glassnet.saving import archive
from glassnet.saving.archive import (
    NUMERIC_KINDS,
    ModelFileError,
    check_members,
    existing_file,
    few,
    json_bytes,
    npz_bytes,
    open_zip,
    read_json,
    read_nested_npz,
    read_npz,
    write_zip,
)
from glassnet.saving.weights import (
    STATE_KEY,
    WEIGHT_KEY,
    assign_optimizer_state,
    assign_weights,
    optimizer_count,
    optimizer_header_check,
    optimizer_size_bound,
    ordered_weights,
    weight_arrays,
    weight_header_check,
    weights_count,
    weights_size_bound,
)

FORMAT_NAME = "glassnet"
FORMAT_VERSION = 1
MODEL_SUFFIX = ".glassnet"
WEIGHTS_SUFFIX = ".weights.npz"

METADATA = "metadata.json"
CONFIG = "config.json"
WEIGHTS = "model.weights.npz"
OPTIMIZER = "optimizer.npz"
_REQUIRED = (METADATA, CONFIG, WEIGHTS)


@dataclass
class ModelFile:
    """The validated contents of a `.glassnet` file, before any object is built from them.

    Attributes:
        path: the file.
        size: its size in bytes.
        metadata: metadata.json (format, versions, time, class name).
        config: config.json: {"class_name", "config", "compile_config"}.
        weights: the parameter arrays, in `model.parameters()` order.
        optimizer_state: optimizer.npz as {key: array}, or None when absent.
        model: the model config.json describes, with these weights set (not compiled),
            which `build_model` hands out (once); None after that.
    """

    path: Path
    size: int
    metadata: dict[str, Any]
    config: dict[str, Any]
    weights: list[np.ndarray]
    optimizer_state: dict[str, np.ndarray] | None
    model: Any = None


# ----- saving -------------------------------------------------------------------------------
def save_model(model, filepath: str | os.PathLike, overwrite: bool = True,
               metadata: dict[str, Any] | None = None) -> None:
    """Write `model` (architecture, weights, compile settings, optimizer state) to one file.

    Args:
        model: a glassnet `Model` (e.g. `Sequential`).
        filepath: path ending in ".glassnet".
        overwrite: when False, an existing file is an error (FileExistsError).
        metadata: optional JSON-serialisable dict of your own (column names, class labels),
            stored in metadata.json under "user" and read back by `read_metadata`.

    The write is atomic: `filepath` holds either its old contents or the complete new file.
    """
    path = archive.check_path(filepath, MODEL_SUFFIX, "save_model")
    archive.check_overwrite(path, overwrite)
    config = _model_config(model)
    record = _metadata(model)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(f"metadata: expected a dict, got {type(metadata).__name__}")
        record["user"] = metadata
    members = {METADATA: json_bytes(record), CONFIG: json_bytes(config),
               WEIGHTS: npz_bytes(weight_arrays(model))}
    optimizer = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and getattr(optimizer, "built", False):
        members[OPTIMIZER] = npz_bytes(optimizer.get_state())
    write_zip(path, members)


def save_weights(model, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write the model's weights alone to a ".weights.npz" (keys "0000", "0001", ...)."""
    path = archive.check_path(filepath, WEIGHTS_SUFFIX, "save_weights")
    archive.check_overwrite(path, overwrite)
    data = npz_bytes(weight_arrays(model))
    with atomic_write(path) as handle:
        handle.write(data)


def _metadata(model) -> dict[str, Any]:
    from glassnet import __version__

    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "glassnet_version": __version__,
            "saved_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "class_name": type(model).__name__}


def _model_config(model) -> dict[str, Any]:
    from glassnet.models.model import Model

    if not isinstance(model, Model):
        raise TypeError(f"save_model: expected a glassnet Model, got {type(model).__name__}")
    return {**registry.serialize(model), "compile_config": model.get_compile_config()}


# ----- loading ------------------------------------------------------------------------------
def load_model(filepath: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               compile: bool = True, safe_mode: bool = True):
    """The model saved in a `.glassnet` file: rebuilt, weights set, compiled, optimizer restored.

    Args:
        filepath: the file written by `model.save` / `save_model`.
        custom_objects: {name: class} for user classes not registered with
            `glassnet.registry.register_serializable`.
        compile: recompile with the saved optimizer, loss and metrics, and restore the
            optimizer state, so that training continues exactly where it stopped.
        safe_mode: accepted for Keras compatibility. Loading is always safe here: a
            glassnet file has no lambdas or code to deserialize, so False changes nothing.

    Raises:
        FileNotFoundError: no such file.
        ModelFileError (a ValueError): the file is not a valid glassnet model file.
    """
    contents = read_model_file(filepath, custom_objects)
    return build_model(contents, custom_objects=custom_objects, compile=compile)


def read_metadata(filepath: str | os.PathLike,
                  custom_objects: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The `metadata` dict given to `save_model`, or None (the file is fully validated:
    `custom_objects` as for `load_model`)."""
    return read_model_file(filepath, custom_objects).metadata.get("user")


def read_model_file(filepath: str | os.PathLike,
                    custom_objects: dict[str, Any] | None = None) -> ModelFile:
    """Read and validate every member of a `.glassnet` file, against the model it describes.

    The model is rebuilt from config.json (classes from the registry and `custom_objects`)
    before the arrays are read: the weights member's declared size, then every array's
    header, is compared with that model's weights before anything is inflated, and every
    value is checked before the weights are set. The model is kept in `ModelFile.model`.
    """
    path = existing_file(filepath)
    where = str(path)
    # Opened here, so that an OSError from zipfile afterwards (a seek to a forged offset)
    # means a corrupt file, while one from opening it (permissions) propagates as it is.
    with open(path, "rb") as handle, open_zip(handle, where) as zf:
        infos = check_members(zf, where, required=_REQUIRED, optional=(OPTIMIZER,))
        metadata = read_json(zf, infos[METADATA], where)
        config = read_json(zf, infos[CONFIG], where)
        _check_metadata(metadata, config, where)
        _check_config(config, where)
        if OPTIMIZER in infos and config["compile_config"] is None:
            raise ModelFileError(f"{path}: {OPTIMIZER} is present but the model was not "
                                 "compiled (compile_config is null)")
        model = _model_from_config(config, custom_objects, where, infos[WEIGHTS].file_size)
        params = model.parameters()
        limit, expected = weights_size_bound(params)
        weights = read_nested_npz(zf, infos[WEIGHTS], where, WEIGHT_KEY, max_bytes=limit,
                                  expected=expected, max_arrays=weights_count(model),
                                  check=weight_header_check(model, f"{where}: {WEIGHTS}"))
        state = None
        if OPTIMIZER in infos:
            trainable = model.parameters(trainable_only=True)
            limit, expected = optimizer_size_bound(trainable)
            state = read_nested_npz(zf, infos[OPTIMIZER], where, STATE_KEY, max_bytes=limit,
                                    expected=expected, max_arrays=optimizer_count(model),
                                    check=optimizer_header_check(
                                        trainable, f"{where}: {OPTIMIZER}",
                                        _slot_shape(config["compile_config"], custom_objects)))
    ordered = ordered_weights(weights, f"{where}: {WEIGHTS}")
    assign_weights(model, ordered, f"{where}: {WEIGHTS}")
    return ModelFile(path, path.stat().st_size, metadata, config, ordered, state, model)


def _slot_shape(compile_config: dict[str, Any], custom_objects):
    """The saved optimizer class' `slot_shape`, for checking the state's array headers; None
    (parameter shapes) when the class is unknown: compiling reports that afterwards."""
    spec = compile_config.get("optimizer") if isinstance(compile_config, dict) else None
    name = spec.get("class_name") if isinstance(spec, dict) else spec
    try:
        optimizer_class = registry.lookup("optimizer", name, custom_objects)
    except (TypeError, ValueError):
        return None
    return getattr(optimizer_class, "slot_shape", None)


def build_model(contents: ModelFile, custom_objects=None, compile: bool = True):
    """The model described by a validated `ModelFile` (see `load_model`): the one
    `read_model_file` built, handed out once (later calls rebuild it from the config)."""
    where = str(contents.path)
    model, contents.model = contents.model, None
    if model is None:
        held = sum(int(array.nbytes) for array in contents.weights)
        model = _model_from_config(contents.config, custom_objects, where, held)
        assign_weights(model, contents.weights, f"{where}: {WEIGHTS}")
    compile_config = contents.config["compile_config"]
    if compile and compile_config is not None:
        try:
            model.compile_from_config(compile_config, custom_objects)
            _check_metric_names(model, compile_config)
        except _CONFIG_ERRORS as error:
            raise ModelFileError(f"{where}: {CONFIG}: compile_config: {error}") from error
        if contents.optimizer_state is not None:
            assign_optimizer_state(model, contents.optimizer_state, f"{where}: {OPTIMIZER}")
    return model


def load_weights(model, filepath: str | os.PathLike) -> None:
    """Set `model`'s weights from a ".weights.npz" written by `save_weights`.

    Everything (count, shapes, dtypes) is checked before any weight changes, so a bad file
    leaves the model as it was.
    """
    path = archive.check_path(filepath, WEIGHTS_SUFFIX, "load_weights")
    path = existing_file(path)
    size = path.stat().st_size
    if size > archive.MAX_TOTAL_BYTES:
        raise ModelFileError(f"{path}: file of {size:,} bytes exceeds the limit of "
                             f"{archive.MAX_TOTAL_BYTES:,} (glassnet.saving.MAX_TOTAL_BYTES)")
    with open(path, "rb") as handle:
        arrays = read_npz(handle, str(path), WEIGHT_KEY, NUMERIC_KINDS,
                          check=weight_header_check(model, str(path)),
                          max_arrays=weights_count(model))
    assign_weights(model, ordered_weights(arrays, str(path)), str(path))


# ----- metadata and config ------------------------------------------------------------------
def _check_metadata(metadata: dict[str, Any], config: dict[str, Any], where: str) -> None:
    where = f"{where}: {METADATA}"
    if metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{where}: 'format' must be {FORMAT_NAME!r}, got "
                             f"{metadata.get('format')!r:.80}")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{where}: 'format_version' must be an integer, got {version!r:.80}")
    if version != FORMAT_VERSION:
        newer = " (written by a newer glassnet: upgrade glassnet)" if version > 1 else ""
        raise ModelFileError(f"{where}: format_version {version} is not supported; this "
                             f"glassnet reads version {FORMAT_VERSION}{newer}")
    for key in ("glassnet_version", "saved_at", "class_name"):
        if not isinstance(metadata.get(key), str):
            raise ModelFileError(f"{where}: {key!r} must be a string, got "
                                 f"{metadata.get(key)!r:.80}")
    if not isinstance(metadata.get("user", {}), dict):
        raise ModelFileError(f"{where}: 'user' must be an object, got {metadata['user']!r:.80}")
    if metadata["class_name"] != config.get("class_name"):
        raise ModelFileError(f"{where}: class_name {metadata['class_name']!r:.80} differs from "
                             f"{CONFIG}'s {config.get('class_name')!r:.80}")


def _check_config(config: dict[str, Any], where: str) -> None:
    where = f"{where}: {CONFIG}"
    expected = {"class_name", "config", "compile_config"}
    if set(config) != expected:
        raise ModelFileError(f"{where}: expected keys {sorted(expected)}, got "
                             f"{few(sorted(config))}")
    if not isinstance(config["class_name"], str):
        raise ModelFileError(f"{where}: 'class_name' must be a string, got "
                             f"{config['class_name']!r:.80}")
    if not isinstance(config["config"], dict):
        raise ModelFileError(f"{where}: 'config' must be an object, got {config['config']!r:.80}")
    compile_config = config["compile_config"]
    if compile_config is not None and not isinstance(compile_config, dict):
        raise ModelFileError(f"{where}: 'compile_config' must be an object or null, got "
                             f"{compile_config!r:.80}")


# What a layer's, optimizer's or loss's constructor may raise on values no glassnet wrote:
# a 4000-digit integer overflows float maths (OverflowError), a null where an object was
# expected meets an attribute lookup (AttributeError), a nesting 1000 deep recurses.
_CONFIG_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError,
                  RecursionError)


def _check_metric_names(model, compile_config: dict[str, Any]) -> None:
    """Metric names are resolved at the first batch; resolve them now, to fail at load time."""
    from glassnet import metrics
    from glassnet.training.outputs import flat_specs

    specs, loss = compile_config.get("metrics") or [], model.loss
    if model.compiled_outputs is not None:   # lists or dicts per output
        specs = flat_specs([specs, compile_config.get("weighted_metrics")])
        loss = None
    for spec in specs:
        if isinstance(spec, str):
            metrics.get(spec, loss=loss)


def _model_from_config(config: dict[str, Any], custom_objects, where: str, weight_bytes: int):
    """Resolve the class in the registry (never by import) and call its from_config.

    Layers allocate their weights while the config is rebuilt, before the file's arrays can
    be compared: the allocation is capped near what the file's `weight_bytes` can hold (a
    hostile config asking for 10**9 units fails here instead of allocating gigabytes; the
    slack lets a small mismatch reach the weight checks, which name the weight and shapes).
    """
    from glassnet.models.model import Model

    where = f"{where}: {CONFIG}"
    try:
        cls = registry.lookup("layer", config["class_name"], custom_objects)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from error
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ModelFileError(f"{where}: class_name {config['class_name']!r:.80} is not a Model")
    # Model.from_config may or may not take custom_objects (a user subclass, say).
    takes_custom = "custom_objects" in inspect.signature(cls.from_config).parameters
    extra = {"custom_objects": custom_objects} if takes_custom else {}
    try:
        with weight_budget(weight_bytes // 2 + 2**20):    # float16 weights: 2 bytes a value
            model = cls.from_config(config["config"], **extra)
    except _CONFIG_ERRORS as error:
        raise ModelFileError(f"{where}: cannot rebuild the model: {error}") from error
    except MemoryError as error:
        # A config can ask for any layer size; the weights check only comes after building.
        raise ModelFileError(f"{where}: the model it describes does not fit in memory: "
                             f"{error}") from error
    return model


# ----- description (the CLI's `info`) -----------------------------------------------------
def model_summary_lines(filepath: str | os.PathLike) -> list[str]:
    """A description of a `.glassnet` file: format, layers, compile settings, optimizer steps.

    The model is rebuilt (without compiling) to get each layer's output shape and count.
    """
    contents = read_model_file(filepath)
    model = build_model(contents, compile=False)
    metadata = contents.metadata
    lines = [f"File: {contents.path} ({contents.size:,} bytes)",
             f"Format: {metadata['format']} version {metadata['format_version']}, written by "
             f"glassnet {metadata['glassnet_version']} at {metadata['saved_at']}"]
    model.summary(print_fn=lambda line: lines.append(line.rstrip()))
    lines += _compile_lines(contents.config["compile_config"], contents.optimizer_state)
    return lines


def _compile_lines(compile_config: dict[str, Any] | None, state) -> list[str]:
    if compile_config is None:
        return ["Compiled: no"]
    metrics = [_describe(m) for m in compile_config.get("metrics") or []]
    steps = 0 if state is None else int(state.get("iterations", 0))
    return ["Compiled: yes",
            f"  optimizer: {_describe(compile_config.get('optimizer'))}",
            f"  loss: {_describe(compile_config.get('loss'))}",
            f"  metrics: {', '.join(metrics) if metrics else '(none)'}",
            f"Optimizer steps taken: {steps:,}"]


def _describe(spec) -> str:
    """'Adam(learning_rate=0.001, ...)' from a {'class_name', 'config'} dict, or the name."""
    if isinstance(spec, dict) and "class_name" in spec:
        config = spec.get("config") or {}
        arguments = ", ".join(f"{key}={value!r}" for key, value in config.items())
        return f"{spec['class_name']}({arguments})"
    return str(spec)


__all__ = ["ModelFile", "build_model", "load_model", "load_weights", "model_summary_lines",
           "read_metadata", "read_model_file", "save_model", "save_weights"]
