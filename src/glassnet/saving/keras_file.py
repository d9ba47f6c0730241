"""Keras 3 files: `.keras` models and `.weights.h5` weights, read and written by glassnet.

A `.keras` file is what Keras 3.15's `model.save` writes, a zip archive (members stored)
with exactly

    metadata.json       {"keras_version": "3.15.1", "date_saved": ...}
    config.json         the model's serialized config, with "compile_config" beside it
    model.weights.h5    every variable, layers' and optimizer's (see keras_h5.py)

and a `.weights.h5` file is that HDF5 file alone (`model.save_weights`). glassnet writes
them so that Keras loads them, and reads those Keras writes, for the layers both libraries
have (keras_layers.py), Sequential and Functional models (keras_models.py) and the compile
settings with the optimizer's state (keras_compile.py), so that `fit` goes on in either.

Reading never runs code: class names are looked up in fixed tables and glassnet's registry,
never imported; a layer, activation or option glassnet lacks is a `ModelFileError` naming
the layer and the option (never an approximation). The file is checked as a `.glassnet`
file is: member names, methods and sizes before anything is read (archive.py), JSON with
duplicate keys refused, HDF5 checked before any array is read (keras_h5.py), layers built
under a weight budget the file's arrays cap, and every array's shape compared with the
layer's weight before any is assigned.

    >>> model.save("digits.keras")                      # Keras: keras.saving.load_model
    >>> model = glassnet.saving.load_model("from_keras.keras")
    >>> model.save_weights("w.weights.h5"); model.load_weights("w.weights.h5")

h5py is needed (`pip install "glassnet[keras]"`); without it these functions raise an
ImportError that says so.
"""

from __future__ import annotations

import datetime
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.io import atomic_write
from glassnet.layers.base import weight_budget
from glassnet.saving import archive
from glassnet.saving.archive import (
    ModelFileError,
    check_members,
    existing_file,
    json_bytes,
    open_zip,
    read_json,
    read_member,
    write_zip,
)
from glassnet.saving.keras_compile import (
    compile_from_keras,
    compile_to_keras,
    optimizer_arrays,
    optimizer_state,
)
from glassnet.saving.keras_h5 import read_variables, require_h5py, variables_bytes
from glassnet.saving.keras_models import (
    model_from_keras,
    model_to_keras,
    model_variable_groups,
)
from glassnet.saving.keras_values import KerasConfigError
from glassnet.saving.weights import MAX_SLOTS, assign_optimizer_state, assign_weights

KERAS_SUFFIX = ".keras"
KERAS_WEIGHTS_SUFFIX = ".weights.h5"
KERAS_VERSION = "3.15.1"            # the format written (Keras' own version string)
METADATA, CONFIG, WEIGHTS = "metadata.json", "config.json", "model.weights.h5"
OPTIMIZER = "optimizer"             # the optimizer's group in the weights file


def is_keras_file(filepath) -> bool:
    """Whether `filepath` names a Keras model file (".keras")."""
    return isinstance(filepath, (str, os.PathLike)) and str(filepath).endswith(KERAS_SUFFIX)


def is_keras_weights_file(filepath) -> bool:
    """Whether `filepath` names a Keras weights file (".weights.h5")."""
    return (isinstance(filepath, (str, os.PathLike))
            and str(filepath).endswith(KERAS_WEIGHTS_SUFFIX))


@dataclass
class KerasFile:
    """The checked contents of a `.keras` file, before any model is built from them.

    Attributes:
        path: the file.
        metadata: metadata.json.
        config: config.json (the model's spec, "compile_config" inside).
        variables: {h5 group path: arrays} of model.weights.h5.
    """

    path: Path
    metadata: dict[str, Any]
    config: dict[str, Any]
    variables: dict[str, list[np.ndarray]]


