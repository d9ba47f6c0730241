"""Hostile and broken model files: each one loads or ends in a ModelFileError naming the file.

Issue 6, item 4. Real `.glassnet` files written by glassnet (an MLP with regularizers and
initializer configs, a CNN with batch normalization, an embedding + bidirectional LSTM) are
truncated, bit-flipped and cut up by deterministic loops; Hypothesis (derandomized, fixed
example counts) writes .npy headers, member names and config values; hand-made cases cover
zip bombs, nested archives, pickle payloads and configs that name arbitrary code (those in
test_fuzz_model_configs.py). The harness is tests/_fuzzing.py; the files, the runner and the
case counts are in _fuzz_models.py.

Each test prints how many cases it ran (`pytest -s`) and asserts at least MIN_CASES of them.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _fuzz_models import (
    MIN_CASES,
    TOTAL_MIN_CASES,
    model_fuzzer,
    original_files,
    run_bytes,
    run_members,
)
from _saved_models import make_model
from hypothesis import given, settings
from hypothesis import strategies as st

from _fuzzing import (
    HYPOTHESIS,
    npy_bytes,
    npy_with_header,
    object_npy,
    pickle_payload,
    unzip,
    zip_bytes,
)
from glassnet import saving
from glassnet.saving import ModelFileError, load_model, load_weights


@pytest.fixture
def fuzz(tmp_path):
    with model_fuzzer(tmp_path) as fuzzer:
        yield fuzzer


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    return original_files(tmp_path_factory.mktemp("originals"))


# ----- byte-level damage to real files -------------------------------------------------------
def test_truncated(fuzz, tmp_path, originals):
    """Every cut of a file (in steps), and cuts of its inner .npz members (re-zipped)."""
    for name, data in originals.items():
        step = max(1, len(data) // 90)
        for cut in range(0, len(data), step):
            run_bytes(fuzz, tmp_path, data[:cut], f"{name} cut at {cut}")
        for member in ("model.weights.npz", "optimizer.npz"):
            contents = unzip(data)
            inner = contents[member]
            for cut in range(0, len(inner), max(1, len(inner) // 20)):
                run_members(fuzz, tmp_path, {**contents, member: inner[:cut]},
                            f"{name} {member} cut at {cut}")
    assert fuzz.outcomes["loaded"] == 0  # no cut can leave a complete file
    fuzz.report("truncated", MIN_CASES["truncated"])


def test_bit_flips(fuzz, tmp_path, originals):
    """One flipped bit anywhere in the file (zip headers, compressed data, directory)."""
    rng = np.random.default_rng(1)
    for name, data in originals.items():
        expected = load_model(run_path(tmp_path, data)).get_weights()

        def unchanged(path, expected=expected):
            # A flip the CRCs let through must sit in a field that zipfile ignores (a
            # timestamp, an attribute): the model then has exactly the saved weights.
            for got, want in zip(load_model(path).get_weights(), expected, strict=True):
                assert np.array_equal(got, want), "a flipped bit changed a weight silently"

        for position in rng.choice(len(data), size=160, replace=False):
            bit = int(rng.integers(8))
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            run_bytes(fuzz, tmp_path, bytes(flipped), f"{name} bit {bit} of byte {position}",
                      load=unchanged)
    fuzz.report("bit_flips", MIN_CASES["bit_flips"])


def run_path(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "reference.glassnet"
    path.write_bytes(data)
    return path


def test_inner_bit_flips(fuzz, tmp_path, originals):
    """Bit flips inside a member, re-zipped so the CRC is valid: JSON, .npz and .npy damage."""
    rng = np.random.default_rng(2)
    for name, data in originals.items():
        contents = unzip(data)
        for member, flips in (("config.json", 30), ("metadata.json", 10),
                              ("model.weights.npz", 35), ("optimizer.npz", 25)):
            inner = contents[member]
            for position in rng.choice(len(inner), size=flips, replace=False):
                flipped = bytearray(inner)
                flipped[position] ^= 1 << int(rng.integers(8))
                run_members(fuzz, tmp_path, {**contents, member: bytes(flipped)},
                            f"{name} {member} byte {position}")
    fuzz.report("inner_bit_flips", MIN_CASES["inner_bit_flips"])


def test_havoc(fuzz, tmp_path, originals):
    """Chunks deleted, duplicated, zeroed or overwritten with random bytes."""
    rng = np.random.default_rng(3)
    for name, data in originals.items():
        for index in range(55):
            start = int(rng.integers(len(data)))
            size = int(rng.integers(1, 64))
            chunk = data[start:start + size]
            kind = index % 4
            if kind == 0:
                mutated = data[:start] + data[start + size:]
            elif kind == 1:
                mutated = data[:start] + chunk + data[start:]
            elif kind == 2:
                mutated = data[:start] + bytes(len(chunk)) + data[start + size:]
            else:
                mutated = data[:start] + rng.bytes(len(chunk)) + data[start + size:]
            run_bytes(fuzz, tmp_path, mutated, f"{name} havoc {kind} at {start}+{size}")
    fuzz.report("havoc", MIN_CASES["havoc"])


# ----- crafted archives ----------------------------------------------------------------------
_DESCRS = ["<f4", ">f8", "<i8", "|u1", "|b1", "<c16", "<U5", "|S3", "|V16", "|O", "<M8[s]",
           "<m8[D]", "<f2", "(4,)<f4", "float32", "xyz", "", "<U0", "|V0", "<f4\x00"]
_DIMS = st.one_of(st.integers(0, 8), st.integers(-2, 2**64), st.sampled_from(
    [2**31, 2**32 - 1, 2**62, 2**63 - 1, 10**9, 10**30]))


@st.composite
def npy_headers(draw) -> bytes:
    """Header dicts with odd dtypes and shapes, or raw header text, plus some data bytes."""
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.one_of(st.text(max_size=80), st.sampled_from([
            "{" * 300, "(" * 300, "[" * 5000, "{'descr': '<f4'}", "__import__('os')",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            "{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,)}",
            "{'descr': ('<f4', (1000000, 1000000)), 'fortran_order': False, 'shape': (1,)}",
        ])))
    else:
        descr = draw(st.one_of(st.sampled_from(_DESCRS), st.text(max_size=6)))
        shape = draw(st.one_of(st.lists(_DIMS, max_size=4).map(tuple),
                               st.sampled_from([[3], "abc", 5, None, (1.5,), ()])))
        order = draw(st.sampled_from([False, True, "yes", None]))
        header = repr({"descr": descr, "fortran_order": order, "shape": shape})
    version = draw(st.sampled_from([(1, 0), (2, 0), (3, 0), (9, 9)]))
    data = draw(st.sampled_from([b"", b"\0" * 4, b"\0" * 64, b"\x7f" * 24]))
    return npy_with_header(header, version) + data


def test_npy_headers(fuzz, tmp_path, originals):
    """Huge, negative and malformed shapes, every dtype kind, raw header text."""
    contents = unzip(originals["mlp"])
    arrays = unzip(contents["model.weights.npz"])
    state = unzip(contents["optimizer.npz"])

    @given(npy=npy_headers(), where=st.sampled_from(["weights", "optimizer", "weights file"]))
    @settings(max_examples=MIN_CASES["npy_headers"] + 10, **HYPOTHESIS)
    def one_header(npy, where):
        if where == "weights file":
            data = zip_bytes({**arrays, "0000.npy": npy}, zipfile.ZIP_STORED)
            run_bytes(fuzz, tmp_path, data, f"weights file npy {npy[:120]!r}",
                      name="case.weights.npz", load=_load_weights_into_mlp)
            return
        member, inner = (("model.weights.npz", arrays) if where == "weights"
                         else ("optimizer.npz", state))
        inner = {**inner, sorted(inner)[0]: npy}
        run_members(fuzz, tmp_path, {**contents, member: zip_bytes(inner, zipfile.ZIP_STORED)},
                    f"{member} npy {npy[:120]!r}")

    one_header()
    fuzz.report("npy_headers", MIN_CASES["npy_headers"])


_MEMBER_NAMES = ["../config.json", "../../etc/passwd", "/etc/passwd", "/config.json",
                 "sub/config.json", "config.json/", "..\\config.json", "C:\\config.json",
                 "config.json\x00.txt", "\x00", "", ".", "..", "config.json ",
                 "./config.json", "config.json/..", "con\u200bfig.json", "CONFIG.JSON",
                 "c" * 5000]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_member_names(fuzz, tmp_path, originals):
    """Path traversal and odd names, in the outer archive and in an inner .npz."""
    contents = unzip(originals["mlp"])
    for name in _MEMBER_NAMES:
        run_members(fuzz, tmp_path, {**contents, name: b"{}"}, f"outer extra {name!r}")
        renamed = {(name if key == "config.json" else key): value
                   for key, value in contents.items()}
        outcome = run_members(fuzz, tmp_path, renamed, f"outer renamed {name!r}")
        # zipfile cuts a name at its first NUL (both writing and reading), so
        # "config.json\x00.txt" is read back as "config.json", and loads.
        assert (outcome == "loaded") == (name.split("\x00")[0] == "config.json"), name
        arrays = unzip(contents["model.weights.npz"])
        arrays[name + ".npy"] = arrays.pop("0000.npy")
        outcome = run_members(fuzz, tmp_path, {**contents, "model.weights.npz":
                                               zip_bytes(arrays, zipfile.ZIP_STORED)},
                              f"inner {name!r}")
        assert outcome != "loaded", name
    fuzz.report("member_names", MIN_CASES["member_names"])


def _deflate_bomb(size: int) -> bytes:
    """A .npz whose one array is `size` zero bytes: deflates about 1000:1."""
    return npy_bytes(np.zeros(size, dtype=np.uint8))


def _forge_sizes(data: bytes, name: str, size: int) -> bytes:
    """Set the declared uncompressed size of `name` in its local and central headers."""
    raw = bytearray(data)
    # (signature, offsets of: uncompressed size, name length, name) in each header kind
    for signature, size_at, length_at, name_at in ((b"PK\x03\x04", 22, 26, 30),
                                                    (b"PK\x01\x02", 24, 28, 46)):
        start = raw.find(signature)
        while start != -1:
            (length,) = struct.unpack_from("<H", raw, start + length_at)
            if raw[start + name_at:start + name_at + length] == name.encode():
                struct.pack_into("<I", raw, start + size_at, size)
            start = raw.find(signature, start + 1)
    return bytes(raw)


def test_bombs(fuzz, tmp_path, originals, monkeypatch):
    """Zip bombs: high-ratio members, nested archives, forged sizes, many members."""
    contents = unzip(originals["mlp"])
    arrays = unzip(contents["model.weights.npz"])
    # With the default caps: an inner .npz whose member inflates 1000:1 inside an outer
    # member that inflates 1000:1 again (a few KB on disk, 64 MiB in memory).
    nested = zip_bytes({**arrays, "0000.npy": _deflate_bomb(64 * 2**20)})
    run_members(fuzz, tmp_path, {**contents, "model.weights.npz": nested},
                "nested bomb, default caps")
    # Caps small enough that the test's memory cap can see a bomb get through.
    monkeypatch.setattr(saving, "MAX_MEMBER_BYTES", 8 * 2**20)
    monkeypatch.setattr(saving, "MAX_TOTAL_BYTES", 12 * 2**20)
    monkeypatch.setattr(saving, "MAX_JSON_BYTES", 2**20)
    big = 40 * 2**20
    bomb = zip_bytes({**arrays, "0000.npy": _deflate_bomb(big)}, zipfile.ZIP_DEFLATED)
    cases = {
        "deflated weights member of 40 MiB": {**contents, "model.weights.npz":
                                              zip_bytes({"0000.npy": _deflate_bomb(big)})},
        "40 MiB of zeros as config.json": {**contents, "config.json": bytes(big)},
        "4 MiB of spaces around the config": {**contents, "config.json":
                                              b" " * (4 * 2**20) + contents["config.json"]},
        "nested: deflated .npz inside the archive": {**contents, "model.weights.npz": bomb},
        "nested: 6 MiB inner array, deflated twice": {**contents, "model.weights.npz":
            zip_bytes({**arrays, "0000.npy": _deflate_bomb(6 * 2**20)})},
        "a thousand members": {**contents, **{f"m{i}": b"" for i in range(1000)}},
        "2000 arrays in the weights": {**contents, "model.weights.npz": zip_bytes(
            {f"{i:06d}.npy": npy_bytes(np.zeros(0, np.float32)) for i in range(2000)})},
    }
    for label, members in cases.items():
        run_members(fuzz, tmp_path, members, label)
    monkeypatch.setattr(saving, "MAX_ARRAYS", 100)
    run_members(fuzz, tmp_path, cases["2000 arrays in the weights"], "MAX_ARRAYS exceeded")
    # Forged headers: tiny compressed data that claims a huge (or a wrong) size.
    whole = zip_bytes(contents)
    for member in ("config.json", "model.weights.npz"):
        for size in (0, 1, 2**31, 0xFFFFFFFF):
            run_bytes(fuzz, tmp_path, _forge_sizes(whole, member, size),
                      f"{member} declared {size}")
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        run_members(fuzz, tmp_path, contents, f"method {method}", method=method)
    encrypted = bytearray(whole)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = encrypted.find(signature)
        encrypted[start + offset] |= 1
    run_bytes(fuzz, tmp_path, bytes(encrypted), "encrypted flag")
    assert fuzz.outcomes["loaded"] == 0
    fuzz.report("bombs", MIN_CASES["bombs"])


def test_pickle(fuzz, tmp_path, originals):
    """Pickle payloads wherever a loader might unpickle; the canary proves none ran."""
    control = tmp_path / "control"
    pickle.loads(pickle_payload(control))  # the payload is live: loading it runs os.mkdir
    assert control.exists()
    np.load(io.BytesIO(object_npy(tmp_path / "control2")), allow_pickle=True)
    assert (tmp_path / "control2").exists()

    payload, npy = pickle_payload(fuzz.canary), object_npy(fuzz.canary)
    contents = unzip(originals["mlp"])
    weights = unzip(contents["model.weights.npz"])
    state = unzip(contents["optimizer.npz"])
    structured = npy_with_header(repr({"descr": [("a", "<f4"), ("b", "|O")],
                                   "fortran_order": False, "shape": (1,)})) + payload
    cases = {
        "whole file is a pickle": None,
        "config.json is a pickle": {**contents, "config.json": payload},
        "weights member is a pickle": {**contents, "model.weights.npz": payload},
        "object array in weights": {**contents, "model.weights.npz":
                                    zip_bytes({**weights, "0000.npy": npy})},
        "structured array with an object field": {**contents, "model.weights.npz":
                                                  zip_bytes({**weights, "0001.npy": structured})},
        "object array in optimizer": {**contents, "optimizer.npz":
                                      zip_bytes({**state, "iterations.npy": npy})},
        "pickle after a valid npy header": {**contents, "model.weights.npz": zip_bytes(
            {**weights, "0000.npy": npy_bytes(np.zeros(1, np.uint8)) + payload})},
    }
    for label, members in cases.items():
        if members is None:
            run_bytes(fuzz, tmp_path, payload, label)
        else:
            run_members(fuzz, tmp_path, members, label)
    weights_file = zip_bytes({**weights, "0000.npy": npy})
    for label, data in (("weights file with an object array", weights_file),
                        ("weights file is a pickle", payload),
                        ("weights file: structured object dtype",
                         zip_bytes({**weights, "0000.npy": structured}))):
        run_bytes(fuzz, tmp_path, data, label, name="case.weights.npz",
                  load=_load_weights_into_mlp)
    assert fuzz.outcomes["loaded"] == 0
    fuzz.report("pickle", MIN_CASES["pickle"])


def _load_weights_into_mlp(path: Path) -> None:
    load_weights(make_model(), path)


# ----- .weights.npz files --------------------------------------------------------------------
def test_weights_file(fuzz, tmp_path, originals):
    """load_weights on truncated, bit-flipped and re-shaped .weights.npz files."""
    weights = unzip(unzip(originals["mlp"])["model.weights.npz"])
    data = zip_bytes(weights, zipfile.ZIP_STORED)
    rng = np.random.default_rng(4)
    variants = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 60))]
    for position in rng.choice(len(data), size=70, replace=False):
        flipped = bytearray(data)
        flipped[position] ^= 1 << int(rng.integers(8))
        variants.append(bytes(flipped))
    for key in sorted(weights):
        array = np.load(io.BytesIO(weights[key]))
        for replacement in (array.T.copy(), array[..., :1], array.astype(np.float64),
                            array.astype(np.int8), array.astype(np.complex64),
                            array.reshape(-1), np.full_like(array, np.nan)):
            variants.append(zip_bytes({**weights, key: npy_bytes(replacement)},
                                      zipfile.ZIP_STORED))
    variants.append(zip_bytes({**weights, "0099.npy": weights["0000.npy"]}))
    variants.append(zip_bytes({k: v for k, v in weights.items() if k != "0002.npy"}))
    for index, variant in enumerate(variants):
        run_bytes(fuzz, tmp_path, variant, f"weights variant {index}", name="case.weights.npz",
                  load=_load_weights_into_mlp)
    fuzz.report("weights_file", MIN_CASES["weights_file"])


def test_case_budget():
    """The model-file and data-file fuzz tests together run at least TOTAL_MIN_CASES cases."""
    from test_fuzz_data_files import MIN_CASES as DATA_MIN_CASES

    assert sum(MIN_CASES.values()) + sum(DATA_MIN_CASES.values()) >= TOTAL_MIN_CASES


# ----- one test per bug the fuzzing found (fixed in glassnet/saving/) ----------------------
def _saved(tmp_path, originals, model: str = "mlp", **changes) -> Path:
    """The file of `originals[model]` with members replaced ({name: bytes})."""
    path = tmp_path / "fixed.glassnet"
    path.write_bytes(zip_bytes({**unzip(originals[model]), **changes}))
    return path


def test_forged_directory_offset_is_a_model_file_error(tmp_path, originals):
    # The central directory's offset moved 1000 bytes on: zipfile seeks to a negative
    # position and the OS answers EINVAL (an OSError that used to escape).
    data = bytearray(originals["mlp"])
    end = data.rfind(b"PK\x05\x06")
    offset = struct.unpack_from("<I", data, end + 16)[0]
    struct.pack_into("<I", data, end + 16, offset + 1000)
    path = tmp_path / "offset.glassnet"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="offset.glassnet"):
        load_model(path)


def test_unparsable_npy_header_is_a_model_file_error(tmp_path, originals):
    # numpy tokenizes the header first: unbalanced brackets raised tokenize.TokenError.
    weights = unzip(unzip(originals["mlp"])["model.weights.npz"])
    weights["0000.npy"] = npy_with_header("{" * 300)
    path = _saved(tmp_path, originals,
                  **{"model.weights.npz": zip_bytes(weights, zipfile.ZIP_STORED)})
    with pytest.raises(ModelFileError, match="invalid .npy header"):
        load_model(path)


def test_deflated_inner_npz_is_refused(tmp_path, originals):
    # Deflate inside deflate multiplies the ratios: a few KB could inflate to gigabytes.
    weights = unzip(unzip(originals["mlp"])["model.weights.npz"])
    path = _saved(tmp_path, originals,
                  **{"model.weights.npz": zip_bytes(weights, zipfile.ZIP_DEFLATED)})
    with pytest.raises(ModelFileError, match="only stored allowed here"):
        load_model(path)


def _lstm_config(config: dict) -> dict:
    return config["config"]["layers"][1]["config"]["layer"]["config"]


@pytest.mark.parametrize("model, edit, message", [
    # A 4000-digit size overflowed float maths in an initializer (OverflowError).
    ("mlp", lambda c: c["config"]["layers"][1]["config"].update(units=10**4000),
     "cannot rebuild"),
    # A null initializer inside Bidirectional met .get_config() (AttributeError).
    ("rnn", lambda c: _lstm_config(c).update(kernel_initializer=None), "cannot rebuild"),
    # An unknown metric name loaded, and failed only at the first batch.
    ("mlp", lambda c: c["compile_config"].update(metrics=["os.system"]),
     "unknown metric 'os.system'"),
])
def test_config_values_that_escaped(tmp_path, originals, model, edit, message):
    config = json.loads(unzip(originals[model])["config.json"])
    edit(config)
    path = _saved(tmp_path, originals, model, **{"config.json": json.dumps(config).encode()})
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_duplicate_json_keys_are_refused(tmp_path, originals):
    text = unzip(originals["mlp"])["config.json"].decode()
    text = text.replace('"units": 8', '"units": 8, "units": 9')
    path = _saved(tmp_path, originals, **{"config.json": text.encode()})
    with pytest.raises(ModelFileError, match=r"duplicate keys \['units'\]"):
        load_model(path)
