"""Keras' ragged .npz members read as data, never unpickled: every pickle NumPy writes for an
object array of int lists is read, anything else is refused without running it."""

from __future__ import annotations

import io
import os
import pickle
import struct

import numpy as np
import pytest

from _dataset_files import npz_bytes, object_array
from glassnet.datasets import DatasetError
from glassnet.datasets.keras_npz import read_arrays, read_int_lists, read_members

LISTS = [[1, 2, 300], [70000], [], [5, 255, 256, 65535, 65536, 2**31 - 1], [1] * 1500]


def npy(payload: bytes, count: int) -> bytes:
    """An object-array .npy: NumPy's header for shape (count,), then `payload`."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|O", "fortran_order": False, "shape": (count,)})
    return buffer.getvalue() + payload


def python2_pickle(lists) -> bytes:
    """The stream NumPy wrote under Python 2 (protocol 2, GLOBAL names, str as BINSTRING):
    the form of Keras' hosted files, which predate NumPy 2 ("numpy.core.multiarray")."""

    def integer(value):
        if value < 256:
            return b"K" + bytes([value])
        if value < 65536:
            return b"M" + struct.pack("<H", value)
        return b"J" + struct.pack("<i", value)

    items = b""
    for index, values in enumerate(lists):
        items += b"]r" + struct.pack("<I", index + 7)
        if len(values) == 1:
            items += integer(values[0]) + b"a"
        elif values:
            items += b"(" + b"".join(integer(v) for v in values) + b"e"
    return (b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02"
            b"K\x00\x85q\x03U\x01b\x87Rq\x04(K\x01" + integer(len(lists)) + b"\x85"
            b"cnumpy\ndtype\nq\x05U\x02O8K\x00K\x01\x87Rq\x06"
            b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89"
            b"]q\x07(" + items + b"etb.")


@pytest.mark.parametrize("protocol", [3, 4, 5])
def test_numpy_object_arrays_of_every_python3_protocol_are_read(protocol):
    data = npy(pickle.dumps(object_array(LISTS), protocol=protocol), len(LISTS))
    assert read_int_lists(data) == LISTS


def test_numpys_own_writer_and_the_python2_form_are_read():
    buffer = io.BytesIO()
    np.save(buffer, object_array(LISTS), allow_pickle=True)
    assert read_int_lists(buffer.getvalue()) == LISTS
    stream = python2_pickle(LISTS)
    assert pickle.loads(stream, encoding="latin1").tolist() == LISTS  # the form is right
    assert read_int_lists(npy(stream, len(LISTS))) == LISTS


class RunsCode:
    """Unpickling this would call os.system: the classic pickle attack."""

    def __reduce__(self):
        return os.system, ("echo attacked",)


ARRAY = pickle.dumps(object_array(LISTS), protocol=4)


@pytest.mark.parametrize("payload, message", [
    (pickle.dumps(RunsCode(), protocol=4), "global posix.system|global nt.system"),
    (pickle.dumps(object_array(LISTS), protocol=2), "global _codecs.encode"),
    (pickle.dumps(object_array(["a", "b", "c", "d", "e"]), protocol=4), "item 0 is not a list"),
    (pickle.dumps(object_array([{1: 2}] * 5), protocol=4), "EMPTY_DICT"),
    (pickle.dumps(object_array([[1.5]] * 5), protocol=4), "BINFLOAT"),
    (pickle.dumps(object_array([[True]] * 5), protocol=4), "not a list of ints"),
    (pickle.dumps([[1, 2]], protocol=4), "does not build an array"),
    (pickle.dumps(np.zeros(5), protocol=4), "dtype is not object"),
    (ARRAY[:-7], "truncated"),
    (ARRAY + b"\0", "bytes after the end"),
])
def test_anything_but_an_array_of_int_lists_is_refused(payload, message):
    with pytest.raises(DatasetError, match=message):
        read_int_lists(npy(payload, len(LISTS)), "x.npy")


def test_the_header_must_agree_with_the_stream():
    payload = pickle.dumps(object_array(LISTS), protocol=4)
    with pytest.raises(DatasetError, match="declares 4 items"):
        read_int_lists(npy(payload, 4))
    with pytest.raises(DatasetError, match="1-d object array"):
        read_int_lists(npy(payload, len(LISTS)).replace(b"'|O'", b"'<i8'"))


def test_npz_members_numeric_and_ragged(tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes(npz_bytes(x=object_array(LISTS), y=np.arange(5)))
    members = read_members(path, ("x", "y"))
    assert members["x"] == LISTS
    np.testing.assert_array_equal(members["y"], np.arange(5))
    with pytest.raises(DatasetError, match="holds Python objects"):
        read_arrays(path, ("x",))
    with pytest.raises(DatasetError, match=r"no array 'z'; the file holds \['x', 'y'\]"):
        read_members(path, ("z",))
    path.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DatasetError, match="not a valid zip"):
        read_members(path, ("x",))
