"""Atomic file writes: a file is either the complete old version or the complete new one.

Writing straight to `path` leaves a half-written file when the process dies (or raises)
midway, which destroys the previous good copy. Instead we write a temporary file in the same
folder, flush it to disk, then rename it over `path`: `os.replace` is atomic when source and
target are on the same file system (POSIX rename(2); on Windows, MoveFileEx).

    >>> with atomic_write("model.glassnet") as f:
    ...     f.write(data)                    # `model.glassnet` changes only if this succeeds
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_MODES = ("wb", "w")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb",
                 encoding: str | None = None) -> Iterator[IO]:
    """Open a temporary file beside `path`; on success, fsync it and rename it onto `path`.

    On an exception inside the `with` block the temporary file is removed and `path` is left
    untouched (absent, or its previous contents), and the exception propagates.

    Args:
        path: the file to create or replace; its folder must exist.
        mode: "wb" (bytes) or "w" (text).
        encoding: text encoding for mode "w" (default "utf-8").

    Yields:
        The open temporary file object.
    """
    if mode not in _MODES:
        raise ValueError(f"atomic_write: mode must be one of {_MODES}, got {mode!r}")
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"atomic_write: folder {str(folder)!r} does not exist")
    if mode == "w" and encoding is None:
        encoding = "utf-8"
    fd, temp_name = _create_temp_file(path)
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())     # the data is on disk before the name points to it
        _copy_permissions(path, temp_name)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_folder(folder)


def _create_temp_file(path: Path) -> tuple[int, str]:
    """Create `.NAME.RANDOM.tmp` beside `path` (same folder: os.replace stays a rename).

    Created with mode 0o666 minus the umask, as `open(path, "wb")` would create `path`
    (tempfile.mkstemp would give 0o600).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp_name = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temp_name, flags, 0o666), temp_name
        except FileExistsError:
            continue
    raise FileExistsError(f"atomic_write: could not create a temporary file beside {str(path)!r}")


def _copy_permissions(path: Path, temp_name: str) -> None:
    """Replacing a file keeps its permission bits, as writing it in place would."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return
    os.chmod(temp_name, mode)


def _fsync_folder(folder: Path) -> None:
    """Persist the rename itself (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = ["atomic_write"]
