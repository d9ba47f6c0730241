"""Saving and loading models without pickle: a zip of JSON and plain numeric arrays.

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
twice is refused), so a forged or malicious file fails with a `ModelFileError` naming the
file and the problem instead of exhausting memory or running code.

    >>> model.save("mnist.glassnet")
    >>> model = glassnet.load_model("mnist.glassnet")
    >>> model.save_weights("mnist.weights.npz")      # arrays only; load into the same model
"""

from __future__ import annotations

import datetime
import inspect
import io
import json
import math
import os
import re
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from glassnet import registry
from glassnet.backend import to_numpy
from glassnet.io import atomic_write
from glassnet.layers.base import weight_budget

FORMAT_NAME = "glassnet"
FORMAT_VERSION = 1
MODEL_SUFFIX = ".glassnet"
WEIGHTS_SUFFIX = ".weights.npz"

METADATA = "metadata.json"
CONFIG = "config.json"
WEIGHTS = "model.weights.npz"
OPTIMIZER = "optimizer.npz"
_REQUIRED = (METADATA, CONFIG, WEIGHTS)

# Limits on untrusted files (module attributes, so a caller with bigger models can raise them).
MAX_TOTAL_BYTES = 4 * 2**30     # uncompressed bytes of all members of one archive together
MAX_MEMBER_BYTES = 4 * 2**30    # uncompressed bytes of one member
MAX_JSON_BYTES = 16 * 2**20     # a config is kilobytes; this leaves room for huge models
MAX_ARRAYS = 100_000            # members of one .npz
# Deflate cannot compress better than about 1032:1 (a run of 258 bytes per 2-bit code), so a
# member that claims more is a forged header. Other methods (bzip2, lzma) are refused.
MAX_COMPRESSION_RATIO = 1100
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
# An .npz inside a .glassnet file is stored (np.savez): were it deflated too, the two
# ratios would multiply (1100 ** 2) and a few KB on disk could ask for gigabytes.
_NESTED_METHODS = {zipfile.ZIP_STORED: "stored"}
_NPY_MAX_HEADER = 10_000        # np.load's own default

_WEIGHT_KEY = re.compile(r"[0-9]{4,}")
_STATE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[0-9]+)?")
_ARRAY_KINDS = "iuf"            # signed, unsigned, float: no bool, str, bytes, object, void


class ModelFileError(ValueError):
    """A model or weights file that is not a valid glassnet file (the message says why)."""


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
    """

    path: Path
    size: int
    metadata: dict[str, Any]
    config: dict[str, Any]
    weights: list[np.ndarray]
    optimizer_state: dict[str, np.ndarray] | None


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
    path = _check_path(filepath, MODEL_SUFFIX, "save_model")
    _check_overwrite(path, overwrite)
    config = _model_config(model)
    record = _metadata(model)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(f"metadata: expected a dict, got {type(metadata).__name__}")
        record["user"] = metadata
    members = {METADATA: _json_bytes(record), CONFIG: _json_bytes(config),
               WEIGHTS: _weights_npz(model)}
    optimizer = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and getattr(optimizer, "built", False):
        members[OPTIMIZER] = _npz_bytes(optimizer.get_state())
    with atomic_write(path) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def save_weights(model, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write the model's weights alone to a ".weights.npz" (keys "0000", "0001", ...)."""
    path = _check_path(filepath, WEIGHTS_SUFFIX, "save_weights")
    _check_overwrite(path, overwrite)
    data = _weights_npz(model)
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


def _json_bytes(obj) -> bytes:
    return json.dumps(obj, indent=2, default=_json_default).encode("utf-8")


def _json_default(obj):
    """NumPy scalars and arrays that slip into a config become plain numbers and lists."""
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.tolist()
    raise TypeError(f"cannot save {type(obj).__name__} {obj!r} in a JSON config: "
                    "get_config() must return numbers, strings, lists and dicts")


def _npz_bytes(arrays: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    # allow_pickle=False: an object array here is a bug, and must never reach a file.
    np.savez(buffer, allow_pickle=False, **{k: to_numpy(v) for k, v in arrays.items()})
    return buffer.getvalue()


def _weights_npz(model) -> bytes:
    return _npz_bytes({_weight_key(i): p.value for i, p in enumerate(model.parameters())})


def _weight_key(index: int) -> str:
    return f"{index:04d}"


def _check_path(filepath, suffix: str, function: str) -> Path:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{function}: filepath must be a str or path, got "
                        f"{type(filepath).__name__}")
    path = Path(filepath)
    if not path.name.endswith(suffix) or path.name == suffix:
        raise ValueError(f"{function}: filepath must end with {suffix!r}, got {str(path)!r}")
    return path


