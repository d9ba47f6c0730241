"""Your own tables: numeric CSV files and NumPy .npz archives.

    >>> x, y = load_csv("iris.csv", target="species")
    >>> x, y, names = load_csv("iris.csv", target="species", return_names=True)
    >>> names.features, names.classes
    (['sepal_length', ...], ['setosa', 'versicolor', 'virginica'])
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from glassnet import saving
from glassnet.datasets._files import DatasetError
from glassnet.saving import ModelFileError, read_npz


class TableNames(NamedTuple):
    """Names returned by `load_csv(..., return_names=True)`."""

    features: list[str]  # one per column of x
    target: str | None  # the target column's name (None: no target)
    classes: list[str] | None  # label of each integer code of y, if the target held text


def load_csv(
    path: str | os.PathLike,
    target: str | int | None = -1,
    *,
    delimiter: str = ",",
    header: bool = True,
    return_names: bool = False,
):
    """Read a CSV file of numbers into x (inputs) and y (the target column).

    Every column but the target must hold numbers (no empty cells). The target column may
    hold numbers (y float32) or text class labels, which become integer codes 0..k-1 in
    sorted order of the labels (y int64; the labels are `names.classes`). Blank lines are
    skipped. Without a header, columns are named "column_0", "column_1", ...

    Args:
        path: the CSV file (UTF-8; a byte-order mark is allowed).
        target: the target column, by header name or by index (negative counts from the
            end; default -1, the last column), or None for no target (y is None).
        delimiter: the field separator.
        header: whether the first row holds column names.
        return_names: also return a `TableNames(features, target, classes)`.

    Returns:
        `(x, y)` or `(x, y, names)`: x float32 (n, d), y float32 or int64 (n,).

    Raises:
        DatasetError (a ValueError) naming the file, line and column: empty file, unknown
        target column, a row with the wrong number of fields, a cell that is not a number.
    """
    path = Path(path)
    rows = _read_rows(path, delimiter)
    if not rows:
        raise DatasetError(f"{path}: the file is empty")
    if header:
        columns = [name.strip() for name in rows.pop(0)[1]]
    else:
        columns = [f"column_{index}" for index in range(len(rows[0][1]))]
    if not rows:
        raise DatasetError(f"{path}: no data rows after the header")
    for line, row in rows:
        if len(row) != len(columns):
            raise DatasetError(
                f"{path}, line {line}: {len(row)} fields, expected {len(columns)} "
                f"(as in the {'header' if header else 'first row'})"
            )
    target_index = None if target is None else _column_index(path, columns, target, header)
    feature_indices = [index for index in range(len(columns)) if index != target_index]

    x = np.empty((len(rows), len(feature_indices)), dtype=np.float32)
    for i, (line, row) in enumerate(rows):
        for j, column in enumerate(feature_indices):
            x[i, j] = _number(row[column], path, line, columns[column])
    y, classes = None, None
    if target_index is not None:
        y, classes = _target(rows, target_index, path, columns[target_index])
    if return_names:
        target_name = None if target_index is None else columns[target_index]
        return x, y, TableNames([columns[i] for i in feature_indices], target_name, classes)
    return x, y


def _read_rows(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank row."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, delimiter=delimiter)
        try:
            return [(reader.line_num, row) for row in reader if row]
        except (csv.Error, UnicodeDecodeError) as error:
            raise DatasetError(f"{path}, line {reader.line_num}: {error}") from error


def _column_index(path: Path, columns: list[str], target: str | int, header: bool) -> int:
    if isinstance(target, str):
        if not header:
            raise ValueError(f"target={target!r}: a column name needs header=True; use an index")
        if columns.count(target) != 1:
            problem = "appears twice in" if target in columns else "is not a column of"
            raise DatasetError(f"{path}: target {target!r} {problem} the header: {columns}")
        return columns.index(target)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not -len(columns) <= target < len(columns):
            raise DatasetError(
                f"{path}: target index {target} is out of range for {len(columns)} columns"
            )
        return int(target) % len(columns)
    raise TypeError(f"target: expected a column name, an index or None, got {target!r}")


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _number(cell: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DatasetError(
            f"{path}, line {line}, column {column!r}: {cell!r} is not a number"
        ) from None
    _check_float32(value, cell, path, line, column)
    return value


def _check_float32(value: float, cell: str, path: Path, line: int, column: str) -> None:
    """A number beyond float32's range ("1e39", "1e400") would silently become inf."""
    written_inf = cell.strip().lstrip("+-").lower() in ("inf", "infinity")
    if abs(value) > _FLOAT32_MAX and not written_inf:
        raise DatasetError(f"{path}, line {line}, column {column!r}: {cell!r} is too large "
                           f"for float32 (largest {_FLOAT32_MAX:.4g})")


def _target(rows, index: int, path: Path,
            column: str) -> tuple[np.ndarray, list[str] | None]:
    """Numbers -> float32 y; otherwise text labels -> int64 codes in sorted label order."""
    cells = [row[index].strip() for _, row in rows]
    try:
        values = [float(cell) for cell in cells]
    except ValueError:
        classes, codes = np.unique(np.array(cells), return_inverse=True)
        return codes.astype(np.int64), [str(label) for label in classes]
    for (line, _), cell, value in zip(rows, cells, values):
        _check_float32(value, cell, path, line, column)
    return np.array(values, dtype=np.float32), None


def load_npz(path: str | os.PathLike, x_key: str = "x", y_key: str | None = "y"):
    """Read x and y from a NumPy .npz archive (never unpickling anything).

    Args:
        path: the .npz file (from `np.savez(path, x=..., y=...)`).
        x_key, y_key: names of the arrays; y_key=None reads x only (y is None).

    Returns:
        `(x, y)`, each as stored (dtype and shape unchanged).

    Raises:
        DatasetError: a key is missing (the message lists the keys present), an array holds
            Python objects (would need pickle), or is a scalar, or x and y differ in length;
            or the file is not a sound .npz (its sizes and headers are checked before
            anything is inflated or allocated, as for model files), or a member over 1 MiB
            claims a compression ratio past `glassnet.saving.MAX_DATA_COMPRESSION_RATIO`
            (100:1 unless raised: real data compresses far less, a bomb far more).
    """
    arrays = []
    for key in (x_key, y_key):
        if key is None:
            arrays.append(None)
            continue
        try:
            with open(path, "rb") as handle:
                array = read_npz(handle, str(path), keys=[key],
                                 max_ratio=saving.MAX_DATA_COMPRESSION_RATIO)[key]
        except ModelFileError as error:
            raise DatasetError(f"array {key!r} cannot be read: {error}") from error
        if array.ndim == 0:
            raise DatasetError(f"{path}: array {key!r} is a scalar; expected one row per sample")
        arrays.append(array)
    x, y = arrays
    if y is not None and len(x) != len(y):
        raise DatasetError(f"{path}: {x_key!r} has {len(x)} rows but {y_key!r} has {len(y)}")
    return x, y


__all__ = ["TableNames", "load_csv", "load_npz"]
