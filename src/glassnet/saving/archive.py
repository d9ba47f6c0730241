"""The one reader of untrusted zip, .npz, .npy and JSON files; zips written atomically.

Every zip, .npz and .npy that glassnet opens goes through here: model files (`model_file.py`),
backups (`training_state.py`), `.weights.npz` files and users' data (`glassnet.datasets`'
`load_npz`; its gzipped IDX reader applies `MAX_DATA_COMPRESSION_RATIO` too). A file is input
from anyone: nothing in it is imported, evaluated or unpickled, and every limit is applied
*before* anything is inflated or allocated:

- the central directory's entries are counted in its raw bytes before zipfile parses them;
- each member's name, method, declared size and compression ratio are checked, all of them
  before any member is read (an .npz inside a zip must be stored, so ratios cannot multiply,
  and its declared size can be capped by what the caller expects, e.g. the model's weights);
- JSON is refused past MAX_JSON_BYTES or MAX_JSON_VALUES before it is parsed, and a key
  given twice is refused;
- an .npy header is checked (dtype kind, a shape that matches the bytes present) before its
  array is allocated, and the data is read straight into the array.

Every check is linear in the file (sets and counters), and an error names the file, the
member and at most a few offending names (`few`). A bad file fails with a `ModelFileError`.

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
import struct
import tokenize
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
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
MAX_JSON_VALUES = 500_000       # numbers, strings, lists, objects of one JSON member (~100 MB)
MAX_ARRAYS = 100_000            # members of one zip or .npz
# Deflate cannot compress better than about 1032:1 (a run of 258 bytes per 2-bit code), so a
# member that claims more is a forged header. Other methods (bzip2, lzma) are refused.
MAX_COMPRESSION_RATIO = 1100
# Users' data files (load_npz, read_idx) may be large, but real data compresses far less
# than deflate's limit (MNIST's images ~5:1): past this ratio a member over SMALL_BYTES is
# refused as a likely bomb. Raise it (glassnet.saving.MAX_DATA_COMPRESSION_RATIO = 2000) to
# read very sparse data.
MAX_DATA_COMPRESSION_RATIO = 100
SMALL_BYTES = 2**20             # any ratio is harmless below this size

METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
# An .npz inside a zip is stored (np.savez): were it deflated too, the two ratios would
# multiply (1100 ** 2) and a few KB on disk could ask for gigabytes.
NESTED_METHODS = {zipfile.ZIP_STORED: "stored"}
_NPY_MAX_HEADER = 10_000        # np.load's own default
_CHUNK = 2**20                  # bytes read at a time into an array

# Any member name of an .npz: what np.savez writes for keyword arrays (still refused: "..",
# absolute paths, backslashes, control characters; see _check_member_name).
ANY_KEY = re.compile(r".+", re.DOTALL)
ANY_KIND = "biufcmMUSV"         # every dtype kind but object ("O", which would need pickle)
NUMERIC_KINDS = "iuf"           # signed, unsigned, float: no bool, str, bytes, object, void
_CONTROL = re.compile(r"[\x00-\x1f]")


class ModelFileError(ValueError):
    """A model or weights file that is not a valid glassnet file (the message says why).

    A message is cut after MAX_MESSAGE characters: a file's values and names appear in it,
    and a hostile file can make them megabytes long."""

    MAX_MESSAGE = 2000

    def __init__(self, message: str = ""):
        message = str(message)
        if len(message) > self.MAX_MESSAGE:
            cut = len(message) - self.MAX_MESSAGE
            message = f"{message[:self.MAX_MESSAGE]}... ({cut:,} more characters)"
        super().__init__(message)


def few(names: Iterable, limit: int = 5) -> str:
    """At most `limit` names of a list for a message: "['a', 'b', ...] (40,000 in all)"."""
    names = list(names)
    if len(names) <= limit:
        return repr(names)
    return f"{repr(names[:limit])[:-1]}, ...] ({len(names):,} in all)"


# ----- files --------------------------------------------------------------------------------
def check_path(filepath, suffix: str, function: str) -> Path:
    """`filepath` as a Path, once it is a str or path whose name ends with `suffix`."""
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{function}: filepath must be a str or path, got "
                        f"{type(filepath).__name__}")
    path = Path(filepath)
    if not path.name.endswith(suffix) or path.name == suffix:
        raise ValueError(f"{function}: filepath must end with {suffix!r}, got {str(path)!r}")
    return path


def check_overwrite(path: Path, overwrite: bool) -> None:
    """A file is written over only with overwrite=True."""
    if not overwrite and path.exists():
        raise FileExistsError(f"{str(path)!r} already exists and overwrite=False")


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
           OSError, struct.error)
_END = struct.Struct("<4s4H2LH")          # end of central directory record
_END64_LOCATOR = struct.Struct("<4sLQL")  # zip64: where its end record is
_END64 = struct.Struct("<4sQ2H2L4Q")      # zip64 end of central directory record


def open_zip(source, where: str) -> zipfile.ZipFile:
    """`zipfile.ZipFile(source)` (a path or a binary file); a broken zip, or one whose
    central directory holds more than MAX_ARRAYS entries, is a ModelFileError naming `where`.

    zipfile parses every directory entry (about 500 bytes of memory each) when it opens the
    file, so the entries are first counted in the directory's raw bytes."""
    try:
        if isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as handle:
                _count_entries(handle, where)
        else:
            _count_entries(source, where)
        return zipfile.ZipFile(source)
    except ModelFileError:
        raise
    except _BROKEN as error:
        raise ModelFileError(f"{where}: not a valid zip archive (truncated or corrupted?): "
                             f"{error}") from error