def _check_overwrite(path: Path, overwrite: bool) -> None:
    if not overwrite and path.exists():
        raise FileExistsError(f"{str(path)!r} already exists and overwrite=False")


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
    contents = read_model_file(filepath)
    return build_model(contents, custom_objects=custom_objects, compile=compile)


def read_metadata(filepath: str | os.PathLike) -> dict[str, Any] | None:
    """The `metadata` dict given to `save_model`, or None (the file is fully validated)."""
    return read_model_file(filepath).metadata.get("user")


def read_model_file(filepath: str | os.PathLike) -> ModelFile:
    """Read and validate every member of a `.glassnet` file; build nothing."""
    path = _existing_file(filepath)
    # Opened here, so that an OSError from zipfile afterwards (a seek to a forged offset)
    # means a corrupt file, while one from opening it (permissions) propagates as it is.
    with open(path, "rb") as handle, _open_zip(handle, str(path)) as zf:
        infos = _check_members(zf, str(path), required=_REQUIRED, optional=(OPTIMIZER,))
        metadata = _read_json(zf, infos[METADATA], str(path))
        config = _read_json(zf, infos[CONFIG], str(path))
        weights = _read_npz(_read_member(zf, infos[WEIGHTS], str(path)),
                            f"{path}: {WEIGHTS}", _WEIGHT_KEY, nested=True)
        state = None
        if OPTIMIZER in infos:
            state = _read_npz(_read_member(zf, infos[OPTIMIZER], str(path)),
                              f"{path}: {OPTIMIZER}", _STATE_KEY, nested=True)
    _check_metadata(metadata, config, str(path))
    _check_config(config, str(path))
    if state is not None and config["compile_config"] is None:
        raise ModelFileError(f"{path}: {OPTIMIZER} is present but the model was not compiled "
                             "(compile_config is null)")
    return ModelFile(path, path.stat().st_size, metadata, config,
                     _ordered_weights(weights, f"{path}: {WEIGHTS}"), state)


def build_model(contents: ModelFile, custom_objects=None, compile: bool = True):
    """The model described by a validated `ModelFile` (see `load_model`)."""
    where = str(contents.path)
    # Layers allocate their weights while the config is rebuilt, before the file's arrays
    # can be compared: cap that allocation near what the file holds (a hostile config asking
    # for 10**9 units fails here instead of allocating gigabytes). The slack lets a small
    # mismatch reach the weight check below, whose message names the weight and both shapes.
    held = sum(int(array.size) for array in contents.weights)
    with weight_budget(2 * held + 2**20):
        model = _model_from_config(contents.config, custom_objects, where)
    _set_weights(model, contents.weights, f"{where}: {WEIGHTS}")
    compile_config = contents.config["compile_config"]
    if compile and compile_config is not None:
        try:
            model.compile_from_config(compile_config, custom_objects)
            _check_metric_names(model, compile_config)
        except _CONFIG_ERRORS as error:
            raise ModelFileError(f"{where}: {CONFIG}: compile_config: {error}") from error
        if contents.optimizer_state is not None:
            try:
                model.optimizer.set_state(contents.optimizer_state,
                                          model.parameters(trainable_only=True))
            except (ValueError, TypeError) as error:
                raise ModelFileError(f"{where}: {OPTIMIZER}: {error}") from error
    return model


def load_weights(model, filepath: str | os.PathLike) -> None:
    """Set `model`'s weights from a ".weights.npz" written by `save_weights`.

    Everything (count, shapes, dtypes) is checked before any weight changes, so a bad file
    leaves the model as it was.
    """
    path = _check_path(filepath, WEIGHTS_SUFFIX, "load_weights")
    path = _existing_file(path)
    size = path.stat().st_size
    if size > MAX_TOTAL_BYTES:
        raise ModelFileError(f"{path}: file of {size:,} bytes exceeds the limit of "
                             f"{MAX_TOTAL_BYTES:,} (glassnet.saving.MAX_TOTAL_BYTES)")
    arrays = _read_npz(path.read_bytes(), str(path), _WEIGHT_KEY)
    _set_weights(model, _ordered_weights(arrays, str(path)), str(path))


def _existing_file(filepath) -> Path:
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"filepath must be a str or path, got {type(filepath).__name__}")
    path = Path(filepath)
    if not path.exists():
        raise FileNotFoundError(f"file not found: {str(path)!r}")
    if not path.is_file():
        raise ModelFileError(f"{path}: not a regular file")
    return path


