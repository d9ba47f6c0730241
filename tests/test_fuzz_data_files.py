"""Hostile and broken data files: each one loads or ends in a DatasetError naming the file.

Issue 6, item 4, for the data loaders: `read_idx` (MNIST's gzipped IDX files), the Semeion
text format, `load_csv` and `load_npz`. The real files come from ../shared/data (small
slices: the t10k labels, the first images, the first Semeion rows); they are truncated and
bit-flipped by deterministic loops, Hypothesis (derandomized, fixed example counts) writes
IDX headers and CSV text, and hand-made cases cover gzip and zip bombs, forged shapes and
pickle payloads. Each case runs through tests/_fuzzing.py's `Fuzzer` (outcome, time,
memory and canary checks, see there); each test prints its count and asserts MIN_CASES.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import io
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _fuzzing import (
    HYPOTHESIS,
    Fuzzer,
    check_fresh,
    npy_bytes,
    npy_with_header,
    object_npy,
    pickle_payload,
    raw_zip,
    run_fresh,
    zeros_member,
    zeros_npy_member,
    zip_bytes,
)
from conftest import require_data
from glassnet import saving
from glassnet.datasets import DatasetError, load_csv, load_npz, read_idx
from glassnet.datasets.semeion import load_semeion_file

# The module (the package's `mnist` attribute is the loader function of the same name).
mnist_module = importlib.import_module("glassnet.datasets.mnist")

MIN_CASES = {
    "idx_labels": 380,
    "idx_images": 90,
    "idx_headers": 200,
    "gzip_bombs": 8,
    "semeion": 180,
    "csv": 150,
    "npz": 230,
    "data_ratios": 30,
    "data_files": 9,
}


@pytest.fixture
def fuzz(tmp_path):
    import tracemalloc

    tracemalloc.start()
    try:
        yield Fuzzer(tmp_path / "canary", (DatasetError,))
    finally:
        tracemalloc.stop()


def run_bytes(fuzz: Fuzzer, tmp_path, data: bytes, name: str, load, label: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return fuzz.run(load, path, label)


def flips(data: bytes, count: int, seed: int):
    """`count` copies of `data`, each with one bit flipped (positions drawn without repeats)."""
    rng = np.random.default_rng(seed)
    for position in rng.choice(len(data), size=min(count, len(data)), replace=False):
        bit = int(rng.integers(8))
        flipped = bytearray(data)
        flipped[position] ^= 1 << bit
        yield f"bit {bit} of byte {position}", bytes(flipped)


def cuts(data: bytes, count: int):
    """Prefixes of `data` at about `count` evenly spaced lengths (never the whole)."""
    for cut in range(0, len(data), max(1, len(data) // count)):
        yield f"cut at {cut}", data[:cut]


def _labels(path) -> np.ndarray:
    return read_idx(path, magic=2049)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


# ----- IDX -----------------------------------------------------------------------------------
def test_idx_labels(fuzz, tmp_path):
    """The real t10k labels: its .gz cut and flipped; its IDX bytes flipped and re-gzipped."""
    original = require_data("mnist/t10k-labels-idx1-ubyte.gz").read_bytes()
    raw = gzip.decompress(original)
    cases = [(f"gz {label}", data, "labels.gz") for label, data in cuts(original, 150)]
    cases += [(f"gz {label}", data, "labels.gz") for label, data in flips(original, 120, 10)]
    # A valid gzip around damaged IDX bytes: the header checks, not the CRC, must catch it.
    header_flips = [(f"idx bit {bit} of byte {byte}", raw[:byte] + bytes([raw[byte] ^ 1 << bit])
                     + raw[byte + 1:]) for byte in range(8) for bit in range(8)]
    cases += [(label, gz(data), "labels.gz") for label, data in header_flips]
    cases += [(f"plain {label}", data, "labels.idx") for label, data in header_flips[::2]]
    cases += [(f"plain {label}", data, "labels.idx") for label, data in cuts(raw, 30)]
    expected = _labels(_write(tmp_path, "ok.gz", original))

    def unchanged(path):
        # A .gz flip that loads must have hit a field gzip ignores (the mtime): same labels.
        assert np.array_equal(_labels(path), expected), "silent change"

    for label, data, name in cases:
        run_bytes(fuzz, tmp_path, data, name, unchanged if label.startswith("gz bit") else
                  _labels, label)
    assert fuzz.outcomes["loaded"] < len(cases) // 4  # most damage is caught
    fuzz.report("idx_labels", MIN_CASES["idx_labels"])


def test_idx_images(fuzz, tmp_path):
    """The first 20 real test images as their own file, with their header rewritten."""
    with gzip.open(require_data("mnist/t10k-images-idx3-ubyte.gz")) as file:
        head = file.read(16 + 20 * 28 * 28)
    pixels = head[16:]
    valid = struct.pack(">HBB3I", 0, 8, 3, 20, 28, 28) + pixels
    assert read_idx(_write(tmp_path, "ok.gz", gz(valid)), 2051).shape == (20, 28, 28)
    headers = [(n, h, w) for n in (0, 19, 21, 10000, 2**32 - 1) for h, w in ((28, 28), (28, 0),
                                                                               (2**16, 2**16))]
    cases = []
    for shape in headers:
        header = struct.pack(">HBB3I", 0, 8, 3, *shape)
        cases += [(f"shape {shape}", gz(header + pixels)), (f"plain shape {shape}",
                                                            header + pixels)]
    for type_code in (0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x07, 0xFF):
        cases.append((f"type {type_code:#x}", gz(struct.pack(">HBB3I", 0, type_code, 3, 20, 28,
                                                                   28) + pixels)))
    for ndim in (0, 1, 2, 4, 255):
        cases.append((f"ndim {ndim}", gz(struct.pack(">HBB", 0, 8, ndim) + valid[4:])))
    cases += [(f"gz {label}", data) for label, data in flips(gz(valid), 50, 11)]
    for label, data in cases:
        name = "images.idx" if label.startswith("plain") else "images.gz"
        run_bytes(fuzz, tmp_path, data, name, lambda p: read_idx(p, 2051), label)
    fuzz.report("idx_images", MIN_CASES["idx_images"])


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@st.composite
def idx_files(draw) -> tuple[bytes, bool]:
    """IDX bytes with any type code, rank and sizes, and a payload of some length."""
    type_code = draw(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x0A, 0xFF]))
    ndim = draw(st.integers(0, 6))
    dims = draw(st.lists(st.one_of(st.integers(0, 9), st.sampled_from(
        [2**31, 2**32 - 1, 60000, 10**9])), min_size=ndim, max_size=ndim))
    header = struct.pack(f">HBB{ndim}I", draw(st.sampled_from([0, 0, 0, 1, 0xFFFF])),
                         type_code, ndim, *dims)
    payload = bytes(draw(st.integers(0, 300))) if draw(st.booleans()) else draw(
        st.binary(max_size=64))
    cut = draw(st.integers(0, len(header) + len(payload)))
    data = (header + payload)[:cut] if draw(st.integers(0, 4)) == 0 else header + payload
    return data, draw(st.booleans())


def test_idx_headers(fuzz, tmp_path):
    """Hypothesis: huge, zero and odd IDX shapes and types, gzipped or plain."""

    @given(case=idx_files())
    @settings(max_examples=MIN_CASES["idx_headers"] + 10, **HYPOTHESIS)
    def one_file(case):
        data, compressed = case
        name, data = ("x.gz", gz(data)) if compressed else ("x.idx", data)
        run_bytes(fuzz, tmp_path, data, name, read_idx, f"idx {data[:40]!r}")

    one_file()
    fuzz.report("idx_headers", MIN_CASES["idx_headers"])


def test_gzip_bombs(fuzz, tmp_path, monkeypatch):
    """Gzip that inflates ~1000:1, or forever; the header decides how much is read."""
    # A cap the test's memory cap can see: 64 MiB from 64 KB is within deflate's 1032:1.
    monkeypatch.setattr(mnist_module, "MAX_IDX_BYTES", 16 * 2**20)
    zeros = gz(bytes(64 * 2**20))  # 64 MiB of zeros in ~64 KB
    small = struct.pack(">HBB1I", 0, 8, 1, 16)
    cases = {
        "labels header, 64 MiB of zeros after it": gz(small) + zeros,
        "header declaring 64 MiB, 64 MiB of zeros": gz(struct.pack(">HBB1I", 0, 8, 1,
                                                                   64 * 2**20)) + zeros,
        "header declaring 4 GiB": gz(struct.pack(">HBB1I", 0, 8, 1, 2**32 - 1)) + zeros,
        "header declaring 2**96 items": gz(struct.pack(">HBB3I", 0, 8, 3, *[2**32 - 1] * 3)),
        "zeros only": zeros,
        "two gzip members": gz(small + bytes(16)) + gz(bytes(16)),
        "trailing garbage": gz(small + bytes(16)) + b"garbage",
        "trailing zeros": gz(small + bytes(16)) + bytes(64),
    }
    outcomes = {label: run_bytes(fuzz, tmp_path, data, "bomb.gz", read_idx, label)
                for label, data in cases.items()}
    assert outcomes["trailing zeros"] == "loaded"  # gzip allows zero padding after a member
    assert [label for label, outcome in outcomes.items() if outcome == "loaded"] == [
        "trailing zeros"]
    fuzz.report("gzip_bombs", MIN_CASES["gzip_bombs"])


# ----- Semeion text --------------------------------------------------------------------------
def test_semeion(fuzz, tmp_path):
    """The first 12 rows of semeion.data: cut, flipped, and edited cell by cell."""
    with open(require_data("semeion.data"), "rb") as file:
        rows = [file.readline() for _ in range(12)]
    original = b"".join(rows)
    assert load_semeion_file(_write(tmp_path, "ok.data", original))[0].shape == (12, 256)
    cases = list(cuts(original, 60)) + list(flips(original, 80, 12))
    first = rows[0].split()
    for value in (b"nan", b"inf", b"-inf", b"1e400", b"2", b"-0", b"0x1", b"1_0", b"\xff",
                  b"\x00", b"", b"1.0000e0", "\u0661".encode(), b"0.5"):
        for column in (0, 200, 256, 265):
            edited = list(first)
            edited[column] = value
            cases.append((f"cell {column} = {value!r}", b" ".join(edited) + b"\n"
                          + b"".join(rows[1:])))
    cases += [("two labels", b" ".join(first[:256] + [b"1"] * 10) + b"\n"),
              ("no label", b" ".join(first[:256] + [b"0"] * 10) + b"\n"),
              ("one value too many", rows[0].rstrip() + b" 0\n"),
              ("UTF-16", original.decode("ascii").encode("utf-16")),
              ("CR line ends", original.replace(b"\n", b"\r")),
              ("only blank lines", b"\n \n\t\n"), ("empty", b"")]
    for label, data in cases:
        run_bytes(fuzz, tmp_path, data, "semeion.data", load_semeion_file, label)
    fuzz.report("semeion", MIN_CASES["semeion"])


# ----- CSV -----------------------------------------------------------------------------------
_CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["", " ", "nan", "inf", "-Infinity", "1e39", "-1e400", "1e-400", "0x10",
                     "1_000", "\u0661", "a,b", '"1"', '"', "\x00", "\r", "label", "1 2"]),
    st.text(max_size=6))


@st.composite
def csv_texts(draw) -> bytes:
    """A CSV file: a header (or not), rows of odd cells, an encoding, a line ending."""
    width = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(_CELLS, min_size=width, max_size=width + draw(
        st.integers(0, 1))), max_size=5))
    header = ",".join(f"c{i}" for i in range(width))
    text = "\n".join([header] + [",".join(row) for row in rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def test_csv(fuzz, tmp_path):
    """Hypothesis: CSV text with NaN, overflow, quotes, NUL, bad encodings, ragged rows."""

    def load(path):
        x, y = load_csv(path)
        written_inf = ("inf", "infinity")
        # An overflowing number must not become inf silently (only a written "inf" may).
        if np.isinf(x).any() or np.isinf(y.astype(np.float64)).any():
            assert any(word in path.read_text("utf-8", "replace").lower()
                       for word in written_inf), "a number overflowed to inf"

    @given(data=csv_texts())
    @settings(max_examples=MIN_CASES["csv"] + 10, **HYPOTHESIS)
    def one_file(data):
        run_bytes(fuzz, tmp_path, data, "table.csv", load, f"csv {data[:80]!r}")

    one_file()
    fuzz.report("csv", MIN_CASES["csv"])


# ----- npz -----------------------------------------------------------------------------------
def test_npz(fuzz, tmp_path, monkeypatch):
    """load_npz on a real slice (Semeion rows) saved by np.savez: cut, flipped, forged."""
    with open(require_data("semeion.data"), "rb") as file:
        table = np.loadtxt(io.BytesIO(b"".join(file.readline() for _ in range(10))))
    x, y = table[:, :256].astype(np.float32), table[:, 256:].argmax(axis=1)
    plain, packed = io.BytesIO(), io.BytesIO()
    np.savez(plain, x=x, y=y)
    np.savez_compressed(packed, x=x, y=y)
    assert np.array_equal(load_npz(_write(tmp_path, "ok.npz", plain.getvalue()))[0], x)
    cases = []
    for kind, data in (("stored", plain.getvalue()), ("deflated", packed.getvalue())):
        cases += [(f"{kind} {label}", d) for label, d in cuts(data, 50)]
        cases += [(f"{kind} {label}", d) for label, d in flips(data, 60, 13)]
    arrays = {"x.npy": npy_bytes(x), "y.npy": npy_bytes(y)}
    huge = io.BytesIO()
    np.lib.format.write_array_header_2_0(huge, {"descr": "<f8", "fortran_order": False,
                                                "shape": (10**6, 10**6)})
    cases += [
        ("object y", zip_bytes({**arrays, "y.npy": object_npy(fuzz.canary)})),
        ("object x", zip_bytes({**arrays, "x.npy": object_npy(fuzz.canary)})),
        ("a pickle named .npz", pickle_payload(fuzz.canary)),
        ("an .npy named .npz", npy_bytes(x)),
        ("huge declared shape", zip_bytes({**arrays, "x.npy": huge.getvalue() + bytes(64)})),
        ("scalar x", zip_bytes({**arrays, "x.npy": npy_bytes(np.float32(1))})),
        ("y one row short", zip_bytes({**arrays, "y.npy": npy_bytes(y[:-1])})),
        ("no y", zip_bytes({"x.npy": arrays["x.npy"]})),
        ("string y", zip_bytes({**arrays, "y.npy": npy_bytes(np.array(["a"] * 10))})),
        ("lzma", zip_bytes(arrays, zipfile.ZIP_LZMA)),
    ]
    for name in ("../x.npy", "/x.npy", "..\\x.npy", "x\x01.npy", "x.npy/..", "a/../../x.npy"):
        cases.append((f"member {name!r}", zip_bytes({**arrays, name: arrays["x.npy"]})))
    monkeypatch.setattr(saving, "MAX_MEMBER_BYTES", 16 * 2**20)
    cases.append(("deflated 64 MiB y", zip_bytes(
        {**arrays, "y.npy": npy_bytes(np.zeros(64 * 2**20, np.uint8))}, zipfile.ZIP_DEFLATED)))

    def unchanged(path):
        # A flip that the CRCs let through must sit in a field zipfile ignores: same arrays.
        loaded_x, loaded_y = load_npz(path)
        assert np.array_equal(loaded_x, x) and np.array_equal(loaded_y, y), "silent change"

    outcomes = {label: run_bytes(fuzz, tmp_path, data, "data.npz",
                                 unchanged if " bit " in label else load_npz, label)
                for label, data in cases}
    for label in ("object y", "object x", "a pickle named .npz", "huge declared shape",
                  "scalar x", "y one row short", "no y", "lzma", "deflated 64 MiB y"):
        assert outcomes[label] == "DatasetError", label
    fuzz.report("npz", MIN_CASES["npz"])


# ----- issue 15: compression ratios, nesting, quadratic inputs --------------------------------
def test_data_ratios_and_nesting(fuzz, tmp_path):
    """Members and .gz files across the data limit (100:1 past 1 MiB), zips inside .npy
    members and .gz files inside .gz files: refused before inflating, or read whole."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((8, 3)).astype(np.float32), np.arange(8)
    arrays = {"x.npy": npy_bytes(x), "y.npy": npy_bytes(y)}
    outcomes = {}
    for size in (2**19, 2**20 - 256, 2**20 + 2**16, 4 * 2**20, 32 * 2**20):
        for level in (1, 9):
            for member in ("x.npy", "y.npy"):
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
                    for name, data in arrays.items():
                        if name != member:
                            zf.writestr(name, data)
                    zeros_npy_member(zf, member, size) if level == 1 else zf.writestr(
                        member, npy_bytes(np.zeros(size, np.uint8)))
                label = f"{member} of {size:,} zeros at level {level}"
                outcomes[label] = run_bytes(fuzz, tmp_path, buffer.getvalue(), "data.npz",
                                            functools.partial(load_npz, x_key=member[:-4],
                                                              y_key=None), label)
            gz_data = gzip.compress(struct.pack(">HBB1I", 0, 8, 1, size) + bytes(size),
                                    compresslevel=level, mtime=0)
            label = f"idx of {size:,} zeros at level {level}"
            outcomes[label] = run_bytes(fuzz, tmp_path, gz_data, "data.gz", read_idx, label)
    for label, outcome in outcomes.items():   # refused exactly past 1 MiB (all ratios > 100)
        size = int(label.split(" of ")[1].split(" ")[0].replace(",", ""))
        assert (outcome == "loaded") == (size <= 2**20), (label, outcome)
    nested = {
        "a zip as x.npy": zip_bytes({**arrays, "x.npy": zip_bytes(arrays)}),
        "an .npz of .npz as x.npy, stored": zip_bytes(
            {**arrays, "x.npy": zip_bytes({"x.npy": zip_bytes(arrays)})}, zipfile.ZIP_STORED),
        "a .gz as x.npy": zip_bytes({**arrays, "x.npy": gzip.compress(arrays["x.npy"])}),
    }
    for label, data in nested.items():
        assert run_bytes(fuzz, tmp_path, data, "data.npz", load_npz, label) == "DatasetError"
    inner = gz(struct.pack(">HBB1I", 0, 8, 1, 4 * 2**20) + bytes(4 * 2**20))
    assert run_bytes(fuzz, tmp_path, gz(inner), "nested.gz", read_idx, "a .gz in a .gz") \
        == "DatasetError"
    fuzz.report("data_ratios", MIN_CASES["data_ratios"])


