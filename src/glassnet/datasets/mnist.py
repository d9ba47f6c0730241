"""MNIST and Fashion-MNIST from their original gzipped IDX files.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.mnist.load_data()  # Keras
    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.mnist()            # the same
    >>> x_train.shape, x_train.dtype, y_train.shape
    ((60000, 28, 28), dtype('uint8'), (60000,))

Same arrays as `keras.datasets.mnist.load_data()`: uint8 pixels 0..255 and uint8 labels 0..9.
Scale with `x / 255.0` (or `x.astype("float32") / 255`) before training. This module is
callable: `mnist(...)` is the function `mnist` below.

With `mmap_dir`, the arrays are np.memmap views of .npy files written there once: the data
stays on disk and `fit` reads one batch at a time (see `as_memmap`).

IDX format (LeCun): a big-endian header, then the values in C order.
    bytes 0-1  zero
    byte  2    value type (0x08 = unsigned byte)
    byte  3    number of dimensions k
    then k big-endian uint32 sizes, then prod(sizes) values.
So the magic number (bytes 0-3 as one uint32) is 2051 = 0x0803 for 3-d ubyte images and
2049 = 0x0801 for 1-d ubyte labels.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from glassnet.datasets._callable import make_callable
from glassnet.datasets._files import DatasetError, fetch
from glassnet.datasets.keras_npz import read_arrays
from glassnet.io import atomic_write

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

# IDX value-type byte -> big-endian NumPy dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


def mnist(data_dir: str | os.PathLike | None = None,
          mmap_dir: str | os.PathLike | None = None):
    """The MNIST handwritten digits: 60000 training and 10000 test images, 28x28, labels 0..9.

    Files are looked up as `<folder>/mnist/<file>.gz` in `data_dir`, `$GLASSNET_DATA` and the
    user cache, else downloaded (see `glassnet.datasets._files`), and checked by SHA-256.

    Args:
        mmap_dir: if given, return read-only np.memmap arrays backed by
            `<mmap_dir>/mnist-x_train.npy` etc. (written on the first call).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x uint8 (n, 28, 28), y uint8 (n,),
        n = 60000 and 10000.
    """
    return _load_pair("mnist", data_dir, mmap_dir)


def load_data(path: str | os.PathLike = "mnist.npz", *, data_dir: str | os.PathLike | None = None,
              mmap_dir: str | os.PathLike | None = None):
    """MNIST as `keras.datasets.mnist.load_data()` returns it (the same arrays as `mnist()`).

    Args:
        path: Keras' file name. Left at "mnist.npz", glassnet reads the original IDX files
            (see `mnist`). Any other value names a copy of Keras' own `mnist.npz`, relative
            to the data folders or absolute (downloaded there from Keras' mirror if missing),
            which must match Keras' SHA-256; it is read without pickle.
        data_dir: a folder searched first (glassnet's; keyword only).
        mmap_dir: as for `mnist`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x uint8 (n, 28, 28), y uint8 (n,),
        n = 60000 and 10000.
    """
    if os.fspath(path) == "mnist.npz":
        return _load_pair("mnist", data_dir, mmap_dir)
    arrays = read_arrays(fetch("mnist.npz", data_dir, path),
                         ("x_train", "y_train", "x_test", "y_test"))
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise DatasetError(f"{path}: {split} arrays of shapes {x.shape} and {y.shape}; "
                               "expected (n, 28, 28) and (n,)")
    if mmap_dir is not None:
        Path(mmap_dir).mkdir(parents=True, exist_ok=True)
        arrays = {name: as_memmap(array, Path(mmap_dir) / f"mnist-{name}.npy")
                  for name, array in arrays.items()}
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def fashion_mnist(data_dir: str | os.PathLike | None = None,
                  mmap_dir: str | os.PathLike | None = None):
    """Fashion-MNIST (Zalando): 28x28 grey clothing images in 10 classes, shaped as MNIST.

    Class names, by label: `FASHION_MNIST_CLASSES`. 6000 training and 1000 test images each.
    Files: `<folder>/fashion-mnist/<file>.gz`, looked up and verified as for `mnist`;
    `mmap_dir` as for `mnist`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x uint8 (n, 28, 28), y uint8 (n,).
    """
    return _load_pair("fashion-mnist", data_dir, mmap_dir)


def _load_pair(folder: str, data_dir, mmap_dir=None):
    arrays = {}
    for name, file_name in _FILES.items():
        magic = IMAGES_MAGIC if name.startswith("x") else LABELS_MAGIC
        arrays[name] = read_idx(fetch(f"{folder}/{file_name}", data_dir), magic)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise DatasetError(f"{folder} {split}: {len(x)} images but {len(y)} labels")
    if mmap_dir is not None:
        Path(mmap_dir).mkdir(parents=True, exist_ok=True)
        arrays = {name: as_memmap(array, Path(mmap_dir) / f"{folder}-{name}.npy")
                  for name, array in arrays.items()}
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def as_memmap(array: np.ndarray, path: str | os.PathLike) -> np.memmap:
    """`array` as a read-only np.memmap of the .npy file `path`, written (atomically) unless
    it already holds exactly this array.

    A memory-mapped array lives on disk: the operating system pages in the parts that are
    read, so `fit` on it holds one batch in memory, not the data set.

    Example:
        >>> x = as_memmap(np.zeros((1000, 784), "float32"), "x.npy")
        >>> isinstance(x, np.memmap), x.shape
        (True, (1000, 784))
    """
    path = Path(path)
    array = np.asarray(array)
    if path.exists():
        try:
            existing = np.load(path, mmap_mode="r", allow_pickle=False)
            if (existing.dtype == array.dtype and existing.shape == array.shape
                    and np.array_equal(existing, array)):
                return existing
        except (ValueError, OSError):
            pass  # not a valid .npy: written anew below
    with atomic_write(path) as handle:
        np.lib.format.write_array(handle, np.ascontiguousarray(array), allow_pickle=False)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """The array stored in an IDX file (gzipped if the name ends in `.gz`).

    Args:
        path: the file.
        magic: the expected magic number (2051 images, 2049 labels), or None for any.

    Returns:
        An array of the header's shape, in native byte order (uint8 for MNIST).

    Raises:
        DatasetError: bad gzip stream, wrong magic number, a payload whose length does
            not match the sizes in the header (checked before anything is reshaped), or a
            header declaring more than MAX_IDX_BYTES, or more than
            `glassnet.saving.MAX_DATA_COMPRESSION_RATIO` (100:1) times the .gz file's size
            (checked before anything is inflated: a likely decompression bomb).
    """
    path = Path(path)
    compressed = path.suffix == ".gz"
    # The header is read first and the payload after it, never more than the header
    # declares (plus one byte, to notice extra data): a gzip bomb is never inflated.
    with gzip.open(path, "rb") if compressed else open(path, "rb") as file:
        head = _read_bytes(file, 4, path)
        if len(head) < 4:
            raise DatasetError(f"{path}: {len(head)} bytes is too short for an IDX header")
        zeros, type_code, ndim = struct.unpack(">HBB", head)
        found = int.from_bytes(head, "big")
        if zeros != 0 or type_code not in _IDX_TYPES or (magic is not None and found != magic):
            expected = f"{magic}" if magic is not None else "an IDX magic number"
            raise DatasetError(f"{path}: not an IDX file (magic number {found}, "
                               f"expected {expected})")
        sizes = _read_bytes(file, 4 * ndim, path)
        header_size = 4 + 4 * ndim
        if len(sizes) < 4 * ndim:
            raise DatasetError(f"{path}: truncated IDX header ({4 + len(sizes)} bytes, "
                               f"{ndim} dims)")
        shape = struct.unpack(f">{ndim}I", sizes)
        dtype = np.dtype(_IDX_TYPES[type_code])
        # Python ints: a lying header cannot overflow here, and nothing is allocated from it.
        expected_bytes = math.prod(shape) * dtype.itemsize
        _check_declared_size(path, shape, expected_bytes, header_size, compressed)
        data = _read_bytes(file, expected_bytes + 1, path)
    if len(data) != expected_bytes:
        held = len(data) if len(data) < expected_bytes else f"more than {expected_bytes}"
        raise DatasetError(
            f"{path}: header says shape {shape} ({expected_bytes} bytes of data), "
            f"but the file holds {held} bytes after the header (truncated or corrupt)"
        )
    try:
        values = np.frombuffer(data, dtype=dtype).reshape(shape)
    except ValueError as error:  # e.g. (0, 2**32 - 1, 2**32 - 1): no bytes, too many items
        raise DatasetError(f"{path}: header shape {shape} is not a valid array shape "
                           f"({error})") from error
    return values.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


# Cap on untrusted IDX files (a module attribute, so a caller with bigger data can raise it).
MAX_IDX_BYTES = 2**31  # one file's values; MNIST's training images are 47 MB
# The compression ratio a .gz may have is the one limit of every data file,
# glassnet.saving.MAX_DATA_COMPRESSION_RATIO (100:1 unless raised; MNIST's images are ~5:1).


def _check_declared_size(path: Path, shape: tuple, expected_bytes: int, header_size: int,
                         compressed: bool) -> None:
    """Refuse a header that declares more data than the file can hold, before reading it."""
    from glassnet import saving

    size = path.stat().st_size
    if not compressed and expected_bytes != size - header_size:
        raise DatasetError(
            f"{path}: header says shape {shape} ({expected_bytes} bytes of data), "
            f"but the file holds {size - header_size} bytes after the header (truncated or "
            "corrupt)"
        )
    if expected_bytes > MAX_IDX_BYTES:
        raise DatasetError(
            f"{path}: header says shape {shape} ({expected_bytes:,} bytes of data), more than "
            f"the limit of {MAX_IDX_BYTES:,} (glassnet.datasets.mnist.MAX_IDX_BYTES)"
        )
    ratio, limit = expected_bytes / max(size, 1), saving.MAX_DATA_COMPRESSION_RATIO
    if compressed and ratio > limit and expected_bytes > saving.archive.SMALL_BYTES:
        raise DatasetError(
            f"{path}: header says shape {shape} ({expected_bytes:,} bytes of data) from a "
            f"{size:,}-byte file, a compression ratio of {ratio:,.0f}:1, more than {limit:,}:1 "
            "(glassnet.saving.MAX_DATA_COMPRESSION_RATIO): corrupt, or a decompression bomb"
        )


def _read_bytes(file, size: int, path: Path) -> bytes:
    """Up to `size` bytes of `file`; a broken gzip stream is a DatasetError."""
    try:
        return file.read(size)
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        if not isinstance(file, gzip.GzipFile):
            raise  # a disk error, not bad content
        raise DatasetError(f"{path}: not a complete gzip file ({error})") from error


__all__ = ["FASHION_MNIST_CLASSES", "as_memmap", "fashion_mnist", "load_data", "mnist",
           "read_idx"]

make_callable(__name__, mnist)