# ----- the archive --------------------------------------------------------------------------
# Reading a corrupt zip can fail inside zipfile/zlib in many ways; all of them mean "broken
# file" here (ModelFileError is itself a ValueError, and is re-raised untouched). OSError:
# a forged offset makes zipfile seek before the start of the file (EINVAL).
_BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError,
           NotImplementedError, RuntimeError, UnicodeDecodeError, IndexError, KeyError,
           OSError)


def _open_zip(source, where: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except ModelFileError:
        raise
    except _BROKEN as error:
        raise ModelFileError(f"{where}: not a valid zip archive (truncated or corrupted?): "
                             f"{error}") from error


def _check_members(zf: zipfile.ZipFile, where: str, required=(), optional=(),
                   pattern: re.Pattern | None = None,
                   methods: dict[int, str] = _METHODS) -> dict[str, zipfile.ZipInfo]:
    """Check names, methods and sizes of every member before reading any; return them by name.

    Either `required`/`optional` list the exact names allowed, or `pattern` (for .npz keys);
    `methods` are the compression methods allowed.
    """
    infos = zf.infolist()
    if len(infos) > MAX_ARRAYS:
        raise ModelFileError(f"{where}: {len(infos):,} members, more than {MAX_ARRAYS:,}")
    names = [info.filename for info in infos]
    for name in names:
        _check_member_name(name, where, pattern)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ModelFileError(f"{where}: duplicate members {duplicates}")
    if pattern is None:
        missing = sorted(set(required) - set(names))
        extra = sorted(set(names) - set(required) - set(optional))
        if missing or extra:
            raise ModelFileError(f"{where}: expected members {sorted(required)} (and optionally "
                                 f"{sorted(optional)}); missing {missing}, unexpected {extra}")
    total = 0
    for info in infos:
        _check_member_size(info, where, methods)
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise ModelFileError(f"{where}: members would decompress to {total:,} bytes, more than "
                             f"the limit of {MAX_TOTAL_BYTES:,} (glassnet.saving.MAX_TOTAL_BYTES)")
    return {info.filename: info for info in infos}


def _check_member_name(name: str, where: str, pattern: re.Pattern | None) -> None:
    # Nothing is ever extracted to disk, but a name like "../evil" only appears in a crafted
    # file, so it is refused outright rather than ignored.
    if (not name or ("/" in name and pattern is None) or "\\" in name or ".." in name
            or name.startswith("/") or any(ord(c) < 32 for c in name)):
        raise ModelFileError(f"{where}: unsafe member name {name!r}")
    if pattern is not None and not (name.endswith(".npy")
                                    and pattern.fullmatch(name[:-len(".npy")])):
        raise ModelFileError(f"{where}: unexpected array name {name!r}")


def _check_member_size(info: zipfile.ZipInfo, where: str, methods: dict[int, str]) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{where}: member {name!r} is encrypted")
    if info.compress_type not in methods:
        raise ModelFileError(f"{where}: member {name!r} uses compression method "
                             f"{info.compress_type}; only {' and '.join(methods.values())} "
                             "allowed here")
    limit = MAX_JSON_BYTES if name.endswith(".json") else MAX_MEMBER_BYTES
    if info.file_size > limit:
        raise ModelFileError(f"{where}: member {name!r} would decompress to {info.file_size:,} "
                             f"bytes, more than the limit of {limit:,}")
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > MAX_COMPRESSION_RATIO:
        raise ModelFileError(f"{where}: member {name!r} claims a compression ratio of "
                             f"{ratio:,.0f}:1 ({info.compress_size:,} -> {info.file_size:,} "
                             f"bytes), impossible for deflate: a zip bomb or a forged header")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    """The member's bytes, reading at most its (already capped) declared size plus one."""
    try:
        with zf.open(info) as handle:
            # zipfile stops at the declared size and checks the CRC there, so a member
            # that inflates past its header's size is an error, never a big allocation.
            data = handle.read(info.file_size + 1)
    except ModelFileError:
        raise
    except _BROKEN as error:
        raise ModelFileError(f"{where}: member {info.filename!r} is corrupted: {error}") from error
    if len(data) != info.file_size:
        raise ModelFileError(f"{where}: member {info.filename!r} holds {len(data):,} bytes, its "
                             f"header says {info.file_size:,}")
    return data


def _read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> dict[str, Any]:
    data = _read_member(zf, info, where)
    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelFileError(f"{where}: {info.filename} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise ModelFileError(f"{where}: {info.filename} must hold a JSON object, got "
                             f"{type(value).__name__}")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; a key given twice is an error, not "the last one wins".

    Parsers disagree on duplicate keys, so a file could mean one thing to a checker and
    another to glassnet; such a file is refused.
    """
    value = dict(pairs)
    if len(value) != len(pairs):
        seen = [key for key, _ in pairs]
        duplicates = sorted({key for key in seen if seen.count(key) > 1})
        raise ValueError(f"duplicate keys {duplicates} in one object")
    return value


# ----- arrays -------------------------------------------------------------------------------
# Any member name of an .npz: what np.savez writes for keyword arrays (still refused: "..",
# absolute paths, backslashes, control characters; see _check_member_name).
ANY_KEY = re.compile(r".+", re.DOTALL)
ANY_KIND = "biufcmMUSV"  # every dtype kind but object ("O", which would need pickle)


def _read_npz(data: bytes, where: str, key_pattern: re.Pattern,
              nested: bool = False) -> dict[str, np.ndarray]:
    """{key: array} from the bytes of an .npz, with the same checks as the outer archive."""
    return read_npz(io.BytesIO(data), where, key_pattern, _ARRAY_KINDS,
                    _NESTED_METHODS if nested else _METHODS)


def read_npz(source, where: str, key_pattern: re.Pattern = ANY_KEY, kinds: str = ANY_KIND,
             methods: dict[int, str] = _METHODS,
             keys: list[str] | None = None) -> dict[str, np.ndarray]:
    """{key: array} from an untrusted .npz (a path or a binary file object), never unpickling.

    Member names, compression methods and sizes are checked before anything is inflated, and
    each .npy header before its array is allocated (see `_read_npy`).

    Args:
        source: the .npz, as a path or an open binary file.
        where: how messages name it (the file's path).
        key_pattern: the array names allowed (without ".npy").
        kinds: the dtype kinds allowed (`np.dtype.kind` letters); object is always refused.
        methods: the compression methods allowed for members.
        keys: the arrays to read (all are checked); None reads every one.

    Raises:
        ModelFileError (a ValueError) naming `where`: anything wrong with the file, or a key
        of `keys` that it does not hold.
    """
    with _open_zip(source, where) as zf:
        infos = _check_members(zf, where, pattern=key_pattern, methods=methods)
        names = {name[:-len(".npy")]: name for name in infos}
        for key in keys or ():
            if key not in names:
                raise ModelFileError(f"{where}: no array {key!r}; the archive holds "
                                     f"{list(names)}")
        return {key: _read_npy(_read_member(zf, infos[names[key]], where),
                               f"{where}: {names[key]}", kinds)
                for key in (names if keys is None else keys)}


# What numpy's .npy header parser (tokenize, then ast.literal_eval) raises on forged text.
_HEADER_ERRORS = (ValueError, SyntaxError, TypeError, OverflowError, tokenize.TokenError,
                  RecursionError, MemoryError)


def _read_npy(data: bytes, where: str, kinds: str = _ARRAY_KINDS) -> np.ndarray:
    """One array from .npy bytes; the header is checked before any allocation.

    np.load would allocate the whole declared shape before noticing the data is short, and
    object arrays would need pickle; both are refused from the header alone.
    """
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(stream, _NPY_MAX_HEADER)
        elif version == (2, 0):
            header = np.lib.format.read_array_header_2_0(stream, _NPY_MAX_HEADER)
        else:
            raise ModelFileError(f"{where}: unsupported .npy format version {version}")
    except ModelFileError:
        raise
    except _HEADER_ERRORS as error:
        raise ModelFileError(f"{where}: invalid .npy header: {error}") from error
    shape, _, dtype = header
    if dtype.hasobject:
        raise ModelFileError(f"{where}: object arrays are refused (loading them would run "
                             f"pickle, which can execute code); got dtype {dtype!s}")
    if dtype.kind not in kinds:
        wanted = "numeric (int or float)" if kinds == _ARRAY_KINDS else f"of kinds {kinds!r}"
        raise ModelFileError(f"{where}: arrays must be {wanted}, got dtype {dtype!s}")
    if any(d < 0 for d in shape):
        raise ModelFileError(f"{where}: header declares a negative shape {shape}")
    declared = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    present = len(data) - stream.tell()
    if declared != present:
        raise ModelFileError(f"{where}: header declares shape {shape} of {dtype} "
                             f"({declared:,} bytes) but the file holds {present:,} bytes")
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ModelFileError(f"{where}: cannot read array: {error}") from error


def _ordered_weights(arrays: dict[str, np.ndarray], where: str) -> list[np.ndarray]:
    """The arrays "0000", "0001", ... as a list; any gap or stray key is an error."""
    expected = [_weight_key(i) for i in range(len(arrays))]
    if sorted(arrays) != expected:
        raise ModelFileError(f"{where}: expected keys {expected[:3]}... numbered from 0000 "
                             f"without gaps, got {sorted(arrays)[:10]}")
    return [arrays[key] for key in expected]


def _set_weights(model, weights: list[np.ndarray], where: str) -> None:
    """Check count, shape and dtype of every array, then assign them all."""
    params = model.parameters()
    if len(weights) != len(params):
        hint = "" if params or model.built else " (the model is not built yet: build it first)"
        raise ModelFileError(f"{where}: the model {model.name!r} has {len(params)} weight "
                             f"arrays {[p.name for p in params]}, the file holds "
                             f"{len(weights)}{hint}")
    for index, (param, value) in enumerate(zip(params, weights)):
        if value.shape != tuple(param.shape):
            raise ModelFileError(f"{where}: weight {param.name!r} (array {_weight_key(index)}): "
                                 f"expected shape {tuple(param.shape)}, got {value.shape}")
        if not np.can_cast(value.dtype, param.dtype, "same_kind"):
            raise ModelFileError(f"{where}: weight {param.name!r} (array {_weight_key(index)}): "
                                 f"expected dtype {param.dtype}, got {value.dtype}")
    for param, value in zip(params, weights):
        param.assign(value)


# ----- metadata and config ------------------------------------------------------------------
def _check_metadata(metadata: dict[str, Any], config: dict[str, Any], where: str) -> None:
    where = f"{where}: {METADATA}"
    if metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{where}: 'format' must be {FORMAT_NAME!r}, got "
                             f"{metadata.get('format')!r}")
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{where}: 'format_version' must be an integer, got {version!r}")
    if version != FORMAT_VERSION:
        newer = " (written by a newer glassnet: upgrade glassnet)" if version > 1 else ""
        raise ModelFileError(f"{where}: format_version {version} is not supported; this "
                             f"glassnet reads version {FORMAT_VERSION}{newer}")
    for key in ("glassnet_version", "saved_at", "class_name"):
        if not isinstance(metadata.get(key), str):
            raise ModelFileError(f"{where}: {key!r} must be a string, got "
                                 f"{metadata.get(key)!r}")
    if not isinstance(metadata.get("user", {}), dict):
        raise ModelFileError(f"{where}: 'user' must be an object, got {metadata['user']!r}")
    if metadata["class_name"] != config.get("class_name"):
        raise ModelFileError(f"{where}: class_name {metadata['class_name']!r} differs from "
                             f"{CONFIG}'s {config.get('class_name')!r}")


def _check_config(config: dict[str, Any], where: str) -> None:
    where = f"{where}: {CONFIG}"
    expected = {"class_name", "config", "compile_config"}
    if set(config) != expected:
        raise ModelFileError(f"{where}: expected keys {sorted(expected)}, got {sorted(config)}")
    if not isinstance(config["class_name"], str):
        raise ModelFileError(f"{where}: 'class_name' must be a string, got "
                             f"{config['class_name']!r}")
    if not isinstance(config["config"], dict):
        raise ModelFileError(f"{where}: 'config' must be an object, got {config['config']!r}")
    compile_config = config["compile_config"]
    if compile_config is not None and not isinstance(compile_config, dict):
        raise ModelFileError(f"{where}: 'compile_config' must be an object or null, got "
                             f"{compile_config!r}")


# What a layer's, optimizer's or loss's constructor may raise on values no glassnet wrote:
# a 4000-digit integer overflows float maths (OverflowError), a null where an object was
# expected meets an attribute lookup (AttributeError), a nesting 1000 deep recurses.
_CONFIG_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError,
                  RecursionError)


def _check_metric_names(model, compile_config: dict[str, Any]) -> None:
    """Metric names are resolved at the first batch; resolve them now, to fail at load time."""
    from glassnet import metrics

    for spec in compile_config.get("metrics") or []:
        if isinstance(spec, str):
            metrics.get(spec, loss=model.loss)


def _model_from_config(config: dict[str, Any], custom_objects, where: str):
    """Resolve the class in the registry (never by import) and call its from_config."""
    from glassnet.models.model import Model

    where = f"{where}: {CONFIG}"
    try:
        cls = registry.lookup("layer", config["class_name"], custom_objects)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from error
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ModelFileError(f"{where}: class_name {config['class_name']!r} is not a Model")
    # Model.from_config may or may not take custom_objects (a user subclass, say).
    takes_custom = "custom_objects" in inspect.signature(cls.from_config).parameters
    extra = {"custom_objects": custom_objects} if takes_custom else {}
    try:
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


__all__ = ["ModelFile", "ModelFileError", "build_model", "load_model", "load_weights",
           "model_summary_lines", "read_model_file", "save_model", "save_weights"]
