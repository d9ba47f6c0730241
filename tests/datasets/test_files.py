"""Locating, verifying and downloading dataset files, with no network (a fake URL opener)."""

from __future__ import annotations

import dataclasses
import io
import os
import urllib.error

import pytest

from conftest import require_data
from glassnet.datasets import _files
from glassnet.datasets._files import FILES, DatasetError, fetch

SEMEION = FILES["semeion.data"]
LABELS = FILES["mnist/t10k-labels-idx1-ubyte.gz"]  # 4.5 kB: the cheap file for mirror tests


def isolate(monkeypatch, tmp_path):
    """Empty $GLASSNET_DATA and cache folders, no verification memory, and no network."""
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(_files, "_verified", set())
    monkeypatch.setattr(_files, "_urlopen", serve({}))
    return tmp_path / "xdg" / "glassnet"


def serve(responses: dict, calls: list | None = None):
    """A fake `urlopen`: url -> bytes (served) or an exception (raised); others are offline."""

    def opener(url, timeout=None):
        if calls is not None:
            calls.append((url, timeout))
        result = responses.get(url, urllib.error.URLError("no network in tests"))
        if isinstance(result, Exception):
            raise result
        return io.BytesIO(result)

    return opener


def place(folder, relative, data: bytes):
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# The originals that shared/data holds; Keras' files and CIFAR's are not there (tests build
# small files in their formats instead).
SHARED = [name for name in FILES if name == "semeion.data" or "mnist/" in name]


def test_embedded_checksums_match_the_shared_sha256sums():
    sums = require_data("SHA256SUMS").read_text().split("\n")
    listed = dict(reversed(line.split()) for line in sums if line.strip())
    assert len(SHARED) == 9
    for relative in SHARED:
        assert listed[relative] == FILES[relative].sha256, relative


def test_every_other_file_has_a_well_formed_checksum():
    for relative, remote in FILES.items():
        algorithm, digest = remote.checksum
        assert len(digest) == {"sha256": 64, "md5": 32}[algorithm], relative
        assert int(digest, 16) >= 0 and remote.size > 0 and remote.urls, relative
    assert FILES["imdb_word_index.json"].checksum[0] == "md5"  # Keras publishes only an MD5


