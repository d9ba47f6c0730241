"""The HDF5 half of a Keras 3 file: `model.weights.h5` as {group path: arrays}, both ways.

Keras 3 (saving_lib.H5IOStore) keeps each object's variables in a group "<path>/vars" that
holds the datasets "0", "1", ... in the object's variable order, and the object's name in the
group's "name" attribute. The paths are attribute names, not layer names:

    vars                            the model's own variables (none)
    layers/dense/vars/0, 1          a Dense layer's kernel and bias ("dense_1" for the next)
    layers/lstm/cell/vars/0, 1, 2   an RNN keeps its weights in its cell
    optimizer/vars/0, 1, ...        iterations, learning rate, then the slots

Reading treats the bytes as untrusted, with the limits of `archive.py`. h5py opens bytes
whose size was capped before they were read; links other than hard links, external and
virtual datasets, filters (compression), non-numeric dtypes and datasets outside a "vars"
group are refused; each dataset's declared size is compared with the bytes it stores, and
the total with the size of the file, before anything is read; the number of objects is
capped. Nothing in an HDF5 file is code, and no attribute is read. Any error becomes a
`ModelFileError` naming the file.

    >>> groups = read_variables(data, "model.keras: model.weights.h5")
    >>> groups["layers/dense"]                      # [kernel, bias]
    >>> data = variables_bytes([("layers/dense", "dense", [kernel, bias])])
"""

from __future__ import annotations

import io
import math

import numpy as np

from glassnet.saving import archive
from glassnet.saving.archive import ModelFileError

INSTALL_HINT = 'pip install "glassnet[keras]"'
VARS = "vars"
_KINDS = "fiub"                 # float, signed, unsigned, bool: no strings, objects, records

# What h5py and libhdf5 raise on a damaged file (OSError above all: "truncated file",
# "bad object header"), besides the ModelFileErrors of the checks below.
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError, IndexError,
              AttributeError, OverflowError, RecursionError)


