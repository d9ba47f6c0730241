"""Hostile and broken `.keras` files: each loads or ends in a ModelFileError naming the file.

The fuzzing of `.glassnet` files (test_fuzz_model_files.py), extended to Keras files (issue
12): real `.keras` files written by glassnet (an MLP with a regularizer and dropout, a CNN
with batch normalization, Embedding(mask_zero) -> Bidirectional LSTM -> GRU, a Functional
graph with ops on its tensors) are truncated and bit-flipped as a whole, their HDF5 member
is damaged and re-zipped, each value of their config.json is replaced by hostile ones, and
hand-made HDF5 files bring links, external and compressed datasets, shape bombs and strays.
The runner (tests/_fuzzing.py) also caps each case's time and memory.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

import glassnet as gn
from _fuzzing import Fuzzer, unzip, zip_bytes
from glassnet import layers, optimizers, regularizers, saving
from glassnet.saving import ModelFileError

MIN_CASES = {"truncated": 250, "bit_flips": 400, "h5_damage": 400, "config_values": 500,
             "crafted_h5": 16, "bombs": 8}


@pytest.fixture
def fuzz(tmp_path):
    import tracemalloc

    tracemalloc.start()
    try:
        yield Fuzzer(tmp_path / "canary", (ModelFileError,))
    finally:
        tracemalloc.stop()


def _models():
    rng = np.random.default_rng(0)
    mlp = gn.Sequential([layers.Input((6,)), layers.Dense(
        5, activation="relu", kernel_regularizer=regularizers.L2(0.01)), layers.Dropout(0.2),
        layers.Dense(3, activation="softmax")])
    cnn = gn.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3, padding="same"),
                         layers.BatchNormalization(), layers.MaxPooling2D(), layers.Flatten(),
                         layers.Dense(3, activation="softmax")])
    rnn = gn.Sequential([layers.Input((5,)), layers.Embedding(20, 4, mask_zero=True),
                         layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
                         layers.GRU(2), layers.Dense(3, activation="softmax")])
    x = layers.Input((6, 2))
    conv = layers.Conv1D(2, 2, padding="causal")(x)
    mixed = gn.ops.softmax(conv + x[..., :2], axis=-1) * 0.5       # ops: Keras' op entries
    joined = layers.Concatenate()([layers.Add()([conv, layers.LayerNormalization()(conv)]),
                                   mixed])
    functional = gn.Model(x, layers.Dense(3, activation="softmax")(layers.Flatten()(joined)))
    inputs = {"mlp": rng.standard_normal((4, 6)), "cnn": rng.standard_normal((4, 6, 6, 1)),
              "rnn": rng.integers(0, 20, (4, 5)), "functional": rng.standard_normal((4, 6, 2))}
    for name, model in (("mlp", mlp), ("cnn", cnn), ("rnn", rnn), ("functional", functional)):
        model.compile(optimizer=optimizers.Adam(0.01) if name != "cnn"
                      else optimizers.SGD(0.1, momentum=0.9),
                      loss="categorical_crossentropy", metrics=["accuracy"])
        model.train_on_batch(inputs[name].astype("float32"),
                             np.eye(3, dtype="float32")[[0, 1, 2, 1]])
        yield name, model


@pytest.fixture(scope="module")
def originals(h5py, tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("keras_originals")
    files = {}
    for name, model in _models():
        path = folder / f"{name}.keras"
        model.save(path)
        gn.load_model(path)                       # the unmodified file loads
        files[name] = path.read_bytes()
    return files


def _run(fuzz, tmp_path, data: bytes, label: str) -> str:
    path = tmp_path / "case.keras"
    path.write_bytes(data)
    return fuzz.run(gn.load_model, path, label)


def _run_members(fuzz, tmp_path, members: dict[str, bytes], label: str, **kwargs) -> str:
    return _run(fuzz, tmp_path, zip_bytes(members, **kwargs), label)


# ----- damage to real files -----------------------------------------------------------------
def test_truncated(fuzz, tmp_path, originals):
    for name, data in originals.items():
        for cut in range(0, len(data), max(1, len(data) // 40)):
            _run(fuzz, tmp_path, data[:cut], f"{name} cut at {cut}")
        contents = unzip(data)
        h5 = contents["model.weights.h5"]
        for cut in range(0, len(h5), max(1, len(h5) // 25)):
            _run_members(fuzz, tmp_path, {**contents, "model.weights.h5": h5[:cut]},
                         f"{name} model.weights.h5 cut at {cut}")
    assert fuzz.outcomes["loaded"] == 0
    fuzz.report("truncated", MIN_CASES["truncated"])


def test_bit_flips(fuzz, tmp_path, originals):
    rng = np.random.default_rng(1)
    for name, data in originals.items():
        for _ in range(110):
            damaged = bytearray(data)
            damaged[rng.integers(len(data))] ^= 1 << rng.integers(8)
            _run(fuzz, tmp_path, bytes(damaged), f"{name} bit flip")
    fuzz.report("bit_flips", MIN_CASES["bit_flips"])


def test_h5_damage(fuzz, tmp_path, originals):
    """Bit flips and overwritten words inside the HDF5 member, re-zipped (valid CRCs)."""
    rng = np.random.default_rng(2)
    for name, data in originals.items():
        contents = unzip(data)
        h5 = contents["model.weights.h5"]
        for case in range(110):
            damaged = bytearray(h5)
            at = rng.integers(len(h5))
            if case % 2:
                damaged[at:at + 4] = rng.bytes(4)
            else:
                damaged[at] ^= 1 << rng.integers(8)
            _run_members(fuzz, tmp_path, {**contents, "model.weights.h5": bytes(damaged)},
                         f"{name} h5 damage at {at}")
    fuzz.report("h5_damage", MIN_CASES["h5_damage"])


HOSTILE = [None, -1, 0, 10**12, 2.5, "x", [], {}, [None], True, 1e308, "float16",
           {"class_name": "Lambda", "config": {}}, [[1, 2], [3]]]


def _leaves(value, path=()):
    """(path, value) of every leaf of a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _replaced(config, path, value):
    copy = json.loads(json.dumps(config))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def test_config_values(fuzz, tmp_path, originals):
    """Each leaf of config.json (a sample of them) replaced by hostile values in turn."""
    rng = np.random.default_rng(3)
    for name, data in originals.items():
        contents = unzip(data)
        config = json.loads(contents["config.json"])
        leaves = [path for path, _ in _leaves(config)]
        for index in rng.choice(len(leaves), size=min(len(leaves), 45), replace=False):
            for value in rng.choice(len(HOSTILE), size=3, replace=False):
                edited = _replaced(config, leaves[index], HOSTILE[value])
                _run_members(fuzz, tmp_path, {**contents, "config.json":
                                              json.dumps(edited).encode()},
                             f"{name} {leaves[index]} = {HOSTILE[value]!r}")
    fuzz.report("config_values", MIN_CASES["config_values"])