def _count_entries(handle, where: str) -> None:
    """Refuse a central directory of more than MAX_ARRAYS entries. zipfile reads the
    directory as the `size` bytes before the end record (whatever count that record
    claims), so every entry signature in those bytes is counted (an upper bound)."""
    handle.seek(0, os.SEEK_END)
    file_size = handle.tell()
    tail_size = min(file_size, _END.size + 0xFFFF)       # the record, then a comment
    handle.seek(file_size - tail_size)
    tail = handle.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        return                                            # not a zip: zipfile will say so
    _, _, _, _, _, size, _, _ = _END.unpack_from(tail, at)
    end = file_size - tail_size + at
    locator = end - _END64_LOCATOR.size
    if locator >= 0:
        handle.seek(locator)
        signature, _, _, _ = _END64_LOCATOR.unpack(handle.read(_END64_LOCATOR.size))
        if signature == b"PK\x06\x07" and locator >= _END64.size:
            handle.seek(locator - _END64.size)
            fields = _END64.unpack(handle.read(_END64.size))
            if fields[0] == b"PK\x06\x06":
                size, end = fields[8], locator - _END64.size
    if not 0 <= size <= end:
        return                                            # zipfile will refuse the offsets
    entries, position = 0, end - size
    while position < end:             # 8 MB at a time; chunks overlap by 3 bytes, so a
        handle.seek(position)         # signature across a boundary is counted exactly once
        chunk = handle.read(min(end - position, 8 * _CHUNK))
        entries += chunk.count(b"PK\x01\x02")
        if len(chunk) <= 3:
            break
        position += len(chunk) - 3 if position + len(chunk) < end else len(chunk)
    handle.seek(0)
    _check_count(entries, MAX_ARRAYS, "glassnet.saving.MAX_ARRAYS", where)


