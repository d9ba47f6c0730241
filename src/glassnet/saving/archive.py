"""Untrusted zip, .npz, .npy and JSON read with every size capped; zips written atomically.

Nothing here knows about models: `model_file.py` (the `.glassnet` format), `training_state.py`
(backups) and `glassnet.datasets` (.npz data) build on these functions. A file is input from
anyone: nothing in it is imported, evaluated or unpickled, arrays are read with
`allow_pickle=False` after their .npy headers are checked (dtype kind, and a shape that matches
the bytes present), and every size is capped before anything is decompressed (an .npz inside a
zip must be stored, so ratios cannot multiply; a JSON key given twice is refused). A bad file
fails with a `ModelFileError` naming the file and the problem, never by exhausting memory.

    >>> with open_zip(path, str(path)) as zf:
    ...     infos = check_members(zf, str(path), required=("config.json",))
    ...     config = read_json(zf, infos["config.json"], str(path))
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from glassnet.backend import to_numpy
from glassnet.io import atomic_write

# Limits on untrusted files. `glassnet.saving.MAX_TOTAL_BYTES = ...` raises one for a caller
# with bigger models (the package forwards the assignment here, where the checks read it).
MAX_TOTAL_BYTES = 4 * 2**30     # uncompressed bytes of all members of one archive together
MAX_MEMBER_BYTES = 4 * 2**30    # uncompressed bytes of one member
MAX_JSON_BYTES = 16 * 2**20     # a config is kilobytes; this leaves room for huge models
MAX_ARRAYS = 100_000            # members of one .npz
# Deflate cannot compress better than about 1032:1 (a run of 258 bytes per 2-bit code), so a
# member that claims more is a forged header. Other methods (bzip2, lzma) are refused.
MAX_COMPRESSION_RATIO = 1100

METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
# An .npz inside a zip is stored (np.savez): were it deflated too, the two ratios would
# multiply (1100 ** 2) and a few KB on disk could ask for gigabytes.
NESTED_METHODS = {zipfile.ZIP_STORED: "stored"}
_NPY_MAX_HEADER = 10_000        # np.load's own default

# Any member name of an .npz: what np.savez writes for keyword arrays (still refused: "..",
# absolute paths, backslashes, control characters; see _check_member_name).
ANY_KEY = re.compile(r".+", re.DOTALL)
ANY_KIND = "biufcmMUSV"         # every dtype kind but object ("O", which would need pickle)
NUMERIC_KINDS = "iuf"           # signed, unsigned, float: no bool, str, bytes, object, void


class ModelFileError(ValueError):
    """A model or weights file that is not a valid glassnet file (the message says why)."""


# ----- files --------------------------------------------------------------------------------
def existing_file(filepath: str | os.PathLike) -> Path:
    """`filepath` as a Path, once it is known to be an existing regular file.

    Raises:
        TypeError: not a str or path.
        FileNotFoundError: no such file.
        ModelFileError: something other than a regular file (a folder, a device).
    """
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"filepath must be a str or path, got {type(filepath).__name__}")
    path = Path(filepath)
    if not path.exists():
        raise FileNotFoundError(f"file not found: {str(path)!r}")
    if not path.is_file():
        raise ModelFileError(f"{path}: not a regular file")
    return path


def write_zip(path: str | os.PathLike, members: dict[str, bytes],
              compression: int = zipfile.ZIP_DEFLATED) -> None:
    """A zip holding `members` ({name: bytes}), written atomically: `path` holds either its
    old contents or the complete new archive, whenever the process stops."""
    with atomic_write(path) as handle, zipfile.ZipFile(handle, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def json_bytes(obj) -> bytes:
    """UTF-8 JSON of a config (NumPy scalars and arrays become numbers and lists)."""
    return json.dumps(obj, indent=2, default=_json_default).encode("utf-8")


def _json_default(obj):
    """NumPy scalars and arrays that slip into a config become plain numbers and lists."""
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.tolist()
    raise TypeError(f"cannot save {type(obj).__name__} {obj!r} in a JSON config: "
                    "get_config() must return numbers, strings, lists and dicts")


def npz_bytes(arrays: dict[str, Any]) -> bytes:
    """The bytes of an .npz (members stored, not deflated) of {key: array}."""
    buffer = io.BytesIO()
    # allow_pickle=False: an object array here is a bug, and must never reach a file.
    np.savez(buffer, allow_pickle=False, **{k: to_numpy(v) for k, v in arrays.items()})
    return buffer.getvalue()


# ----- the archive --------------------------------------------------------------------------
# Reading a corrupt zip can fail inside zipfile/zlib in many ways; all of them mean "broken
# file" here (ModelFileError is itself a ValueError, and is re-raised untouched). OSError:
# a forged offset makes zipfile seek before the start of the file (EINVAL).
_BROKEN = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError,
           NotImplementedError, RuntimeError, UnicodeDecodeError, IndexError, KeyError,
           OSError)


def open_zip(source, where: str) -> zipfile.ZipFile:
    """`zipfile.ZipFile(source)` (a path or a binary file); a broken zip is a ModelFileError
    naming `where`."""
    try:
        return zipfile.ZipFile(source)
    except ModelFileError:
        raise
    except _BROKEN as error:
        raise ModelFileError(f"{where}: not a valid zip archive (truncated or corrupted?): "
                             f"{error}") from error


def check_members(zf: zipfile.ZipFile, where: str, required=(), optional=(),
                  pattern: re.Pattern | None = None,
                  methods: dict[int, str] = METHODS) -> dict[str, zipfile.ZipInfo]:
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


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
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


def read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> dict[str, Any]:
    """The member as a JSON object (a dict); a key given twice is refused."""
    data = read_member(zf, info, where)
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
def read_npz_bytes(data: bytes, where: str, key_pattern: re.Pattern,
                   nested: bool = False) -> dict[str, np.ndarray]:
    """{key: numeric array} from the bytes of an .npz, with the same checks as the outer archive.

    `nested`: the .npz was a member of a zip, so its own members must be stored (see
    NESTED_METHODS).
    """
    return read_npz(io.BytesIO(data), where, key_pattern, NUMERIC_KINDS,
                    NESTED_METHODS if nested else METHODS)


def read_npz(source, where: str, key_pattern: re.Pattern = ANY_KEY, kinds: str = ANY_KIND,
             methods: dict[int, str] = METHODS,
             keys: list[str] | None = None) -> dict[str, np.ndarray]:
    """{key: array} from an untrusted .npz (a path or a binary file object), never unpickling.

    Member names, compression methods and sizes are checked before anything is inflated, and
    each .npy header before its array is allocated (see `read_npy`).

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
    with open_zip(source, where) as zf:
        infos = check_members(zf, where, pattern=key_pattern, methods=methods)
        names = {name[:-len(".npy")]: name for name in infos}
        for key in keys or ():
            if key not in names:
                raise ModelFileError(f"{where}: no array {key!r}; the archive holds "
                                     f"{list(names)}")
        return {key: read_npy(read_member(zf, infos[names[key]], where),
                              f"{where}: {names[key]}", kinds)
                for key in (names if keys is None else keys)}


# What numpy's .npy header parser (tokenize, then ast.literal_eval) raises on forged text.
_HEADER_ERRORS = (ValueError, SyntaxError, TypeError, OverflowError, tokenize.TokenError,
                  RecursionError, MemoryError)


def read_npy(data: bytes, where: str, kinds: str = NUMERIC_KINDS) -> np.ndarray:
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
        wanted = "numeric (int or float)" if kinds == NUMERIC_KINDS else f"of kinds {kinds!r}"
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


__all__ = ["ANY_KEY", "ANY_KIND", "METHODS", "NESTED_METHODS", "NUMERIC_KINDS",
           "ModelFileError", "check_members", "existing_file", "json_bytes", "npz_bytes",
           "open_zip", "read_json", "read_member", "read_npy", "read_npz", "read_npz_bytes",
           "write_zip"]
