"""Issue 15's shapes of attack on model files, fuzzed; and the issue's own files, at full size,
in a fresh process.

- quadratic: inputs sized so that a check quadratic in them would take seconds or hours
  (40,000 JSON keys, 60,000 zip members, 100,001 directory entries, 60,000 arrays);
- nested compression: deflate inside deflate, zips inside .npy members, stored .npz members
  that inflate past what the model's weights can take;
- value-changing casts (Hypothesis): NaN, inf, overflowing floats, inexact integers, in
  every weight dtype, into float32 and float16 models, in model files and .weights.npz.

Small cases go through tests/_fuzzing.py's Fuzzer (a ModelFileError naming the file, or a
model; under 2 s CPU and 50 MiB of tracemalloc peak); quadratic ones and the issue's files
through `run_fresh` (a fresh process: refused, under 2 s CPU and 200 MB above the baseline
resident memory). Each test prints its figures (`pytest -s`): cases, outcomes, worst time,
worst memory.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from _fuzz_models import model_fuzzer, original_files, run_bytes, run_members
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import glassnet as gn
from _fuzzing import (
    HYPOTHESIS,
    check_fresh,
    npy_bytes,
    raw_zip,
    run_fresh,
    unzip,
    zeros_npy_member,
    zip_bytes,
)
from glassnet import layers
from glassnet.saving import load_model, load_weights

MIN_CASES = {"quadratic": 16, "nested": 16, "casts": 100, "issue files": 11}


@pytest.fixture
def fuzz(tmp_path):
    with model_fuzzer(tmp_path) as fuzzer:
        yield fuzzer


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    files = original_files(tmp_path_factory.mktemp("originals"))
    half = gn.Sequential([layers.Input(shape=(3,)), layers.Dense(2, dtype="float16")])
    path = tmp_path_factory.mktemp("half") / "half.glassnet"
    half.save(path)
    files["half"] = path.read_bytes()
    return files


def _with_json(text: str, extra: str) -> bytes:
    """A JSON object's text with `extra` ('"key": value, ...') added before its last brace."""
    return (text.rstrip().removesuffix("}") + ", " + extra + "}").encode()


# ----- quadratic inputs ------------------------------------------------------------------------
def test_quadratic_inputs(tmp_path, originals):
    """Inputs an O(n^2) check would take seconds (60,000 members: 45 s) to hours on (1.4
    million keys): each refused in under 2 s and 200 MB, in a fresh process."""
    contents = unzip(originals["mlp"])
    metadata, config = contents["metadata.json"].decode(), contents["config.json"].decode()
    keys = ", ".join(f'"k{i}": {i}' for i in range(40_000))
    weights = unzip(contents["model.weights.npz"])
    empty = npy_bytes(np.zeros(0, np.float32))
    named = sorted(contents.items())
    members = {
        "metadata: 40,000 keys, the last one twice":
            {**contents, "metadata.json": _with_json(metadata, f'"user": {{{keys}, "k39999": 0}}')},
        "metadata: 40,000 keys, the first one twice":
            {**contents, "metadata.json": _with_json(metadata, f'"user": {{"k0": 0, {keys}}}')},
        "config: 40,000 keys in the model's config, one twice":
            {**contents, "config.json": config.replace('"layers": [', f'"x": {{{keys}, "k5": 0}}, '
                                                                     '"layers": [', 1).encode()},
        "metadata: 700,000 values ('[],' x 700,000)":
            {**contents, "metadata.json": _with_json(metadata, '"user": {"a": ['
                                                     + ",".join(["[]"] * 700_000) + "]}")},
        "metadata: nested 100,000 deep":
            {**contents, "metadata.json": _with_json(metadata, '"user": ' + "[" * 100_000
                                                     + "]" * 100_000)},
        "weights: 60,000 empty arrays":
            {**contents, "model.weights.npz": raw_zip(
                [(f"{i:05d}.npy", empty) for i in range(60_000)])},
        "weights: the 6 arrays and 60,000 more, numbered from 0006":
            {**contents, "model.weights.npz": raw_zip(
                sorted(weights.items()) + [(f"{i:05d}.npy", empty) for i in range(6, 60_006)])},
        "optimizer: 60,000 slots":
            {**contents, "optimizer.npz": raw_zip(
                [(f"m/{i}.npy", empty) for i in range(60_000)])},
    }
    files = {label: zip_bytes(contents) for label, contents in members.items()}
    files.update({
        "60,000 empty members": raw_zip(named + [(f"m{i}", b"") for i in range(60_000)]),
        "30,000 names twice": raw_zip(named + [(f"m{i // 2}", b"") for i in range(60_000)]),
        "60,000 members with names of 200 characters":
            raw_zip(named + [(f"{i:0200d}", b"") for i in range(60_000)]),
        "99,990 members with names of 255 characters (MAX_ARRAYS' worth)":
            raw_zip(named + [(f"{i:0255d}", b"") for i in range(99_990)]),
        "100,001 members (over MAX_ARRAYS)":
            raw_zip(named + [(f"m{i}", b"") for i in range(100_001)]),
        "every member twice": raw_zip(named + named),
    })
    cases = []
    for index, (label, data) in enumerate(files.items()):
        (tmp_path / f"q{index}.glassnet").write_bytes(data)
        cases.append((label, "model", f"q{index}.glassnet"))
    cases.append(("glassnet info on 60,000 members", "cli", cases[8][2]))
    (tmp_path / "q.weights.npz").write_bytes(
        raw_zip([(f"{i:05d}.npy", empty) for i in range(60_000)]))
    cases.append((".weights.npz of 60,000 arrays", "weights", "q.weights.npz"))
    check_fresh("quadratic", run_fresh(tmp_path, cases), MIN_CASES["quadratic"])