def require_h5py():
    """The h5py module, or an ImportError with the command that installs it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(f"Keras files (.keras, .weights.h5) need h5py: {INSTALL_HINT}"
                          ) from None
    return h5py


# ----- reading ------------------------------------------------------------------------------
def read_variables(data: bytes, where: str) -> dict[str, list[np.ndarray]]:
    """{path: arrays} of every "<path>/vars" group of an HDF5 file given as bytes.

    The root's own "vars" group has the path "". Groups without "vars" (such as "layers")
    only hold other groups; a "vars" group holds only datasets named 0, 1, ... n-1.

    Raises:
        ModelFileError naming `where`: not an HDF5 file, or anything the checks refuse.
        ImportError: h5py is not installed.
    """
    h5py = require_h5py()
    try:
        with h5py.File(io.BytesIO(data), "r") as h5_file:
            return _read_groups(h5py, h5_file, len(data), where)
    except ModelFileError:
        raise
    except _H5_ERRORS as error:
        raise ModelFileError(f"{where}: not a valid HDF5 file (truncated or corrupted?): "
                             f"{error}") from error


def _read_groups(h5py, h5_file, size: int, where: str) -> dict[str, list[np.ndarray]]:
    datasets: dict[str, list] = {}
    stack, count, seen = [("", h5_file)], 0, {h5_file.id}
    while stack:                                  # an explicit stack: no recursion limit
        path, group = stack.pop()
        for key in list(group.keys()):
            count += 1
            if count > archive.MAX_ARRAYS:
                raise ModelFileError(f"{where}: more than {archive.MAX_ARRAYS:,} HDF5 objects")
            child_path = f"{path}/{key}" if path else key
            child = _hard_linked(h5py, group, key, child_path, where)
            if child.id in seen:                  # two hard links to one object, or a cycle
                raise ModelFileError(f"{where}: HDF5 object {child_path!r} is linked twice")
            seen.add(child.id)
            if key == VARS and isinstance(child, h5py.Group):
                datasets[path] = _vars_datasets(h5py, child, child_path, where)
            elif isinstance(child, h5py.Group):
                stack.append((child_path, child))
            else:
                raise ModelFileError(f"{where}: unexpected HDF5 object {child_path!r} "
                                     f"({type(child).__name__}); Keras keeps arrays only in "
                                     f"'vars' groups")
    total = sum(_declared_bytes(ds) for group in datasets.values() for ds in group)
    if total > min(size, archive.MAX_TOTAL_BYTES):
        raise ModelFileError(f"{where}: datasets declare {total:,} bytes, more than the "
                             f"{size:,} bytes of the file (or the limit "
                             f"{archive.MAX_TOTAL_BYTES:,}, glassnet.saving.MAX_TOTAL_BYTES)")
    return {path: [_read_dataset(ds, f"{path}/{VARS}/{i}".lstrip("/"), where)
                   for i, ds in enumerate(group)]
            for path, group in sorted(datasets.items())}


def _hard_linked(h5py, group, key: str, path: str, where: str):
    """group[key], refused unless a hard link (a soft link can point anywhere, an external
    link into another file) to a group or a dataset."""
    link = group.get(key, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise ModelFileError(f"{where}: HDF5 object {path!r} is a {type(link).__name__}; "
                             f"only plain (hard) links are allowed")
    child = group[key]
    if not isinstance(child, (h5py.Group, h5py.Dataset)):
        raise ModelFileError(f"{where}: unexpected HDF5 object {path!r} "
                             f"({type(child).__name__})")
    return child


def _vars_datasets(h5py, group, path: str, where: str) -> list:
    """The datasets "0" ... "n-1" of a vars group, in order, each checked (not yet read)."""
    keys = list(group.keys())
    expected = [str(i) for i in range(len(keys))]
    if sorted(keys, key=lambda k: (len(k), k)) != expected:
        raise ModelFileError(f"{where}: group {path!r} must hold datasets named 0 to "
                             f"{len(keys) - 1}, got {sorted(keys)[:10]}")
    datasets = []
    for key in expected:
        dataset = _hard_linked(h5py, group, key, f"{path}/{key}", where)
        if not isinstance(dataset, h5py.Dataset):
            raise ModelFileError(f"{where}: {path}/{key} must be a dataset, got a group")
        _check_dataset(dataset, f"{path}/{key}", where)
        datasets.append(dataset)
    return datasets


def _check_dataset(dataset, path: str, where: str) -> None:
    if dataset.shape is None:
        raise ModelFileError(f"{where}: dataset {path!r} is empty (no dataspace)")
    if dataset.external or dataset.is_virtual:
        raise ModelFileError(f"{where}: dataset {path!r} keeps its data outside the file "
                             f"(external or virtual), which is refused")
    dtype = dataset.dtype
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ModelFileError(f"{where}: dataset {path!r} has dtype {dtype!s}; weights must "
                             f"be numeric (float, int, bool)")
    if dataset.id.get_create_plist().get_nfilters():
        raise ModelFileError(f"{where}: dataset {path!r} is filtered (compressed); Keras "
                             f"writes plain datasets, and glassnet reads only those")
    declared, stored = _declared_bytes(dataset), dataset.id.get_storage_size()
    if declared != stored:
        raise ModelFileError(f"{where}: dataset {path!r} declares shape {dataset.shape} of "
                             f"{dtype} ({declared:,} bytes) but stores {stored:,} bytes")


def _declared_bytes(dataset) -> int:
    return math.prod(dataset.shape) * dataset.dtype.itemsize      # Python ints: no overflow


def _read_dataset(dataset, path: str, where: str) -> np.ndarray:
    try:
        value = np.asarray(dataset[()])
    except _H5_ERRORS as error:
        raise ModelFileError(f"{where}: cannot read dataset {path!r}: {error}") from error
    if value.shape != dataset.shape:
        raise ModelFileError(f"{where}: dataset {path!r} read as shape {value.shape}, its "
                             f"header says {dataset.shape}")
    return value.astype(value.dtype.newbyteorder("="), copy=False)


# ----- writing ------------------------------------------------------------------------------
def variables_bytes(groups: list[tuple[str, str, list]]) -> bytes:
    """An HDF5 file, as bytes, with one "<path>/vars" group per (path, name, arrays).

    As Keras: the group's "name" attribute is the object's name, its datasets "0", "1", ...
    the arrays in order; path "" is the root's own "vars" group.
    """
    h5py = require_h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5_file:
        for path, name, arrays in groups:
            parent = h5_file.require_group(path) if path else h5_file
            group = parent.create_group(VARS)
            group.attrs["name"] = name
            for index, array in enumerate(arrays):
                group.create_dataset(str(index), data=np.asarray(array))
    return buffer.getvalue()


__all__ = ["INSTALL_HINT", "read_variables", "require_h5py", "variables_bytes"]
