"""Broken and hostile archives: truncated, corrupted, crafted or oversized files are refused
with a ModelFileError before anything is inflated, allocated or run."""

from __future__ import annotations

import io
import os
import struct
import zipfile

import numpy as np
import pytest
from _saved_models import (
    members,
    npz_bytes,
    npz_raw,
    rewrite,
    saved,
    write_archive,
)

from _fuzzing import measured
from glassnet import saving
from glassnet.saving import ModelFileError, load_model


# ----- broken and hostile files ------------------------------------------------------------
@pytest.mark.parametrize("keep", [0, 10, 0.5, -22, -1])
def test_truncated_archive(tmp_path, rng, keep):
    _, path, _, _ = saved(tmp_path, rng)
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep
    path.write_bytes(data[:cut])
    with pytest.raises(ModelFileError, match=str(path.name)):
        load_model(path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "notes.glassnet"
    path.write_text("just some text, not a model\n")
    with pytest.raises(ModelFileError, match="not a valid zip"):
        load_model(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.glassnet"):
        load_model(tmp_path / "absent.glassnet")


def _data_offset(path, name: str) -> tuple[int, int]:
    """(offset, length) of a member's compressed bytes in the archive."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    raw = path.read_bytes()
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:
                                                   info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


@pytest.mark.parametrize("member", ["config.json", "model.weights.npz", "optimizer.npz"])
def test_bit_flip_in_member_data(tmp_path, rng, member):
    _, path, _, _ = saved(tmp_path, rng)
    offset, length = _data_offset(path, member)
    data = bytearray(path.read_bytes())
    data[offset + length // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=member.replace(".", r"\.")):
        load_model(path)


def test_random_byte_flips_never_escape_as_other_errors(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    original = path.read_bytes()
    for position in rng.choice(len(original), size=60, replace=False):
        data = bytearray(original)
        data[position] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(data))
        try:
            load_model(path)       # a flip in a timestamp or padding may well be harmless
        except ModelFileError:
            pass


def test_missing_member(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    rewrite(path, config__json=None)
    with pytest.raises(ModelFileError, match=r"missing \['config.json'\]"):
        load_model(path)


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "sub/dir.json", "..\\evil.txt"])
def test_member_with_path_is_refused(tmp_path, rng, name):
    _, path, _, _ = saved(tmp_path, rng)
    contents = members(path)
    contents[name] = b"payload"
    write_archive(path, contents)
    with pytest.raises(ModelFileError, match="unsafe member name"):
        load_model(path)


def test_extra_member(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    contents = members(path)
    contents["notes.txt"] = b"hello"
    write_archive(path, contents)
    with pytest.raises(ModelFileError, match=r"unexpected \['notes.txt'\]"):
        load_model(path)


class _Payload:
    """Unpickling this creates a directory: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _object_npy(marker) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([_Payload(marker)], dtype=object),
                              allow_pickle=True)
    return buffer.getvalue()


def test_object_array_is_refused_without_running_it(tmp_path, rng):
    # Positive control: with pickle allowed, this payload does run.
    control = tmp_path / "control_marker"
    np.load(io.BytesIO(_object_npy(control)), allow_pickle=True)
    assert control.exists()

    model, path, _, _ = saved(tmp_path, rng)
    marker = tmp_path / "marker"
    weights = {f"{i:04d}.npy": _npy(w) for i, w in enumerate(model.get_weights())}
    weights["0000.npy"] = _object_npy(marker)
    rewrite(path, model__weights__npz=npz_raw(weights))
    with pytest.raises(ModelFileError, match="object arrays are refused"):
        load_model(path)
    assert not marker.exists()

    state = {"iterations.npy": _object_npy(marker)}
    model.save(path)
    rewrite(path, optimizer__npz=npz_raw(state))
    with pytest.raises(ModelFileError, match="object arrays are refused"):
        load_model(path)
    weights_path = tmp_path / "evil.weights.npz"
    weights_path.write_bytes(npz_raw(weights))
    with pytest.raises(ModelFileError, match="object arrays are refused"):
        model.load_weights(weights_path)
    assert not marker.exists()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_huge_shape_in_npy_header(tmp_path, rng):
    model, path, _, _ = saved(tmp_path, rng)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 10**9)})
    weights = {f"{i:04d}.npy": _npy(w) for i, w in enumerate(model.get_weights())}
    weights["0000.npy"] = header.getvalue() + b"\0" * 64
    rewrite(path, model__weights__npz=npz_raw(weights))
    with pytest.raises(ModelFileError, match=r"declares shape \(1000000000, 1000000000\)"):
        load_model(path)


def test_zip_bomb_over_the_size_cap(tmp_path, rng, monkeypatch):
    _, path, _, _ = saved(tmp_path, rng)
    monkeypatch.setattr(saving, "MAX_MEMBER_BYTES", 2**20)
    bomb = npz_bytes(**{"0000": np.zeros(2**19, dtype=np.float32)})   # 2 MiB of zeros
    rewrite(path, model__weights__npz=bomb)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("model.weights.npz").compress_size < 2**20 // 100   # tiny
    with pytest.raises(ModelFileError, match="would decompress to 2,097,"):
        load_model(path)
    monkeypatch.setattr(saving, "MAX_MEMBER_BYTES", 2**30)
    monkeypatch.setattr(saving, "MAX_TOTAL_BYTES", 2**20)
    with pytest.raises(ModelFileError, match="members would decompress to"):
        load_model(path)


