"""CSVLogger: the epoch logs as a CSV file, rewritten atomically after each epoch."""

from __future__ import annotations

import csv
import io
import os
from typing import Any

import numpy as np

from glassnet.callbacks.base import Callback
from glassnet.io import atomic_write
from glassnet.registry import register


@register("callback")
class CSVLogger(Callback):
    """Writes the epoch logs to a CSV file: a header "epoch,<names...>", then one row an epoch.

    The columns are "epoch" (0-based, as Keras writes it) and the first epoch's log names in
    sorted order; a name missing later is written "NA". The whole file is rewritten through a
    temporary file after each epoch, so the file on disk is always complete.

    Args:
        filename: the CSV file.
        separator: the field delimiter.
        append: keep the rows of an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self._text = ""

    def on_train_begin(self, logs=None):
        self.keys = None
        self._text = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, encoding="utf-8") as file:
                self._text = file.read()
            if self._text and not self._text.endswith("\n"):
                self._text += "\n"

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not self._text:  # a new file, or an empty one being appended to
                self._text += self._row(["epoch", *self.keys])
        values = [_csv_value(logs.get(name, "NA")) for name in self.keys]
        self._text += self._row([epoch, *values])
        with atomic_write(self.filename) as file:  # the file on disk is always complete
            file.write(self._text.encode("utf-8"))

    def _row(self, fields: list) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.sep, lineterminator="\n").writerow(fields)
        return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    """Lists and arrays as "[a, b]" (one field), everything else as it is."""
    if isinstance(value, str) or np.ndim(value) == 0:
        return value
    return "[" + ", ".join(map(str, np.ravel(value).tolist())) + "]"


__all__ = ["CSVLogger"]
