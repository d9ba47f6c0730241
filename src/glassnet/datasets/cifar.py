"""CIFAR-10 and CIFAR-100 from their binary versions (`cifar-1*-binary.tar.gz`).

Keras reads the "python version" archives, whose batches are pickles; glassnet never
unpickles, so it reads the binary version of the same data set instead (same images, same
labels, same order: the CIFAR page documents both versions of the batches). A batch file
there is a run of fixed-size records:

    CIFAR-10   <label: 1 byte> <pixels: 3072 bytes>                      10000 per batch
    CIFAR-100  <coarse label: 1 byte> <fine label: 1 byte> <pixels: 3072>

with the pixels as 1024 red, then 1024 green, then 1024 blue values, each a 32x32 image in
row-major order: (3, 32, 32), moved to (32, 32, 3) as Keras returns them.

The archive is read as a stream and never extracted: only the expected members are read,
after their tar headers show regular files whose sizes are whole numbers of records.
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from glassnet.datasets._files import DatasetError

IMAGE_BYTES = 3 * 32 * 32
# A member larger than this is not a CIFAR batch (the largest, CIFAR-100's train.bin, is
# 153.7 MB); checked from the tar header before anything is read.
MAX_MEMBER_BYTES = 256 * 2**20


def read_members(path: Path, names: tuple[str, ...], label_bytes: int) -> dict[str, np.ndarray]:
    """{name: records (n, label_bytes + 3072) uint8} for each member `names` of the archive."""
    record = label_bytes + IMAGE_BYTES
    found: dict[str, np.ndarray] = {}
    try:
        with tarfile.open(path, mode="r|gz") as archive:
            for member in archive:
                if member.name not in names:
                    continue
                if member.name in found:
                    raise DatasetError(f"{path}: member {member.name} appears twice")
                if not member.isreg():
                    raise DatasetError(f"{path}: member {member.name} is not a regular file")
                if not 0 < member.size <= MAX_MEMBER_BYTES or member.size % record:
                    raise DatasetError(
                        f"{path}: member {member.name} has {member.size:,} bytes, not a whole "
                        f"number of {record}-byte records (at most {MAX_MEMBER_BYTES:,} bytes)")
                handle = archive.extractfile(member)
                data = handle.read(member.size) if handle is not None else b""
                if len(data) != member.size:
                    raise DatasetError(f"{path}: member {member.name} is truncated")
                found[member.name] = np.frombuffer(data, np.uint8).reshape(-1, record)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
        if isinstance(error, DatasetError):
            raise
        raise DatasetError(f"{path}: not a readable .tar.gz archive ({error})") from error
    missing = [name for name in names if name not in found]
    if missing:
        raise DatasetError(f"{path}: the archive lacks {missing}")
    return found


def images(records: np.ndarray, label_bytes: int) -> np.ndarray:
    """The images of records, uint8 (n, 32, 32, 3) (channels last, as Keras returns them)."""
    planes = records[:, label_bytes:].reshape(len(records), 3, 32, 32)
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1))


def labels(records: np.ndarray, column: int, classes: int, where: str) -> np.ndarray:
    """Label byte `column` of each record as (n, 1), checked to lie in 0..classes-1."""
    values = records[:, column:column + 1].copy()
    if values.size and values.max() >= classes:
        raise DatasetError(f"{where}: label {values.max()} outside 0..{classes - 1}")
    return values


__all__ = ["IMAGE_BYTES", "images", "labels", "read_members"]