# ----- saving -------------------------------------------------------------------------------
def save_model(model, filepath, overwrite: bool = True) -> None:
    """Write `model` as a Keras 3 `.keras` file (atomically) that `keras.saving.load_model`
    reads: architecture, weights, compile settings and the optimizer's state.

    Raises:
        KerasExportError (a ValueError): a layer, option or setting Keras cannot hold as
            glassnet has it (nothing is written then).
        ImportError: h5py is not installed.
    """
    path = archive.check_path(filepath, KERAS_SUFFIX, "save")
    require_h5py()
    archive.check_overwrite(path, overwrite)
    spec, layers = model_to_keras(model)
    compile_config = compile_to_keras(model.get_compile_config())
    if compile_config is not None:
        spec["compile_config"] = compile_config
    from glassnet import __version__

    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "glassnet_version": __version__}
    write_zip(path, {METADATA: json_bytes(metadata), CONFIG: json_bytes(spec),
                     WEIGHTS: _weights_bytes(model, layers)}, compression=zipfile.ZIP_STORED)


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write the model's variables (and its optimizer's, once compiled) as Keras'
    `.weights.h5`, which `keras_model.load_weights` reads."""
    path = archive.check_path(filepath, KERAS_WEIGHTS_SUFFIX, "save_weights")
    require_h5py()
    archive.check_overwrite(path, overwrite)
    _, layers = model_to_keras(model)
    data = _weights_bytes(model, layers)
    with atomic_write(path) as handle:
        handle.write(data)


def _weights_bytes(model, layers) -> bytes:
    groups = model_variable_groups(model, layers)
    values = [(path, name, [p.value for p in params]) for path, name, params in groups]
    optimizer = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and optimizer is not None:
        arrays = optimizer_arrays(optimizer, _keras_trainable(model, groups),
                                  model.parameters(trainable_only=True))
        values.append((OPTIMIZER, optimizer.name, arrays))
    return variables_bytes(values)


def _keras_trainable(model, groups) -> list:
    """The trainable Parameters in Keras' order (`model.trainable_variables`)."""
    trainable = {id(p) for p in model.parameters(trainable_only=True)}
    return [p for _, _, params in groups for p in params if id(p) in trainable]


# ----- loading ------------------------------------------------------------------------------
def load_model(filepath, compile: bool = True, safe_mode: bool = True):
    """The model in a Keras 3 `.keras` file, built, its weights set, compiled with its
    optimizer's state restored (with `compile`), ready to `predict` or `fit` on.

    Args:
        filepath: a file written by Keras 3 (`model.save`) or by glassnet.
        compile: compile with the file's optimizer, loss and metrics.
        safe_mode: accepted for Keras' signature; reading is always safe (no lambda or
            custom class in a file is ever run or imported).

    Raises:
        FileNotFoundError: no such file.
        ModelFileError (a ValueError) naming the file: not a valid Keras file, or one that
            holds a layer, option or setting glassnet lacks (the message names it).
        ImportError: h5py is not installed.
    """
    return build_model(read_keras_file(filepath), compile=compile)


def read_keras_file(filepath) -> KerasFile:
    """Read and check every member of a `.keras` file; build nothing."""
    require_h5py()
    path = existing_file(filepath)
    where = str(path)
    with open(path, "rb") as handle, open_zip(handle, where) as zf:
        assets = [name for name in zf.namelist() if name.startswith("assets/")]
        if assets:
            raise ModelFileError(f"{where}: assets ({assets[:3]}) are not supported: the "
                                 f"layers glassnet reads keep none")
        infos = check_members(zf, where, required=(METADATA, CONFIG, WEIGHTS))
        metadata = read_json(zf, infos[METADATA], where)
        config = read_json(zf, infos[CONFIG], where)
        if infos[WEIGHTS].compress_type != zipfile.ZIP_STORED:
            _check_weights_size(config, infos[WEIGHTS], where)
        weights = read_member(zf, infos[WEIGHTS], where)
    version = metadata.get("keras_version")
    if not isinstance(version, str) or not version.startswith("3."):
        raise ModelFileError(f"{where}: {METADATA}: keras_version {version!r} is not "
                             f"supported; glassnet reads files of Keras 3")
    return KerasFile(path, metadata, config, read_variables(weights, f"{where}: {WEIGHTS}"))