def check_members(zf: zipfile.ZipFile, where: str, required=(), optional=(),
                  pattern: re.Pattern | None = None, methods: dict[int, str] = METHODS,
                  max_ratio: float | None = None,
                  max_members: tuple[int, str] | None = None) -> dict[str, zipfile.ZipInfo]:
    """Check names, methods and sizes of every member before reading any; return them by name.

    Either `required`/`optional` list the exact names allowed, or `pattern` (for .npz keys);
    `methods` are the compression methods allowed; `max_ratio` (for data files) caps the
    compression ratio of members over SMALL_BYTES; `max_members` is (count, what it is) when
    the caller knows how many members there can be (a model's weights, say).
    """
    infos = zf.infolist()
    names = [info.filename for info in infos]
    _check_count(len(names), MAX_ARRAYS, "glassnet.saving.MAX_ARRAYS", where)
    for name in names:
        _check_member_name(name, where, pattern)
    counts = Counter(names)
    if len(counts) != len(names):
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        raise ModelFileError(f"{where}: duplicate members {few(duplicates)}")
    if max_members is not None:
        _check_count(len(names), *max_members, where)
    if pattern is None:
        missing = sorted(set(required) - counts.keys())
        extra = sorted(counts.keys() - set(required) - set(optional))
        if missing or extra:
            raise ModelFileError(f"{where}: expected members {sorted(required)} (and optionally "
                                 f"{sorted(optional)}); missing {few(missing)}, unexpected "
                                 f"{few(extra)}")
    total = 0
    for info in infos:
        _check_member_size(info, where, methods, max_ratio)
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise ModelFileError(f"{where}: members would decompress to {total:,} bytes, more than "
                             f"the limit of {MAX_TOTAL_BYTES:,} (glassnet.saving.MAX_TOTAL_BYTES)")
    return {info.filename: info for info in infos}


def _check_count(count: int, limit: int, what: str, where: str) -> None:
    if count > limit:
        raise ModelFileError(f"{where}: {count:,} members, more than {limit:,} ({what})")


def _check_member_name(name: str, where: str, pattern: re.Pattern | None) -> None:
    # Nothing is ever extracted to disk, but a name like "../evil" only appears in a crafted
    # file, so it is refused outright rather than ignored.
    if (not name or ("/" in name and pattern is None) or "\\" in name or ".." in name
            or name.startswith("/") or _CONTROL.search(name)):
        raise ModelFileError(f"{where}: unsafe member name {name[:200]!r}")
    if pattern is not None and not (name.endswith(".npy")
                                    and pattern.fullmatch(name[:-len(".npy")])):
        raise ModelFileError(f"{where}: unexpected array name {name[:200]!r}")


def _check_member_size(info: zipfile.ZipInfo, where: str, methods: dict[int, str],
                       max_ratio: float | None) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{where}: member {name!r} is encrypted")
    if info.compress_type not in methods:
        raise ModelFileError(f"{where}: member {name!r} uses compression method "
                             f"{info.compress_type}; only {' and '.join(methods.values())} "
                             "allowed here")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise ModelFileError(f"{where}: member {name!r} is stored but its header declares "
                             f"{info.compress_size:,} bytes in the file and {info.file_size:,} "
                             "uncompressed: a forged header")
    limit = MAX_JSON_BYTES if name.endswith(".json") else MAX_MEMBER_BYTES
    if info.file_size > limit:
        raise ModelFileError(f"{where}: member {name!r} would decompress to {info.file_size:,} "
                             f"bytes, more than the limit of {limit:,}")
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > MAX_COMPRESSION_RATIO:
        raise ModelFileError(f"{where}: member {name!r} claims a compression ratio of "
                             f"{ratio:,.0f}:1 ({info.compress_size:,} -> {info.file_size:,} "
                             f"bytes), impossible for deflate: a zip bomb or a forged header")
    if max_ratio is not None and ratio > max_ratio and info.file_size > SMALL_BYTES:
        raise ModelFileError(f"{where}: member {name!r} has a compression ratio of "
                             f"{ratio:,.0f}:1 ({info.compress_size:,} -> {info.file_size:,} "
                             f"bytes), more than {max_ratio:,}:1 for data files "
                             "(glassnet.saving.MAX_DATA_COMPRESSION_RATIO): a likely zip bomb")


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
    """The member as a JSON object (a dict); a key given twice is refused, and so is a text
    of more than MAX_JSON_VALUES values (counted, from its commas and brackets, before it is
    parsed: 16 MB of "[]," would be 5.6 million lists, 4 s and 400 MB)."""
    data = read_member(zf, info, where)
    values = data.count(b",") + data.count(b"[") + data.count(b"{") + 1   # an upper bound
    if values > MAX_JSON_VALUES:
        raise ModelFileError(f"{where}: {info.filename} holds up to {values:,} JSON values, "
                             f"more than {MAX_JSON_VALUES:,} (glassnet.saving.MAX_JSON_VALUES)")
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
        counts = Counter(key for key, _ in pairs)
        raise ValueError(f"duplicate keys {few(sorted(k for k, n in counts.items() if n > 1))} "
                         "in one object")
    return value