def _set_declared_size(path, name: str, size: int) -> None:
    """Forge the uncompressed size of `name` in the central directory."""
    raw = bytearray(path.read_bytes())
    entry = raw.find(b"PK\x01\x02")
    while entry != -1:
        name_len = struct.unpack("<H", raw[entry + 28: entry + 30])[0]
        if raw[entry + 46: entry + 46 + name_len] == name.encode():
            raw[entry + 24: entry + 28] = struct.pack("<I", size)
            path.write_bytes(bytes(raw))
            return
        entry = raw.find(b"PK\x01\x02", entry + 1)
    raise AssertionError(f"no central directory entry for {name}")


def test_forged_declared_size_is_refused_before_inflating(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    _set_declared_size(path, "model.weights.npz", 0xFFFF_FFF0)     # ~4 GiB from ~2 KB
    with pytest.raises(ModelFileError, match="compression ratio"):
        load_model(path)


def test_only_stored_and_deflated_members(tmp_path, rng):
    _, path, _, _ = saved(tmp_path, rng)
    write_archive(path, members(path), method=zipfile.ZIP_BZIP2)
    with pytest.raises(ModelFileError, match="compression method"):
        load_model(path)


def test_stored_archive_loads(tmp_path, rng):
    """Another writer may store instead of deflate: the format checks contents, not method."""
    model, path, x, _ = saved(tmp_path, rng)
    write_archive(path, members(path), method=zipfile.ZIP_STORED)
    assert np.array_equal(load_model(path).predict(x, verbose=0), model.predict(x, verbose=0))


def test_directory_is_not_a_model_file(tmp_path):
    (tmp_path / "dir.glassnet").mkdir()
    with pytest.raises(ModelFileError, match="not a regular file"):
        load_model(tmp_path / "dir.glassnet")


# ----- issue 15: hostile files, round 2 ------------------------------------------------------
def test_duplicate_json_key_check_is_linear(tmp_path, rng):
    # `seen.count(key)` per key: 40,000 keys and one duplicate took 18.6 s to be refused.
    _, path, _, _ = saved(tmp_path, rng)
    metadata = members(path)["metadata.json"].decode().rstrip().removesuffix("}")
    keys = ", ".join(f'"k{i}": 0' for i in range(40_000))
    rewrite(path, metadata__json=f'{metadata}, "user": {{{keys}, "k7": 1}}}}'.encode())
    with measured(memory=False) as cost, pytest.raises(ModelFileError,
                                                       match=r"duplicate keys \['k7'\]"):
        load_model(path)
    assert cost.seconds < 2


def _many_members(path, count: int, repeat: int = 1) -> None:
    """The saved file plus `count` empty members (each name `repeat` times)."""
    contents = members(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
        for index in range(count):
            for _ in range(repeat):
                zf.writestr(zipfile.ZipInfo(f"m{index}"), b"")


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("count, repeat, message", [
    # `names.count(name)` per member: 60,000 empty members took 45 s, and the error then
    # listed every name.
    (60_000, 1, r"unexpected \['m0', 'm1', 'm10', 'm100', 'm1000', \.\.\.\] \(60,000 in all\)"),
    (30_000, 2, r"duplicate members \['m0', 'm1', 'm10', 'm100', 'm1000', \.\.\.\] "
                r"\(30,000 in all\)"),
])
def test_member_checks_are_linear_and_name_a_few(tmp_path, rng, count, repeat, message):
    _, path, _, _ = saved(tmp_path, rng)
    _many_members(path, count, repeat)
    with measured(memory=False) as cost, pytest.raises(ModelFileError, match=message) as error:
        load_model(path)
    assert cost.seconds < 2 and len(str(error.value)) < 600


def test_directory_with_more_entries_than_allowed_is_refused_before_parsing(tmp_path, rng,
                                                                           monkeypatch):
    # zipfile parses the whole central directory (50 us an entry, 500 bytes each) before
    # any count can be checked: the entries are counted in the raw directory first.
    _, path, _, _ = saved(tmp_path, rng)
    _many_members(path, 2_000)
    monkeypatch.setattr(saving, "MAX_ARRAYS", 1_000)
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", None)  # never reached
    with pytest.raises(ModelFileError, match="2,004 members, more than 1,000"):
        load_model(path)


def test_json_with_too_many_values_is_refused_before_parsing(tmp_path, rng):
    # 16 MB of "[]," parses into 5.6 million lists: 4 s and 400 MB.
    _, path, _, _ = saved(tmp_path, rng)
    metadata = members(path)["metadata.json"].decode().rstrip().removesuffix("}")
    lists = ",".join(["[]"] * 600_000)
    rewrite(path, metadata__json=f'{metadata}, "user": {{"a": [{lists}]}}}}'.encode())
    with measured() as cost, pytest.raises(ModelFileError, match="JSON values"):
        load_model(path)
    assert cost.peak < 16 * 2**20


def test_messages_stay_short_whatever_the_file_holds(tmp_path, rng):
    # A file's names and values appear in messages: a megabyte class name, or 40,000 keys
    # at the top of config.json, made a megabyte-long error (and CLI line).
    _, path, _, _ = saved(tmp_path, rng)
    original = path.read_bytes()
    config = members(path)["config.json"].decode().rstrip().removesuffix("}")
    keys = ", ".join(f'"k{i}": 0' for i in range(40_000))
    for text in (config.replace('"Sequential"', '"' + "S" * 2**20 + '"', 1) + "}",
                 f"{config}, {keys}}}"):
        path.write_bytes(original)
        rewrite(path, config__json=text.encode())
        with pytest.raises(ModelFileError) as error:
            load_model(path)
        assert len(str(error.value)) < 2200, len(str(error.value))
