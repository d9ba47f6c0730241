"""MNIST and Fashion-MNIST from their original gzipped IDX files.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.mnist()
    >>> x_train.shape, x_train.dtype, y_train.shape
    ((60000, 28, 28), dtype('uint8'), (60000,))

Same arrays as `keras.datasets.mnist.load_data()`: uint8 pixels 0..255 and uint8 labels 0..9.
Scale with `x / 255.0` (or `x.astype("float32") / 255`) before training.

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

from glassnet.datasets._files import DatasetError, fetch

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


def mnist(data_dir: str | os.PathLike | None = None):
    """The MNIST handwritten digits: 60000 training and 10000 test images, 28x28, labels 0..9.

    Files are looked up as `<folder>/mnist/<file>.gz` in `data_dir`, `$GLASSNET_DATA` and the
    user cache, else downloaded (see `glassnet.datasets._files`), and checked by SHA-256.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x uint8 (n, 28, 28), y uint8 (n,),
        n = 60000 and 10000.
    """
    return _load_pair("mnist", data_dir)


def fashion_mnist(data_dir: str | os.PathLike | None = None):
    """Fashion-MNIST (Zalando): 28x28 grey clothing images in 10 classes, shaped as MNIST.

    Class names, by label: `FASHION_MNIST_CLASSES`. 6000 training and 1000 test images each.
    Files: `<folder>/fashion-mnist/<file>.gz`, looked up and verified as for `mnist`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x uint8 (n, 28, 28), y uint8 (n,).
    """
    return _load_pair("fashion-mnist", data_dir)


def _load_pair(folder: str, data_dir):
    arrays = {}
    for name, file_name in _FILES.items():
        magic = IMAGES_MAGIC if name.startswith("x") else LABELS_MAGIC
        arrays[name] = read_idx(fetch(f"{folder}/{file_name}", data_dir), magic)
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(x) != len(y):
            raise DatasetError(f"{folder} {split}: {len(x)} images but {len(y)} labels")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """The array stored in an IDX file (gzipped if the name ends in `.gz`).

    Args:
        path: the file.
        magic: the expected magic number (2051 images, 2049 labels), or None for any.

    Returns:
        An array of the header's shape, in native byte order (uint8 for MNIST).

    Raises:
        DatasetError: bad gzip stream, wrong magic number, or a payload whose length does
            not match the sizes in the header (checked before anything is reshaped).
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DatasetError(f"{path}: {len(data)} bytes is too short for an IDX header")
    zeros, type_code, ndim = struct.unpack(">HBB", data[:4])
    found = int.from_bytes(data[:4], "big")
    if zeros != 0 or type_code not in _IDX_TYPES or (magic is not None and found != magic):
        expected = f"{magic}" if magic is not None else "an IDX magic number"
        raise DatasetError(f"{path}: not an IDX file (magic number {found}, expected {expected})")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dims)")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = np.dtype(_IDX_TYPES[type_code])
    # Python ints: a lying header cannot overflow here, and nothing is allocated from it.
    expected_bytes = math.prod(shape) * dtype.itemsize
    payload = len(data) - header_size
    if payload != expected_bytes:
        raise DatasetError(
            f"{path}: header says shape {shape} ({expected_bytes} bytes of data), "
            f"but the file holds {payload} bytes after the header (truncated or corrupt)"
        )
    values = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as file:
            return file.read()
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise DatasetError(f"{path}: not a complete gzip file ({error})") from error


__all__ = ["FASHION_MNIST_CLASSES", "fashion_mnist", "mnist", "read_idx"]