# ----- arrays -------------------------------------------------------------------------------
# A check of the arrays to be read from their .npy headers alone, before any array's data
# is read: check({key: (shape, dtype)}), raising ModelFileError.
HeaderCheck = Callable[[dict[str, tuple[tuple, np.dtype]]], None]


def read_npz(source, where: str, key_pattern: re.Pattern = ANY_KEY, kinds: str = ANY_KIND,
             methods: dict[int, str] = METHODS, keys: list[str] | None = None,
             max_ratio: float | None = None, check: HeaderCheck | None = None,
             max_arrays: tuple[int, str] | None = None) -> dict[str, np.ndarray]:
    """{key: array} from an untrusted .npz (a path or a binary file object), never unpickling.

    Member names, compression methods and sizes are checked before anything is inflated;
    then every .npy header (and `check`, if given) before any array is allocated; then each
    array is read straight into its memory (see `read_npy`).

    Args:
        source: the .npz, as a path or an open binary file.
        where: how messages name it (the file's path).
        key_pattern: the array names allowed (without ".npy").
        kinds: the dtype kinds allowed (`np.dtype.kind` letters); object is always refused.
        methods: the compression methods allowed for members.
        keys: the arrays to read (all are checked); None reads every one.
        max_ratio: compression ratio allowed (MAX_DATA_COMPRESSION_RATIO for data files).
        check: check({key: (shape, dtype)}) of the arrays to read, from their headers.
        max_arrays: (count, what it is): the most arrays the caller can use, checked
            before any header is read (each takes ~30 us to parse).

    Raises:
        ModelFileError (a ValueError) naming `where`: anything wrong with the file, or a key
        of `keys` that it does not hold.
    """
    with open_zip(source, where) as zf:
        infos = check_members(zf, where, pattern=key_pattern, methods=methods,
                              max_ratio=max_ratio, max_members=max_arrays)
        names = {name[:-len(".npy")]: name for name in infos}
        for key in keys or ():
            if key not in names:
                raise ModelFileError(f"{where}: no array {key!r}; the archive holds "
                                     f"{few(names)}")
        selected = list(names if keys is None else keys)
        headers = {key: _member_array(zf, infos[names[key]], f"{where}: {names[key]}", kinds,
                                      header_only=True) for key in selected}
        if check is not None:
            check(headers)
        return {key: _member_array(zf, infos[names[key]], f"{where}: {names[key]}", kinds)
                for key in selected}


def read_nested_npz(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str,
                    key_pattern: re.Pattern, kinds: str = NUMERIC_KINDS,
                    max_bytes: int | None = None, expected: str = "",
                    check: HeaderCheck | None = None,
                    max_arrays: tuple[int, str] | None = None) -> dict[str, np.ndarray]:
    """{key: array} of an .npz that is member `info` of the open archive `zf`.

    Its own members must be stored (NESTED_METHODS: the ratios cannot multiply), and with
    `max_bytes` its declared size is compared with what the caller expects (`expected`
    says what, e.g. "the 6 weights of the model (119 values)") before it is inflated;
    `check` and `max_arrays` as for `read_npz`.
    """
    if max_bytes is not None and info.file_size > max_bytes:
        raise ModelFileError(f"{where}: {info.filename} would decompress to "
                             f"{info.file_size:,} bytes; {expected} need at most "
                             f"{max_bytes:,}")
    data = read_member(zf, info, where)
    return read_npz(io.BytesIO(data), f"{where}: {info.filename}", key_pattern, kinds,
                    NESTED_METHODS, check=check, max_arrays=max_arrays)