# ----- hand-made HDF5 -----------------------------------------------------------------------
def _h5(h5py, build) -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5_file:
        build(h5_file)
    return buffer.getvalue()


def _weights(h5py, original: bytes, change) -> bytes:
    """The original HDF5 rewritten with `change(h5_file)` applied."""
    from glassnet.saving.keras_h5 import read_variables

    groups = read_variables(original, "original")

    def build(h5_file):
        for path, arrays in groups.items():
            group = (h5_file.require_group(path) if path else h5_file).create_group("vars")
            for index, array in enumerate(arrays):
                group.create_dataset(str(index), data=array)
        change(h5_file)

    return _h5(h5py, build)


def _replace(path, **options):
    def change(h5_file):
        del h5_file[path]
        h5_file.create_dataset(path, **options)
    return change


def test_crafted_h5(fuzz, tmp_path, originals, h5py):
    contents = unzip(originals["mlp"])
    h5 = contents["model.weights.h5"]
    kernel = "layers/dense/vars/0"
    cases = {
        "soft link": lambda f: f.__setitem__("layers/dense/vars/2", h5py.SoftLink("/vars")),
        "external link": lambda f: f.__setitem__("layers/dense/vars/2",
                                                 h5py.ExternalLink("/etc/passwd", "/x")),
        "gzip kernel": _replace(kernel, data=np.zeros((6, 5), "float32"), compression="gzip"),
        "string kernel": _replace(kernel, data=np.array(["a"] * 30, dtype="S3").reshape(6, 5)),
        "compound kernel": _replace(kernel, data=np.zeros((6, 5), dtype=[("a", "f4")])),
        "shape bomb": _replace(kernel, shape=(2**20, 2**12), dtype="float32",
                               chunks=(1, 16)),
        "declared, never written": _replace(kernel, shape=(6, 5), dtype="float32"),
        "group in vars": lambda f: f.create_group("layers/dense/vars/2"),
        "link cycle": lambda f: f.__setitem__("layers/dense/loop", f["layers"]),
        "one array twice": lambda f: f.__setitem__("layers/dense/vars/2",
                                                  f["layers/dense/vars/1"]),
        "gap in vars": lambda f: f.move("layers/dense/vars/1", "layers/dense/vars/7"),
        "dataset outside vars": lambda f: f.create_dataset("layers/dense/x", data=[1.0]),
        "stray weights": lambda f: f.create_dataset("layers/other/vars/0", data=[1.0]),
        "scalar kernel": _replace(kernel, data=np.float32(1)),
        "object reference": lambda f: f.create_dataset(
            "layers/dense/vars/2", data=f["vars"].ref, dtype=h5py.ref_dtype),
        "empty dataspace": _replace(kernel, data=h5py.Empty("f4")),
    }
    for label, change in cases.items():
        outcome = _run_members(fuzz, tmp_path, {**contents, "model.weights.h5": _weights(
            h5py, h5, change)}, label)
        assert outcome != "loaded", label
    fuzz.report("crafted_h5", MIN_CASES["crafted_h5"])


