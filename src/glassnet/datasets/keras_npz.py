"""Keras' .npz dataset files, read without pickle.

Numeric arrays (MNIST's pixels, the housing tables, IMDB's labels) are read by
`glassnet.saving.archive`, which checks every size and .npy header first and loads with
`allow_pickle=False`.

IMDB's and Reuters' word sequences are ragged, so Keras stores them as NumPy object arrays
whose items are Python lists of ints; NumPy can write such an array only as a pickle stream
after the .npy header, and `np.load(allow_pickle=True)` would run whatever code a tampered
file carries. glassnet does not unpickle it: `read_int_lists` reads the stream as data. A
small stack machine walks the pickle opcodes and knows only
    constants      ints, strings, bytes, None, True, False
    containers     tuples, lists (EMPTY_LIST, APPEND(S), LIST, MARK, the TUPLE codes)
    the memo       PUT/GET/MEMOIZE, so that shared references resolve
    globals        the three names NumPy writes (numpy.ndarray, numpy.dtype and
                   numpy[._]core.multiarray._reconstruct), kept as names, never imported
    REDUCE, BUILD  recorded as plain (callable-name, arguments, state) records, never called
and refuses every other opcode (instances, other globals, extensions, persistent ids). The
result must then have exactly the shape of NumPy's pickle of a 1-d object array of int lists:

    _reconstruct(ndarray, (0,), b"b")  BUILD  (1, (n,), dtype("O8"), False, [[int, ...], ...])

and anything else is a DatasetError. Nothing in the file is imported, called or built but
ints, strings, tuples and lists. (Keras itself unpickles these members with an unpickler
restricted to the same three globals; this reader resolves none.)
"""

from __future__ import annotations

import io
import os
import re
import struct
from pathlib import Path

import numpy as np

from glassnet.datasets._files import DatasetError
from glassnet.saving.archive import (
    ModelFileError,
    check_members,
    open_zip,
    read_member,
    read_npy,
)

_KEY = re.compile(r"[A-Za-z0-9_]+")
_NPY_MAX_HEADER = 10_000  # np.load's own default


def read_arrays(path: str | os.PathLike, keys: tuple[str, ...],
                kinds: str = "iuf") -> dict[str, np.ndarray]:
    """The numeric arrays `keys` of an .npz file (int, unsigned or float unless `kinds`)."""
    members = read_members(path, keys, kinds)
    for key, value in members.items():
        if not isinstance(value, np.ndarray):
            raise DatasetError(f"{path}: array {key!r} holds Python objects, expected numbers")
    return members


def read_members(path: str | os.PathLike, keys: tuple[str, ...],
                 kinds: str = "iuf") -> dict[str, np.ndarray | list[list[int]]]:
    """Arrays `keys` of a Keras dataset .npz: numeric ones as arrays of dtype kind `kinds`,
    object arrays of int lists (IMDB, Reuters) as lists of lists of ints.

    Raises:
        DatasetError naming the file: not a sound .npz (sizes, names and headers are checked
        before anything is inflated), a missing key, or a member of another kind.
    """
    where = str(path)
    try:
        with open_zip(Path(path), where) as archive:
            infos = check_members(archive, where, pattern=_KEY)
            for key in keys:
                if f"{key}.npy" not in infos:
                    present = [name[:-len(".npy")] for name in infos]
                    raise DatasetError(f"{where}: no array {key!r}; the file holds {present}")
            result = {}
            for key in keys:
                data = read_member(archive, infos[f"{key}.npy"], where)
                label = f"{where}: {key}.npy"
                if _is_object_array(data, label):
                    result[key] = read_int_lists(data, label)
                else:
                    result[key] = read_npy(data, label, kinds)
            return result
    except ModelFileError as error:
        raise DatasetError(str(error)) from error


def _header(stream: io.BytesIO, where: str) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) of .npy bytes, through NumPy's literal-only parser."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream, _NPY_MAX_HEADER)
        if version in ((2, 0), (3, 0)):  # 3.0 differs only in the header's text encoding
            return np.lib.format.read_array_header_2_0(stream, _NPY_MAX_HEADER)
    except (ValueError, SyntaxError, TypeError, OverflowError, RecursionError) as error:
        raise DatasetError(f"{where}: invalid .npy header: {error}") from error
    raise DatasetError(f"{where}: unsupported .npy format version {version}")


def _is_object_array(data: bytes, where: str) -> bool:
    return _header(io.BytesIO(data), where)[2].hasobject


def read_int_lists(data: bytes, where: str = "array") -> list[list[int]]:
    """The items of a 1-d object array of int lists, from its .npy bytes, without pickle.

    See the module's docstring for what is read and what is refused.
    """
    stream = io.BytesIO(data)
    shape, fortran, dtype = _header(stream, where)
    if dtype != np.dtype(object) or len(shape) != 1:
        raise DatasetError(f"{where}: expected a 1-d object array, got dtype {dtype} "
                           f"and shape {shape}")
    try:
        value = _PickleData(data, stream.tell(), where).run()
    except IndexError:  # read past the end, or popped an empty stack or mark list
        raise DatasetError(f"{where}: the pickle stream is truncated or malformed") from None
    items = _array_items(value, where)
    if len(items) != shape[0]:
        raise DatasetError(f"{where}: the header declares {shape[0]} items, the stream "
                           f"holds {len(items)}")
    for index, item in enumerate(items):
        if type(item) is not list or not all(type(word) is int for word in item):
            raise DatasetError(f"{where}: item {index} is not a list of ints")
    return items