def _load_weights_into_mlp(path: Path) -> None:
    from _saved_models import make_model

    model = make_model()
    model.build((None, 2, 3))
    load_weights(model, path)


# ----- nested compression ----------------------------------------------------------------------
def _zip_with(members: dict[str, bytes], big: tuple[str, int] | None = None,
              method: int = zipfile.ZIP_DEFLATED, nested_in: str | None = None) -> bytes:
    """A zip of `members`, plus `big` = (name, size): an .npy of zeros, streamed; with
    `nested_in`, the whole is written as a stored .npz into member `nested_in` instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = method
            zf.writestr(info, data)
        if big is not None:
            zeros_npy_member(zf, *big, method=method)
    return buffer.getvalue()


def test_nested_compression(fuzz, tmp_path, originals):
    """Deflate in deflate, zips in .npy members, and stored members whose declared size
    passes what the model's weights can take: each refused before it is inflated."""
    contents = unzip(originals["mlp"])
    weights, state = unzip(contents["model.weights.npz"]), unzip(contents["optimizer.npz"])
    stored, deflated = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
    cases = {}
    for size in (2**20, 16 * 2**20, 128 * 2**20):
        mib = f"{size // 2**20} MiB"
        cases[f"weights: deflated inner .npz with {mib} of zeros"] = {
            **contents, "model.weights.npz": _zip_with(weights, ("0006.npy", size), deflated)}
        cases[f"weights: stored inner .npz with {mib} more, outer deflated"] = {
            **contents, "model.weights.npz": _zip_with(weights, ("0006.npy", size), stored)}
        cases[f"weights: 0000 replaced by {mib} of zeros, stored"] = {
            **contents, "model.weights.npz": _zip_with(
                {k: v for k, v in weights.items() if k != "0000.npy"}, ("0000.npy", size),
                stored)}
        cases[f"optimizer: stored inner .npz with {mib} more"] = {
            **contents, "optimizer.npz": _zip_with(state, ("m/0.npy", size), stored)}
    inner_zip = zip_bytes({"0000.npy": weights["0000.npy"]}, stored)
    cases["weights: a zip as 0000.npy"] = {**contents, "model.weights.npz": zip_bytes(
        {**weights, "0000.npy": inner_zip}, stored)}
    cases["weights: an .npz of .npz of .npz, deflated"] = {
        **contents, "model.weights.npz": zip_bytes({"0000.npy": zip_bytes(
            {"0000.npy": zip_bytes(weights)})})}
    cases["optimizer: deflated inner .npz"] = {**contents, "optimizer.npz": zip_bytes(state)}
    for label, members in cases.items():
        run_members(fuzz, tmp_path, members, label)
    for size in (2**20, 64 * 2**20):
        file_weights = {k: v for k, v in weights.items() if k != "0003.npy"}
        data = _zip_with(file_weights, ("0003.npy", size), deflated)
        run_bytes(fuzz, tmp_path, data, f".weights.npz: 0003 is {size // 2**20} MiB of "
                  "zeros, deflated", name="case.weights.npz", load=_load_weights_into_mlp)
    assert fuzz.outcomes["loaded"] == 0
    fuzz.report("nested", MIN_CASES["nested"])


