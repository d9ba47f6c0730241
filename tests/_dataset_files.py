"""Small files in the original formats, registered so that the loaders accept them.

The real files (Keras' .npz files, the CIFAR archives) are not in shared/data; a test writes
a small file in the same format and lets `fetch` accept it by its own SHA-256, with the
network and the user's folders out of reach.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import urllib.error

import numpy as np

from glassnet.datasets import _files


def offline(monkeypatch, tmp_path):
    """No network, an empty $GLASSNET_DATA and cache, no verification memory."""

    def refuse(url, timeout=None):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(_files, "_urlopen", refuse)
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(_files, "_verified", set())


def register(monkeypatch, folder, relative: str, data: bytes):
    """Write `data` at folder/relative and make it the file `relative` must match."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    remote = dataclasses.replace(_files.FILES[relative], sha256=hashlib.sha256(data).hexdigest(),
                                 size=len(data), md5="")
    monkeypatch.setitem(_files.FILES, relative, remote)
    return path


def object_array(lists) -> np.ndarray:
    """A 1-d object array of lists, as Keras' IMDB and Reuters files hold them."""
    array = np.empty(len(lists), dtype=object)
    array[:] = lists
    return array


def npz_bytes(**arrays) -> bytes:
    """An .npz as np.savez writes it (object arrays pickled, as in Keras' files)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz of regular files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
