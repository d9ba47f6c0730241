"""The Semeion handwritten digits (UCI ML Repository, dataset 178): 1593 16x16 binary images.

The dataset of the seed post "Deep Learning from Scratch With Python" (256 inputs, 10 outputs).

File format (`semeion.data`): one digit per line, 266 space-separated numbers: 256 pixels
written 0.0000 / 1.0000 (row by row), then the label one-hot in 10 columns 0 / 1.

    >>> (x_train, y_train), (x_test, y_test) = glassnet.datasets.semeion()
    >>> x_train.shape, x_test.shape
    ((1274, 256), (319, 256))
"""

from __future__ import annotations

import os

import numpy as np

from glassnet.datasets._files import DatasetError, fetch
from glassnet.preprocessing import train_test_split

N_PIXELS = 256
N_CLASSES = 10


def semeion(data_dir: str | os.PathLike | None = None, test_size: float = 0.2, seed: int = 0):
    """The Semeion digits, split into train and test parts, stratified by class.

    The split is `train_test_split(x, y, test_size=test_size, stratify=y, seed=seed)`:
    each digit keeps its share in both parts, n_test = ceil(test_size * 1593) (319 for the
    default 0.2), and the same seed gives the same split on every machine.

    The file is looked up as `<folder>/semeion.data` in `data_dir`, `$GLASSNET_DATA` and the
    user cache, else downloaded from UCI, and checked by SHA-256.

    Args:
        data_dir: folder holding semeion.data (optional).
        test_size: fraction (or count) of rows for the test part.
        seed: seed of the split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x float32 (n, 256) with pixels in {0, 1}
        (reshape to (n, 16, 16) to view), y uint8 (n,) digit labels 0..9.
    """
    x, y = load_semeion_file(fetch("semeion.data", data_dir))
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, stratify=y, seed=seed
    )
    return (x_train, y_train), (x_test, y_test)


def load_semeion_file(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """All rows of a semeion.data file: x float32 (n, 256) in {0, 1}, y uint8 (n,) in 0..9."""
    rows = []
    line_number = 0
    try:
        with open(path, encoding="ascii") as file:
            for line_number, line in enumerate(file, start=1):
                fields = line.split()
                if not fields:
                    continue
                if len(fields) != N_PIXELS + N_CLASSES:
                    raise DatasetError(
                        f"{path}, line {line_number}: {len(fields)} values, expected "
                        f"{N_PIXELS + N_CLASSES} (256 pixels + 10 one-hot label columns)"
                    )
                rows.append(fields)
    except UnicodeDecodeError as error:  # decoded a block at a time: the line is approximate
        raise DatasetError(f"{path}, near line {line_number + 1}: not an ASCII text file "
                           f"({error})") from error
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    try:
        table = np.array(rows, dtype=np.float32)  # (n, 266); parses the number strings
    except ValueError as error:
        raise DatasetError(f"{path}: a value is not a number ({error})") from error
    x, one_hot = table[:, :N_PIXELS], table[:, N_PIXELS:]
    bad = ~np.isin(table, (0.0, 1.0)).all(axis=1) | (one_hot.sum(axis=1) != 1)
    if bad.any():
        raise DatasetError(
            f"{path}, data row {int(np.argmax(bad)) + 1}: values must be 0 or 1 and the "
            "label columns must hold exactly one 1"
        )
    return np.ascontiguousarray(x), one_hot.argmax(axis=1).astype(np.uint8)


__all__ = ["load_semeion_file", "semeion"]