# ----- value-changing casts --------------------------------------------------------------------
_DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "uint64", "bool"]
_SPECIALS = [np.nan, np.inf, -np.inf, 1e300, -1e39, 3.4e38, 65504.0, 65520.0, 1e5, 2.0**24,
             2**24 + 1, 2**53 + 1, 2**62, 2**63 - 1, -(2**63), 2**64 - 1, 0.5, 1e-45, -0.0, 3]


def _as_dtype(value, dtype: str):
    """`value` as a `dtype` scalar, or None when it has no such value (nan as int, 2**64 as
    int64, 0.5 as an integer)."""
    kind = np.dtype(dtype).kind
    if kind in "iu":
        if not (isinstance(value, int) or (np.isfinite(value) and float(value).is_integer())):
            return None
        info = np.iinfo(dtype)
        return np.array(int(value), dtype) if info.min <= int(value) <= info.max else None
    if kind == "b":
        return None
    with np.errstate(over="ignore"):
        return np.array(value, dtype)


def _load_weights_returning(path: Path):
    from _saved_models import make_model

    model = make_model()
    model.build((None, 2, 3))
    load_weights(model, path)
    return model


def test_value_changing_casts(fuzz, tmp_path, originals):
    """NaN, inf, overflow and inexact integers, in every dtype: refused naming the weight;
    what loads is finite, and integers are exact."""

    @given(dtype=st.sampled_from(_DTYPES), special=st.sampled_from(_SPECIALS),
           count=st.integers(1, 6),
           where=st.sampled_from(["model", "model", "weights file", "half"]))
    @settings(max_examples=MIN_CASES["casts"] + 20, **HYPOTHESIS)
    def one_cast(dtype, special, count, where):
        model = "half" if where == "half" else "mlp"
        contents = unzip(originals[model])
        weights = unzip(contents["model.weights.npz"])
        key = "0000.npy" if model == "half" else "0002.npy"
        kernel = np.load(io.BytesIO(weights[key]))
        with np.errstate(invalid="ignore", over="ignore"):
            value = kernel.astype(dtype)
        scalar = _as_dtype(special, dtype)
        assume(scalar is not None or dtype == "bool")
        if scalar is not None:
            value.flat[:count] = scalar
        data = {**weights, key: npy_bytes(value)}

        def load(path):
            loaded = (load_model(path) if where != "weights file"
                      else _load_weights_returning(path))
            got = loaded.get_weights()[int(key[:4])]
            # Loaded: every value finite, integers exact, floats as the cast rounds them.
            assert np.isfinite(got).all(), f"{dtype} {special!r}: a non-finite weight loaded"
            if value.dtype.kind in "iub":
                assert np.array_equal(got.astype(np.float64), value.astype(np.float64)), \
                    f"{dtype} {special!r}: an integer changed"
            else:
                assert np.array_equal(got, value.astype(got.dtype))

        label = f"{where}: {count} x {special!r} as {dtype}"
        if where == "weights file":
            run_bytes(fuzz, tmp_path, zip_bytes(data, zipfile.ZIP_STORED), label,
                      name="case.weights.npz", load=load)
        else:
            run_members(fuzz, tmp_path, {**contents, "model.weights.npz": zip_bytes(
                data, zipfile.ZIP_STORED)}, label, load=load)

    one_cast()
    assert fuzz.outcomes["ModelFileError"] > fuzz.count // 3
    fuzz.report("casts", MIN_CASES["casts"])


