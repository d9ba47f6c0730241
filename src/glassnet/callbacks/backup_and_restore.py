"""BackupAndRestore: an interrupted `fit` resumes exactly where it stopped.

Keras' `callbacks.BackupAndRestore(backup_dir)`: `fit` writes the training state to
`backup_dir` every epoch (or every `save_freq` batches); when the same `fit` call is run again
with the callback, it starts from the last backup instead of from scratch, and deletes the
backup when training completes. The resumed run ends with weights bitwise-identical to a run
that was never stopped. What the backup holds, how it is written and read, and how Ctrl-C and
SIGTERM are deferred: `glassnet.saving.training_state`; this callback decides when.

    >>> backup = callbacks.BackupAndRestore("backup", save_freq=100)
    >>> model.fit(x, y, epochs=20, callbacks=[backup])   # Ctrl-C, or the job is preempted
    >>> model.fit(x, y, epochs=20, callbacks=[backup])   # later, same call: goes on from there

Data parallelism (`glassnet.distribution`): rank 0 alone writes and deletes the backup; at
the start of fit rank 0 reads it and every rank restores what it read (the ranks need not
share a file system). The backup holds the whole job's state, not one rank's, so a job can
resume it with a different number of processes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from glassnet import distribution
from glassnet.callbacks.base import Callback
from glassnet.callbacks.monitor import save_frequency
from glassnet.registry import register
from glassnet.saving.archive import ModelFileError
from glassnet.saving.training_state import (
    FILE_NAME,
    PREVIOUS_FILE_NAME,
    FitProgress,
    capture_training_state,
    read_checkpoint,
    restore_training_state,
    write_checkpoint,
)


@register("callback")
class BackupAndRestore(Callback):
    """Back up the training state regularly; a re-run of the same `fit` resumes from it.

    Args:
        backup_dir: folder for the backup (created if needed). Use one folder per training
            run: a backup only fits the `fit` call that wrote it.
        save_freq: "epoch" (back up at each epoch end) or an int N (every N batches).
            An interruption (Ctrl-C, SIGTERM) always writes a backup, mid-epoch included.
        double_checkpoint: keep the previous backup too, and fall back on it if the latest
            cannot be read (writes are atomic, so this guards against disk corruption only).
        delete_checkpoint: delete the backup once training completes (not when interrupted).

    Raises (at the start of fit): ValueError if the model is not built yet; ModelFileError
    (a ValueError) naming the file and the field if the backup is not one that this fit could
    have written (another number of batches per epoch, an epoch past `epochs`, a forged
    field): nothing is restored then.
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(f"BackupAndRestore: backup_dir must be a non-empty path, got "
                             f"{backup_dir!r}")
        self.backup_dir = Path(backup_dir)
        self.save_freq = save_frequency("BackupAndRestore", save_freq)
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._batches_since_save = 0

    @property
    def checkpoint_path(self) -> Path:
        return self.backup_dir / FILE_NAME

    def _progress(self) -> FitProgress:
        progress = getattr(self.model, "_fit_progress", None)
        if progress is None:
            raise RuntimeError("BackupAndRestore works inside glassnet's Model.fit only")
        return progress

    def on_train_begin(self, logs=None):
        if not self.model.built:
            raise ValueError("To use the BackupAndRestore callback, the model must be built "
                             "before fit() is called (give it an Input shape)")
        self._batches_since_save = 0
        contents = None
        if distribution.is_chief():
            self._remove_stale_temporaries()
            try:
                contents = self._read_latest()
            except Exception as error:  # raised on every rank, not on rank 0 alone
                contents = error
        contents = distribution.broadcast_object(contents)
        if isinstance(contents, Exception):
            raise contents
        if contents is not None:
            restore_training_state(self.model, self._progress(), contents,
                                   epochs=self.params.get("epochs"))

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self.backup()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self.backup(epoch_logs=(epoch, logs or {}))

    def on_train_end(self, logs=None):
        if (self.delete_checkpoint and self._progress().interrupted is None
                and distribution.is_chief()):
            for path in (self.checkpoint_path, self.backup_dir / PREVIOUS_FILE_NAME):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            with contextlib.suppress(OSError):
                self.backup_dir.rmdir()  # only if empty: the folder may hold the user's files

    def backup(self, epoch_logs: tuple[int, dict] | None = None) -> None:
        """Write the training state now (fit calls this when interrupted).

        `epoch_logs` (epoch, logs) is the epoch that just ended, which History may not
        have recorded yet (callbacks run in list order; History runs last).
        """
        self._batches_since_save = 0
        if not distribution.is_chief():
            return                             # every rank holds the same state
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        if self.double_checkpoint and self.checkpoint_path.exists():
            os.replace(self.checkpoint_path, self.backup_dir / PREVIOUS_FILE_NAME)
        write_checkpoint(self.checkpoint_path,
                         *capture_training_state(self.model, self._progress(), epoch_logs))

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of writes cut short by SIGKILL (the backup itself is intact)."""
        if self.backup_dir.is_dir():
            for path in self.backup_dir.glob(".training_state*.zip.*.tmp"):
                with contextlib.suppress(OSError):
                    path.unlink()

    def _read_latest(self) -> dict | None:
        previous = self.backup_dir / PREVIOUS_FILE_NAME
        if not self.checkpoint_path.exists():
            return read_checkpoint(previous, self.model) \
                if self.double_checkpoint and previous.exists() else None
        try:
            return read_checkpoint(self.checkpoint_path, self.model)
        except ModelFileError:
            if self.double_checkpoint and previous.exists():
                return read_checkpoint(previous, self.model)
            raise


__all__ = ["BackupAndRestore"]
