"""Atomic writes: the target holds the old file or the complete new one, never a mix."""

from __future__ import annotations

import os
import stat

import pytest

from glassnet import io as gio
from glassnet.io import atomic_write


def test_writes_bytes_and_text(tmp_path):
    with atomic_write(tmp_path / "a.bin") as f:
        f.write(b"\x00\x01binary")
    with atomic_write(tmp_path / "b.txt", mode="w") as f:
        f.write("héllo\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01binary"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.txt"]   # no temporary file left


def test_replaces_existing_file(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old")
    with atomic_write(str(path)) as f:
        f.write(b"new contents")
    assert path.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_error_inside_block_keeps_old_file(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_write(path) as f:
        f.write(b"half of the new")
        # The partial data is in the temporary file beside the target, not in the target.
        assert path.read_bytes() == b"old"
        assert len(os.listdir(tmp_path)) == 2
        raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_error_on_new_file_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_write(tmp_path / "new.bin") as f:
        f.write(b"partial")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_failing_replace_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(gio.os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"), atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.bin"]


def test_failing_fsync_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old")

    def failing_fsync(fd):
        raise OSError("no space left on device")

    monkeypatch.setattr(gio.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="no space"), atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.bin"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_kept_on_replace_and_umask_on_create(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(b"old")
    path.chmod(0o640)
    with atomic_write(path) as f:
        f.write(b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640

    umask = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "fresh.bin") as f:
            f.write(b"x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "fresh.bin").stat().st_mode) == 0o644


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "x", mode="ab"):
        pass
    with pytest.raises(FileNotFoundError, match="does not exist"), \
            atomic_write(tmp_path / "missing" / "x"):
        pass
    assert os.listdir(tmp_path) == []
