"""Saving and loading without pickle: models, weights and training state as JSON and arrays.

    archive.py          the one reader of untrusted zip/.npz/.npy/JSON: every limit applied
                        before inflating, linear checks; atomic zips
    weights.py          the parameters as arrays "0000", "0001", ...; their size bounds,
                        header checks and checked assignment (no NaN, no value-changing cast)
    model_file.py       the `.glassnet` format: save_model, load_model, save/load_weights
    training_state.py   the backup of a `fit` in progress (callbacks.BackupAndRestore's file)
    training_state_checks.py   every field of a backup against what a fit could have written
    keras_file.py       Keras 3's `.keras` and `.weights.h5` files, read and written, with
                        keras_h5.py (the HDF5 part), keras_models.py, keras_layers.py,
                        keras_values.py (configs) and keras_compile.py (compile, optimizer)
    saving_api.py       load_model: the format by the file's extension

    >>> model.save("mnist.glassnet")
    >>> model = glassnet.saving.load_model("mnist.glassnet")
    >>> model = glassnet.saving.load_model("from_keras.keras")      # Keras 3's format

The size limits (`MAX_TOTAL_BYTES`, `MAX_MEMBER_BYTES`, `MAX_JSON_BYTES`, `MAX_JSON_VALUES`,
`MAX_ARRAYS`, `MAX_COMPRESSION_RATIO`, and `MAX_DATA_COMPRESSION_RATIO` for users' data files
read by `glassnet.datasets`) are read and set here as attributes of this package; an
assignment, `glassnet.saving.MAX_TOTAL_BYTES = 8 * 2**30`, reaches `archive.py`, the one
reader of zip, .npz and .npy files, whose checks use it.
"""

from __future__ import annotations

import sys
import types

from glassnet.saving import archive
from glassnet.saving.archive import ANY_KEY, ANY_KIND, ModelFileError, read_npz
from glassnet.saving.keras_file import KERAS_SUFFIX, KERAS_WEIGHTS_SUFFIX
from glassnet.saving.keras_values import KerasConfigError, KerasExportError
from glassnet.saving.model_file import (
    CONFIG,
    FORMAT_NAME,
    FORMAT_VERSION,
    METADATA,
    MODEL_SUFFIX,
    OPTIMIZER,
    WEIGHTS,
    WEIGHTS_SUFFIX,
    ModelFile,
    build_model,
    load_weights,
    model_summary_lines,
    read_metadata,
    read_model_file,
    save_model,
    save_weights,
)
from glassnet.saving.saving_api import load_model


def _limit(name: str) -> property:
    """archive.py's size limit `name`, read and set through this package."""
    return property(lambda _: getattr(archive, name),
                    lambda _, value: setattr(archive, name, value),
                    doc=f"archive.{name}")


class _SavingPackage(types.ModuleType):
    """This package's module type: its size limits are archive.py's, for reading and setting."""

    MAX_TOTAL_BYTES = _limit("MAX_TOTAL_BYTES")
    MAX_MEMBER_BYTES = _limit("MAX_MEMBER_BYTES")
    MAX_JSON_BYTES = _limit("MAX_JSON_BYTES")
    MAX_JSON_VALUES = _limit("MAX_JSON_VALUES")
    MAX_ARRAYS = _limit("MAX_ARRAYS")
    MAX_COMPRESSION_RATIO = _limit("MAX_COMPRESSION_RATIO")
    MAX_DATA_COMPRESSION_RATIO = _limit("MAX_DATA_COMPRESSION_RATIO")


sys.modules[__name__].__class__ = _SavingPackage

__all__ = ["ANY_KEY", "ANY_KIND", "CONFIG", "FORMAT_NAME", "FORMAT_VERSION", "KERAS_SUFFIX",
           "KERAS_WEIGHTS_SUFFIX", "METADATA", "MODEL_SUFFIX", "OPTIMIZER", "WEIGHTS",
           "WEIGHTS_SUFFIX", "KerasConfigError", "KerasExportError", "ModelFile",
           "ModelFileError", "build_model", "load_model", "load_weights",
           "model_summary_lines", "read_metadata", "read_model_file", "read_npz", "save_model",
           "save_weights"]