def test_bombs(fuzz, tmp_path, originals, monkeypatch):
    contents = unzip(originals["cnn"])
    monkeypatch.setattr(saving, "MAX_MEMBER_BYTES", 8 * 2**20)
    monkeypatch.setattr(saving, "MAX_TOTAL_BYTES", 12 * 2**20)
    monkeypatch.setattr(saving, "MAX_JSON_BYTES", 2**20)
    big = bytes(40 * 2**20)
    cases = {
        "40 MiB deflated weights": {**contents, "model.weights.h5": big},
        "40 MiB config": {**contents, "config.json": big},
        "extra member": {**contents, "model.weights.npz": b""},
        "nested archive as weights": {**contents, "model.weights.h5": zip_bytes(contents)},
        "a thousand members": {**contents, **{f"m{i}": b"" for i in range(1000)}},
    }
    for label, members in cases.items():
        _run_members(fuzz, tmp_path, members, label)
    config = json.loads(contents["config.json"])
    huge = _replaced(config, ("config", "layers", 1, "config", "filters"), 10**9)
    _run_members(fuzz, tmp_path, {**contents, "config.json": json.dumps(huge).encode()},
                 "a billion filters")
    for depth in (150, 3000):              # 3000: deeper than json.dumps itself can go
        wrapper = '{"class_name": "TimeDistributed", "config": {"name": "t", "layer": '
        deep = wrapper * depth + "null" + "}}" * depth
        text = json.dumps(_replaced(config, ("config", "layers", 1), "DEEP"))
        text = text.replace('"DEEP"', deep)
        _run_members(fuzz, tmp_path, {**contents, "config.json": text.encode()},
                     f"nested {depth} deep")
    _run_members(fuzz, tmp_path, {**contents, "config.json": b'{"a": 1, "a": 2}'},
                 "duplicate keys")
    assert fuzz.outcomes["loaded"] == 0
    fuzz.report("bombs", MIN_CASES["bombs"])