def test_search_order_is_data_dir_then_env_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folders = _files.search_dirs(tmp_path / "arg")
    assert folders == [tmp_path / "arg", tmp_path / "env", tmp_path / "xdg" / "glassnet"]
    monkeypatch.delenv("GLASSNET_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _files.search_dirs() == [tmp_path / "home" / ".cache" / "glassnet"]


def test_the_first_folder_holding_the_file_wins(monkeypatch, tmp_path):
    data = require_data(LABELS.relative).read_bytes()
    cache = isolate(monkeypatch, tmp_path)
    in_cache = place(cache, LABELS.relative, data)
    assert fetch(LABELS.relative) == in_cache
    in_env = place(tmp_path / "env", LABELS.relative, data)
    assert fetch(LABELS.relative) == in_env
    in_arg = place(tmp_path / "arg", LABELS.relative, data)
    assert fetch(LABELS.relative, data_dir=tmp_path / "arg") == in_arg


def test_shared_file_passes_verification():
    path = require_data("semeion.data")
    assert fetch("semeion.data", path.parent) == path


def test_corrupt_copy_is_refused_with_a_clear_error(monkeypatch, tmp_path):
    data = bytearray(require_data("semeion.data").read_bytes())
    isolate(monkeypatch, tmp_path)
    data[1000] ^= 1  # one flipped bit
    bad = place(tmp_path / "arg", "semeion.data", bytes(data))
    with pytest.raises(DatasetError) as caught:
        fetch("semeion.data", tmp_path / "arg")
    message = str(caught.value)
    assert str(bad) in message and SEMEION.sha256 in message and SEMEION.urls[0] in message
    assert "not used" in message


def test_verification_is_remembered_until_the_file_changes(monkeypatch, tmp_path):
    data = require_data(LABELS.relative).read_bytes()
    isolate(monkeypatch, tmp_path)
    path = place(tmp_path / "arg", LABELS.relative, data)
    hashed = []
    real_sha = _files.sha256_of
    monkeypatch.setattr(_files, "sha256_of", lambda p: hashed.append(p) or real_sha(p))
    for _ in range(3):
        fetch(LABELS.relative, tmp_path / "arg")
    assert len(hashed) == 1
    path.write_bytes(data[:-1])  # a changed file (new size) is hashed again, and refused
    with pytest.raises(DatasetError, match="corrupt"):
        fetch(LABELS.relative, tmp_path / "arg")
    assert len(hashed) == 2


def test_download_lands_verified_in_the_cache(monkeypatch, tmp_path):
    data = require_data("semeion.data").read_bytes()
    cache = isolate(monkeypatch, tmp_path)
    calls = []
    monkeypatch.setattr(_files, "_urlopen", serve({SEMEION.urls[0]: data}, calls))
    path = fetch("semeion.data")
    assert path == cache / "semeion.data" and path.read_bytes() == data
    assert calls == [(SEMEION.urls[0], _files.DOWNLOAD_TIMEOUT)]
    assert os.listdir(cache) == ["semeion.data"]  # no temporary file left behind
    fetch("semeion.data")  # now found in the cache: no second download
    assert len(calls) == 1


def test_download_through_urllib_from_a_file_url(monkeypatch, tmp_path):
    source = require_data(LABELS.relative)
    cache = isolate(monkeypatch, tmp_path)
    monkeypatch.setattr(_files, "_urlopen", _files.urllib.request.urlopen)  # the real opener
    local = dataclasses.replace(LABELS, urls=(source.as_uri(),))
    monkeypatch.setitem(FILES, LABELS.relative, local)
    assert fetch(LABELS.relative).read_bytes() == source.read_bytes()
    assert (cache / LABELS.relative).is_file()


def test_a_failing_mirror_falls_through_to_the_next(monkeypatch, tmp_path):
    data = require_data(LABELS.relative).read_bytes()
    cache = isolate(monkeypatch, tmp_path)
    first, second = LABELS.urls
    responses = {first: TimeoutError("timed out"), second: data}
    monkeypatch.setattr(_files, "_urlopen", serve(responses))
    assert fetch(LABELS.relative) == cache / LABELS.relative


@pytest.mark.parametrize("damage", ["flip", "extra"])
def test_download_with_wrong_bytes_is_never_kept(monkeypatch, tmp_path, damage):
    data = bytearray(require_data(LABELS.relative).read_bytes())
    cache = isolate(monkeypatch, tmp_path)
    if damage == "flip":
        data[-5] ^= 0xFF
    else:
        data += b"\0" * 10  # longer than the file: reading stops at the expected size
    monkeypatch.setattr(_files, "_urlopen", serve(dict.fromkeys(LABELS.urls, bytes(data))))
    with pytest.raises(DatasetError) as caught:
        fetch(LABELS.relative)
    assert LABELS.sha256 in str(caught.value)
    assert not any(path.is_file() for path in cache.rglob("*"))  # neither file nor temp file


def test_offline_error_says_what_to_get_and_where_to_put_it(monkeypatch, tmp_path):
    cache = isolate(monkeypatch, tmp_path)  # every URL raises URLError
    with pytest.raises(DatasetError) as caught:
        fetch(LABELS.relative)
    error = caught.value
    assert isinstance(error, OSError) and isinstance(error, ValueError)
    message = str(error)
    for url in LABELS.urls:
        assert url in message
    assert LABELS.sha256 in message
    assert str(cache / LABELS.relative) in message and "GLASSNET_DATA" in message
    assert "no network in tests" in message


def test_unknown_file_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="semeion.data"):
        fetch("cifar10.tar.gz")


def test_keras_path_argument_names_the_file_elsewhere(monkeypatch, tmp_path):
    data = require_data(LABELS.relative).read_bytes()
    cache = isolate(monkeypatch, tmp_path)
    renamed = place(tmp_path / "arg", "keras/labels.gz", data)
    assert fetch(LABELS.relative, tmp_path / "arg", path="keras/labels.gz") == renamed
    monkeypatch.setattr(_files, "_urlopen", serve(dict.fromkeys(LABELS.urls, data)))
    assert fetch(LABELS.relative, path="elsewhere.gz") == cache / "elsewhere.gz"  # downloaded
    absolute = tmp_path / "mine" / "labels.gz"
    assert fetch(LABELS.relative, path=absolute) == absolute and absolute.read_bytes() == data
    absolute.write_bytes(data[:-1])
    with pytest.raises(DatasetError, match="corrupt"):
        fetch(LABELS.relative, path=absolute)