class _Global:
    """A global the stream names (module, name): kept as a name, never imported."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name


class _Reduced:
    """REDUCE and BUILD, recorded: the callable's name, its arguments, the state set later."""

    def __init__(self, function: _Global, arguments: tuple):
        self.function, self.arguments, self.state = function, arguments, None


_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
}


def _array_items(value, where: str) -> list:
    """The item list of NumPy's pickle of an object array, checked against its exact shape."""

    def refuse(problem: str):
        return DatasetError(f"{where}: not NumPy's pickle of an object array ({problem})")

    if not isinstance(value, _Reduced) or value.function.name != "_reconstruct":
        raise refuse("the stream does not build an array")
    arguments = value.arguments
    if (len(arguments) != 3 or not isinstance(arguments[0], _Global)
            or arguments[0].name != "ndarray" or arguments[2] not in (b"b", "b")):
        raise refuse("unexpected _reconstruct arguments")
    state = value.state
    if not isinstance(state, tuple) or len(state) != 5:
        raise refuse("unexpected array state")
    _, shape, dtype, fortran, items = state
    if (not isinstance(dtype, _Reduced) or dtype.function.name != "dtype"
            or not dtype.arguments or dtype.arguments[0] not in ("O8", "O4", b"O8", b"O4")):
        raise refuse("its dtype is not object")
    if fortran not in (False, 0) or type(items) is not list:
        raise refuse("unexpected layout")
    if not isinstance(shape, tuple) or shape != (len(items),):
        raise refuse(f"shape {shape!r} for {len(items)} items")
    return items


_MARK = object()