def _check_weights_size(config, info: zipfile.ZipInfo, where: str) -> None:
    """A deflated weights member (Keras stores it; another zip tool may not) is compared
    with the model config.json describes before it is inflated: its weights and at most
    MAX_SLOTS optimizer arrays each, 8 bytes a value, plus HDF5's headers (4 KB a dataset)
    and 1 MiB. The model is built for this (once more in `build_model`), under a budget of
    what the member could hold."""
    try:
        with weight_budget(info.file_size // 2 + 2**20):
            model, _ = model_from_keras(config, f"{where}: {CONFIG}")
    except RecursionError as error:
        raise ModelFileError(f"{where}: {CONFIG}: nested too deeply") from error
    params = model.parameters()
    values = sum(int(np.prod(p.shape)) for p in params)
    arrays = (1 + MAX_SLOTS) * len(params) + 2
    limit = (1 + MAX_SLOTS) * values * 8 + arrays * 4096 + 2**20
    if info.file_size > limit:
        raise ModelFileError(f"{where}: {WEIGHTS} would decompress to {info.file_size:,} "
                             f"bytes; the {len(params)} weights of the model that {CONFIG} "
                             f"describes ({values:,} values) and an optimizer state need at "
                             f"most {limit:,}")


def build_model(contents: KerasFile, compile: bool = True):
    """The model a checked `KerasFile` describes (see `load_model`)."""
    where = f"{contents.path}: {CONFIG}"
    held = sum(int(array.size) for arrays in contents.variables.values() for array in arrays)
    try:
        # Layers allocate their weights while the model is built, before the file's arrays
        # are compared with them: cap that near what the file holds (a config asking for
        # 10**9 units fails here), with room for a mismatch to reach the clearer check.
        with weight_budget(2 * held + 2**20):
            model, layers = model_from_keras(contents.config, where)
        compile_config = compile_from_keras(contents.config.get("compile_config"), where) \
            if compile else None
    except RecursionError as error:
        raise ModelFileError(f"{where}: nested too deeply") from error
    groups = model_variable_groups(model, layers)
    _assign_variables(model, groups, contents.variables, f"{contents.path}: {WEIGHTS}")
    if compile_config is not None:
        try:
            model.compile_from_config(compile_config)
            _check_metrics(model, compile_config)
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as error:
            raise KerasConfigError(f"{where}: compile_config: {error}") from error
        _assign_optimizer(model, groups, contents.variables.get(OPTIMIZER),
                          f"{contents.path}: {WEIGHTS}: {OPTIMIZER}")
    return model


def _check_metrics(model, compile_config) -> None:
    """Metric names are resolved at the first batch; resolve them now, to fail at load."""
    from glassnet import metrics
    from glassnet.training.outputs import flat_specs

    if model.compiled_outputs is not None:   # lists or dicts per output
        for spec in flat_specs([compile_config["metrics"], compile_config["weighted_metrics"]]):
            metrics.get(spec)
        return
    for spec in compile_config["metrics"]:
        metrics.get(spec, loss=model.loss)


def load_weights(model, filepath) -> None:
    """Set the model's weights (and, when it is compiled, its optimizer's state) from a
    Keras `.weights.h5` file. Everything is checked before anything changes."""
    path = existing_file(archive.check_path(filepath, KERAS_WEIGHTS_SUFFIX, "load_weights"))
    require_h5py()
    size = path.stat().st_size
    if size > archive.MAX_TOTAL_BYTES:
        raise ModelFileError(f"{path}: file of {size:,} bytes exceeds the limit of "
                             f"{archive.MAX_TOTAL_BYTES:,} (glassnet.saving.MAX_TOTAL_BYTES)")
    variables = read_variables(path.read_bytes(), str(path))
    try:
        _, layers = model_to_keras(model)
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from error
    groups = model_variable_groups(model, layers)
    _assign_variables(model, groups, variables, str(path))
    if getattr(model, "compiled", False) and OPTIMIZER in variables:
        _assign_optimizer(model, groups, variables[OPTIMIZER], f"{path}: {OPTIMIZER}")


def _assign_variables(model, groups, variables, where: str) -> None:
    """Each group's arrays to its Parameters: counts and shapes checked first, then all
    assigned at once (a bad file leaves the model as it was)."""
    values: dict[int, np.ndarray] = {}
    for path, name, params in groups:
        arrays = variables.get(path, [])
        if len(arrays) != len(params):
            raise ModelFileError(f"{where}: {path or 'the model'} ({name!r}) has "
                                 f"{len(params)} weights {[p.name for p in params]}, the file "
                                 f"holds {len(arrays)} arrays there")
        for index, (param, array) in enumerate(zip(params, arrays)):
            if array.shape != tuple(param.shape):
                raise ModelFileError(f"{where}: {path}/vars/{index}: weight {param.name!r} "
                                     f"has shape {tuple(param.shape)}, the file's array "
                                     f"{array.shape}")
            values[id(param)] = array
    known = {path for path, _, _ in groups} | {OPTIMIZER}
    stray = sorted(path for path, arrays in variables.items() if arrays and path not in known)
    if stray:
        raise ModelFileError(f"{where}: arrays for {stray[:5]}, which the model does not have "
                             f"(its groups: {sorted(known)[:8]} ...)")
    # A parameter in no group keeps its value: Keras keeps it in the layer's config
    # (Normalization's statistics given as arguments), which built it already.
    assign_weights(model, [values.get(id(p), p.value) for p in model.parameters()], where)


def _assign_optimizer(model, groups, arrays, where: str) -> None:
    if not arrays:
        return
    state = optimizer_state(model.optimizer, arrays, _keras_trainable(model, groups),
                            model.parameters(trainable_only=True), where)
    if state is not None:
        assign_optimizer_state(model, state, where)


__all__ = ["KERAS_SUFFIX", "KERAS_WEIGHTS_SUFFIX", "KerasFile", "build_model",
           "is_keras_file", "is_keras_weights_file", "load_model",
           "load_weights", "read_keras_file", "save_model", "save_weights"]