def npz_size_bound(arrays: int, values: int, itemsize: int = 8) -> int:
    """The most bytes an .npz of `arrays` arrays holding `values` values (of at most
    `itemsize` bytes each) can take as np.savez writes it: the data, plus for each array a
    .npy header and its zip headers (names of up to 64 characters, zip64 fields)."""
    return values * itemsize + (arrays + 1) * 1024


# What numpy's .npy header parser (tokenize, then ast.literal_eval) raises on forged text.
_HEADER_ERRORS = (ValueError, SyntaxError, TypeError, OverflowError, tokenize.TokenError,
                  RecursionError, MemoryError)


def read_npy(data: bytes, where: str, kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """One array from .npy bytes; the header is checked before any allocation.

    np.load would allocate the whole declared shape before noticing the data is short, and
    object arrays would need pickle; both are refused from the header alone.
    """
    return _read_array(io.BytesIO(data), len(data), where, kinds)


def _member_array(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, kinds: str,
                  header_only: bool = False):
    """The array of .npy member `info` (or with `header_only`, its (shape, dtype))."""
    try:
        with zf.open(info) as handle:
            return _read_array(handle, info.file_size, where, kinds, header_only)
    except ModelFileError:
        raise
    except _BROKEN as error:
        raise ModelFileError(f"{where}: corrupted: {error}") from error


def _read_array(stream, size: int, where: str, kinds: str, header_only: bool = False):
    """Read an .npy of `size` bytes from `stream`: the header, checked, then the data
    straight into a new array (no copy of the bytes is ever held)."""
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
    shape, fortran_order, dtype = header
    if dtype.hasobject:
        raise ModelFileError(f"{where}: object arrays are refused (loading them would run "
                             f"pickle, which can execute code); got dtype {dtype!s}")
    if dtype.kind not in kinds:
        wanted = "numeric (int or float)" if kinds == NUMERIC_KINDS else f"of kinds {kinds!r}"
        raise ModelFileError(f"{where}: arrays must be {wanted}, got dtype {dtype!s}")
    if any(d < 0 for d in shape):
        raise ModelFileError(f"{where}: header declares a negative shape {shape}")
    declared = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    present = size - stream.tell()
    if declared != present:
        raise ModelFileError(f"{where}: header declares shape {shape} of {dtype} "
                             f"({declared:,} bytes) but the file holds {present:,} bytes")
    if header_only:
        return shape, dtype
    if declared == 0 or dtype.itemsize == 0:
        return np.empty(shape, dtype, order="F" if fortran_order else "C")
    try:
        buffer = np.empty(declared, np.uint8)
    except MemoryError as error:
        raise ModelFileError(f"{where}: an array of {declared:,} bytes does not fit in "
                             "memory") from error
    view, filled = memoryview(buffer), 0
    while filled < declared:
        chunk = stream.read(min(_CHUNK, declared - filled))
        if not chunk:
            raise ModelFileError(f"{where}: data ends after {filled:,} of {declared:,} bytes")
        view[filled:filled + len(chunk)] = chunk
        filled += len(chunk)
    if stream.read(1):                 # also makes zipfile check the CRC at the very end
        raise ModelFileError(f"{where}: more data than its header declares")
    array = buffer.view(dtype)
    return array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)


__all__ = ["ANY_KEY", "ANY_KIND", "METHODS", "NESTED_METHODS", "NUMERIC_KINDS", "HeaderCheck",
           "ModelFileError", "check_members", "check_overwrite", "check_path", "existing_file",
           "few", "json_bytes",
           "npz_bytes", "npz_size_bound", "open_zip", "read_json", "read_member", "read_npy",
           "read_npz", "read_nested_npz", "write_zip"]