class _PickleData:
    """The opcode walk of `read_int_lists` (see the module's docstring)."""

    def __init__(self, data: bytes, start: int, where: str):
        self.data, self.pos, self.where = data, start, where

    def fail(self, problem: str, pos: int | None = None) -> DatasetError:
        where = self.pos if pos is None else pos
        return DatasetError(f"{self.where}: refused to read the pickle stream at byte "
                            f"{where}: {problem}")

    def run(self):
        data = self.data
        stack: list = []
        marks: list[int] = []
        memo: dict[int, object] = {}
        push = stack.append
        pos = self.pos
        while True:
            op = data[pos]
            # The word indices: by far the most frequent opcodes, so tested first.
            if op == 0x4B:  # BININT1: 1-byte unsigned
                push(data[pos + 1])
                pos += 2
            elif op == 0x4D:  # BININT2: 2-byte little-endian unsigned
                push(data[pos + 1] | data[pos + 2] << 8)
                pos += 3
            elif op == 0x4A:  # BININT: 4-byte little-endian signed
                push(int.from_bytes(self.take(pos + 1, 4), "little", signed=True))
                pos += 5
            elif op == 0x65:  # APPENDS: the items since the last MARK onto the list before it
                start = marks.pop()
                items = stack[start:]
                del stack[start:]
                self.target(stack, pos).extend(items)
                pos += 1
            elif op == 0x61:  # APPEND
                item = stack.pop()
                self.target(stack, pos).append(item)
                pos += 1
            elif op == 0x5D:  # EMPTY_LIST
                push([])
                pos += 1
            elif op == 0x28:  # MARK
                marks.append(len(stack))
                pos += 1
            elif op == 0x94:  # MEMOIZE
                memo[len(memo)] = stack[-1]
                pos += 1
            elif op == 0x71:  # BINPUT
                memo[data[pos + 1]] = stack[-1]
                pos += 2
            elif op == 0x72:  # LONG_BINPUT
                memo[struct.unpack("<I", self.take(pos + 1, 4))[0]] = stack[-1]
                pos += 5
            elif op in (0x68, 0x6A):  # BINGET, LONG_BINGET
                size = 1 if op == 0x68 else 4
                index = int.from_bytes(self.take(pos + 1, size), "little")
                if index not in memo:
                    raise self.fail(f"memo entry {index} was never stored", pos)
                push(memo[index])
                pos += 1 + size
            elif op == 0x2E:  # STOP
                if len(stack) != 1 or marks:
                    raise self.fail("the stream ends with an unbalanced stack", pos)
                if pos + 1 != len(data):
                    raise self.fail(f"{len(data) - pos - 1} bytes after the end of the pickle",
                                    pos)
                return stack[0]
            else:
                self.pos = pos
                pos = self.other(op, pos, stack, marks)

    def take(self, start: int, size: int) -> bytes:
        chunk = self.data[start:start + size]
        if len(chunk) != size:
            raise IndexError
        return chunk

    def target(self, stack: list, pos: int) -> list:
        if not stack or type(stack[-1]) is not list:
            raise self.fail("APPEND onto something that is not a list", pos)
        return stack[-1]

    def other(self, op: int, pos: int, stack: list, marks: list[int]) -> int:
        """The rarer opcodes (the array's frame, header and dtype); the next position."""
        if op == 0x80:  # PROTO
            if self.data[pos + 1] > 5:
                raise self.fail(f"pickle protocol {self.data[pos + 1]}")
            return pos + 2
        if op == 0x95:  # FRAME: a length hint only
            self.take(pos + 1, 8)
            return pos + 9
        if op == 0x8A:  # LONG1: an n-byte little-endian signed int
            size = self.data[pos + 1]
            if size > 8:
                raise self.fail(f"an integer of {size} bytes")
            stack.append(int.from_bytes(self.take(pos + 2, size), "little", signed=True))
            return pos + 2 + size
        if op in _STRINGS:  # strings and bytes: constants
            length_size, kind = _STRINGS[op]
            size = int.from_bytes(self.take(pos + 1, length_size), "little")
            raw = self.take(pos + 1 + length_size, size)
            try:
                stack.append(raw if kind == "bytes" else raw.decode(kind))
            except UnicodeDecodeError as error:
                raise self.fail(f"a string that is not {kind}: {error}") from None
            return pos + 1 + length_size + size
        if op in _CONSTANTS:
            stack.append(_CONSTANTS[op])
            return pos + 1
        if op in (0x29, 0x74, 0x6C):  # EMPTY_TUPLE, TUPLE, LIST
            start = marks.pop() if op != 0x29 else len(stack)
            items = stack[start:]
            del stack[start:]
            stack.append(items if op == 0x6C else tuple(items))
            return pos + 1
        if op in (0x85, 0x86, 0x87):  # TUPLE1, TUPLE2, TUPLE3
            count = op - 0x84
            if len(stack) < count:
                raise self.fail("a tuple of more items than the stack holds")
            items = tuple(stack[-count:])
            del stack[-count:]
            stack.append(items)
            return pos + 1
        if op == 0x63:  # GLOBAL: "module\nname\n"
            end = self.data.find(b"\n", pos + 1)
            end = self.data.find(b"\n", end + 1) if end >= 0 else -1
            if end < 0:
                raise IndexError
            module, name = self.data[pos + 1:end].decode("ascii", "replace").split("\n")
            stack.append(self.named(module, name))
            return end + 1
        if op == 0x93:  # STACK_GLOBAL
            name, module = stack.pop(), stack.pop()
            if not isinstance(module, str) or not isinstance(name, str):
                raise self.fail("STACK_GLOBAL of non-strings")
            stack.append(self.named(module, name))
            return pos + 1
        if op == 0x52:  # REDUCE: recorded, not called
            arguments, function = stack.pop(), stack.pop()
            if not isinstance(function, _Global) or not isinstance(arguments, tuple):
                raise self.fail("REDUCE of something that is not an allowed global")
            stack.append(_Reduced(function, arguments))
            return pos + 1
        if op == 0x62:  # BUILD: the state of the record below it
            state = stack.pop()
            if not stack or not isinstance(stack[-1], _Reduced) or stack[-1].state is not None:
                raise self.fail("BUILD on something that REDUCE did not make")
            stack[-1].state = state
            return pos + 1
        name = _OPCODE_NAMES.get(op, f"byte 0x{op:02x}")
        raise self.fail(f"opcode {name} is not part of an array of int lists")

    def named(self, module: str, name: str) -> _Global:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise self.fail(f"global {module}.{name} (only NumPy's array globals are allowed)")
        return _Global(module, name)


# opcode -> (bytes of the length field, "bytes" or the text encoding)
_STRINGS = {
    0x43: (1, "bytes"),    # SHORT_BINBYTES
    0x42: (4, "bytes"),    # BINBYTES
    0x8C: (1, "utf-8"),    # SHORT_BINUNICODE
    0x58: (4, "utf-8"),    # BINUNICODE
    0x55: (1, "latin-1"),  # SHORT_BINSTRING (a Python 2 str)
    0x54: (4, "latin-1"),  # BINSTRING
}
_CONSTANTS = {0x4E: None, 0x88: True, 0x89: False}  # NONE, NEWTRUE, NEWFALSE
# Names of refused opcodes, for the error message.
_OPCODE_NAMES = {0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX",
                 0x50: "PERSID", 0x51: "BINPERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
                 0x7D: "EMPTY_DICT", 0x64: "DICT", 0x73: "SETITEM", 0x75: "SETITEMS",
                 0x8F: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x49: "INT",
                 0x4C: "LONG", 0x46: "FLOAT", 0x47: "BINFLOAT", 0x53: "STRING",
                 0x56: "UNICODE", 0x70: "PUT", 0x67: "GET", 0x30: "POP", 0x31: "POP_MARK",
                 0x32: "DUP", 0x8B: "LONG4", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
                 0x98: "READONLY_BUFFER"}


__all__ = ["read_arrays", "read_int_lists", "read_members"]