# ----- the issue's files, full size, in a fresh process --------------------------------------
def _write_issue_files(folder: Path, originals) -> list[tuple[str, str, str]]:
    """The issue's hostile files (bombs of 256 MiB, more than the 200 MB allowed, streamed at
    compression level 1)."""
    size = 256 * 2**20
    contents = unzip(originals["mlp"])
    metadata = contents["metadata.json"].decode()
    keys = ", ".join(f'"k{i}": 0' for i in range(40_000))

    def model_file(name, members, big=None):
        with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for member, data in members.items():
                zf.writestr(member, data)
            if big is not None:
                with zf.open(big[0], "w", force_zip64=True) as out, \
                        zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as inner:
                    for member, data in big[1].items():
                        inner.writestr(member, data)
                    zeros_npy_member(inner, big[2], size, zipfile.ZIP_STORED)

    weights = unzip(contents["model.weights.npz"])
    model_file("weights-bomb.glassnet", {k: v for k, v in contents.items()
                                         if k != "model.weights.npz"},
               ("model.weights.npz", weights, "0006.npy"))
    model_file("json-keys.glassnet", {**contents, "metadata.json": _with_json(
        metadata, f'"user": {{{keys}, "k7": 1}}')})
    many = ", ".join(f'"{i}": 0' for i in range(1_200_000))      # 15 MB: under the 16 MB cap
    model_file("json-1.2M-keys.glassnet", {**contents, "metadata.json": _with_json(
        metadata, f'"user": {{{many}, "7": 1}}')})
    model_file("json-values.glassnet", {**contents, "metadata.json": _with_json(
        metadata, '"user": [' + ",".join(["[]"] * 5_000_000) + "]")})
    (folder / "members.glassnet").write_bytes(raw_zip(sorted(contents.items())
                                                      + [(f"m{i}", b"") for i in range(60_000)]))
    # A backup whose arrays.npz carries 256 MiB more (deflated inside, or stored inside a
    # deflated member: both multiplied the ratios before).
    for name, inner_method, outer_method in (("backup-inner.zip", zipfile.ZIP_DEFLATED,
                                              zipfile.ZIP_STORED),
                                             ("backup-outer.zip", zipfile.ZIP_STORED,
                                              zipfile.ZIP_DEFLATED)):
        with zipfile.ZipFile(folder / name, "w", outer_method, compresslevel=1) as zf:
            zf.writestr("state.json", json.dumps({"format": "glassnet-training-state"}))
            for member in ("weights.npz", "optimizer.npz"):
                zf.writestr(member, zip_bytes({}, zipfile.ZIP_STORED))
            with zf.open("arrays.npz", "w", force_zip64=True) as out, \
                    zipfile.ZipFile(out, "w") as inner:
                zeros_npy_member(inner, "extra.npy", size, inner_method)
    with zipfile.ZipFile(folder / "data.npz", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zeros_npy_member(zf, "x.npy", size)
        zf.writestr("y.npy", npy_bytes(np.zeros(4)))
    import gzip

    with gzip.open(folder / "images.gz", "wb", compresslevel=1) as out:
        out.write(bytes.fromhex("00000801") + size.to_bytes(4, "big"))
        chunk = bytes(2**20)
        for _ in range(size // len(chunk)):
            out.write(chunk)
    return [("model file: 256 MiB more weights, deflated", "model", "weights-bomb.glassnet"),
            ("glassnet info on it", "cli", "weights-bomb.glassnet"),
            ("metadata: 40,000 keys, one twice", "model", "json-keys.glassnet"),
            ("metadata: 1,200,000 keys, one twice", "model", "json-1.2M-keys.glassnet"),
            ("metadata: 5,000,000 values", "model", "json-values.glassnet"),
            ("60,000 empty members", "model", "members.glassnet"),
            ("glassnet info on them", "cli", "members.glassnet"),
            ("backup: 256 MiB array, inner .npz deflated", "backup", "backup-inner.zip"),
            ("backup: 256 MiB array, outer member deflated", "backup", "backup-outer.zip"),
            ("load_npz: x of 256 MiB of zeros", "npz", "data.npz"),
            ("read_idx: 256 MiB of zeros", "idx", "images.gz")]


def test_issue_files_in_a_fresh_process(tmp_path, originals):
    """The issue's findings at full size (bombs of 256 MiB): each refused (or one CLI line,
    status 2) in under 2 s and under 200 MB above the process's baseline."""
    cases = _write_issue_files(tmp_path, originals)
    sizes = {name: f"{(tmp_path / name).stat().st_size / 2**20:.2f} MiB" for _, _, name in cases}
    print("\n[fuzz] issue files:", sizes)
    check_fresh("issue files", run_fresh(tmp_path, cases), MIN_CASES["issue files"])