def test_data_files_at_full_size(tmp_path):
    """Quadratic member counts and 256 MiB bombs, in a fresh process: each refused in under
    2 s and 200 MB above the baseline."""
    arrays = [("x.npy", npy_bytes(np.zeros((4, 2), np.float32))), ("y.npy", npy_bytes(
        np.zeros(4)))]
    files = {
        "npz: x, y, 60,000 empty members, the last named '../m'": raw_zip(
            arrays + [(f"m{i}.npy", b"") for i in range(60_000)] + [("../m", b"")]),
        "npz: 30,000 names twice": raw_zip(arrays + [(f"m{i // 2}.npy", b"")
                                                     for i in range(60_000)]),
        "npz: 100,001 members": raw_zip(arrays + [(f"m{i}", b"") for i in range(100_001)]),
        "npz: x and y each twice": raw_zip(arrays + arrays),
        "npz: a member named with 60,000 characters": raw_zip(arrays + [("m" * 60_000, b"")]),
    }
    cases = []
    for index, (label, data) in enumerate(files.items()):
        (tmp_path / f"d{index}.npz").write_bytes(data)
        cases.append((label, "npz", f"d{index}.npz"))
    size = 256 * 2**20
    for index, member in enumerate(("x.npy", "y.npy")):
        with zipfile.ZipFile(tmp_path / f"bomb{index}.npz", "w") as zf:
            zf.writestr(*arrays[1 - index])
            zeros_npy_member(zf, member, size)
        cases.append((f"npz: {member} of 256 MiB of zeros", "npz", f"bomb{index}.npz"))
    with zipfile.ZipFile(tmp_path / "extra.npz", "w") as zf:   # never read, still refused
        for name, data in arrays:
            zf.writestr(name, data)
        zeros_member(zf, "extra.npy", size)
    cases.append(("npz: an unread member of 256 MiB of zeros", "npz", "extra.npz"))
    with gzip.open(tmp_path / "bomb.gz", "wb", compresslevel=1) as out:
        out.write(struct.pack(">HBB1I", 0, 8, 1, size))
        for _ in range(size // 2**20):
            out.write(bytes(2**20))
    cases.append(("idx: 256 MiB of zeros", "idx", "bomb.gz"))
    check_fresh("data_files", run_fresh(tmp_path, cases), MIN_CASES["data_files"])


# ----- one test per bug the fuzzing found (fixed in glassnet/datasets) -----------------------
def test_idx_gzip_bomb_is_not_inflated(tmp_path):
    # A 16-byte labels header then 64 MiB of zeros: the whole stream used to be inflated
    # before the header was compared with it.
    import tracemalloc

    path = _write(tmp_path, "bomb.gz", gz(struct.pack(">HBB1I", 0, 8, 1, 16) + bytes(64 * 2**20)))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="holds more than 16 bytes"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_idx_empty_but_huge_shape(tmp_path):
    # (0, 2**32 - 1, 2**32 - 1) holds no bytes but too many items: numpy's ValueError escaped.
    path = _write(tmp_path, "empty.idx", struct.pack(">HBB3I", 0, 8, 3, 0, 2**32 - 1, 2**32 - 1))
    with pytest.raises(DatasetError, match="not a valid array shape"):
        read_idx(path)


def test_semeion_non_ascii_bytes(tmp_path):
    path = _write(tmp_path, "semeion.data", b"\xff\xfe 1 0\n")
    with pytest.raises(DatasetError, match="semeion.data.*not an ASCII text file"):
        load_semeion_file(path)


@pytest.mark.parametrize("label, data, message", [
    ("not a zip", b"just text", "not a valid zip"),
    ("an .npy file", npy_bytes(np.zeros(3)), "not a valid zip"),
    ("a scalar", zip_bytes({"x.npy": npy_bytes(np.float32(1)), "y.npy": npy_bytes(np.zeros(1))}),
     "'x' is a scalar"),
    ("a huge declared shape", zip_bytes({"x.npy": npy_with_header(repr(
        {"descr": "<f4", "fortran_order": False, "shape": (4 * 10**8,)})) + bytes(64),
        "y.npy": npy_bytes(np.zeros(1))}), r"declares shape \(400000000,\)"),
])
def test_npz_files_that_escaped(tmp_path, label, data, message):
    # np.load raised ValueError/BadZipFile/TypeError without the file's name, or (huge
    # shape) allocated 1.6 GB before noticing the data was short.
    path = _write(tmp_path, "data.npz", data)
    with pytest.raises(DatasetError, match=message):
        load_npz(path)


def test_csv_overflow_is_not_silently_inf(tmp_path):
    path = _write(tmp_path, "t.csv", b"a,b\n1e39,1\n2,3\n")
    with pytest.raises(DatasetError, match=r"t.csv, line 2, column 'a': '1e39' is too large"):
        load_csv(path)
    path = _write(tmp_path, "u.csv", b"a,b\n1,-1e400\n2,3\n")
    with pytest.raises(DatasetError, match="column 'b': '-1e400' is too large"):
        load_csv(path)
    x, _ = load_csv(_write(tmp_path, "v.csv", b"a,b\ninf,1\n2,3\n"))  # written inf stays
    assert np.isinf(x[0, 0])
